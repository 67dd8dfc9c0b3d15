"""Access control over real HTTP, on SQLite and PostgreSQL: 401 without a valid token, 403 without the
scope or the ownership, reads open unless configured otherwise, and the embedded default safe."""

import dataclasses
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jwt
import pytest
from typer.testing import CliRunner

from service import fhirformat
from service.cli import app as cli
from service.security.settings import VARIABLES

from .conftest import minimal_pathway
from .stores import BACKENDS, TEST_SECRET, TEST_SECURITY, ServerThread, bearer, database, serve_process

BASE = "http://harmonise.example.org/fhir"
ODS = "https://fhir.nhs.uk/Id/ods-organization-code"
TRUST_SCOPES = "system/*.read system/PlanDefinition.write system/MeasureReport.write"
RHQ = bearer(TRUST_SCOPES, trust="RHQ", subject="alice@rhq")
RFF = bearer(TRUST_SCOPES, trust="RFF", subject="bob@rff")
LEAD = bearer(subject="carol@network")
READER = bearer("system/*.read", subject="reader")
JSON = "application/fhir+json"


@pytest.fixture(scope="module", params=BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """A client of a server with the production security model; each request brings its own token."""
    with (database(request.param, tmp_path_factory.mktemp("auth")) as url, ServerThread(url) as server,
          httpx.Client(base_url=server.base, timeout=60) as client):
        yield client


def pathway(owner: str = "RHQ", **overrides) -> dict:
    tag = overrides.pop("id", None) or f"a-{uuid.uuid4().hex[:10]}"
    return minimal_pathway(id=tag, url=f"http://test.example.org/fhir/PlanDefinition/{tag}", extension=[{
        "url": f"{BASE}/StructureDefinition/owning-organization",
        "valueIdentifier": {"system": ODS, "value": owner}}], **overrides)


def guideline() -> dict:
    return pathway("RHQ", meta={"profile": [f"{BASE}/StructureDefinition/network-guideline"]},
                   publisher="Gastroenterology Network")


def measure_report(reporter: str) -> dict:
    return {"resourceType": "MeasureReport", "id": f"mr-{uuid.uuid4().hex[:10]}", "status": "complete",
            "type": "summary", "measure": f"{BASE}/Measure/follow-up-contacts",
            "period": {"start": "2025-01-01", "end": "2025-01-31"},
            "reporter": {"identifier": {"system": ODS, "value": reporter}}}


def outcome_issue(response: httpx.Response) -> dict:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    return body["issue"][0]


def versions(api: httpx.Client, resource_type: str, resource_id: str) -> int:
    found = api.get(f"/{resource_type}/{resource_id}/_history")
    return 0 if found.status_code == 404 else found.json()["total"]


def expired_token() -> str:
    past = datetime.now(UTC) - timedelta(hours=2)
    return jwt.encode({"iss": "harmonise", "aud": "harmonise", "sub": "late", "iat": past,
                       "exp": past + timedelta(hours=1), "scope": "system/*.* network-lead"},
                      TEST_SECRET, algorithm="HS256")


# --- 401 ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("headers", "code", "challenge"), [
    ({}, "login", 'Bearer realm="harmonise"'),
    ({"Authorization": "Basic YWRtaW46YWRtaW4="}, "login", 'error="invalid_request"'),
    ({"Authorization": LEAD["Authorization"][:-4] + "AAAA"}, "login", 'error="invalid_token"'),
    ({"Authorization": f"Bearer {expired_token()}"}, "expired", 'error="invalid_token"'),
    (bearer(settings=dataclasses.replace(TEST_SECURITY, secret=b"z" * 40)), "login", "Signature verification"),
])
def test_writes_without_a_valid_token_are_refused_with_401_and_a_challenge(api: httpx.Client, headers: dict,
                                                                         code: str, challenge: str) -> None:
    sent = pathway()
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": sent, "request": {"method": "PUT", "url": f"PlanDefinition/{sent['id']}"}}]}
    for response in (api.put(f"/PlanDefinition/{sent['id']}", json=sent, headers=headers),
                     api.post("/PlanDefinition", json=sent, headers=headers),
                     api.delete(f"/PlanDefinition/{sent['id']}", headers=headers),
                     api.post("/", json=bundle, headers=headers)):
        assert response.status_code == 401, response.text
        assert response.headers["www-authenticate"].startswith("Bearer ")
        assert challenge in response.headers["www-authenticate"]
        assert outcome_issue(response)["code"] == code
    assert versions(api, "PlanDefinition", sent["id"]) == 0


def test_a_token_without_the_write_scope_gets_403_naming_the_scope(api: httpx.Client) -> None:
    sent = pathway()
    refused = api.put(f"/PlanDefinition/{sent['id']}", json=sent, headers=READER)
    assert refused.status_code == 403
    assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]
    assert 'scope="system/PlanDefinition.write"' in refused.headers["www-authenticate"]
    assert outcome_issue(refused)["code"] == "forbidden"
    assert versions(api, "PlanDefinition", sent["id"]) == 0


# --- ownership ----------------------------------------------------------------------------------------


def test_a_trust_changes_only_its_own_pathways_and_cannot_take_or_give_one_away(api: httpx.Client) -> None:
    mine = pathway("RHQ")
    url = f"/PlanDefinition/{mine['id']}"
    assert api.put(url, json=mine, headers=RHQ).status_code == 201
    refusals = {
        "update another trust's": api.put(url, json={**mine, "title": "Ours now"}, headers=RFF),
        "take it over": api.put(url, json=pathway("RFF", id=mine["id"]), headers=RFF),
        "delete another trust's": api.delete(url, headers=RFF),
        "give it away": api.put(url, json=pathway("RFF", id=mine["id"]), headers=RHQ),
        "create for another trust": api.post("/PlanDefinition", json=pathway("RFF"), headers=RHQ),
    }
    for what, response in refusals.items():
        assert response.status_code == 403, (what, response.text)
        assert "belongs to" in outcome_issue(response)["diagnostics"], what
    assert api.get(url).json()["title"] == mine["title"] and versions(api, "PlanDefinition", mine["id"]) == 1
    assert api.put(url, json={**mine, "title": "Revised"}, headers=RHQ).status_code == 200
    assert api.delete(url, headers=RHQ).status_code == 204
    retaken = api.put(url, json=pathway("RFF", id=mine["id"]), headers=RFF)
    assert retaken.status_code == 403  # a deleted pathway is still RHQ's: its id cannot be taken over


def test_network_guidelines_and_measures_need_the_network_lead(api: httpx.Client) -> None:
    host_trust = bearer("system/*.*", trust="RHQ")  # every scope but network-lead
    # A draft: the lifecycle lets an ordinary write create and edit only drafts (test_governance.py).
    agreed = {**guideline(), "status": "draft"}
    measure = {"resourceType": "Measure", "id": f"m-{uuid.uuid4().hex[:8]}", "status": "active",
               "url": f"{BASE}/Measure/test-{uuid.uuid4().hex[:8]}"}
    for resource in (agreed, measure):
        url = f"/{resource['resourceType']}/{resource['id']}"
        refused = api.put(url, json=resource, headers=host_trust)
        assert refused.status_code == 403 and "network-lead" in outcome_issue(refused)["diagnostics"]
        assert api.put(url, json=resource, headers=LEAD).status_code == 201
    assert api.delete(f"/PlanDefinition/{agreed['id']}", headers=host_trust).status_code == 403
    assert api.put(f"/PlanDefinition/{agreed['id']}", json={**agreed, "title": "x"}, headers=LEAD).status_code == 200


def test_a_network_lead_may_change_any_trust_pathway(api: httpx.Client) -> None:
    theirs = pathway("RFF")
    assert api.put(f"/PlanDefinition/{theirs['id']}", json=theirs, headers=RFF).status_code == 201
    changed = api.put(f"/PlanDefinition/{theirs['id']}", json={**theirs, "title": "Agreed"}, headers=LEAD)
    assert changed.status_code == 200


def test_a_trust_writes_only_its_own_measure_reports(api: httpx.Client) -> None:
    own, other = measure_report("RHQ"), measure_report("RFF")
    assert api.put(f"/MeasureReport/{own['id']}", json=own, headers=RHQ).status_code == 201
    refused = api.put(f"/MeasureReport/{other['id']}", json=other, headers=RHQ)
    assert refused.status_code == 403 and "belongs to RFF" in outcome_issue(refused)["diagnostics"]
    assert versions(api, "MeasureReport", other["id"]) == 0


def test_a_transaction_with_one_forbidden_entry_changes_nothing(api: httpx.Client) -> None:
    mine, theirs = pathway("RHQ"), pathway("RFF")
    assert api.put(f"/PlanDefinition/{theirs['id']}", json=theirs, headers=RFF).status_code == 201
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": mine, "request": {"method": "PUT", "url": f"PlanDefinition/{mine['id']}"}},
        {"request": {"method": "DELETE", "url": f"PlanDefinition/{theirs['id']}"}},
    ]}
    refused = api.post("/", json=bundle, headers=RHQ)
    assert refused.status_code == 403
    issue = outcome_issue(refused)
    assert issue["diagnostics"].startswith("entry 1: ") and issue["expression"] == ["Bundle.entry[1]"]
    assert versions(api, "PlanDefinition", mine["id"]) == 0
    assert api.get(f"/PlanDefinition/{theirs['id']}").status_code == 200
    scopeless = api.post("/", json=bundle, headers=READER)
    assert scopeless.status_code == 403 and outcome_issue(scopeless)["expression"] == ["Bundle.entry[0]"]


# --- reads ---------------------------------------------------------------------------------------------


def test_reads_are_open_but_the_audit_trail_needs_a_token(api: httpx.Client) -> None:
    assert api.get("/PlanDefinition", params={"_count": 1}).status_code == 200
    assert api.get("/metadata").status_code == 200
    anonymous = api.get("/Provenance")
    assert anonymous.status_code == 401 and outcome_issue(anonymous)["code"] == "login"
    assert api.get("/Provenance", headers=READER).status_code == 200
    narrow = api.get("/Provenance", headers=bearer("system/PlanDefinition.read"))
    assert narrow.status_code == 403 and 'scope="system/Provenance.read"' in narrow.headers["www-authenticate"]
    assert api.get("/Provenance/_history", params={"_count": 1}).status_code == 401
    bad = api.get("/PlanDefinition", headers={"Authorization": "Bearer nonsense"})
    assert bad.status_code == 401  # a token that is sent is checked, even where reads are open


def test_the_capability_statement_describes_the_security(api: httpx.Client) -> None:
    rest = api.get("/metadata").json()["rest"][0]
    security = rest["security"]
    assert security["service"][0]["coding"][0]["code"] == "SMART-on-FHIR"
    for words in ("system/<type>.<read|write|*>", "network-lead", "ods", "Provenance", "Reads are open"):
        assert words in security["description"]
    provenance = next(resource for resource in rest["resource"] if resource["type"] == "Provenance")
    assert {item["code"] for item in provenance["interaction"]} == {
        "read", "vread", "history-instance", "history-type", "search-type"}
    assert {p["name"] for p in provenance["searchParam"]} >= {"target", "agent", "recorded", "activity"}


@pytest.fixture(scope="module")
def closed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """A server whose reads need a token too."""
    settings = dataclasses.replace(TEST_SECURITY, reads_require_token=True)
    url = f"sqlite:///{tmp_path_factory.mktemp('closed') / 'store.db'}"
    with ServerThread(url, security=settings) as server, httpx.Client(base_url=server.base, timeout=60) as client:
        yield client


def test_reads_can_be_configured_to_need_a_token(closed: httpx.Client) -> None:
    assert closed.get("/metadata").status_code == 200  # clients must be able to learn how to authenticate
    assert "Every read needs a bearer token" in closed.get("/metadata").json()["rest"][0]["security"]["description"]
    for path in ("/PlanDefinition", "/PlanDefinition/x", "/PlanDefinition/_history", "/$signals",
                 "/PlanDefinition/$compare?topic=x", "/OperationDefinition/PlanDefinition-compare"):
        response = closed.get(path)
        assert response.status_code == 401 and outcome_issue(response)["code"] == "login", path
    assert closed.post("/PlanDefinition/_search", data={"title": "x"}).status_code == 401
    assert closed.get("/PlanDefinition", headers=READER).status_code == 200
    assert closed.get("/$signals", headers=READER).status_code == 200
    assert closed.get("/PlanDefinition", headers=bearer("system/Measure.read")).status_code == 403
    assert closed.get("/$signals", headers=bearer("system/PlanDefinition.read")).status_code == 403


def test_anonymous_writes_only_when_switched_on_and_then_audited(tmp_path: Path) -> None:
    settings = dataclasses.replace(TEST_SECURITY, allow_anonymous_writes=True)
    with (ServerThread(f"sqlite:///{tmp_path / 'dev.db'}", security=settings) as server,
          httpx.Client(base_url=server.base, timeout=60) as client):
        sent = pathway()
        assert client.put(f"/PlanDefinition/{sent['id']}", json=sent).status_code == 201
        assert "LOCAL DEVELOPMENT MODE" in client.get("/metadata").json()["rest"][0]["security"]["description"]
        record = client.get("/Provenance", params={"target": f"PlanDefinition/{sent['id']}"}, headers=READER).json()
        assert record["entry"][0]["resource"]["agent"][0]["who"]["identifier"]["value"] == "anonymous"


# --- the embedded default ------------------------------------------------------------------------------

XXE_MARKER = "harmonise-xxe-canary"


def test_the_embedded_default_refuses_an_unauthenticated_put_and_xxe(tmp_path: Path) -> None:
    """`harmonise serve` with no key configured: writes need a token; `harmonise token` on the same
    install issues one that works; an external entity is refused without being read."""
    database_url = f"sqlite:///{tmp_path / 'harmonise.db'}"
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(XXE_MARKER)
    environment: dict[str, str | None] = dict.fromkeys(VARIABLES)  # none set, as in the embedded default
    with serve_process(database_url, tmp_path, tmp_path, secret=None) as base:
        sent = pathway()
        refused = httpx.put(f"{base}/PlanDefinition/{sent['id']}", json=sent)
        assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer")
        assert (tmp_path / ".harmonise-secret").stat().st_mode & 0o077 == 0

        issued = CliRunner().invoke(cli, ["token", "--trust", "RHQ", "--database", database_url, "--format", "json"],
                                    env=environment)
        token = {"Authorization": f"Bearer {json.loads(issued.stdout)['token']}"}
        assert httpx.put(f"{base}/PlanDefinition/{sent['id']}", json=sent, headers=token).status_code == 201

        hostile = fhirformat.to_xml(sent).replace(
            b"?>", f'?><!DOCTYPE PlanDefinition [<!ENTITY e SYSTEM "file://{secret_file}">]>'.encode(), 1
        ).replace(b'<title value="Test pathway"/>', b"<title>&e;</title>")
        answer = httpx.put(f"{base}/PlanDefinition/{sent['id']}", content=hostile,
                           headers={**token, "Content-Type": "application/fhir+xml"})
        assert answer.status_code == 400 and "DOCTYPE" in outcome_issue(answer)["diagnostics"]
        assert XXE_MARKER not in answer.text
        assert httpx.get(f"{base}/PlanDefinition/{sent['id']}").json()["title"] == "Test pathway"
