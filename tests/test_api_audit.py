"""The audit trail: a Provenance for every create, update and delete (API, transactions, `harmonise load`,
`import-activity`), written in the same transaction, searchable by target and agent, never rewritten."""

import uuid
from collections.abc import Iterator

import httpx
import pytest
from typer.testing import CliRunner

from service.cli import app as cli
from service.store import Store, parse_search
from service.store import store as store_module

from .conftest import GUIDELINES, PATHWAYS, REPOSITORY, minimal_pathway
from .stores import BACKENDS, ServerThread, bearer, database

RHQ = bearer("system/*.read system/PlanDefinition.write", trust="RHQ", subject="alice@rhq")
AUDITOR = bearer("system/Provenance.read", subject="auditor")
ADDRESS = "http://harmonise.example.org/fhir/StructureDefinition/client-address"


@pytest.fixture
def api(server: ServerThread) -> Iterator[httpx.Client]:
    """A client of the module's server (tests/stores.py, once per backend) writing as RHQ."""
    with httpx.Client(base_url=server.base, timeout=60, headers=RHQ) as client:
        yield client


def records(api: httpx.Client, **params: str) -> list[dict]:
    """Provenance resources matching ``params``, oldest first."""
    found = api.get("/Provenance", params={**params, "_sort": "recorded", "_count": "100"}, headers=AUDITOR)
    assert found.status_code == 200, found.text
    return [entry["resource"] for entry in found.json().get("entry", [])]


def pathway() -> dict:
    return minimal_pathway(id=f"au-{uuid.uuid4().hex[:10]}")


def test_every_change_is_recorded_with_who_when_what_and_from_where(api: httpx.Client) -> None:
    sent = pathway()
    url = f"/PlanDefinition/{sent['id']}"
    created = api.put(url, json=sent).json()
    updated = api.put(url, json={**sent, "title": "Revised"}).json()
    assert api.put(url, json={**sent, "title": "Revised"}).headers["etag"] == 'W/"2"'  # unchanged: no version
    assert api.delete(url).status_code == 204
    trail = records(api, target=f"PlanDefinition/{sent['id']}")
    assert [(r["target"][0]["reference"], r["activity"]["coding"][0]["code"]) for r in trail] == [
        (f"PlanDefinition/{sent['id']}/_history/1", "CREATE"),
        (f"PlanDefinition/{sent['id']}/_history/2", "UPDATE"),
        (f"PlanDefinition/{sent['id']}/_history/3", "DELETE"),
    ]
    assert [r["recorded"] for r in trail[:2]] == [created["meta"]["lastUpdated"], updated["meta"]["lastUpdated"]]
    agent = trail[0]["agent"][0]
    assert agent["who"]["identifier"] == {"system": "harmonise", "value": "alice@rhq"}
    assert agent["onBehalfOf"] == {"reference": "Organization/RHQ",
                                   "identifier": {"system": "https://fhir.nhs.uk/Id/ods-organization-code",
                                                  "value": "RHQ"}}
    assert agent["extension"] == [{"url": ADDRESS, "valueString": "127.0.0.1"}]


def test_deleting_keeps_the_history_and_reads_say_gone(api: httpx.Client) -> None:
    sent = pathway()
    url = f"/PlanDefinition/{sent['id']}"
    api.put(url, json=sent)
    api.delete(url)
    assert api.get(url).status_code == 410
    assert api.get(f"{url}/_history/1").json()["title"] == sent["title"]
    assert api.get(f"{url}/_history").json()["total"] == 2


def test_the_trail_is_searchable_by_target_version_agent_trust_and_activity(api: httpx.Client) -> None:
    sent = pathway()
    url = f"/PlanDefinition/{sent['id']}"
    api.put(url, json=sent)
    api.put(url, json={**sent, "title": "Two"}, headers=bearer(subject="lead@network"))
    assert len(records(api, target=f"PlanDefinition/{sent['id']}/_history/2")) == 1
    by_lead = records(api, target=f"PlanDefinition/{sent['id']}", agent="lead@network")
    assert [r["target"][0]["reference"] for r in by_lead] == [f"PlanDefinition/{sent['id']}/_history/2"]
    assert len(records(api, target=f"PlanDefinition/{sent['id']}", agent="RHQ")) == 1
    assert len(records(api, target=f"PlanDefinition/{sent['id']}", activity="UPDATE")) == 1
    first = records(api, target=f"PlanDefinition/{sent['id']}")[0]
    assert api.get(f"/Provenance/{first['id']}", headers=AUDITOR).json() == first


def test_the_trail_cannot_be_written_through_the_api(api: httpx.Client) -> None:
    sent = pathway()
    api.put(f"/PlanDefinition/{sent['id']}", json=sent)
    record = records(api, target=f"PlanDefinition/{sent['id']}")[0]
    lead = bearer()
    assert api.put(f"/Provenance/{record['id']}", json={**record, "recorded": "2020-01-01T00:00:00Z"},
                   headers=lead).status_code == 405
    assert api.delete(f"/Provenance/{record['id']}", headers=lead).status_code == 405
    assert api.post("/Provenance", json=record, headers=lead).status_code == 405
    assert records(api, target=f"PlanDefinition/{sent['id']}") == [record]


def test_each_transaction_entry_is_recorded_and_a_failed_one_records_nothing(api: httpx.Client) -> None:
    kept, new = pathway(), pathway()
    api.put(f"/PlanDefinition/{kept['id']}", json=kept)
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {**kept, "title": "Changed"}, "request": {"method": "PUT", "url": f"PlanDefinition/{kept['id']}"}},
        {"resource": new, "request": {"method": "PUT", "url": f"PlanDefinition/{new['id']}"}},
    ]}
    assert api.post("/", json=bundle).status_code == 200
    assert len(records(api, target=f"PlanDefinition/{kept['id']}")) == 2
    assert len(records(api, target=f"PlanDefinition/{new['id']}")) == 1
    failing = pathway()
    bundle["entry"] = [{"resource": failing, "request": {"method": "PUT", "url": f"PlanDefinition/{failing['id']}"}},
                       {"resource": {**kept, "title": "Stale"}, "request": {
                           "method": "PUT", "url": f"PlanDefinition/{kept['id']}", "ifMatch": 'W/"1"'}}]
    assert api.post("/", json=bundle).status_code == 412
    assert records(api, target=f"PlanDefinition/{failing['id']}") == []
    assert len(records(api, target=f"PlanDefinition/{kept['id']}")) == 2


def test_a_write_whose_record_cannot_be_made_is_not_made(api: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    sent = pathway()

    def broken(*_args: object) -> dict:
        raise RuntimeError("the audit record could not be written")

    monkeypatch.setattr(store_module, "provenance", broken)
    assert api.put(f"/PlanDefinition/{sent['id']}", json=sent).status_code == 500
    monkeypatch.undo()
    # A new connection: after a 500 the server closes the one it failed on.
    assert httpx.get(f"{api.base_url}PlanDefinition/{sent['id']}").status_code == 404


@pytest.fixture(params=BACKENDS)
def loaded_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A store filled by `harmonise load` and `harmonise import-activity`, as a network lead runs them."""
    with database(request.param, tmp_path_factory.mktemp("cli")) as url:
        runner = CliRunner()
        loaded = runner.invoke(cli, ["load", "--database", url, "--pathways", str(PATHWAYS),
                                     "--guidelines", str(GUIDELINES)])
        assert loaded.exit_code == 0, loaded.output
        imported = runner.invoke(cli, ["import-activity", str(REPOSITORY / "activity" / "sample-activity.csv"),
                                       "--database", url])
        assert imported.exit_code == 0, imported.output
        store = Store.open(url)
        yield store
        store.close()


def test_commands_that_write_directly_are_recorded_as_the_local_administrator(loaded_store: Store) -> None:
    def trail(target_type: str) -> list[dict]:
        return [v.resource for v in loaded_store.current("Provenance")
                if v.resource and v.resource["target"][0]["reference"].startswith(f"{target_type}/")
                and v.resource["agent"][0]["who"]["identifier"]["value"] == "local-admin"]

    plans, reports = trail("PlanDefinition"), trail("MeasureReport")
    stored_plans = loaded_store.search(parse_search("PlanDefinition", [("_count", "0")])).total
    assert stored_plans and len({r["target"][0]["reference"].split("/_history")[0] for r in plans}) == stored_plans
    assert reports and all("harmonise import-activity" in r["agent"][0]["who"]["display"] for r in reports)
    assert all("harmonise load" in r["agent"][0]["who"]["display"] for r in plans)
    assert trail("Organization")
