"""The conformance resources, $expand, $validate-code, $apply and $package over the API, on SQLite and
PostgreSQL, and the SMART fhirclient package reading, searching and applying, unchanged."""

import json

import httpx
import pytest
from fhirclient import client as smart_client
from fhirclient.models.careplan import CarePlan
from fhirclient.models.codesystem import CodeSystem
from fhirclient.models.plandefinition import PlanDefinition
from fhirclient.models.structuredefinition import StructureDefinition

from service import conventions as c

from .conftest import GUIDELINES
from .stores import ServerThread

GUIDELINE = json.loads((GUIDELINES / "paediatrics" / "tonsillectomy-follow-up.json").read_text())
APPLY = {"resourceType": "Parameters", "parameter": [{"name": "subject", "valueString": "Patient/example"},
                                                     {"name": "indexDate", "valueDate": "2026-01-10"}]}


@pytest.fixture
def guideline(client: httpx.Client) -> str:
    """The sample tonsillectomy guideline, agreed the way the lifecycle lets one be: draft, approve, release."""
    path = f"PlanDefinition/{GUIDELINE['id']}"
    if client.get(path).status_code == 200:  # agreed already by an earlier test on this server
        return GUIDELINE["id"]
    answer = client.put(path, json={**GUIDELINE, "status": "draft"})
    assert answer.status_code == 201, answer.text
    assert client.post(f"{path}/$approve").status_code == 200
    assert client.post(f"{path}/$release").status_code == 200
    return GUIDELINE["id"]


def test_the_trust_pathway_profile_is_found_by_its_url(client: httpx.Client) -> None:
    answer = client.get("StructureDefinition", params={"url": c.TRUST_PATHWAY_PROFILE})
    assert answer.status_code == 200
    bundle = answer.json()
    assert bundle["total"] == 1
    assert bundle["entry"][0]["resource"]["url"] == c.TRUST_PATHWAY_PROFILE
    assert bundle["entry"][0]["resource"]["differential"]["element"][0]["id"] == "PlanDefinition"


@pytest.mark.parametrize(("resource_type", "params", "ids"), [
    ("CodeSystem", {"name": "ContactMode"}, ["contact-mode"]),
    ("CodeSystem", {"url": f"{c.BASE}/CodeSystem/care-role|0.1.0"}, ["care-role"]),
    ("CodeSystem", {"url": f"{c.BASE}/CodeSystem/care-role|9.9.9"}, []),
    ("ValueSet", {"url": f"{c.BASE}/ValueSet/pathway-step", "status": "active"}, ["pathway-step"]),
    ("StructureDefinition", {"name": "NetworkGuideline", "version": "0.1.0"}, ["network-guideline"]),
    ("StructureDefinition", {"status": "retired"}, []),
])
def test_search_by_url_version_name_and_status(client: httpx.Client, resource_type: str, params: dict,
                                               ids: list[str]) -> None:
    bundle = client.get(resource_type, params=params).json()
    assert [entry["resource"]["id"] for entry in bundle.get("entry", [])] == ids


def test_unknown_search_parameters_are_refused_when_strict(client: httpx.Client) -> None:
    answer = client.get("CodeSystem", params={"publisher": "x"}, headers={"Prefer": "handling=strict"})
    assert answer.status_code == 400


def test_read_and_what_is_not_there(client: httpx.Client) -> None:
    assert client.get("ValueSet/care-role").json()["compose"]["include"][0]["system"] == c.CARE_ROLE_SYSTEM
    assert client.get("CodeSystem/no-such").status_code == 404
    assert client.post("CodeSystem", json={"resourceType": "CodeSystem", "status": "draft",
                                           "content": "complete"}).status_code == 405


def test_expand_and_validate_code(client: httpx.Client) -> None:
    expansion = client.get("ValueSet/contact-mode/$expand").json()["expansion"]
    assert [item["code"] for item in expansion["contains"]] == [
        "face-to-face", "telephone", "video", "patient-initiated", "none"]
    valid = client.post("ValueSet/$validate-code", json={"resourceType": "Parameters", "parameter": [
        {"name": "url", "valueUri": f"{c.BASE}/ValueSet/care-role"},
        {"name": "coding", "valueCoding": {"system": c.CARE_ROLE_SYSTEM, "code": "nurse"}}]}).json()
    assert valid["parameter"][0] == {"name": "result", "valueBoolean": True}
    invalid = client.get("CodeSystem/$validate-code", params={"url": c.CARE_ROLE_SYSTEM, "code": "wizard"}).json()
    assert invalid["parameter"][0] == {"name": "result", "valueBoolean": False}


def test_the_capability_statement_lists_the_types_their_searches_and_operations(client: httpx.Client) -> None:
    resources = {r["type"]: r for r in client.get("metadata").json()["rest"][0]["resource"]}
    for resource_type in ("StructureDefinition", "CodeSystem", "ValueSet"):
        assert {p["name"] for p in resources[resource_type]["searchParam"]} >= {"url", "version", "name", "status"}
        assert [i["code"] for i in resources[resource_type]["interaction"]] == ["read", "search-type"]
    assert {o["name"] for o in resources["ValueSet"]["operation"]} == {"expand", "validate-code"}
    assert {o["name"] for o in resources["PlanDefinition"]["operation"]} >= {"apply", "package"}
    apply_definition = next(o["definition"] for o in resources["PlanDefinition"]["operation"] if o["name"] == "apply")
    definition = client.get(f"OperationDefinition/{apply_definition.rsplit('/', 1)[1]}").json()
    assert {p["name"] for p in definition["parameter"]} == {"subject", "indexDate", "return"}


def test_apply_the_guideline_through_the_api(client: httpx.Client, guideline: str) -> None:
    plan = client.post(f"PlanDefinition/{guideline}/$apply", json=APPLY).json()
    actions = {a["id"]: a for a in plan["contained"][0]["action"]}
    assert actions["call-day-1"]["timingPeriod"] == {"start": "2026-01-11", "end": "2026-01-12"}
    assert actions["sleep-review"]["timingPeriod"] == {"start": "2026-02-21", "end": "2026-05-02"}
    same = client.get(f"PlanDefinition/{guideline}/$apply",
                      params={"subject": "Patient/example", "indexDate": "2026-01-10"}).json()
    assert same == plan


def test_apply_refuses_what_it_cannot_use(client: httpx.Client, guideline: str) -> None:
    no_date = client.get(f"PlanDefinition/{guideline}/$apply", params={"subject": "Patient/example"})
    assert no_date.status_code == 400 and "indexDate" in no_date.text
    assert [issue["code"] for issue in no_date.json()["issue"]] == ["required"]
    not_patient = client.get(f"PlanDefinition/{guideline}/$apply",
                             params={"subject": "Group/1", "indexDate": "2026-01-10"})
    assert not_patient.status_code == 400
    assert not_patient.json()["issue"][0]["diagnostics"] == (
        "the subject must be a Patient reference (Patient/[id]), not 'Group/1'")
    nothing = client.post(f"PlanDefinition/{guideline}/$apply", json={"resourceType": "Parameters"})
    assert nothing.status_code == 400
    assert [issue["diagnostics"].split(":")[0] for issue in nothing.json()["issue"]] == [
        "$apply needs the parameter 'subject'", "$apply needs the parameter 'indexDate'"]
    assert client.get("PlanDefinition/never-stored/$apply",
                      params={"subject": "Patient/1", "indexDate": "2026-01-10"}).status_code == 404


def test_package_a_guideline(client: httpx.Client, guideline: str) -> None:
    bundle = client.get(f"PlanDefinition/{guideline}/$package").json()
    assert bundle["type"] == "collection"
    found = [(e["resource"]["resourceType"], e["resource"]["id"]) for e in bundle["entry"]]
    assert found[0] == ("PlanDefinition", guideline)
    assert ("StructureDefinition", "network-guideline") in found and ("CodeSystem", "care-role") in found
    posted = client.post(f"PlanDefinition/{guideline}/$package", json={"resourceType": "Parameters"})
    assert posted.status_code == 200 and posted.json()["entry"] == bundle["entry"]
    not_parameters = client.post(f"PlanDefinition/{guideline}/$package", json={"resourceType": "Patient"})
    assert not_parameters.status_code == 400
    assert not_parameters.json()["issue"][0]["diagnostics"] == (
        "send the operation's parameters as a Parameters resource")


def test_the_smart_fhirclient_reads_searches_and_applies(server: ServerThread, guideline: str) -> None:
    smart = smart_client.FHIRClient(settings={"app_id": "harmonise-tests", "api_base": server.base})
    plan = PlanDefinition.read(guideline, smart.server)
    assert plan.title == GUIDELINE["title"] and plan.action[0].id == "call-day-1"
    found = list(PlanDefinition.where(struct={"url": GUIDELINE["url"]}).perform_resources_iter(smart.server))
    assert [item.id for item in found] == [guideline]
    profiles = list(StructureDefinition.where(struct={"url": c.TRUST_PATHWAY_PROFILE}).perform_resources_iter(
        smart.server))
    assert [item.id for item in profiles] == ["trust-pathway"]
    assert CodeSystem.read("contact-mode", smart.server).concept[0].code == "face-to-face"
    answer = smart.server.post_json(f"PlanDefinition/{guideline}/$apply", APPLY)
    care_plan = CarePlan(answer.json())
    assert care_plan.subject.reference == "Patient/example"
    assert care_plan.contained[0].action[0].timingPeriod.start.as_json() == "2026-01-11"
