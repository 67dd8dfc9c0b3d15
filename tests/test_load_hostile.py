"""`harmonise load` given a folder of hostile files: each is named as a problem, none is read past its
limit or followed out of the folder, the valid pathway still loads, and nothing else reaches the store."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from service import fhirformat, loader
from service.store import Store

from .conftest import minimal_pathway, write_json
from .stores import BACKENDS, database

CANARY = "harmonise-canary-3b9d"


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database(request.param, tmp_path) as url:
        yield url


def hostile_folder(root: Path) -> tuple[Path, dict[str, str]]:
    """A pathways folder with one valid pathway and hostile files; each hostile file's name and the words
    its problem must contain."""
    folder = root / "pathways"
    folder.mkdir()
    outside = root / "outside"
    outside.mkdir()
    write_json(outside / "stolen.json", minimal_pathway(id="stolen", title=CANARY))
    (outside / "passwd").write_text(CANARY)
    write_json(folder / "good.json", minimal_pathway(id="good"))
    os.symlink(outside / "stolen.json", folder / "link-out.json")
    os.symlink(outside, folder / "linked-folder")  # a link to a folder outside is not walked into
    os.symlink("/dev/zero", folder / "zeros.json")
    os.mkfifo(folder / "pipe.json")
    with (folder / "huge.json").open("wb") as huge:
        huge.truncate(loader.MAX_FILE_BYTES + 1)
    (folder / "binary.json").write_bytes(bytes(range(256)) * 4)
    (folder / "array.json").write_text('[{"resourceType": "PlanDefinition"}]')
    (folder / "yaml.json").write_text("resourceType: PlanDefinition\nstatus: draft\n")
    (folder / "empty.xml").write_bytes(b"")
    (folder / "deep.json").write_text('{"resourceType": "PlanDefinition", "a": ' + "[" * 10000 + "]" * 10000 + "}")
    (folder / "xxe.xml").write_text(f'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY e SYSTEM "file://{outside}/passwd">]>'
                                    '<PlanDefinition xmlns="http://hl7.org/fhir"><title value="&e;"/></PlanDefinition>')
    (folder / "html.xml").write_text("<html><body>not FHIR</body></html>")
    (folder / "nul.json").write_bytes(fhirformat.to_json(minimal_pathway(id="nul", title="a\x00b")))
    write_json(folder / "invalid.json", minimal_pathway(id="invalid", colour="red"))
    # Numbers whose exact value would take minutes and gigabytes to build (a billion-digit integer).
    (folder / "exponent.json").write_bytes(fhirformat.to_json(minimal_pathway(id="exponent")).replace(
        b'"value": 10,', b'"value": 1e999999999,', 1))
    (folder / "digits.xml").write_bytes(fhirformat.to_xml(minimal_pathway(id="digits")).replace(
        b'<value value="10"/>', b'<value value="' + b"7" * 100_000 + b'"/>', 1))
    return folder, {
        "link-out.json": "points outside", "zeros.json": "points outside", "pipe.json": "not a regular file",
        "huge.json": "limit", "binary.json": "not UTF-8", "array.json": "top level", "yaml.json": "not valid JSON",
        "empty.xml": "not well-formed", "deep.json": "nested", "xxe.xml": "DOCTYPE", "html.xml": "not in the FHIR",
        "nul.json": "control character", "invalid.json": "PlanDefinition.colour",
        "exponent.json": "PlanDefinition.action[0].timingDuration.value the number 1e999999999 has 1000000000 digits "
                         "before the decimal point",
        "digits.xml": "PlanDefinition.action[0].timingDuration.value the number 77777777777777777777...7777777777 "
                      "(100,000 characters) has 100000 digits before the decimal point",
    }


def test_load_names_every_hostile_file_and_loads_only_the_valid_pathway(store_url: str, tmp_path: Path) -> None:
    folder, expected = hostile_folder(tmp_path)
    guidelines = tmp_path / "guidelines"
    guidelines.mkdir()
    # A process of its own, with a time limit: a file that blocks (the pipe) must not hang the load.
    result = subprocess.run(
        [sys.executable, "-c", "from service.cli import main; main()", "load", "--database", store_url,
         "--pathways", str(folder), "--guidelines", str(guidelines), "--format", "json"],
        capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1, result.stderr
    assert CANARY not in result.stdout
    report = json.loads(result.stdout)
    problems = {Path(problem["file"]).name: problem for problem in report["problems"]}
    for name, words in expected.items():
        assert name in problems, (name, sorted(problems))
        assert words in f"{problems[name]['path']} {problems[name]['message']}", (name, problems[name])
    assert not any("linked-folder" in str(problem["file"]) for problem in report["problems"])
    store = Store.open(store_url)
    try:
        stored = sorted(version.resource_id for version in store.current("PlanDefinition"))
    finally:
        store.close()
    assert stored == ["good"]


def test_validate_names_every_hostile_file_and_reads_the_valid_one(tmp_path: Path) -> None:
    folder, expected = hostile_folder(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", "from service.cli import main; main()", "validate", str(folder), "--format", "json"],
        capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    problems = {Path(problem["file"]).name: problem for problem in report["problems"]}
    for name, words in expected.items():
        assert words in f"{problems[name]['path']} {problems[name]['message']}", (name, problems.get(name))
    assert "good.json" not in problems and "Traceback" not in result.stderr


def test_a_file_that_grows_past_the_limit_after_it_was_measured_is_still_cut_off(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_json(tmp_path / "growing.json", minimal_pathway(title="x" * 500))
    monkeypatch.setattr(loader, "MAX_FILE_BYTES", 400)
    monkeypatch.setattr(loader, "_refusal", lambda _path: None)  # as if it was small when measured
    loaded, problems = loader.load_file(path)
    assert loaded == [] and "limit" in problems[0].message
