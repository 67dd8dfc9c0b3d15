"""The FHIR REST API over real HTTP (httpx to uvicorn), on SQLite and PostgreSQL.

Each test works on resources tagged with its own identifier, so they share one server per
backend without seeing each other's data.
"""

import json
import uuid
from email.utils import parsedate_to_datetime

import httpx
import pytest
from typer.testing import CliRunner

from service import fhirformat
from service.cli import app as cli
from service.store import WriteConflict, Writer
from service.store.dates import parse_timestamp

from .conftest import minimal_pathway, write_json

JSON = "application/fhir+json"
XML = "application/fhir+xml"


def tagged(**overrides) -> dict:
    """A valid trust pathway with its own id, url and identifier (the tag)."""
    tag = overrides.pop("tag", None) or f"t-{uuid.uuid4().hex[:10]}"
    return minimal_pathway(id=tag, url=f"http://test.example.org/fhir/PlanDefinition/{tag}",
                           identifier=[{"system": "urn:test", "value": tag}], **overrides)


def outcome_of(response: httpx.Response) -> dict:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    return body


def history_ids(client: httpx.Client, tag: str) -> list[str]:
    return [entry["response"]["etag"] for entry in client.get(f"/PlanDefinition/{tag}/_history").json()["entry"]]


# --- CapabilityStatement ------------------------------------------------------------------------------

PLAN_DEFINITION_PARAMETERS = {
    "_id", "_lastUpdated", "url", "version", "status", "name", "title", "identifier", "publisher", "description",
    "topic", "type", "date", "effective", "jurisdiction", "context", "context-type", "derived-from", "predecessor",
    "successor", "composed-of", "trust"}


def test_metadata_lists_what_the_server_supports(client: httpx.Client) -> None:
    response = client.get("/metadata")
    assert response.status_code == 200 and response.headers["content-type"].startswith(JSON)
    statement = response.json()
    assert statement["fhirVersion"] == "4.0.1" and statement["kind"] == "instance"
    rest = statement["rest"][0]
    assert rest["interaction"] == [{"code": "transaction"}]
    resources = {resource["type"]: resource for resource in rest["resource"]}
    assert set(resources) == {"PlanDefinition", "Organization", "MeasureReport", "Measure", "OperationDefinition",
                              "Provenance", "Basic", "StructureDefinition", "CodeSystem", "ValueSet"}
    plan = resources["PlanDefinition"]
    assert {i["code"] for i in plan["interaction"]} == {
        "read", "vread", "update", "delete", "history-instance", "history-type", "create", "search-type"}
    assert {i["code"] for i in resources["Organization"]["interaction"]} == {
        "read", "vread", "history-instance", "history-type", "search-type"}
    assert {p["name"] for p in plan["searchParam"]} == PLAN_DEFINITION_PARAMETERS
    trust = next(p for p in plan["searchParam"] if p["name"] == "trust")
    assert trust["definition"] == "http://harmonise.example.org/fhir/SearchParameter/PlanDefinition-trust"
    assert trust["type"] == "token"
    assert plan["operation"] == [
        {"name": "validate", "definition": "http://hl7.org/fhir/OperationDefinition/Resource-validate"},
        {"name": "compare", "definition": "http://harmonise.example.org/fhir/OperationDefinition/PlanDefinition-compare"},
        {"name": "diff", "definition": "http://harmonise.example.org/fhir/OperationDefinition/Resource-diff"},
        *({"name": name, "definition": f"http://harmonise.example.org/fhir/OperationDefinition/PlanDefinition-{name}"}
          for name in ("apply", "package", "draft", "approve", "release", "retire"))]
    assert {i["code"] for i in resources["OperationDefinition"]["interaction"]} == {"read"}
    assert plan["conditionalCreate"] is True and plan["versioning"] == "versioned-update"
    assert {p["name"] for p in resources["Organization"]["searchParam"]} == {"_id", "_lastUpdated", "identifier",
                                                                              "name"}


def test_every_listed_search_parameter_is_accepted_and_no_other(client: httpx.Client) -> None:
    statement = client.get("/metadata").json()
    for resource in statement["rest"][0]["resource"]:
        for parameter in resource.get("searchParam", []):
            response = client.get(f"/{resource['type']}", params={f"{parameter['name']}:missing": "true"})
            assert response.status_code == 200, (resource["type"], parameter["name"], response.text)
    strict = {"Prefer": "handling=strict"}
    refused = client.get("/PlanDefinition", params={"context-quantity": "5"}, headers=strict)
    assert refused.status_code == 400 and "not a supported search parameter" in refused.text
    lenient = client.get("/PlanDefinition", params={"context-quantity": "5", "_count": "1"}).json()
    assert "context-quantity" not in lenient["link"][0]["url"]
    assert lenient["entry"][-1]["search"]["mode"] == "outcome"
    assert "context-quantity" in lenient["entry"][-1]["resource"]["issue"][0]["diagnostics"]


def test_unlisted_interactions_are_refused_with_405(client: httpx.Client) -> None:
    organization = {"resourceType": "Organization", "id": "RHQ", "name": "x"}
    assert client.post("/Organization", json=organization).status_code == 405
    assert client.put("/Organization/RHQ", json=organization).status_code == 405
    assert client.delete("/Organization/RHQ").status_code == 405
    assert client.patch("/PlanDefinition/anything", json={}).status_code == 405
    assert client.post("/Organization/$validate", json=organization).status_code == 404


# --- read, create, update, delete, history ---------------------------------------------------------


def test_create_read_vread_with_etag_and_last_modified(client: httpx.Client) -> None:
    sent = tagged()
    created = client.post("/PlanDefinition", json=sent)
    assert created.status_code == 201
    body = created.json()
    new_id = body["id"]
    assert new_id != sent["id"]  # create assigns the id
    assert created.headers["location"] == f"{str(client.base_url).rstrip('/')}/PlanDefinition/{new_id}/_history/1"
    assert created.headers["etag"] == 'W/"1"'
    assert body["meta"]["versionId"] == "1"

    read = client.get(f"/PlanDefinition/{new_id}")
    assert read.status_code == 200 and read.headers["etag"] == 'W/"1"'
    modified = parsedate_to_datetime(read.headers["last-modified"])
    assert modified == parse_timestamp(body["meta"]["lastUpdated"]).replace(microsecond=0)
    assert read.json() == body
    assert client.get(f"/PlanDefinition/{new_id}/_history/1").json() == body
    assert client.get(f"/PlanDefinition/{new_id}/_history/2").status_code == 404


def test_update_with_a_client_id_then_delete_and_history(client: httpx.Client) -> None:
    first = tagged()
    tag = first["id"]
    created = client.put(f"/PlanDefinition/{tag}", json=first)
    assert (created.status_code, created.headers["etag"]) == (201, 'W/"1"')
    changed = client.put(f"/PlanDefinition/{tag}", json={**first, "title": "Changed"})
    assert (changed.status_code, changed.headers["etag"]) == (200, 'W/"2"')
    same = client.put(f"/PlanDefinition/{tag}", json={**first, "title": "Changed"})
    assert (same.status_code, same.headers["etag"]) == (200, 'W/"2"')  # unchanged: no new version

    deleted = client.delete(f"/PlanDefinition/{tag}")
    assert deleted.status_code == 204
    gone = client.get(f"/PlanDefinition/{tag}")
    assert gone.status_code == 410 and outcome_of(gone)["issue"][0]["code"] == "deleted"
    assert client.get(f"/PlanDefinition/{tag}/_history/2").json()["title"] == "Changed"
    assert client.get(f"/PlanDefinition/{tag}/_history/3").status_code == 410
    assert client.delete(f"/PlanDefinition/{tag}").status_code == 204  # deleting again is harmless

    history = client.get(f"/PlanDefinition/{tag}/_history").json()
    assert history["type"] == "history" and history["total"] == 3
    entries = history["entry"]
    assert [(e["request"]["method"], e["response"]["etag"]) for e in entries] == [
        ("DELETE", 'W/"3"'), ("PUT", 'W/"2"'), ("PUT", 'W/"1"')]
    assert "resource" not in entries[0]
    assert [e["resource"]["meta"]["versionId"] for e in entries[1:]] == ["2", "1"]
    stamps = [e["response"]["lastModified"] for e in entries]
    assert stamps == sorted(stamps, reverse=True) and len(set(stamps)) == 3
    assert entries[1]["resource"]["meta"]["lastUpdated"] == stamps[1] == changed.json()["meta"]["lastUpdated"]
    assert entries[2]["resource"]["meta"]["lastUpdated"] == stamps[2] == created.json()["meta"]["lastUpdated"]

    recreated = client.put(f"/PlanDefinition/{tag}", json=first)
    assert (recreated.status_code, recreated.headers["etag"]) == (201, 'W/"4"')


def test_type_history_and_since(client: httpx.Client) -> None:
    first, second = tagged(), tagged()
    one = client.put(f"/PlanDefinition/{first['id']}", json=first).json()
    two = client.put(f"/PlanDefinition/{second['id']}", json=second).json()
    since = two["meta"]["lastUpdated"]
    recent = client.get("/PlanDefinition/_history", params={"_since": since}).json()
    assert [e["resource"]["id"] for e in recent["entry"]][-1] == second["id"]
    assert one["id"] not in {e["resource"]["id"] for e in recent["entry"]}
    everything = client.get("/PlanDefinition/_history", params={"_count": 1}).json()
    assert len(everything["entry"]) == 1 and any(link["relation"] == "next" for link in everything["link"])


def test_conditional_create_with_if_none_exist(client: httpx.Client) -> None:
    sent = tagged()
    condition = {"If-None-Exist": f"identifier=urn:test|{sent['id']}"}
    first = client.post("/PlanDefinition", json=sent, headers=condition)
    again = client.post("/PlanDefinition", json=sent, headers=condition)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    client.post("/PlanDefinition", json=sent)  # a second match, made without the condition
    both = client.post("/PlanDefinition", json=sent, headers=condition)
    assert both.status_code == 412 and outcome_of(both)["issue"][0]["code"] == "duplicate"
    found = client.get("/PlanDefinition", params={"identifier": f"urn:test|{sent['id']}"}).json()
    assert found["total"] == 2


def test_prefer_return_minimal_representation_and_outcome(client: httpx.Client) -> None:
    minimal = client.post("/PlanDefinition", json=tagged(), headers={"Prefer": "return=minimal"})
    assert minimal.status_code == 201 and minimal.content == b"" and "_history/1" in minimal.headers["location"]
    no_profile = tagged()
    del no_profile["meta"]
    as_outcome = client.post("/PlanDefinition", json=no_profile, headers={"Prefer": "return=OperationOutcome"})
    issues = outcome_of(as_outcome)["issue"]
    assert as_outcome.status_code == 201
    assert issues[0]["severity"] == "information" and issues[0]["diagnostics"].startswith("Created PlanDefinition/")
    assert {"severity": "warning", "expression": ["PlanDefinition.meta.profile"]}.items() <= issues[1].items()
    represented = client.post("/PlanDefinition", json=tagged(), headers={"Prefer": "return=representation"})
    assert represented.json()["resourceType"] == "PlanDefinition"


def test_optimistic_locking_with_if_match(client: httpx.Client) -> None:
    sent = tagged()
    tag = sent["id"]
    client.put(f"/PlanDefinition/{tag}", json=sent)
    ok = client.put(f"/PlanDefinition/{tag}", json={**sent, "title": "Two"}, headers={"If-Match": 'W/"1"'})
    assert (ok.status_code, ok.headers["etag"]) == (200, 'W/"2"')
    stale = client.put(f"/PlanDefinition/{tag}", json={**sent, "title": "Stale"}, headers={"If-Match": 'W/"1"'})
    assert stale.status_code == 412 and "is at version 2" in outcome_of(stale)["issue"][0]["diagnostics"]
    stale_delete = client.delete(f"/PlanDefinition/{tag}", headers={"If-Match": 'W/"1"'})
    assert stale_delete.status_code == 412
    assert client.get(f"/PlanDefinition/{tag}").json()["title"] == "Two"


# --- formats -------------------------------------------------------------------------------------------


def test_json_and_xml_both_ways(client: httpx.Client) -> None:
    sent = tagged(title="Café & <friends>")
    created = client.post("/PlanDefinition", content=fhirformat.to_xml(sent), headers={"Content-Type": XML})
    assert created.status_code == 201
    new_id = created.json()["id"]
    as_xml = client.get(f"/PlanDefinition/{new_id}", headers={"Accept": XML})
    assert as_xml.headers["content-type"].startswith(XML)
    assert fhirformat.parse_xml(as_xml.content) == created.json()
    assert client.get(f"/PlanDefinition/{new_id}", params={"_format": "xml"}).content == as_xml.content
    overridden = client.get(f"/PlanDefinition/{new_id}", params={"_format": "json"}, headers={"Accept": XML})
    assert overridden.headers["content-type"].startswith(JSON)
    plain_json = client.get(f"/PlanDefinition/{new_id}", headers={"Accept": "application/json"})
    assert plain_json.json()["title"] == "Café & <friends>"
    assert b"\n  " not in plain_json.content
    assert b"\n  " in client.get(f"/PlanDefinition/{new_id}", params={"_pretty": "true"}).content
    search_xml = client.get("/PlanDefinition", params={"_id": new_id, "_format": "xml"})
    assert fhirformat.parse_xml(search_xml.content)["entry"][0]["resource"]["id"] == new_id


# --- search --------------------------------------------------------------------------------------------


def test_search_result_parameters_and_post_search(client: httpx.Client) -> None:
    marker = f"m-{uuid.uuid4().hex[:8]}"
    for title in ("Bravo", "alpha", "Charlie"):
        client.post("/PlanDefinition", json=tagged(title=title, publisher=marker))
    by_title = client.get("/PlanDefinition", params={"publisher": marker, "_sort": "-title"}).json()
    assert [e["resource"]["title"] for e in by_title["entry"]] == ["Charlie", "Bravo", "alpha"]
    assert by_title["total"] == 3 and all(e["search"]["mode"] == "match" for e in by_title["entry"])

    posted = client.post("/PlanDefinition/_search", data={"publisher": marker, "_sort": "-title"})
    assert [e["resource"]["id"] for e in posted.json()["entry"]] == [e["resource"]["id"] for e in by_title["entry"]]

    summary = client.get("/PlanDefinition", params={"publisher": marker, "_summary": "true"}).json()
    first = summary["entry"][0]["resource"]
    assert "action" not in first and first["title"] and first["status"] == "active"
    assert {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED",
            "display": "subsetted"} in first["meta"]["tag"]
    counted = client.get("/PlanDefinition", params={"publisher": marker, "_summary": "count"}).json()
    assert counted["total"] == 3 and "entry" not in counted
    elements = client.get("/PlanDefinition", params={"publisher": marker, "_elements": "title"}).json()
    assert set(elements["entry"][0]["resource"]) == {"resourceType", "id", "meta", "title", "status"}
    untotalled = client.get("/PlanDefinition", params={"publisher": marker, "_total": "none"}).json()
    assert "total" not in untotalled and len(untotalled["entry"]) == 3
    pruned = client.get("/PlanDefinition", params={"publisher": marker, "_summary": "data"}).json()
    assert "action" in pruned["entry"][0]["resource"]
    read_subset = client.get(f"/PlanDefinition/{first['id']}", params={"_elements": "name"}).json()
    assert set(read_subset) == {"resourceType", "id", "meta", "name", "status"}


def test_trust_search_by_ods_code(client: httpx.Client) -> None:
    marker = f"m-{uuid.uuid4().hex[:8]}"
    rhq = tagged(publisher=marker)
    rff = tagged(publisher=marker, extension=[{
        "url": "http://harmonise.example.org/fhir/StructureDefinition/owning-organization",
        "valueIdentifier": {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "RFF"}}])
    for resource in (rhq, rff):
        client.put(f"/PlanDefinition/{resource['id']}", json=resource)
    found = client.get("/PlanDefinition", params={"publisher": marker, "trust": "RFF"}).json()
    assert [e["resource"]["id"] for e in found["entry"]] == [rff["id"]]


# --- $validate -----------------------------------------------------------------------------------------


def _findings(outcome: dict) -> list[tuple[str, str, str | None]]:
    return sorted((i["severity"], i["details"]["text"], (i.get("expression") or [None])[0]) for i in outcome["issue"])


@pytest.mark.parametrize("variant", ["conventions", "invalid"])
def test_validate_finds_what_harmonise_validate_finds(client: httpx.Client, tmp_path, variant: str) -> None:
    resource = tagged()
    resource["useContext"] = []  # no topic, no network: two convention warnings
    if variant == "invalid":
        resource["colour"] = "red"  # not an element of PlanDefinition: an error
    path = write_json(tmp_path / "pathway.json", resource)
    report = json.loads(CliRunner().invoke(cli, ["validate", "--format", "json", str(path)]).output)
    expected = sorted((p["severity"], p["message"], p["path"]) for p in report["problems"])
    assert expected  # the comparison means something

    type_level = client.post("/PlanDefinition/$validate", json=resource)
    assert type_level.status_code == 200 and _findings(outcome_of(type_level)) == expected
    wrapped = client.post("/PlanDefinition/$validate", json={
        "resourceType": "Parameters", "parameter": [{"name": "resource", "resource": resource}]})
    assert _findings(outcome_of(wrapped)) == expected
    if variant == "conventions":
        client.put(f"/PlanDefinition/{resource['id']}", json=resource)
        stored = client.get(f"/PlanDefinition/{resource['id']}/$validate")
        assert _findings(outcome_of(stored)) == expected


def test_validate_of_a_clean_pathway_says_so(client: httpx.Client) -> None:
    issues = outcome_of(client.post("/PlanDefinition/$validate", json=tagged()))["issue"]
    assert issues == [{"severity": "information", "code": "informational", "diagnostics": "No issues found"}]


# --- errors --------------------------------------------------------------------------------------------


def test_every_error_is_an_operation_outcome_with_the_right_status(client: httpx.Client,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    sent = tagged()
    tag = sent["id"]
    client.put(f"/PlanDefinition/{tag}", json=sent)
    before = client.get(f"/PlanDefinition/{tag}/_history").json()["total"]

    cases = [
        (400, client.put(f"/PlanDefinition/{tag}", content=b'{"resourceType": "PlanDefinition", ',
                         headers={"Content-Type": JSON}), None),
        (400, client.put(f"/PlanDefinition/{tag}", json={**sent, "id": "other"}), "PlanDefinition.id"),
        (400, client.put(f"/PlanDefinition/{tag}", json={"resourceType": "Organization", "id": tag}), "resourceType"),
        (400, client.get("/PlanDefinition", params={"date": "soon"}), None),
        (400, client.put(f"/PlanDefinition/{tag}", json=sent, headers={"If-Match": "yesterday"}), None),
        (404, client.get("/PlanDefinition/no-such-thing"), None),
        (404, client.get("/Patient/1"), None),
        (405, client.patch(f"/PlanDefinition/{tag}", json={}), None),
        (406, client.get(f"/PlanDefinition/{tag}", headers={"Accept": "text/html"}), None),
        (406, client.get(f"/PlanDefinition/{tag}", params={"_format": "turtle"}), None),
        (412, client.put(f"/PlanDefinition/{tag}", json={**sent, "title": "x"}, headers={"If-Match": 'W/"9"'}), None),
        (415, client.put(f"/PlanDefinition/{tag}", content=b"title: x", headers={"Content-Type": "text/yaml"}), None),
        (422, client.put(f"/PlanDefinition/{tag}", json={**sent, "status": None}), "PlanDefinition.status"),
        (422, client.put(f"/PlanDefinition/{tag}", json={**sent, "action": [{"timingDuration": {"value": 2}}]}),
         "PlanDefinition.action[0].timingDuration"),
    ]
    monkeypatch.setattr(Writer, "update", lambda *_args, **_kw: (_ for _ in ()).throw(
        WriteConflict("PlanDefinition/x was changed by another request at the same moment; read it again and retry")))
    cases.append((409, client.put(f"/PlanDefinition/{tag}", json={**sent, "title": "raced"}), None))
    monkeypatch.undo()
    client.delete(f"/PlanDefinition/{tag}")
    cases.append((410, client.get(f"/PlanDefinition/{tag}"), None))

    for status, response, expression in cases:
        assert response.status_code == status, (status, response.text)
        issue = outcome_of(response)["issue"][0]
        assert issue["severity"] == "error" and issue["diagnostics"]
        if expression:
            assert any(path.startswith(expression) for path in issue["expression"]), issue
    history = client.get(f"/PlanDefinition/{tag}/_history").json()
    assert history["total"] == before + 1  # only the deletion: no bad request changed anything
    assert history["entry"][1]["resource"]["title"] == sent["title"]


def test_xml_with_a_doctype_is_refused_unread(client: httpx.Client) -> None:
    hostile = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
               b'<PlanDefinition xmlns="http://hl7.org/fhir"><status value="active"/><title value="&e;"/>'
               b'</PlanDefinition>')
    refused = client.post("/PlanDefinition", content=hostile, headers={"Content-Type": XML})
    assert refused.status_code == 400 and "DOCTYPE" in outcome_of(refused)["issue"][0]["diagnostics"]


# --- transaction ---------------------------------------------------------------------------------------


def test_transaction_is_applied_whole(client: httpx.Client) -> None:
    keep, drop = tagged(), tagged()
    for resource in (keep, drop):
        client.put(f"/PlanDefinition/{resource['id']}", json=resource)
    new = tagged()
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {**keep, "title": "Replaced"},
         "request": {"method": "PUT", "url": f"PlanDefinition/{keep['id']}"}},
        {"fullUrl": "urn:uuid:0b9f2b4e-8f5a-4c9b-9d3e-1a2b3c4d5e6f", "resource": new,
         "request": {"method": "POST", "url": "PlanDefinition"}},
        {"request": {"method": "DELETE", "url": f"PlanDefinition/{drop['id']}"}},
    ]}
    response = httpx.post(str(client.base_url).rstrip("/"), json=bundle,  # the base exactly, as clients send it
                          headers={"Authorization": client.headers["Authorization"]})
    assert response.status_code == 200
    result = response.json()
    assert result["type"] == "transaction-response"
    assert [e["response"]["status"] for e in result["entry"]] == ["200 OK", "201 Created", "204 No Content"]
    assert client.get(f"/PlanDefinition/{keep['id']}").json()["title"] == "Replaced"
    assert client.get(f"/PlanDefinition/{drop['id']}").status_code == 410
    created = client.get("/PlanDefinition", params={"identifier": f"urn:test|{new['id']}"}).json()
    assert created["total"] == 1
    assert result["entry"][1]["response"]["location"].startswith(created["entry"][0]["fullUrl"])


def test_transaction_conditional_create_takes_the_existing_match(client: httpx.Client) -> None:
    existing = tagged()
    client.put(f"/PlanDefinition/{existing['id']}", json=existing)
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [{
        "fullUrl": "urn:uuid:7d1c2e3f-0a4b-4c5d-8e9f-a0b1c2d3e4f5", "resource": existing,
        "request": {"method": "POST", "url": "PlanDefinition", "ifNoneExist": f"identifier=urn:test|{existing['id']}"},
    }]}
    response = client.post("/", json=bundle).json()
    assert response["entry"][0]["response"]["status"] == "200 OK"
    assert f"/PlanDefinition/{existing['id']}/_history/1" in response["entry"][0]["response"]["location"]
    found = client.get("/PlanDefinition", params={"identifier": f"urn:test|{existing['id']}"}).json()
    assert found["total"] == 1


@pytest.mark.parametrize(("breakage", "status", "expression"), [
    ("invalid", 422, "Bundle.entry[1].resource.colour"),
    ("stale", 412, "Bundle.entry[1]"),
    ("organization", 405, "Bundle.entry[1]"),
])
def test_a_failing_transaction_changes_nothing(client: httpx.Client, breakage: str, status: int,
                                               expression: str) -> None:
    first, second = tagged(), tagged()
    for resource in (first, second):
        client.put(f"/PlanDefinition/{resource['id']}", json=resource)
    bad_entry = {
        "invalid": {"resource": {**second, "colour": "red"},
                    "request": {"method": "PUT", "url": f"PlanDefinition/{second['id']}"}},
        "stale": {"resource": {**second, "title": "Stale"},
                  "request": {"method": "PUT", "url": f"PlanDefinition/{second['id']}", "ifMatch": 'W/"7"'}},
        "organization": {"resource": {"resourceType": "Organization", "id": "RHQ"},
                         "request": {"method": "PUT", "url": "Organization/RHQ"}},
    }[breakage]
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {**first, "title": "Changed"},
         "request": {"method": "PUT", "url": f"PlanDefinition/{first['id']}"}},
        bad_entry,
    ]}
    response = client.post("/", json=bundle)
    assert response.status_code == status
    issue = outcome_of(response)["issue"][0]
    assert issue["expression"][0] == expression and issue["diagnostics"].startswith("entry 1: ")
    assert client.get(f"/PlanDefinition/{first['id']}").json()["title"] == first["title"]
    assert client.get(f"/PlanDefinition/{first['id']}/_history").json()["total"] == 1


def test_only_transaction_bundles_are_taken(client: httpx.Client) -> None:
    response = client.post("/", json={"resourceType": "Bundle", "type": "batch", "entry": []})
    assert response.status_code == 400 and outcome_of(response)["issue"][0]["expression"] == ["Bundle.type"]
