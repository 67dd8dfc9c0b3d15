"""The workspace's guideline and pathway pages (issue #18, parts 3 and 4) over HTTP: a draft beside the agreed
guideline with what changed in words and by day, approval with a comment read back from the guideline, and an
uploaded workbook previewed against the guideline, held in the server, then submitted or discarded."""

import json
import re
from datetime import UTC, datetime

from starlette.testclient import TestClient

from service.application import guidelines
from service.application.spreadsheets import template
from service.spreadsheet import read_workbook
from service.store import Store

from .workspaces import GUIDELINE, TOPIC, cli, csrf, make_draft, sign_in


def versions(url: str) -> int:
    store = Store.open(url)
    try:
        return sum(1 for _ in store.history("PlanDefinition", count=500).versions)
    finally:
        store.close()


def test_a_draft_is_shown_beside_the_agreed_guideline_with_what_changed(https: TestClient, network: str) -> None:
    draft = make_draft(network)
    assert sign_in(https, "lead").status_code == 303
    listing = https.get("/workspace/guidelines").text
    assert f'href="/workspace/guidelines/{draft}"' in listing
    page = https.get(f"/workspace/guidelines/{draft}")
    assert page.status_code == 200, page.text
    text = page.text
    assert "the topic&#39;s agreed guideline" in text and "version 1.0.0, active" in text
    # The one change, in the site's words: the discharge step removed.
    changes = re.search(r"<h2>What changed</h2>\s*<ul>(.*?)</ul>", text, re.S)
    assert changes, text
    assert changes.group(1).count("<li>") == 1 and "Removed step: “Discharge to the GP”" in changes.group(1)
    # Both versions by day, drawn and in the table; the removed step is in the earlier one only.
    assert '<svg' in text and "The steps of version 1.0.0 (active) and version 1.1.0 (draft) by day" in text
    assert "Discharge to the GP (removed)" in text and "(not in this version)" in text
    # And every element changed, as $diff lists it: the step deleted, the version and status rewritten.
    elements = re.findall(r"<tr><td>(\w+)</td><td><code>([^<]*)</code></td></tr>", text)
    assert ("delete", "PlanDefinition.action[4]") in elements, elements
    assert https.get("/workspace/guidelines/no-such-guideline").status_code == 404


def test_a_network_lead_approves_with_a_comment_that_is_read_back_then_releases(https: TestClient,
                                                                                network: str) -> None:
    draft = make_draft(network)
    assert sign_in(https, "lead").status_code == 303
    token = csrf(https, f"/workspace/guidelines/{draft}")
    approved = https.post(f"/workspace/guidelines/{draft}/approve",
                          data={"csrf": token, "from": "guideline", "comment": "Agreed at the board, 30 Nov."})
    assert approved.status_code == 200 and "Approved PlanDefinition/" in approved.text
    assert "lead: <q>Agreed at the board, 30 Nov.</q>" in approved.text
    store = Store.open(network)
    try:
        recorded = guidelines.approvals(store.read("PlanDefinition", draft).existing())
    finally:
        store.close()
    assert [(a.approver, a.comment) for a in recorded] == [("lead", "Agreed at the board, 30 Nov.")]
    released = https.post(f"/workspace/guidelines/{draft}/release", data={"csrf": token, "from": "guideline"})
    assert released.status_code == 200 and "Released PlanDefinition/" in released.text
    code, output = cli("guideline", "list", "--database", network, "--format", "json")
    rows = {row["reference"]: row["status"] for row in json.loads(output) if row["topic"] == TOPIC}
    assert rows == {f"PlanDefinition/{draft}": "active", f"PlanDefinition/{GUIDELINE}": "retired"}


def rp5_workbook(url: str) -> bytes:
    """RP5's template, prefilled from its stored pathway with the next version."""
    store = Store.open(url)
    try:
        return template(store, TOPIC, "RP5", datetime.now(UTC).date()).workbook
    finally:
        store.close()


def upload(client: TestClient, content: bytes, token: str) -> object:
    return client.post("/workspace/pathways/preview", data={"csrf": token},
                       files={"workbook": ("rp5.xlsx", content, "application/octet-stream")})


def test_an_upload_is_previewed_without_storing_it_then_submitted(https: TestClient, network: str) -> None:
    before = versions(network)
    assert sign_in(https, "rp5").status_code == 303
    token = csrf(https, "/workspace/pathways")
    workbook = rp5_workbook(network)
    preview = upload(https, workbook, token)
    assert preview.status_code == 200, preview.text
    assert "Nothing is stored yet" in preview.text and "Unwarranted differences for RP5" in preview.text
    assert "sleep-review" in preview.text
    assert versions(network) == before
    key = re.search(r'action="/workspace/pathways/pending/([^/"]+)/submit"', preview.text)
    assert key, preview.text
    submitted = https.post(f"/workspace/pathways/pending/{key.group(1)}/submit", data={"csrf": token})
    assert submitted.status_code == 200 and "The new version is PlanDefinition/" in submitted.text
    assert versions(network) == before + 1
    code, output = cli("compare", TOPIC, "--database", network, "--format", "json")
    rp5 = next(t for t in json.loads(output)["topics"][0]["trusts"] if t["ods"] == "RP5")
    assert rp5["pathway"].endswith(f"|{read_workbook(workbook).pathway['version']}")
    # Submitted once: the key is spent.
    again = https.post(f"/workspace/pathways/pending/{key.group(1)}/submit", data={"csrf": token})
    assert again.status_code == 404 and versions(network) == before + 1


def test_a_discarded_upload_stores_nothing(https: TestClient, network: str) -> None:
    before = versions(network)
    assert sign_in(https, "rp5").status_code == 303
    token = csrf(https, "/workspace/pathways")
    preview = upload(https, rp5_workbook(network), token)
    key = re.search(r'/workspace/pathways/pending/([^/"]+)/discard', preview.text)
    assert key, preview.text
    discarded = https.post(f"/workspace/pathways/pending/{key.group(1)}/discard", data={"csrf": token})
    assert discarded.status_code == 200 and "nothing was stored" in discarded.text
    assert https.post(f"/workspace/pathways/pending/{key.group(1)}/submit", data={"csrf": token}).status_code == 404
    assert versions(network) == before


def test_a_trust_cannot_submit_another_trusts_pending_upload(network: str) -> None:
    from service.api import create_app

    from .stores import TEST_SECURITY

    app = create_app(network, TEST_SECURITY)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as rp5, \
            TestClient(app, base_url="https://testserver", follow_redirects=False) as rhq:
        before = versions(network)
        assert sign_in(rp5, "rp5").status_code == 303
        preview = upload(rp5, rp5_workbook(network), csrf(rp5, "/workspace/pathways"))
        key = re.search(r'/workspace/pathways/pending/([^/"]+)/submit', preview.text)
        assert key, preview.text
        assert sign_in(rhq, "rhq").status_code == 303
        forged = rhq.post(f"/workspace/pathways/pending/{key.group(1)}/submit",
                          data={"csrf": csrf(rhq, "/workspace/pathways")})
        assert forged.status_code == 404 and "no upload of yours" in forged.text
        # RHQ uploading RP5's workbook is refused before anything is held.
        refused = upload(rhq, rp5_workbook(network), csrf(rhq, "/workspace/pathways"))
        assert refused.status_code == 403 and "RP5" in refused.text
        assert versions(network) == before
        # Without the CSRF token even its owner cannot submit it.
        assert rp5.post(f"/workspace/pathways/pending/{key.group(1)}/submit", data={}).status_code == 403
        assert versions(network) == before


def test_an_approval_comment_sent_over_fhir_is_a_crmi_artifact_comment_the_workspace_reads(
        https: TestClient, network: str) -> None:
    from .stores import bearer

    draft = make_draft(network)
    approved = https.post(f"/fhir/PlanDefinition/{draft}/$approve", headers=bearer(),
                          json={"resourceType": "Parameters", "parameter": [
                              {"name": "approvalDate", "valueDate": "2026-11-30"},
                              {"name": "artifactAssessmentSummary", "valueMarkdown": "Agreed in November."}]})
    assert approved.status_code == 200, approved.text
    comment = next(e for e in approved.json()["extension"] if e["url"] == guidelines.APPROVAL_EXTENSION)
    assert comment["url"] == "http://hl7.org/fhir/StructureDefinition/cqf-artifactComment"
    assert {p["url"]: next(v for k, v in p.items() if k != "url") for p in comment["extension"]} == {
        "type": "documentation", "text": "Agreed in November.", "user": "test-network-lead",
        "authoredOn": "2026-11-30"}
    assert sign_in(https, "lead").status_code == 303
    page = https.get(f"/workspace/guidelines/{draft}").text
    assert "Approved on 2026-11-30 by test-network-lead" in page
    assert "2026-11-30, test-network-lead: <q>Agreed in November.</q>" in page
