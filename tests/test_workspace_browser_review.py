"""Reviewing variation in Debian's Chromium (Playwright), on the embedded default (SQLite), against a real
``harmonise serve`` that builds the site from the store: a network lead signs in, records RP5's unwarranted sleep
review (late, and by telephone) as warranted from the topic's matrix, with JavaScript off, and then the live
site's topic page and ``harmonise compare`` on the same store both say it is warranted. With JavaScript on,
htmx (served by the workspace) replaces only the recorded cell. axe-core finds no serious or critical violation
on the topic and register pages; screenshots of each are kept in ``test-artifacts/``."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page

from .browsers import ARTIFACTS, Visit
from .conftest import GUIDELINES, PATHWAYS
from .stores import serve_process
from .test_store_is_the_record import wait_for_site
from .test_workspace_browser import serious_violations, sign_in
from .workspaces import TOPIC, cli, sample_network

RATIONALE: Final = "Illustrative: the sleep clinic sees these children by telephone, later (browser test)."
SITE_PAGE: Final = f"/variation/{TOPIC}.html"
#: How long the site may take to show a change: a whole build from the store (about 20 s on a busy shared machine),
#: perhaps after one already under way (signing in writes too). tests/test_store_is_the_record.py holds the
#: rebuild to the issue's 10 seconds on a quiet one.
BUILD_SECONDS: Final = 120


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """``harmonise serve`` with the live site on a SQLite store of the sample network and a network lead."""
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('review')) / 'harmonise.db'}"
    sample_network(url, ("lead", "--network-lead"))
    with serve_process(url, PATHWAYS, GUIDELINES, live_site=True) as base:
        origin = base.removesuffix("/fhir")
        wait_for_site(origin, SITE_PAGE, "Review of sleep symptoms", BUILD_SECONDS)  # the first build, from the store
        yield origin, url


@pytest.fixture
def without_javascript(context: BrowserContext) -> Iterator[Page]:
    """A tab of the same browser with JavaScript off (its own context: no cookies shared)."""
    assert context.browser is not None
    plain = context.browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    plain.route("**/*", lambda route: route.continue_() if route.request.url.startswith("http://127.0.0.1:")
                else route.abort())
    try:
        yield plain.new_page()
    finally:
        plain.close()


def classifications(url: str, step: str) -> dict[str, str]:
    """RP5's differences at ``step`` and their classification, as ``harmonise compare`` on the store reports them."""
    code, output = cli("compare", TOPIC, "--database", url, "--format", "json")
    assert code == 0, output
    return {d["dimension"]: d["classification"] for d in json.loads(output)["topics"][0]["differences"]
            if (d["trust"], d["step"]) == ("RP5", step)}


def test_without_javascript_a_lead_records_a_warranted_variation_and_the_site_and_compare_change(
        without_javascript: Page, served: tuple[str, str]) -> None:
    origin, url = served
    base = f"{origin}/workspace/"
    page = without_javascript
    assert classifications(url, "sleep-review") == {"timing": "unwarranted", "mode": "unwarranted"}
    assert RATIONALE not in httpx.get(origin + SITE_PAGE, timeout=30).text
    page.goto(base)
    assert page.url == base + "sign-in"
    page.screenshot(path=str(ARTIFACTS / "workspace-sign-in.png"), full_page=True)
    sign_in(page, base, "lead")
    page.goto(base + f"topics/{TOPIC}")
    page.screenshot(path=str(ARTIFACTS / "workspace-review-topic.png"), full_page=True)

    sleep = page.locator("#cell-RP5-sleep-review")
    assert "unwarranted" in sleep.locator(".label").inner_text()
    sleep.locator("summary").click()
    # Both of the cell's unwarranted differences are offered, and chosen.
    assert sleep.get_by_label("Timing").is_checked() and sleep.get_by_label("How it is done").is_checked()
    sleep.get_by_label("Rationale").fill(RATIONALE)
    sleep.get_by_label("Agreed by").fill("Paediatrics network clinical board")
    page.screenshot(path=str(ARTIFACTS / "workspace-review-cell-form.png"), full_page=True)
    # A review date in the past is named in the error summary and at its field, and nothing is stored.
    sleep.get_by_label("Review date").fill("2020-01-01")
    sleep.get_by_role("button", name="Record as warranted").click()
    page.wait_for_load_state()
    assert "The review date must be after today" in page.locator(".error-summary").inner_text()
    page.screenshot(path=str(ARTIFACTS / "workspace-review-error.png"), full_page=True)
    assert classifications(url, "sleep-review") == {"timing": "unwarranted", "mode": "unwarranted"}

    sleep = page.locator("#cell-RP5-sleep-review")
    assert sleep.get_by_label("Rationale").input_value() == RATIONALE  # what was typed is kept
    sleep.get_by_label("Review date").fill("2027-11-30")
    sleep.get_by_role("button", name="Record as warranted").click()
    page.wait_for_load_state()
    assert "Recorded as warranted" in page.locator("[role=status]").inner_text()
    assert "warranted (agreed reason)" in page.locator("#cell-RP5-sleep-review .label").inner_text()
    page.screenshot(path=str(ARTIFACTS / "workspace-review-recorded.png"), full_page=True)

    # The command line on the same store, and the site the server rebuilds from it.
    assert classifications(url, "sleep-review") == {"timing": "warranted", "mode": "warranted"}
    wait_for_site(origin, SITE_PAGE, RATIONALE, BUILD_SECONDS)
    page.goto(origin + SITE_PAGE)
    page.screenshot(path=str(ARTIFACTS / "workspace-review-site-after.png"), full_page=True)

    # The register lists the two new entries, each to renew or retire.
    page.goto(base + "register")
    rows = page.locator("tr", has_text=RATIONALE)
    assert rows.count() == 2
    page.screenshot(path=str(ARTIFACTS / "workspace-review-register.png"), full_page=True)


def test_with_htmx_recording_a_cell_replaces_only_that_cell(visit: Visit, served: tuple[str, str]) -> None:
    origin, url = served
    base = f"{origin}/workspace/"
    page = visit.page
    page.context.clear_cookies()
    console_errors: list[str] = []
    page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
    sign_in(page, base, "lead")
    topic = base + f"topics/{TOPIC}"
    visit.open(topic)
    assert page.evaluate("typeof htmx") == "object"  # loaded from the workspace itself (CSP script-src 'self')
    assert serious_violations(page) == []
    page.evaluate("document.querySelector('h1').dataset.kept = 'this page'")  # gone if the whole page reloads
    recovery = page.locator("#cell-RP5-recovery-call")
    recovery.locator("summary").click()
    assert recovery.get_by_label("Timing").is_checked()
    recovery.get_by_label("Agreed by").fill("Paediatrics network clinical board")
    recovery.get_by_role("button", name="Record as warranted").click()
    # No rationale: the cell comes back with the error at its field, the form still open.
    page.locator("#RP5-recovery-call-rationale-error").wait_for()
    assert "Enter why the network agreed this variation" in recovery.inner_text()
    assert recovery.get_by_label("Agreed by").input_value() == "Paediatrics network clinical board"
    page.screenshot(path=str(ARTIFACTS / "workspace-review-htmx-error.png"), full_page=True)
    assert serious_violations(page) == []
    assert classifications(url, "recovery-call") == {"timing": "unwarranted"}

    recovery.get_by_label("Rationale").fill("Illustrative: the ward's nurses call on day 3 (htmx test).")
    recovery.get_by_role("button", name="Record as warranted").click()
    page.locator("#outcome .notice").wait_for()
    assert "Recorded as warranted" in page.locator("#outcome").inner_text()
    assert "warranted (agreed reason)" in page.locator("#cell-RP5-recovery-call .label").inner_text()
    assert page.url == topic and page.evaluate("document.querySelector('h1').dataset.kept") == "this page"
    # The differences table below was replaced with the cell; other cells are as they were.
    assert "Illustrative: the ward's nurses call on day 3" in page.locator("#differences").inner_text()
    assert "unwarranted" in page.locator("#cell-RP5-discharge .label").inner_text()
    page.screenshot(path=str(ARTIFACTS / "workspace-review-htmx-recorded.png"), full_page=True)
    assert serious_violations(page) == []
    assert classifications(url, "recovery-call") == {"timing": "warranted"}

    visit.open(base + "register", "workspace-review-register-lead")
    assert serious_violations(page) == []
    row = page.locator("tr", has_text="the ward's nurses")
    row.locator("summary", has_text="Renew").click()
    row.locator("summary", has_text="Retire").click()
    page.screenshot(path=str(ARTIFACTS / "workspace-review-register-forms.png"), full_page=True)
    assert serious_violations(page) == []
    # Nothing refused by the Content-Security-Policy, no script error: only Chromium's note of the form sent back (400).
    assert [m for m in console_errors if "status of 400 (Bad Request)" not in m] == []
