"""import-activity and monitor as a network lead runs them, and $signals over HTTP, on each store."""

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fhir.resources.R4B.bundle import Bundle
from typer.testing import CliRunner

from service.cli import app

from .conftest import GUIDELINES, PATHWAYS, REPOSITORY
from .stores import BACKENDS, ServerThread, database

SAMPLE = REPOSITORY / "activity" / "sample-activity.csv"
PLANTED = [
    ("2026-09-30", "guideline-review-overdue"),
    ("2026-06-30", "justification-expired"),
    ("2026-03-31", "justification-expired"),
    ("2025-11-03", "drift"),
    ("2025-11-01", "special-cause"),
    ("2025-09-10", "justification-expired"),
]
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture(scope="module", params=BACKENDS)
def loaded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A store with the sample network and its activity imported."""
    with database(request.param, tmp_path_factory.mktemp("store")) as url:
        assert (
            run("load", "--database", url, "--pathways", str(PATHWAYS), "--guidelines", str(GUIDELINES)).exit_code == 0
        )
        result = run("import-activity", str(SAMPLE), "--database", url)
        assert result.exit_code == 0, result.output
        assert "1296 new" in result.output
        yield url


def test_importing_the_same_file_again_changes_nothing(loaded: str) -> None:
    result = run("import-activity", str(SAMPLE), "--database", loaded, "--format", "json")
    assert json.loads(result.output) == {"ok": True, "rows": 1296, "created": 0, "updated": 0, "unchanged": 1296}


def test_a_file_with_a_bad_row_imports_nothing(loaded: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "trust,topic,measure,period,value\n"
        "RP5,tonsillectomy-follow-up,required-follow-up-completed,2026-11,80\n"
        "RP5,tonsillectomy-follow-up,required-follow-up-completed,November,80\n"
    )
    result = run("import-activity", str(bad), "--database", loaded)
    assert result.exit_code == 1
    assert "row 3, column 'period'" in result.output and "'November'" in result.output
    assert "nothing was imported" in result.output
    signals = json.loads(run("monitor", "--database", loaded, "--as-of", "2026-11-22", "--format", "json").output)
    assert len(signals["signals"]) == len(PLANTED)  # the good first row was not kept either


def test_monitor_lists_the_planted_signals_newest_first(loaded: str) -> None:
    result = run(
        "monitor", "--database", loaded, "--guidelines", str(GUIDELINES), "--as-of", "2026-11-22", "--format", "json"
    )
    assert result.exit_code == 0
    assert [(s["raised_on"], s["kind"]) for s in json.loads(result.output)["signals"]] == PLANTED
    text = run("monitor", "--database", loaded, "--as-of", "2026-11-22").output
    assert "6 open signal(s)" in text and "54 measure series charted" in text


def test_signals_over_the_api_are_detected_issues(loaded: str) -> None:
    with ServerThread(loaded) as server, httpx.Client(base_url=server.base) as http:
        response = http.get("$signals", params={"as-of": "2026-11-22"})
        assert response.status_code == 200
        bundle = response.json()
        Bundle.model_validate(bundle)
        issues = [entry["resource"] for entry in bundle["entry"]]
        assert [(i["identifiedDateTime"], i["code"]["coding"][0]["code"]) for i in issues] == PLANTED
        special = issues[4]
        assert special["severity"] == "high" and special["author"]["identifier"]["value"] == "RP5"
        refused = http.get("$signals", params={"as-of": "someday"})
        assert refused.status_code == 400
        assert refused.json()["issue"][0]["diagnostics"] == "as-of 'someday' is not a date like 2026-11-22"
