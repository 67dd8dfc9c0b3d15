"""The harmonise command as a network lead or a script meets it: output, exit codes, --help."""

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.application import FolderSource, compare
from service.cli import app

from .conftest import EXTERNAL, GUIDELINES, PATHWAYS, minimal_pathway, write_json

pytestmark = pytest.mark.fast  # no database, server process or browser: make test-fast runs it

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


#: Read the repository's folders, not a store: these tests are about the report, not where it is kept.
FOLDERS = ("--pathways", str(PATHWAYS), "--guidelines", str(GUIDELINES))


def test_strict_validation_of_the_sample_network_passes_and_prints_a_summary() -> None:
    result = run("validate", "--strict", str(PATHWAYS), str(GUIDELINES))
    assert result.exit_code == 0, result.output
    assert "0 error(s), 0 warning(s)" in result.output
    assert "Pathways by topic and trust" in result.output
    assert "network guidelines" in result.output


def test_validate_with_no_paths_reads_the_default_folders() -> None:
    result = run("validate", "--format", "json")
    report = json.loads(result.output)
    assert result.exit_code == 0
    assert report["ok"] and report["errors"] == 0
    assert {Path(item["file"]).parts[-4] for item in report["loaded"] if item["kind"] == "trust-pathway"} == {
        "pathways"
    }


def test_external_examples_pass_with_warnings_but_fail_strict() -> None:
    relaxed = run("validate", str(EXTERNAL))
    strict = run("validate", "--strict", str(EXTERNAL))
    assert relaxed.exit_code == 0 and "0 error(s)" in relaxed.output
    assert strict.exit_code == 1 and "FAILED" in strict.output


def test_json_output_lists_problems_with_file_and_path(tmp_path: Path) -> None:
    resource = minimal_pathway()
    del resource["status"]
    write_json(tmp_path / "no-status.json", resource)
    write_json(tmp_path / "good.json", minimal_pathway(id="good"))
    result = run("validate", "--format", "json", str(tmp_path))
    report = json.loads(result.output)
    assert result.exit_code == 1
    assert report["errors"] == 1
    assert report["problems"][0]["file"].endswith("no-status.json")
    assert report["problems"][0]["path"] == "PlanDefinition.status"
    assert [item["id"] for item in report["loaded"]] == ["good"]


@pytest.mark.parametrize("args", [["validate", "--format", "yaml"], ["validate", "--bogus"], ["no-such-command"]])
def test_usage_errors_exit_2(args: list[str]) -> None:
    assert run(*args).exit_code == 2


def test_every_command_has_help() -> None:
    top = run("--help")
    assert top.exit_code == 0
    commands = [line.split()[0] for line in top.output.split("Commands:")[1].splitlines() if line.strip()]
    assert "validate" in commands
    for command in commands:
        result = run(command, "--help")
        assert result.exit_code == 0 and "Usage:" in result.output


def test_compare_all_prints_a_plain_report_for_every_topic() -> None:
    result = run("compare", "--all", "--as-of", "2026-11-22", *FOLDERS)
    assert result.exit_code == 0, result.output
    assert result.output.count("Where the figures come from") == 15
    assert "No agreed guideline" in result.output  # the draft-only topics
    assert "Unwarranted differences" in result.output and "register: " in result.output


def test_compare_json_follows_the_report_contract() -> None:
    result = run("compare", "tonsillectomy-follow-up", "--format", "json", "--as-of", "2026-11-22", *FOLDERS)
    assert result.exit_code == 0
    (topic,) = json.loads(result.output)["topics"]
    assert topic["topic"] == "tonsillectomy-follow-up"
    assert topic["guideline"] == (
        "http://harmonise.example.org/fhir/PlanDefinition/guideline-tonsillectomy-follow-up|1.0.0"
    )
    assert {t["ods"] for t in topic["trusts"]} == {"RCU", "RFF", "RFS", "RP5", "RXF", "RFR"}
    assert {d["classification"] for d in topic["differences"]} <= {"within-tolerance", "warranted", "unwarranted"}
    # The register's RXF sleep-review entry lapsed on 2026-06-30: flagged, not silently applied.
    expired = [d for d in topic["differences"] if d["expired"]]
    assert [(d["trust"], d["step"], d["dimension"]) for d in expired] == [("RXF", "sleep-review", "presence")]


def test_compare_json_is_the_report_and_what_it_was_read_from() -> None:
    result = run("compare", "tonsillectomy-follow-up", "--format", "json", "--as-of", "2026-11-22", *FOLDERS)
    report = compare(FolderSource(PATHWAYS, GUIDELINES), ["tonsillectomy-follow-up"], date(2026, 11, 22)).report
    assert json.loads(result.output) == report.model_dump(mode="json") | {
        "source": f"the folders {PATHWAYS} and {GUIDELINES}, not the store"}


@pytest.mark.parametrize(
    "args", [["compare"], ["compare", "tonsillectomy-follow-up", "--all"], ["compare", "--all", "--as-of", "tomorrow"]]
)
def test_compare_usage_errors_exit_2(args: list[str]) -> None:
    assert run(*args).exit_code == 2


def test_compare_an_unknown_topic_exits_1_and_lists_the_topics() -> None:
    result = run("compare", "knee-replacement", *FOLDERS)
    assert result.exit_code == 1


def test_propose_writes_a_draft_guideline_that_validates(tmp_path: Path) -> None:
    target = tmp_path / "proposal.json"
    result = run("propose", "tia-follow-up", "--out", str(target), *FOLDERS)
    assert result.exit_code == 0, result.output
    assert "Proposed steps" in result.output
    check = run("validate", "--strict", str(target))
    assert check.exit_code == 0, check.output
    resource = json.loads(target.read_text())
    assert resource["status"] == "draft" and resource["experimental"] is True
    assert all(a["description"].startswith("How this step was chosen:") for a in resource["action"])
