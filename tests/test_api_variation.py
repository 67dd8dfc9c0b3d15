"""$compare and $diff over HTTP, on the sample network loaded into each store."""

import base64
import dataclasses
import json
from collections.abc import Iterator

import httpx
import pytest
from fhir.resources.R4B.parameters import Parameters

from service import fhirformat, fhirpatch
from service.application.loading import store_files
from service.security.settings import RequestLimits
from service.store import Store

from .conftest import GUIDELINES, PATHWAYS
from .stores import BACKENDS, TEST_SECURITY, ServerThread, database

RP5 = "PlanDefinition/rp5-tonsillectomy-follow-up"
RP5_URL = "http://rp5.example.org/fhir/PlanDefinition/tonsillectomy-follow-up"
TONSILLECTOMY = PATHWAYS / "paediatrics" / "tonsillectomy-follow-up"


@pytest.fixture(scope="module", params=BACKENDS)
def http(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """A server whose store holds the sample network (with RP5's two tonsillectomy versions)."""
    with database(request.param, tmp_path_factory.mktemp("store")) as url, ServerThread(url) as server:
        loading = Store.open(url)  # as the local administrator: the API's own store writes only for callers
        store_files(loading, [PATHWAYS, GUIDELINES])
        loading.close()
        with httpx.Client(base_url=server.base, timeout=60) as client:
            client.headers["x-test-database"] = url  # for tests that ask the same store through the command line
            yield client


def test_compare_by_topic_answers_the_same_report_as_the_command(http: httpx.Client) -> None:
    from typer.testing import CliRunner

    from service.cli import app

    expected = json.loads(
        CliRunner()
        .invoke(app, ["compare", "tonsillectomy-follow-up", "--format", "json", "--as-of", "2026-11-22",
                      "--database", http.headers["x-test-database"]])
        .output
    )
    assert expected.pop("source").startswith("the store at ")
    response = http.get(
        "PlanDefinition/$compare",
        params={"topic": "tonsillectomy-follow-up", "as-of": "2026-11-22"},
        headers={"accept": "application/json"},
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    got = response.json()
    assert got == expected


def test_compare_answers_a_parameters_with_a_binary_for_fhir_clients(http: httpx.Client) -> None:
    response = http.post(
        "PlanDefinition/$compare",
        content=json.dumps(
            {"resourceType": "Parameters", "parameter": [{"name": "topic", "valueString": "tia-follow-up"}]}
        ),
        headers={"content-type": "application/fhir+json"},
    )
    assert response.status_code == 200
    Parameters.model_validate(response.json())
    binary = response.json()["parameter"][0]["resource"]
    assert binary["contentType"] == "application/json"
    report = json.loads(base64.b64decode(binary["data"]))
    assert report["topics"][0]["compared_against"] == "network-median"  # the TIA guideline is a draft


def test_compare_answers_fhir_to_a_client_that_prefers_fhir_json_over_plain_json(http: httpx.Client) -> None:
    # "application/json" appears in the header, but at q=0.5 below FHIR JSON: a FHIR Parameters, not the report.
    response = http.get("PlanDefinition/$compare", params={"topic": "tia-follow-up"},
                        headers={"accept": "application/fhir+json, application/json;q=0.5"})
    assert response.status_code == 200
    assert response.json()["resourceType"] == "Parameters"


def test_compare_of_a_chosen_older_version(http: httpx.Client) -> None:
    response = http.get(
        "PlanDefinition/$compare",
        params={"pathway": f"{RP5}/_history/1", "as-of": "2026-11-22"},
        headers={"accept": "application/json"},
    )
    (topic,) = response.json()["topics"]
    rp5 = next(t for t in topic["trusts"] if t["ods"] == "RP5")
    assert rp5["pathway"].endswith("|2.1.0")
    newer = http.get(
        "PlanDefinition/$compare",
        params={"topic": "tonsillectomy-follow-up", "as-of": "2026-11-22"},
        headers={"accept": "application/json"},
    ).json()["topics"][0]
    assert next(t for t in newer["trusts"] if t["ods"] == "RP5")["unwarranted"] > rp5["unwarranted"]


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({}, 400),
        ({"topic": "knees"}, 404),
        ({"topic": "tia-follow-up", "as-of": "soon"}, 400),
        ({"pathway": "PlanDefinition/nope"}, 404),
    ],
)
def test_compare_errors_are_operation_outcomes(http: httpx.Client, params: dict, status: int) -> None:
    response = http.get("PlanDefinition/$compare", params=params)
    assert response.status_code == status and response.json()["resourceType"] == "OperationOutcome"


def report(http: httpx.Client, **params: str | list[str]) -> dict:
    response = http.get("PlanDefinition/$compare", params={**params, "as-of": "2026-11-22"},
                        headers={"accept": "application/json"})
    assert response.status_code == 200, response.text
    return response.json()


def test_an_earlier_version_named_by_url_and_version_is_found_in_its_resources_history(http: httpx.Client) -> None:
    # RP5's 2.1.0 is version 1 of its resource, superseded by 2.2.0: not current, so not in the url search.
    by_canonical = report(http, pathway=f"{RP5_URL}|2.1.0")
    assert by_canonical == report(http, pathway=f"{RP5}/_history/1")
    rp5 = next(t for t in by_canonical["topics"][0]["trusts"] if t["ods"] == "RP5")
    assert rp5["pathway"] == f"{RP5_URL}|2.1.0"


def test_a_pathway_named_many_times_is_compared_once(http: httpx.Client) -> None:
    assert report(http, pathway=[f"{RP5}/_history/1"] * 200) == report(http, pathway=f"{RP5}/_history/1")


@pytest.fixture(scope="module", params=BACKENDS)
def tight(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """A server that compares at most two references and diffs versions of at most three actions."""
    security = dataclasses.replace(TEST_SECURITY, limits=RequestLimits(compare_pathways=2, diff_actions=3))
    with (database(request.param, tmp_path_factory.mktemp("tight")) as url,
          ServerThread(url, security=security) as server):
        loading = Store.open(url)
        store_files(loading, [TONSILLECTOMY])
        loading.close()
        with httpx.Client(base_url=server.base, timeout=60) as client:
            yield client


def test_compare_past_its_budget_of_references_is_refused_before_any_work(tight: httpx.Client) -> None:
    within = tight.get("PlanDefinition/$compare", params={"pathway": [RP5, RP5, f"{RP5}/_history/1"]})
    assert within.status_code == 200  # three parameters, two distinct references
    past = tight.get("PlanDefinition/$compare", params={"pathway": [RP5, f"{RP5}/_history/1", "PlanDefinition/x"]})
    assert past.status_code == 422
    (issue,) = past.json()["issue"]
    assert issue["code"] == "too-costly"
    assert issue["diagnostics"] == ("$compare was sent 3 distinct 'pathway' parameters; this server compares at "
                                    "most 2 in one request (HARMONISE_MAX_COMPARE_PATHWAYS sets it)")


def test_diff_past_its_budget_of_actions_is_refused(tight: httpx.Client) -> None:
    # RP5's tonsillectomy pathway has four steps, one more than this server diffs.
    response = tight.get(f"{RP5}/$diff", params={"fromVersion": "1"})
    assert response.status_code == 422
    (issue,) = response.json()["issue"]
    assert issue["code"] == "too-costly" and issue["diagnostics"] == (
        "a version to compare has 4 actions; $diff compares versions of at most 3 actions "
        "(HARMONISE_MAX_DIFF_ACTIONS sets it)")


def test_instance_diff_between_versions_applies_to_give_the_newer(http: httpx.Client) -> None:
    old = http.get(f"{RP5}/_history/1").json()
    new = http.get(RP5).json()
    patch = http.get(f"{RP5}/$diff", params={"fromVersion": "1"}).json()
    Parameters.model_validate(patch)
    strip = lambda r: {k: v for k, v in r.items() if k != "meta"}  # noqa: E731
    assert strip(fhirpatch.apply(old, patch)) == strip(new)
    types = {next(p["valueCode"] for p in op["part"] if p["name"] == "type") for op in patch["parameter"]}
    # The same four steps, changed in place: no cascade of deletes and inserts.
    assert types == {"replace", "add"}


def test_type_and_system_level_diff_agree(http: httpx.Client) -> None:
    params = {"from": f"{RP5}/_history/1", "to": RP5}
    system = http.get("$diff", params=params)
    typed = http.get("PlanDefinition/$diff", params=params)
    assert system.status_code == typed.status_code == 200
    assert system.json() == typed.json() == http.get(f"{RP5}/$diff", params={"fromVersion": "1"}).json()
    xml = http.get("$diff", params={**params, "_format": "xml"})
    assert fhirformat.parse_xml(xml.content) == system.json()


def test_operations_are_declared_and_defined(http: httpx.Client) -> None:
    statement = http.get("metadata").json()["rest"][0]
    plan = next(r for r in statement["resource"] if r["type"] == "PlanDefinition")
    assert {o["name"] for o in plan["operation"]} == {"validate", "compare", "diff", "apply", "package", "draft",
                                                      "approve", "release", "retire"}
    assert [o["name"] for o in statement["operation"]] == ["diff", "signals"]
    for operation in plan["operation"][1:]:
        definition = http.get(f"OperationDefinition/{operation['definition'].rsplit('/', 1)[1]}").json()
        assert definition["resourceType"] == "OperationDefinition" and definition["url"] == operation["definition"]
    assert http.get("OperationDefinition/nope").status_code == 404


def test_compare_reads_a_parameters_body_as_it_reads_the_query(http: httpx.Client) -> None:
    body = {"resourceType": "Parameters", "parameter": [{"name": "topic", "valueCode": "tonsillectomy-follow-up"},
                                                        {"name": "as-of", "valueDate": "2026-11-22"}]}
    posted = http.post("PlanDefinition/$compare", json=body, headers={"accept": "application/json"})
    assert posted.status_code == 200, posted.text
    assert posted.json() == report(http, topic="tonsillectomy-follow-up")


def test_a_bad_parameter_is_named_with_its_value(http: httpx.Client) -> None:
    body = {"resourceType": "Parameters", "parameter": [{"name": "topic", "valueCoding": {"code": "tia-follow-up"}},
                                                        {"name": "as-of", "valueDate": "2026-11"}]}
    response = http.post("PlanDefinition/$compare", json=body)
    assert response.status_code == 400
    assert [issue["diagnostics"] for issue in response.json()["issue"]] == [
        """topic '{"code": "tia-follow-up"}' is not a string""", "as-of '2026-11' is not a date like 2026-11-22"]
    twice = http.get(f"{RP5}/$diff", params={"fromVersion": ["1", "2"]})
    assert (twice.status_code, twice.json()["issue"][0]["diagnostics"]) == (
        400, "the parameter 'fromVersion' may be given once")
