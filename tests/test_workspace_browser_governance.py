"""The workspace's guideline and pathway pages in Debian's Chromium (Playwright), on the embedded default (SQLite):
a network lead sees a draft beside the agreed guideline with what changed in words, approves it with a comment
that is read back, and releases it; a pathway lead uploads a workbook, sees how it compares, submits it, and
``harmonise compare`` reports the new version. axe-core finds no serious or critical violation on these pages;
screenshots of each are kept in ``test-artifacts/``."""

import json
from datetime import UTC, datetime
from pathlib import Path

from service.application.spreadsheets import template
from service.spreadsheet import read_workbook
from service.store import Store

from .browsers import ARTIFACTS, Visit
from .test_workspace_browser import serious_violations, sign_in
from .workspaces import TOPIC, cli


def test_a_network_lead_sees_the_changes_approves_with_a_comment_and_releases(
        visit: Visit, workspace_with_draft: tuple[str, str, str]) -> None:
    base, url, draft = workspace_with_draft
    page = visit.page
    page.context.clear_cookies()
    sign_in(page, base, "lead")
    visit.open(base + "guidelines", "workspace-governance-guidelines")
    assert serious_violations(page) == []
    page.locator(f"a[href$='/guidelines/{draft}']").click()
    page.wait_for_load_state("networkidle")
    assert "Removed step: “Discharge to the GP”" in page.locator("main ul").first.inner_text()
    assert page.locator("svg.hm-chart").count() == 1
    page.screenshot(path=str(ARTIFACTS / "workspace-governance-draft.png"), full_page=True)
    assert serious_violations(page) == []
    page.get_by_label("Approval comment").fill("Agreed at the network board.")
    page.get_by_role("button", name="Approve version 1.1.0").click()
    page.wait_for_load_state("networkidle")
    assert "Agreed at the network board." in page.locator(".approvals").inner_text()
    page.get_by_role("button", name="Release version 1.1.0 (retires 1.0.0)").click()
    page.wait_for_load_state("networkidle")
    assert "Released PlanDefinition/" in page.locator("[role=status]").inner_text()
    page.screenshot(path=str(ARTIFACTS / "workspace-governance-released.png"), full_page=True)
    code, output = cli("guideline", "list", "--database", url, "--format", "json")
    assert {r["reference"]: r["status"] for r in json.loads(output) if r["topic"] == TOPIC}[
        f"PlanDefinition/{draft}"] == "active"


def test_a_pathway_lead_uploads_sees_the_comparison_and_submits(
        visit: Visit, workspace_with_draft: tuple[str, str, str], tmp_path: Path) -> None:
    base, url, _draft = workspace_with_draft
    page = visit.page
    page.context.clear_cookies()
    sign_in(page, base, "rp5")
    store = Store.open(url)
    try:
        workbook = template(store, TOPIC, "RP5", datetime.now(UTC).date()).workbook
    finally:
        store.close()
    file = tmp_path / "rp5.xlsx"
    file.write_bytes(workbook)
    visit.open(base + "pathways", "workspace-governance-pathways")
    assert serious_violations(page) == []
    page.get_by_label("Workbook (.xlsx)").set_input_files(str(file))
    page.get_by_role("button", name="Upload and check").click()
    page.wait_for_load_state("networkidle")
    assert "Nothing is stored yet" in page.locator("main").inner_text()
    page.screenshot(path=str(ARTIFACTS / "workspace-governance-preview.png"), full_page=True)
    assert serious_violations(page) == []
    version = read_workbook(workbook).pathway["version"]
    page.get_by_role("button", name=f"Submit version {version}").click()
    page.wait_for_load_state("networkidle")
    assert "The new version is PlanDefinition/" in page.locator("[role=status]").inner_text()
    page.screenshot(path=str(ARTIFACTS / "workspace-governance-submitted.png"), full_page=True)
    code, output = cli("compare", TOPIC, "--database", url, "--format", "json")
    rp5 = next(t for t in json.loads(output)["topics"][0]["trusts"] if t["ods"] == "RP5")
    assert rp5["pathway"].endswith(f"|{version}")
