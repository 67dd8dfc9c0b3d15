"""The network's governance loop (issue #13): the guideline lifecycle over FHIR and the command line,
and register decisions, on SQLite and PostgreSQL, with expected values worked out from the sample."""

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Final

import httpx
import pytest
from typer.testing import CliRunner

from service.application.loading import store_files
from service.cli import app
from service.store import Store

from .conftest import GUIDELINES, PATHWAYS
from .stores import BACKENDS, ServerThread, bearer, database

TOPIC: Final = "tonsillectomy-follow-up"
GUIDELINE: Final = "PlanDefinition/guideline-tonsillectomy-follow-up"
URL: Final = "http://harmonise.example.org/fhir/PlanDefinition/guideline-tonsillectomy-follow-up"
runner = CliRunner()


def cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.output


@pytest.fixture(params=BACKENDS)
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[httpx.Client, str]]:
    """A server on the sample network, and a network lead's client; the store's URL for the command line."""
    with database(request.param, tmp_path) as url:
        loading = Store.open(url)
        store_files(loading, [PATHWAYS, GUIDELINES])
        loading.close()
        with ServerThread(url) as server, httpx.Client(base_url=server.base, timeout=60, headers=bearer()) as lead:
            yield lead, url


def versions(client: httpx.Client) -> int:
    return client.get("PlanDefinition/_history", params={"_summary": "count"}).json()["total"]


def refused(response: httpx.Response, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    issue = response.json()["issue"][0]
    assert words in issue["diagnostics"], issue


def test_the_lifecycle_draft_approve_release_retire_and_every_illegal_transition(
        served: tuple[httpx.Client, str]) -> None:
    lead, url = served
    active = lead.get(GUIDELINE).json()
    assert (active["status"], active["version"]) == ("active", "1.0.0")
    before = versions(lead)

    # An agreed guideline is never edited, deleted or set back to draft by an ordinary write; a draft is not
    # made active by writing its status; a new guideline is not created active. Each changes nothing.
    edited = {**active, "title": "Edited in place"}
    refused(lead.put(GUIDELINE, json=edited), 409, "never edited: make a new draft version with $draft")
    refused(lead.put(GUIDELINE, json={**active, "status": "draft"}), 409, "never edited")
    refused(lead.delete(GUIDELINE), 409, "never deleted: retire it")
    new = {**active, "id": "guideline-made-active", "version": "9.0.0"}
    refused(lead.put("PlanDefinition/guideline-made-active", json=new), 422, "created as a draft")
    transaction = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": edited, "request": {"method": "PUT", "url": GUIDELINE}}]}
    assert lead.post("", json=transaction).status_code == 409
    assert versions(lead) == before

    # $draft: a new resource, same url, the new version, draft, linked to its predecessor.
    made = lead.post(f"{GUIDELINE}/$draft", params={"version": "1.1.0"})
    assert made.status_code == 201, made.text
    draft = made.json()
    assert (draft["url"], draft["version"], draft["status"]) == (URL, "1.1.0", "draft")
    assert {"type": "predecessor", "resource": f"{URL}|1.0.0"} in draft["relatedArtifact"]
    assert "approvalDate" not in draft and "effectivePeriod" not in draft
    draft_path = f"PlanDefinition/{draft['id']}"
    refused(lead.post(f"{GUIDELINE}/$draft", params={"version": "1.1.0"}), 409, f"{URL}|1.1.0 exists already")

    # A draft may be edited, but not made active by writing its status; released only once approved.
    draft["description"] = "Changed while a draft."
    assert lead.put(draft_path, json=draft).status_code == 200
    refused(lead.put(draft_path, json={**lead.get(draft_path).json(), "status": "active"}), 422, "only by $release")
    refused(lead.post(f"{draft_path}/$release"), 409, "has not been approved")

    # Only a network lead decides.
    trust = bearer("system/*.*", trust="RHQ")
    refused(lead.post(f"{draft_path}/$approve", headers=trust), 403, "network lead")
    # ...before anything it sent is read; to a lead, a bad parameter is named with the value sent.
    refused(lead.post(f"{draft_path}/$approve", params={"approvalDate": "soon"}, headers=trust), 403, "network lead")
    refused(lead.post(f"{draft_path}/$approve", params={"approvalDate": "soon"}), 400,
            "approvalDate 'soon' is not a date like 2026-11-22")

    approved = lead.post(f"{draft_path}/$approve", json={"resourceType": "Parameters", "parameter": [
        {"name": "approvalDate", "valueDate": "2026-11-30"},
        {"name": "artifactAssessmentSummary", "valueMarkdown": "Agreed at the November board."}]})
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert (body["status"], body["approvalDate"], body["endorser"]) == ("draft", "2026-11-30",
                                                                       [{"name": "test-network-lead"}])

    released = lead.post(f"{draft_path}/$release", params={"reviewBy": "2028-11-30"})
    assert released.status_code == 200, released.text
    new_active, old = (entry["resource"] for entry in released.json()["entry"])
    today = date.today().isoformat()
    assert (new_active["status"], new_active["effectivePeriod"]) == ("active", {"start": today, "end": "2028-11-30"})
    assert (old["id"], old["status"], old["effectivePeriod"]["end"]) == ("guideline-tonsillectomy-follow-up",
                                                                          "retired", today)
    # One transaction: the release and the retirement were recorded at the same moment.
    assert new_active["meta"]["lastUpdated"] == old["meta"]["lastUpdated"]
    refused(lead.post(f"{draft_path}/$release"), 409, "is active, not a draft")

    # The report now judges the topic against the new version.
    report = lead.get("PlanDefinition/$compare", params={"topic": TOPIC}, headers={"accept": "application/json"})
    assert report.json()["topics"][0]["guideline"] == f"{URL}|1.1.0"
    code, output = cli("compare", TOPIC, "--database", url, "--format", "json")
    assert json.loads(output)["topics"][0]["guideline"] == f"{URL}|1.1.0"

    retired = lead.post(f"{draft_path}/$retire")
    assert retired.status_code == 200 and retired.json()["status"] == "retired"
    refused(lead.post(f"{draft_path}/$retire"), 409, "retired already")
    # Each step had its audit record.
    audit = lead.get("Provenance", params={"target": draft_path, "_summary": "count"}).json()["total"]
    assert audit == 5  # created by $draft, edited as a draft, approved, released, retired


def test_the_command_line_runs_the_same_lifecycle(served: tuple[httpx.Client, str]) -> None:
    lead, url = served
    code, output = cli("propose", TOPIC, "--draft", "--database", url, "--out", "/dev/null")
    assert code == 0, output
    proposal = "proposal-tonsillectomy-follow-up"
    stored = lead.get(f"PlanDefinition/{proposal}").json()
    assert (stored["status"], stored["url"], stored["version"]) == ("draft", URL, "1.1.0")  # the topic's next minor
    assert cli("guideline", "release", proposal, "--database", url)[0] == 1  # not approved
    assert cli("guideline", "approve", proposal, "--by", "Paediatrics network board", "--database", url)[0] == 0
    code, output = cli("guideline", "release", proposal, "--database", url)
    assert code == 0 and "Retired: PlanDefinition/guideline-tonsillectomy-follow-up" in " ".join(output.split())
    code, output = cli("guideline", "list", "--database", url, "--format", "json")
    rows = {(row["reference"], row["status"]) for row in json.loads(output) if row["topic"] == TOPIC}
    assert rows == {(f"PlanDefinition/{proposal}", "active"), (GUIDELINE, "retired")}
    # The site shows the new one with its approval date.
    from service.site.content import read_site_content
    from service.site.settings import SiteSettings

    from .conftest import REPOSITORY

    site = read_site_content(SiteSettings(PATHWAYS, GUIDELINES, date.today(), root=REPOSITORY, database=url))
    shown = site.topics[TOPIC].guideline
    assert shown is not None and shown.pathway.version == "1.1.0" and shown.data["approvalDate"] == \
        date.today().isoformat()


def test_register_decisions_from_the_command_line(served: tuple[httpx.Client, str]) -> None:
    lead, url = served

    def rp5_sleep_review_timing() -> str:
        code, output = cli("compare", TOPIC, "--database", url, "--format", "json", "--as-of", "2026-11-22")
        differences = json.loads(output)["topics"][0]["differences"]
        return next(d["classification"] for d in differences
                    if (d["trust"], d["step"], d["dimension"]) == ("RP5", "sleep-review", "timing"))

    # The sample: RP5 reviews sleep outside the guideline's window, and no entry warrants it.
    assert rp5_sleep_review_timing() == "unwarranted"
    step = "sleep-review"
    entry = ["--trust", "RP5", "--topic", TOPIC, "--dimension", "timing", "--rationale", "Illustrative: a test.",
             "--agreed-by", "Test board", "--agreed-on", "2026-11-01", "--review-by", "2027-11-01",
             "--database", url]
    # A mistyped step warrants nothing: refused, naming the steps that have differences.
    code, output = cli("register", "add", "--step", "sleep-reveiw", *entry)
    assert code == 1 and "covers no difference" in output
    assert "recovery-call, sleep-review" in " ".join(output.split())  # RP5's steps with differences, named
    code, output = cli("register", "add", "--step", step, *entry)
    assert code == 0, output
    assert rp5_sleep_review_timing() == "warranted"
    listed = json.loads(cli("register", "list", "--database", url, "--format", "json")[1])
    mine = next(item for item in listed if item["trust"] == "RP5" and item["step"] == step
                and item["dimension"] == "timing")
    assert cli("register", "renew", mine["id"], "--review-by", "2028-11-01", "--rationale", "Still needed.",
               "--database", url)[0] == 0
    reason = "The trust changed its pathway."
    assert cli("register", "retire", mine["id"], "--reason", reason, "--database", url)[0] == 0
    assert rp5_sleep_review_timing() == "unwarranted"  # a retired entry warrants nothing
    history = lead.get(f"Basic/{mine['id']}/_history").json()["entry"]
    assert len(history) == 3  # added, renewed, retired: every decision kept
    retired = json.loads(cli("register", "list", "--database", url, "--format", "json")[1])
    assert next(item for item in retired if item["id"] == mine["id"])["retired_because"] == \
        "The trust changed its pathway."
