"""A topic's history (issue #18, part 5) on SQLite and PostgreSQL: who changed what and when, read from the
Provenance records, newest first, on the workspace's history page and from ``harmonise history``.

The sample network is loaded by the local administrator; then, in this order, a network lead records a
warranted variation in the workspace, RP5's pathway lead imports RP5's workbook there, and a network lead's
token deletes RXF's pathway through the FHIR API. The rows below are worked out by hand from those steps."""

import html
import json
import re
from datetime import UTC, datetime, timedelta

from starlette.testclient import TestClient

from service.application.history import Kind, topic_history
from service.spreadsheet import read_workbook
from service.store import Store
from service.store.audit import Activity

from .stores import bearer
from .test_workspace_governance import rp5_workbook
from .workspaces import TOPIC, cli, csrf, sign_in, warranted_form

TITLE = "Follow-up after tonsillectomy in children"
RP5 = "Doncaster and Bassetlaw Teaching Hospitals NHS Foundation Trust (RP5)"
#: What the sample network's load wrote for the topic, newest first: the register's two entries (one
#: transaction, in reference order), the guideline, then the pathways (one transaction; RP5's file holds
#: two versions of its pathway, so the load made version 1 and then version 2).
LOADED = [
    ("create", "register entry", "RCU, sleep-review, mode: warranted until 2027-03-31",
     "Basic/wv-rcu-2d9d5ffa5c6a2910, version 1"),
    ("create", "register entry", "RXF, sleep-review, presence: warranted until 2026-06-30",
     "Basic/wv-rxf-9269656f3d387bb9, version 1"),
    ("create", "network guideline", f"{TITLE}, version 1.0.0 (active)",
     "PlanDefinition/guideline-tonsillectomy-follow-up, version 1"),
    ("create", "trust pathway", f"RCU: {TITLE} (Sheffield Children's), version 3.1.0 (active)",
     "PlanDefinition/rcu-tonsillectomy-follow-up, version 1"),
    ("create", "trust pathway", f"RFF: {TITLE} (Barnsley Hospital), version 2.0.0 (active)",
     "PlanDefinition/rff-tonsillectomy-follow-up, version 1"),
    ("create", "trust pathway", f"RFR: {TITLE} (Rotherham), version 1.1.0 (active)",
     "PlanDefinition/rfr-tonsillectomy-follow-up, version 1"),
    ("create", "trust pathway", f"RFS: {TITLE} (Chesterfield Royal Hospital), version 1.2.0 (active)",
     "PlanDefinition/rfs-tonsillectomy-follow-up, version 1"),
    ("revise", "trust pathway", f"RP5: {TITLE} (Doncaster and Bassetlaw Teaching Hospitals), version 2.2.0 (active)",
     "PlanDefinition/rp5-tonsillectomy-follow-up, version 2"),
    ("create", "trust pathway", f"RP5: {TITLE} (Doncaster and Bassetlaw Teaching Hospitals), version 2.1.0 (retired)",
     "PlanDefinition/rp5-tonsillectomy-follow-up, version 1"),
    ("create", "trust pathway", f"RXF: {TITLE} (Mid Yorkshire Teaching), version 1.0.0 (active)",
     "PlanDefinition/rxf-tonsillectomy-follow-up, version 1"),
]
#: A row of the history table: when, who, acting for, change, kind, the link (if any), what, version.
ROW = re.compile(r"<tr>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>\s*"
                 r"<td>([^:<]*): (?:<a href=\"([^\"]*)\">)?([^<]*)(?:</a>)?</td>\s*"
                 r"<td><code>([^<]*)</code></td>\s*</tr>")


def make_changes(client: TestClient, network: str) -> tuple[str, str, str]:
    """The three changes of the module's docstring; the register entry's id, its review date and RP5's new version."""
    assert sign_in(client, "lead").status_code == 303
    form = warranted_form(csrf(client, f"/workspace/topics/{TOPIC}"))
    recorded = client.post(f"/workspace/topics/{TOPIC}/warranted", data=form)
    entry = re.search(r"the register entry is Basic/([A-Za-z0-9.-]+?)\.</p>", recorded.text)
    assert entry, recorded.text
    client.post("/workspace/sign-out", data={"csrf": csrf(client, "/workspace/")})
    assert sign_in(client, "rp5").status_code == 303
    workbook = rp5_workbook(network)
    imported = client.post("/workspace/pathways/import", data={"csrf": csrf(client, "/workspace/pathways")},
                           files={"workbook": ("rp5.xlsx", workbook, "application/octet-stream")})
    assert imported.status_code == 200, imported.text
    deleted = client.delete("/fhir/PlanDefinition/rxf-tonsillectomy-follow-up", headers=bearer())
    assert deleted.status_code in (200, 204), deleted.text
    return entry.group(1), form["review_by"], str(read_workbook(workbook).pathway["version"])


def test_the_history_page_lists_who_changed_what_and_when_newest_first(https: TestClient, network: str) -> None:
    entry, review_by, rp5_version = make_changes(https, network)
    page = https.get(f"/workspace/topics/{TOPIC}/history")
    assert page.status_code == 200, page.text
    rows = [tuple(html.unescape(cell) for cell in row) for row in ROW.findall(page.text)]
    # who, acting for, change, kind, link, what, version: the three changes first, newest first.
    assert [row[1:] for row in rows[:3]] == [
        ("test-network-lead (network lead)", "the network", "delete", "trust pathway", "",
         f"RXF: {TITLE} (Mid Yorkshire Teaching), version 1.0.0 (active)",
         "PlanDefinition/rxf-tonsillectomy-follow-up, version 2"),
        ("rp5 (trust RP5, workspace)", RP5, "revise", "trust pathway", f"/workspace/topics/{TOPIC}",
         f"RP5: {TITLE} (Doncaster and Bassetlaw Teaching Hospitals), version {rp5_version} (active)",
         "PlanDefinition/rp5-tonsillectomy-follow-up, version 3"),
        ("lead (network lead, workspace)", "the network", "create", "register entry", f"/workspace/topics/{TOPIC}",
         f"RP5, sleep-review, timing: warranted until {review_by}", f"Basic/{entry}, version 1"),
    ]
    # Then what the load wrote, by the local administrator, acting for no trust; the guideline links to its page.
    assert [(row[3], row[4], row[6], row[7]) for row in rows[3:]] == LOADED
    assert {(row[1].split(" ")[:2], row[2]) == (["local", "admin"], "the network") for row in rows[3:]} == {True}
    assert rows[5][5] == "/workspace/guidelines/guideline-tonsillectomy-follow-up"
    assert [row[5] for row in rows[3:] if row[4] == "trust pathway"][-1] == ""  # RXF's: deleted, no page now
    # Newest first by the time each was recorded; the three changes all within the last few minutes.
    times = [datetime.strptime(row[0], "%Y-%m-%d %H:%M:%S UTC").replace(tzinfo=UTC) for row in rows]
    assert times == sorted(times, reverse=True)
    assert datetime.now(UTC) - times[2] < timedelta(minutes=5)
    assert https.get("/workspace/topics/no-such-topic/history").status_code == 404


def test_history_is_linked_from_home_topic_and_guideline_pages_and_needs_a_sign_in(https: TestClient) -> None:
    link = f'href="/workspace/topics/{TOPIC}/history"'
    assert https.get(f"/workspace/topics/{TOPIC}/history").status_code == 303
    assert sign_in(https, "rhq").status_code == 303
    for path in ("/workspace/", f"/workspace/topics/{TOPIC}",
                 "/workspace/guidelines/guideline-tonsillectomy-follow-up"):
        assert link in https.get(path).text, path
    # A trust's pathway lead reads the whole topic's history, as anyone may read the audit trail through the API.
    assert https.get(f"/workspace/topics/{TOPIC}/history").status_code == 200


def test_topic_history_reads_a_deleted_resource_by_the_version_it_deleted(https: TestClient, network: str) -> None:
    make_changes(https, network)
    store = Store.open(network)
    try:
        changes = topic_history(store, TOPIC)
        other = topic_history(store, "no-such-topic")
    finally:
        store.close()
    deletion = changes[0]
    assert (deletion.activity, deletion.kind, deletion.reference, deletion.version_id, deletion.exists) == (
        Activity.DELETE, Kind.PATHWAY, "PlanDefinition/rxf-tonsillectomy-follow-up", 2, False)
    assert len(changes) == 3 + len(LOADED) and other == []


def test_harmonise_history_prints_the_same_rows(https: TestClient, network: str) -> None:
    entry, _review_by, _version = make_changes(https, network)
    code, output = cli("history", TOPIC, "--database", network, "--format", "json")
    assert code == 0, output
    rows = json.loads(output)
    assert [(r["activity"], r["reference"], r["version"]) for r in rows[:3]] == [
        ("delete", "PlanDefinition/rxf-tonsillectomy-follow-up", 2),
        ("revise", "PlanDefinition/rp5-tonsillectomy-follow-up", 3), ("create", f"Basic/{entry}", 1)]
    assert rows[1]["who"] == "rp5 (trust RP5, workspace)" and rows[1]["on_behalf_of"] == "RP5"
    code, text = cli("history", TOPIC, "--database", network)
    assert code == 0 and f"History of {TITLE}" in text and "delete" in text  # the table, wrapped to the terminal
    code, text = cli("history", "no-such-topic", "--database", network)
    assert code == 2 and "not a topic" in text
