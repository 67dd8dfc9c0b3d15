"""The workspace's roles and its history page in Debian's Chromium (Playwright), on the embedded default (SQLite).

A trust's pathway lead is offered none of a network lead's actions and cannot reach another trust's pathway,
neither by the pages nor by a forged POST: a form built in the page and posted by the browser with the
session's own CSRF token is refused for the role, and one without the token is refused even for a network
lead. Nothing is changed. The history page lists who changed the topic; axe-core finds no serious or critical
violation on it and its screenshot is kept in ``test-artifacts/``.
"""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import Page

from service.application.spreadsheets import template
from service.store import Store

from .browsers import ARTIFACTS, Visit
from .test_workspace_browser import serious_violations, sign_in
from .workspaces import TOPIC, cli

#: Builds a form the page does not offer and lets the browser post it, as a forger with the page open would.
_FORGE = """([action, fields]) => {
  const form = document.createElement("form");
  form.method = "post";
  form.action = action;
  for (const [name, value] of Object.entries(fields)) {
    const input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = value;
    form.appendChild(input);
  }
  document.body.appendChild(form);
  setTimeout(() => form.submit(), 0);
}"""


def forge(page: Page, action: str, fields: dict[str, str]) -> tuple[int, str]:
    """Post ``fields`` to ``action`` from the page; the answer's status and the text of its main part."""
    with page.expect_response(lambda r: r.url == action and r.request.method == "POST") as answer:
        page.evaluate(_FORGE, [action, fields])
    page.wait_for_load_state("networkidle")
    return answer.value.status, page.locator("main").inner_text()


def session_token(page: Page) -> str:
    token = page.locator("input[name=csrf]").first.get_attribute("value")
    assert token
    return token


def stored(url: str) -> tuple[int, int]:
    """How many register entries there are and how many PlanDefinition versions."""
    store = Store.open(url)
    try:
        return (sum(1 for _ in store.current("Basic")),
                sum(1 for _ in store.history("PlanDefinition", count=500).versions))
    finally:
        store.close()


def warranted_fields(token: str | None) -> dict[str, str]:
    fields = {"index": "0", "trust": "RP5", "step": "sleep-review", "dimension": "timing",
              "rationale": "Forged.", "agreed_by": "Nobody",
              "review_by": (datetime.now(UTC).date() + timedelta(days=300)).isoformat()}
    return {**fields, "csrf": token} if token else fields


def test_a_trusts_pathway_lead_cannot_reach_another_trusts_pathway_nor_a_network_leads_action(
        visit: Visit, workspace_with_draft: tuple[str, str, str], tmp_path: Path) -> None:
    base, url, draft = workspace_with_draft
    before = stored(url)
    page = visit.page
    page.context.clear_cookies()
    sign_in(page, base, "rp5")

    # By the pages: no network lead's action is offered.
    visit.open(base + f"topics/{TOPIC}")
    assert page.get_by_text("Record as warranted").count() == 0
    visit.open(base + "guidelines")
    assert page.locator("main form").count() == 0
    visit.open(base + f"guidelines/{draft}")
    assert page.get_by_role("button", name="Release version 1.1.0").count() == 0
    # Another trust's workbook: neither its template nor an upload of it.
    refused = page.goto(base + f"pathways/template?topic={TOPIC}&trust=RHQ")
    assert refused is not None and refused.status == 403
    assert "you may download only RP5's workbooks" in page.locator("main").inner_text()
    page.screenshot(path=str(ARTIFACTS / "workspace-refused-other-trust.png"), full_page=True)
    assert serious_violations(page) == []
    store = Store.open(url)
    try:
        rhq = template(store, TOPIC, "RHQ", datetime.now(UTC).date()).workbook
    finally:
        store.close()
    (tmp_path / "rhq.xlsx").write_bytes(rhq)
    visit.open(base + "pathways")
    page.get_by_label("Workbook (.xlsx)").set_input_files(str(tmp_path / "rhq.xlsx"))
    with page.expect_response(lambda r: r.url.endswith("/pathways/preview")) as upload:
        page.get_by_role("button", name="Upload and check").click()
    page.wait_for_load_state("networkidle")
    assert upload.value.status == 403
    assert "the workbook is RHQ's pathway" in page.locator("main").inner_text()

    # By forged POSTs carrying the session's own CSRF token: refused for the role.
    token = session_token(page)
    status, text = forge(page, base + f"topics/{TOPIC}/warranted", warranted_fields(token))
    assert status == 403 and "only a network lead may record a variation as warranted" in text, text
    for action in ("approve", "release", "retire"):
        status, text = forge(page, base + f"guidelines/{draft}/{action}", {"csrf": token, "from": "guideline"})
        assert status == 403 and f"only a network lead may {action} a guideline" in text, (action, text)

    # Without its CSRF token a form is refused even from a network lead, who could otherwise send it.
    page.context.clear_cookies()
    sign_in(page, base, "lead")
    status, text = forge(page, base + f"topics/{TOPIC}/warranted", warranted_fields(None))
    assert status == 403 and "CSRF" in text, text
    status, text = forge(page, base + f"guidelines/{draft}/retire", {"from": "guideline"})
    assert status == 403 and "CSRF" in text, text
    page.screenshot(path=str(ARTIFACTS / "workspace-refused-csrf.png"), full_page=True)

    assert stored(url) == before
    code, output = cli("compare", TOPIC, "--database", url, "--format", "json")
    assert code == 0 and next(d["classification"] for d in json.loads(output)["topics"][0]["differences"]
                              if (d["trust"], d["step"], d["dimension"]) == ("RP5", "sleep-review", "timing")) \
        == "unwarranted"


def test_the_history_page_lists_the_changes_and_has_no_serious_violation(
        visit: Visit, workspace_with_draft: tuple[str, str, str]) -> None:
    base, _url, draft = workspace_with_draft
    page = visit.page
    page.context.clear_cookies()
    sign_in(page, base, "lead")
    visit.open(base + f"topics/{TOPIC}")
    page.get_by_role("link", name="History: who changed this topic, and when").click()
    page.wait_for_load_state("networkidle")
    assert page.url == base + f"topics/{TOPIC}/history"
    table = page.locator("table.history")
    assert table.locator("caption").inner_text() == "Changes to Follow-up after tonsillectomy in children, newest first"
    # The draft made for these tests is among the changes, made by the local administrator, linked to its page.
    draft_row = table.locator("tbody tr", has=page.locator(f"a[href$='/guidelines/{draft}']"))
    assert draft_row.count() >= 1
    assert "local admin" in draft_row.first.inner_text() and "version 1.1.0 (draft)" in draft_row.first.inner_text()
    page.screenshot(path=str(ARTIFACTS / "workspace-history.png"), full_page=True)
    assert serious_violations(page) == []
    draft_row.first.locator("a").click()
    page.wait_for_load_state("networkidle")
    assert page.url == base + f"guidelines/{draft}"
