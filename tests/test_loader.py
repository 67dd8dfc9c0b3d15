"""Loading files, folders and Bundles: every problem found, named by file and element path."""

import os
from pathlib import Path

import pytest

from service import fhirformat, loader
from service.pathway import PathwayKind
from service.problems import Severity

from .conftest import EXTERNAL, EXTERNAL_FILES, EXTERNAL_INVALID, minimal_pathway, write_json

pytestmark = pytest.mark.fast  # no database, server process or browser: make test-fast runs it


@pytest.mark.parametrize("path", EXTERNAL_FILES, ids=lambda p: p.name)
def test_every_external_example_loads_without_errors(path: Path) -> None:
    loaded, problems = loader.load_file(path)
    assert [p for p in problems if p.severity is Severity.ERROR] == []
    assert len(loaded) == 1
    pathway = loaded[0].pathway
    assert pathway.kind is PathwayKind.OTHER  # written by others: loaded, not compared
    # The model either interprets each step's timing or says why not.
    for step in pathway.steps:
        assert step.timing.occurrences or step.timing.not_comparable


def test_the_published_files_that_are_not_valid_fhir_are_reported_and_the_rest_still_load() -> None:
    result = loader.load([EXTERNAL_INVALID, EXTERNAL / "json"])
    invalid = {Path(p.file).name for p in result.problems if p.severity is Severity.ERROR}
    assert invalid == {f.name for f in EXTERNAL_INVALID.glob("*.xml")}
    assert all(
        any(p.path == "PlanDefinition.text.div" for p in result.problems if Path(p.file).name == name)
        for name in invalid
    )
    assert len(result.resources) == len(list((EXTERNAL / "json").glob("*.json")))


def test_the_issue_example_folder_names_every_problem_and_loads_the_valid_pathway(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("ENTITY-WAS-READ")
    write_json(tmp_path / "good.json", minimal_pathway())
    (tmp_path / "broken.json").write_text('{"resourceType": "PlanDefinition", "status": ')
    (tmp_path / "entity.xml").write_text(
        f'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY x SYSTEM "file://{secret}">]>'
        '<PlanDefinition xmlns="http://hl7.org/fhir"><status value="draft"/><title value="&x;"/></PlanDefinition>'
    )
    no_status = minimal_pathway(id="no-status")
    del no_status["status"]
    write_json(tmp_path / "no-status.json", no_status)
    fortnights = minimal_pathway(id="fortnights")
    fortnights["action"][1]["timingDuration"] = {"value": 2, "unit": "fortnights"}
    write_json(tmp_path / "fortnights.json", fortnights)
    dangling = minimal_pathway(id="dangling")
    dangling["action"][1] = {
        **dangling["action"][1],
        "relatedAction": [{"actionId": "nowhere", "relationship": "after-end"}],
    }
    del dangling["action"][1]["timingDuration"]
    write_json(tmp_path / "dangling.json", dangling)

    result = loader.load([tmp_path])
    found = {(Path(p.file).name, p.severity, p.path) for p in result.problems}
    assert ("broken.json", Severity.ERROR, None) in found
    assert ("entity.xml", Severity.ERROR, None) in found
    assert ("no-status.json", Severity.ERROR, "PlanDefinition.status") in found
    assert ("fortnights.json", Severity.ERROR, "PlanDefinition.action[1].timingDuration.unit") in found
    assert ("dangling.json", Severity.WARNING, "PlanDefinition.action[1].relatedAction[0].actionId") in found
    assert not any("ENTITY-WAS-READ" in p.message for p in result.problems)
    assert sorted(Path(r.file).name for r in result.resources) == ["dangling.json", "good.json"]
    assert not result.ok


def test_a_bundle_loads_each_plan_definition_and_places_problems_under_its_entry(tmp_path: Path) -> None:
    bad = minimal_pathway(id="bad")
    del bad["status"]
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": minimal_pathway(id="one")},
            {"resource": {"resourceType": "Organization", "name": "Not a pathway"}},
            {"resource": bad},
        ],
    }
    loaded, problems = loader.load_file(write_json(tmp_path / "bundle.json", bundle))
    assert [(r.entry, r.pathway.resource_id) for r in loaded] == [(0, "one")]
    assert {(p.severity, p.path) for p in problems} == {
        (Severity.WARNING, "Bundle.entry[1].resource"),
        (Severity.ERROR, "Bundle.entry[2].resource.status"),
    }


def test_the_same_pathway_reads_the_same_from_json_and_xml(tmp_path: Path) -> None:
    resource = minimal_pathway()
    (tmp_path / "p.xml").write_bytes(fhirformat.to_xml(resource))
    write_json(tmp_path / "p.json", resource)
    from_json, _ = loader.load_file(tmp_path / "p.json")
    from_xml, _ = loader.load_file(tmp_path / "p.xml")
    assert from_json[0].pathway == from_xml[0].pathway


def test_a_symlink_out_of_the_folder_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside.json"
    write_json(outside, minimal_pathway())
    folder = tmp_path / "pathways"
    folder.mkdir()
    os.symlink(outside, folder / "link.json")
    result = loader.load([folder])
    assert result.resources == []
    assert [p.rule for p in result.problems] == ["format"]
    assert "outside" in result.problems[0].message


def test_a_huge_file_is_refused_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "MAX_FILE_BYTES", 1000)
    huge = tmp_path / "huge.json"
    huge.write_text('{"resourceType": "PlanDefinition", "status": "draft", "title": "' + "x" * 2000 + '"}')
    loaded, problems = loader.load_file(huge)
    assert loaded == [] and "limit" in problems[0].message


def test_a_resource_of_another_type_is_skipped_with_a_warning(tmp_path: Path) -> None:
    loaded, problems = loader.load_file(write_json(tmp_path / "org.json", {"resourceType": "Organization"}))
    assert loaded == []
    assert [(p.severity, p.rule) for p in problems] == [(Severity.WARNING, "resource-type")]


@pytest.mark.parametrize(("limit", "loads"), [(400, False), (100_000, True)])
def test_a_file_that_grew_after_its_size_was_taken_is_read_on_to_the_end_or_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: int, loads: bool
) -> None:
    path = write_json(tmp_path / "growing.json", minimal_pathway(title="x" * 500))
    real_fstat = os.fstat

    def fstat_when_it_was_small(fd: int) -> os.stat_result:
        measured = real_fstat(fd)
        return os.stat_result((*measured[:6], 10, *measured[7:]))  # st_size: 10 bytes

    monkeypatch.setattr(loader, "MAX_FILE_BYTES", limit)
    monkeypatch.setattr(loader, "_refusal", lambda _path: None)
    monkeypatch.setattr(os, "fstat", fstat_when_it_was_small)
    loaded, problems = loader.load_file(path)
    if loads:
        assert [r.pathway.title for r in loaded] == ["x" * 500]
    else:
        assert loaded == [] and "limit" in problems[0].message
