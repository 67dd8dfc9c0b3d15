"""``harmonise load``, ``export`` and ``serve`` on SQLite and PostgreSQL."""

import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from service import fhirformat
from service.cli import app
from service.store import Store
from service.store.content import fingerprint

from .conftest import GUIDELINES, PATHWAYS, minimal_pathway, write_json
from .stores import serve_process

runner = CliRunner()
TOPIC = "laparoscopic-cholecystectomy-follow-up"
BASE = "http://harmonise.example.org/fhir"


def run(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, list(args), catch_exceptions=False, env=env)


def guideline() -> dict:
    """A network guideline for the same topic (built by hand from the test pathway)."""
    return minimal_pathway(id="guideline-test", meta={"profile": [f"{BASE}/StructureDefinition/network-guideline"]},
                           url="http://harmonise.example.org/fhir/PlanDefinition/guideline-test",
                           publisher="Gastroenterology Network", name="GuidelineTest")


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    """Two trust pathways (one JSON, one XML), a guideline, and one file that is not valid FHIR."""
    pathways, guidelines = tmp_path / "pathways", tmp_path / "guidelines"
    (pathways / TOPIC).mkdir(parents=True)
    guidelines.mkdir()
    write_json(pathways / TOPIC / "RHQ.json", minimal_pathway())
    (pathways / TOPIC / "RFF.xml").write_bytes(fhirformat.to_xml(minimal_pathway(
        id="rff-test", url="http://rff.example.org/fhir/PlanDefinition/test")))
    broken = minimal_pathway(id="broken")
    del broken["status"]
    write_json(pathways / TOPIC / "RFR.json", broken)
    write_json(guidelines / f"{TOPIC}.json", guideline())
    return pathways, guidelines


def load_json(database: str, pathways: Path, guidelines: Path):
    result = run("load", "--database", database, "--pathways", str(pathways), "--guidelines", str(guidelines),
                 "--format", "json")
    return result.exit_code, json.loads(result.output)


def changes(report: dict) -> dict[str, tuple[int, str]]:
    return {item["reference"]: (item["version"], item["change"]) for item in report["resources"]
            if item["reference"].startswith("PlanDefinition/")}


def test_load_is_idempotent_and_loads_the_valid_files_despite_errors(database_url: str,
                                                                     folders: tuple[Path, Path]) -> None:
    pathways, guidelines = folders
    code, first = load_json(database_url, pathways, guidelines)
    assert code == 1 and first["errors"] == 1  # RFR.json has no status
    assert first["problems"][0]["path"] == "PlanDefinition.status"
    assert changes(first) == {"PlanDefinition/rhq-test": (1, "created"), "PlanDefinition/rff-test": (1, "created"),
                              "PlanDefinition/guideline-test": (1, "created")}
    organizations = [item for item in first["resources"] if item["reference"].startswith("Organization/")]
    assert len(organizations) == 7 and {item["change"] for item in organizations} == {"created"}

    code, again = load_json(database_url, pathways, guidelines)
    assert code == 1 and {change for _v, change in changes(again).values()} == {"unchanged"}
    assert {item["change"] for item in again["resources"]} == {"unchanged"}

    write_json(pathways / TOPIC / "RHQ.json", minimal_pathway(title="Revised pathway"))
    code, revised = load_json(database_url, pathways, guidelines)
    assert changes(revised) == {"PlanDefinition/rhq-test": (2, "updated"), "PlanDefinition/rff-test": (1, "unchanged"),
                                "PlanDefinition/guideline-test": (1, "unchanged")}
    store = Store.open(database_url)
    assert store.history("PlanDefinition", "rhq-test").total == 2
    assert store.read("Organization", "RHQ").resource["identifier"] == [
        {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "RHQ"}]
    store.close()


def test_files_holding_earlier_versions_become_the_resource_history(database_url: str, tmp_path: Path) -> None:
    pathways, guidelines = tmp_path / "pathways", tmp_path / "guidelines"
    pathways.mkdir()
    guidelines.mkdir()
    write_json(pathways / "RHQ.json", minimal_pathway(version="1.10.0", title="Current"))
    write_json(pathways / "RHQ.1.9.0.json", minimal_pathway(version="1.9.0", status="retired", title="Earlier"))
    code, first = load_json(database_url, pathways, guidelines)
    assert code == 0
    assert [(i["version"], i["change"]) for i in first["resources"] if i["reference"] == "PlanDefinition/rhq-test"] == [
        (1, "created"), (2, "updated")]
    code, again = load_json(database_url, pathways, guidelines)
    assert [(i["version"], i["change"], Path(i["source"]).name) for i in again["resources"]
            if i["reference"] == "PlanDefinition/rhq-test"] == [(2, "history", "RHQ.1.9.0.json"),
                                                                (2, "unchanged", "RHQ.json")]
    store = Store.open(database_url)
    assert [v.resource["title"] for v in store.history("PlanDefinition", "rhq-test").versions] == ["Current", "Earlier"]
    store.close()


def test_load_prints_a_summary(database_url: str, folders: tuple[Path, Path]) -> None:
    pathways, guidelines = folders
    result = run("load", "--database", database_url, "--pathways", str(pathways), "--guidelines", str(guidelines))
    assert result.exit_code == 1
    assert "3 PlanDefinition(s) created, 0 updated, 0 unchanged; 7 trust Organization(s)" in result.output
    assert "1 file(s) with errors were not loaded" in result.output and "RFR.json" in result.output


def test_export_writes_files_that_load_back_to_the_same_content(database_url: str, folders: tuple[Path, Path],
                                                                tmp_path: Path) -> None:
    pathways, guidelines = folders
    load_json(database_url, pathways, guidelines)
    out = tmp_path / "exported"
    result = run("export", str(out), "--database", database_url, "--format", "json")
    assert result.exit_code == 0
    # Each resource goes back to the file it was loaded from, in that file's format.
    files = {Path(item["file"]).relative_to(out).as_posix() for item in json.loads(result.output)["files"]}
    assert files == {f"pathways/{TOPIC}/RHQ.json", f"pathways/{TOPIC}/RFF.xml", f"guidelines/{TOPIC}.json"}
    exported = fhirformat.parse_json((out / f"pathways/{TOPIC}/RHQ.json").read_bytes())
    assert "versionId" not in exported["meta"] and exported == minimal_pathway()
    assert fhirformat.parse_xml((out / f"pathways/{TOPIC}/RFF.xml").read_bytes())["id"] == "rff-test"

    code, reloaded = load_json(database_url, out / "pathways", out / "guidelines")
    assert code == 0 and {change for _v, change in changes(reloaded).values()} == {"unchanged"}

    fresh = tmp_path / "fresh.db"
    code, _ = load_json(f"sqlite:///{fresh}", out / "pathways", out / "guidelines")
    assert code == 0
    original, copy = Store.open(database_url), Store.open(f"sqlite:///{fresh}")
    assert {v.resource_id: fingerprint(v.resource) for v in original.current("PlanDefinition")} == {
        v.resource_id: fingerprint(v.resource) for v in copy.current("PlanDefinition")}
    original.close()
    copy.close()


def test_the_sample_network_loads_and_reloads_with_no_new_versions(database_url: str) -> None:
    code, first = load_json(database_url, PATHWAYS, GUIDELINES)
    assert code == 0 and first["created"] == len(changes(first)) > 0
    code, second = load_json(database_url, PATHWAYS, GUIDELINES)
    assert code == 0 and second["unchanged"] == first["created"] and second["created"] == second["updated"] == 0


def test_database_url_from_the_environment(tmp_path: Path, folders: tuple[Path, Path]) -> None:
    pathways, guidelines = folders
    url = f"sqlite:///{tmp_path / 'from-env.db'}"
    result = run("load", "--pathways", str(pathways), "--guidelines", str(guidelines),
                 env={"HARMONISE_DATABASE_URL": url})
    assert str(tmp_path / "from-env.db") in result.output and (tmp_path / "from-env.db").exists()


def test_unusable_database_urls_are_plain_errors() -> None:
    assert run("load", "--database", "nosuchdb://x").exit_code == 2
    unreachable = run("export", "out", "--database", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert unreachable.exit_code == 1 and "cannot open the database" in unreachable.output


def test_serve_loads_the_folders_and_answers(tmp_path: Path, folders: tuple[Path, Path]) -> None:
    pathways, guidelines = folders
    with serve_process(f"sqlite:///{tmp_path / 'served.db'}", pathways, guidelines) as base:
        counted = httpx.get(f"{base}/PlanDefinition", params={"_summary": "count"}).json()
        assert counted["total"] == 3
        trust = httpx.get(f"{base}/Organization", params={"identifier": "RFF"}).json()
        assert trust["entry"][0]["resource"]["name"] == "Barnsley Hospital NHS Foundation Trust"


def test_a_version_in_a_later_folder_loads_only_if_it_is_newer(database_url: str, tmp_path: Path) -> None:
    """Folders are read one at a time: a version of an id already read must not put an older one on top."""
    pathways, guidelines = tmp_path / "pathways", tmp_path / "guidelines"
    for folder in ("a", "b", "c"):
        (pathways / folder).mkdir(parents=True)
    guidelines.mkdir()
    write_json(pathways / "a" / "RHQ.json", minimal_pathway(version="1.9.0", title="First"))
    write_json(pathways / "b" / "RHQ.json", minimal_pathway(version="1.10.0", title="Newer"))
    write_json(pathways / "c" / "RHQ.json", minimal_pathway(version="1.2.0", title="Older"))
    code, report = load_json(database_url, pathways, guidelines)
    assert code == 1
    [problem] = report["problems"]
    assert problem["file"].endswith("c/RHQ.json") and problem["path"] == "PlanDefinition.version"
    assert "'1.2.0'" in problem["message"] and "b/RHQ.json" in problem["message"]
    store = Store.open(database_url)
    assert [v.resource["title"] for v in store.history("PlanDefinition", "rhq-test").versions] == ["Newer", "First"]
    store.close()


def test_small_batches_store_what_one_batch_stores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sample network written 3 resources a batch: the same report and the same current content."""
    from service.application import loading as transfer  # noqa: PLC0415

    def load(name: str) -> tuple[list[tuple[str, int, str]], dict[str, str]]:
        store = Store.open(f"sqlite:///{tmp_path / name}")
        report = transfer.store_files(store, [PATHWAYS, GUIDELINES])
        content = {v.resource_id: fingerprint(v.resource) for v in store.current("PlanDefinition")}
        store.close()
        return [(i.reference, i.version_id, i.change.value) for i in report.items], content

    whole = load("whole.db")
    monkeypatch.setattr(transfer, "BATCH", 3)
    assert load("batches.db") == whole
    assert len(whole[1]) > 3 * 10  # many batches, really


def test_two_files_with_the_same_id_and_version_load_the_first(database_url: str, tmp_path: Path) -> None:
    pathways, guidelines = tmp_path / "pathways", tmp_path / "guidelines"
    (pathways / "a").mkdir(parents=True)
    (pathways / "b").mkdir()
    guidelines.mkdir()
    write_json(pathways / "a" / "RHQ.json", minimal_pathway(version="1.0.0", title="First"))
    write_json(pathways / "a" / "RHQ-copy.json", minimal_pathway(version="1.0.0", title="Same folder"))
    write_json(pathways / "b" / "RHQ.json", minimal_pathway(version="1.0.0", title="Other folder"))
    code, report = load_json(database_url, pathways, guidelines)
    assert code == 1
    assert [(Path(p["file"]).relative_to(pathways).as_posix(), p["path"]) for p in report["problems"]] == [
        ("a/RHQ.json", "PlanDefinition.id"), ("b/RHQ.json", "PlanDefinition.id")]
    assert all("already loaded from" in p["message"] and "RHQ-copy.json" in p["message"] for p in report["problems"])
    store = Store.open(database_url)
    assert store.read("PlanDefinition", "rhq-test").resource["title"] == "Same folder"
    store.close()
