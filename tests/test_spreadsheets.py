"""Pathways from spreadsheets (issue 13, part 3): template, import-pathway, export-pathway, on SQLite and PostgreSQL.

Expected values are worked by hand from docs/profile.md (a week is 7 days, a month 30.4375):
"6 weeks" is timingDuration 6 wk, day 42; "2 to 4 weeks" a window of days 14-28, nominal day 21;
"week 6, every 3 months, 4 times" days 42, 133, 225, 316; "2 weeks after the end of step clinic" 42 + 14 = 56.
"""

import csv
import json
from datetime import datetime
from pathlib import Path

import pytest
from deepdiff import DeepDiff
from openpyxl import load_workbook
from typer.testing import CliRunner

from service import loader
from service.application.spreadsheets import export_pathway, import_pathway, next_version
from service.cli import app
from service.spreadsheet import read_workbook, to_plan_definition
from service.spreadsheet.when import CellError, NotExpressible, parse_repeats, parse_when, write_timing
from service.store import Store
from service.store.content import unstamp
from tests.conftest import GUIDELINES, PATHWAYS

TOPIC = "laparoscopic-cholecystectomy-follow-up"
UCUM = "http://unitsofmeasure.org"
runner = CliRunner()


def duration(value, unit):
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def harmonise(*args: str):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


# The cells' words (pure).


@pytest.mark.parametrize(("text", "element", "expected"), [
    ("6 weeks", "duration", duration(6, "wk")),
    ("week 6", "duration", duration(6, "wk")),
    ("day 10", "duration", duration(10, "d")),
    ("10 days", "duration", duration(10, "d")),
    ("3 months", "duration", duration(3, "mo")),
    ("days 0-14", "window", {"low": duration(0, "d"), "high": duration(14, "d")}),
    ("days 0–14", "window", {"low": duration(0, "d"), "high": duration(14, "d")}),
    ("2 to 4 weeks", "window", {"low": duration(2, "wk"), "high": duration(4, "wk")}),
    ("between 6 and 8 weeks", "window", {"low": duration(6, "wk"), "high": duration(8, "wk")}),
    ("6 weeks to 3 months", "window", {"low": duration(6, "wk"), "high": duration(3, "mo")}),
    ("up to 2 weeks", "window", {"high": duration(2, "wk")}),
])
def test_when_cells_are_fhir_durations_in_ucum(text, element, expected):
    found = parse_when(text)
    assert getattr(found, element) == expected
    assert found.related is None


def test_when_from_another_step():
    found = parse_when("2 weeks after the end of step clinic-6wk")
    assert (found.duration, found.related) == (duration(2, "wk"), ("clinic-6wk", "after-end"))
    assert parse_when("after step Clinic").related == ("Clinic", "after")


@pytest.mark.parametrize(("text", "reason"), [
    ("2 fortnights", "is not a duration"),
    ("6", "has no unit"),
    ("4 to 2 weeks", "ends before it starts"),
    ("two weeks", "is not a duration"),
    ("soon", "is not a duration"),
    ("near step clinic", "names a step"),
])
def test_a_when_that_is_not_a_duration_is_refused_never_guessed(text, reason):
    with pytest.raises(CellError, match=reason):
        parse_when(text)


def test_repeats_cells():
    assert parse_repeats("every 3 months, 4 times") == parse_repeats("4 times, every 3 months")
    repeat = parse_repeats("every 3 months, 4 times")
    assert (repeat.count, repeat.period, repeat.period_unit) == (4, 3, "mo")
    with pytest.raises(CellError):
        parse_repeats("quarterly")


@pytest.mark.parametrize("action", [
    {"timingTiming": {"repeat": {"frequency": 5, "period": 1, "periodUnit": "wk", "count": 30}}},
    {"timingTiming": {"repeat": {"boundsRange": {"low": duration(0, "d"), "high": duration(1, "a")}, "period": 3,
                                 "periodUnit": "mo", "count": 4}}},
    {"timingAge": {"value": 5, "unit": "a", "system": UCUM, "code": "a"}},
    {"relatedAction": [{"actionId": "a", "relationship": "after"}, {"actionId": "b", "relationship": "after"}]},
    {"relatedAction": [{"actionId": "a", "relationship": "after"}], "timingDuration": duration(1, "wk")},
    {"timingDuration": {"value": 2, "unit": "fortnight"}},
])
def test_timing_no_cell_can_say_is_named_not_written(action):
    with pytest.raises(NotExpressible):
        write_timing(action)


def test_next_version():
    assert [next_version(v) for v in ("1.3.0", "2", "1.9", None, "draft-a")] == ["1.4.0", "3", "1.10", "1.0.0", ""]


# As a new user would: template, fill it in with openpyxl, import, compare.


STEPS = [
    # Step id, What happens, Kind, How, When, Repeats, Who, For which patients, Required or optional
    ("", "Wound check at the GP practice", "Wound check", "Face to face", "day 10", "", "Nurse", "", "Required"),
    ("clinic", "Surgical clinic by telephone", "Follow-up review", "Telephone", "6 weeks", "", "Specialist nurse", "",
     ""),
    ("bloods", "Liver function tests", "Investigation", "No patient contact", "2 to 4 weeks", "", "", "", "Optional"),
    ("surveillance", "Telephone review of symptoms", "follow-up", "telephone", "week 6", "every 3 months, 4 times",
     "Nurse", "Only for patients with stones left in the bile duct", ""),
    ("discharge", "Discharge to the GP", "Discharge", "No patient contact", "2 weeks after the end of step clinic",
     "", "", "", ""),
]


def fill(workbook: Path, steps, version: str | None = None, cells: dict | None = None) -> None:
    book = load_workbook(workbook)
    sheet = book["Steps"]
    for row, step in enumerate(steps, start=2):
        for column, value in enumerate(step, start=1):
            sheet.cell(row=row, column=column).value = value or None
    for (row, column), value in (cells or {}).items():
        sheet.cell(row=row, column=column).value = value
    if version is not None:
        pathway = book["Pathway"]
        row = next(r for r in range(2, 12) if pathway.cell(row=r, column=1).value == "Version")
        pathway.cell(row=row, column=2, value=version)
    book.save(workbook)


def rhq_days(database: str) -> dict[int, list[int]]:
    """RHQ's days in the compare report, by the step's action index."""
    result = harmonise("compare", TOPIC, "--database", database, "--format", "json")
    assert result.exit_code == 0, result.output
    topic = json.loads(result.output)["topics"][0]
    days: dict[int, list[int]] = {}
    for step in topic["steps"]:
        cell = step["cells"].get("RHQ")
        if cell:  # a repeating step's occurrences may be aligned to several of the report's steps
            for source in set(cell["sources"]):
                days.setdefault(int(source.split("[")[1].rstrip("]")), []).extend(cell["days"])
    return {index: sorted(found) for index, found in days.items()}


def test_template_filled_in_imports_and_compare_shows_the_new_version(database_url, tmp_path):
    workbook = tmp_path / "rhq.xlsx"
    result = harmonise("template", TOPIC, "--trust", "RHQ", workbook, "--database", database_url)
    assert result.exit_code == 0, result.output
    book = load_workbook(workbook)
    assert book.sheetnames == ["Instructions", "Pathway", "Steps", "Lists"]
    values = {row[0].value: row[1].value for row in book["Pathway"].iter_rows(min_row=2)}
    assert (values["Trust"], values["Topic"], values["Version"], values["Index event"]) == (
        "RHQ", TOPIC, "1.0.0", "day-of-surgery")
    lists = {str(v.sqref).split(":")[0][0]: v.formula1 for v in book["Steps"].data_validations.dataValidation}
    assert lists["C"] == "=Lists!$A$2:$A$11"  # Kind: the ten concepts of pathway-step.json
    fill(workbook, STEPS)

    result = harmonise("import-pathway", workbook, "--database", database_url)
    assert result.exit_code == 0, result.output
    assert "rhq-laparoscopic-cholecystectomy-follow-up version 1.0.0" in result.output

    store = Store.open(database_url)
    try:
        stored = store.read("PlanDefinition", "rhq-laparoscopic-cholecystectomy-follow-up").existing()
        provenance = [v.resource for v in store.current("Provenance") if v.resource]
    finally:
        store.close()
    _plan, _pathway, problems = loader.check_plan_definition(stored)
    assert not [p for p in problems if p.severity.value == "error"]
    assert stored["meta"]["profile"] == ["http://harmonise.example.org/fhir/StructureDefinition/trust-pathway"]
    assert stored["experimental"] is True
    actions = stored["action"]
    assert actions[0]["id"] == "wound-check-at-the-gp-practice"
    assert actions[0]["trigger"] == [{"type": "named-event", "name": "day-of-surgery"}]
    assert actions[1]["timingDuration"] == duration(6, "wk")
    assert actions[2]["timingRange"] == {"low": duration(2, "wk"), "high": duration(4, "wk")}
    assert actions[3]["timingTiming"] == {"repeat": {"boundsRange": {"low": duration(6, "wk")}, "count": 4,
                                                     "period": 3, "periodUnit": "mo"}}
    assert actions[3]["condition"][0]["expression"]["description"] == STEPS[3][7]
    assert actions[4]["relatedAction"] == [{"actionId": "clinic", "relationship": "after-end",
                                            "offsetDuration": duration(2, "wk")}]
    assert actions[0]["requiredBehavior"] == "must" and actions[2]["requiredBehavior"] == "could"
    assert any("import-pathway" in json.dumps(p) for p in provenance)  # audited as the local administrator

    assert rhq_days(database_url) == {0: [10], 1: [42], 2: [21], 3: [42, 133, 225, 316], 4: [56]}
    report = json.loads(harmonise("compare", TOPIC, "--database", database_url, "--format", "json").output)
    rhq = next(t for t in report["topics"][0]["trusts"] if t["ods"] == "RHQ")
    assert rhq["pathway"].endswith("rhq-laparoscopic-cholecystectomy-follow-up|1.0.0")
    assert rhq["contacts"] == 1 + 1 + 4  # face-to-face wound check, telephone clinic, four telephone reviews
    assert rhq["contacts_by_mode"] == {"face-to-face": 1, "telephone": 5}


def test_export_then_import_is_a_no_op_and_a_change_needs_a_new_version(database_url, tmp_path):
    workbook = tmp_path / "rhq.xlsx"
    harmonise("template", TOPIC, "--trust", "RHQ", workbook, "--database", database_url)
    fill(workbook, STEPS)
    assert harmonise("import-pathway", workbook, "--database", database_url).exit_code == 0
    exported = tmp_path / "exported.xlsx"
    result = harmonise("export-pathway", "rhq-laparoscopic-cholecystectomy-follow-up", exported,
                       "--database", database_url)
    assert result.exit_code == 0, result.output
    sheet = load_workbook(exported)["Steps"]
    assert [sheet.cell(row=r, column=2).value for r in range(2, 7)] == [s[1] for s in STEPS]
    assert [sheet.cell(row=r, column=5).value for r in range(2, 7)] == [
        "10 days", "6 weeks", "2 to 4 weeks", "6 weeks", "2 weeks after the end of step clinic"]
    result = harmonise("import-pathway", exported, "--database", database_url)
    assert result.exit_code == 0 and "nothing changed" in result.output, result.output

    fill(exported, [], cells={(3, 5): "8 weeks"})  # the clinic moves, the version does not
    result = harmonise("import-pathway", exported, "--database", database_url)
    assert result.exit_code == 1
    assert "Pathway row 4, Version: '1.0.0' is the version already stored" in result.output
    fill(exported, [], version="1.1.0")
    result = harmonise("import-pathway", exported, "--database", database_url)
    assert result.exit_code == 0, result.output
    store = Store.open(database_url)
    try:
        assert store.history("PlanDefinition", "rhq-laparoscopic-cholecystectomy-follow-up").total == 2
    finally:
        store.close()
    assert rhq_days(database_url)[1] == [56]


def test_a_wrong_workbook_is_refused_whole_each_problem_named(database_url, tmp_path):
    workbook = tmp_path / "rhq.xlsx"
    harmonise("template", TOPIC, "--trust", "RHQ", workbook, "--database", database_url)
    fill(workbook, STEPS)
    assert harmonise("import-pathway", workbook, "--database", database_url).exit_code == 0
    wrong = tmp_path / "wrong.xlsx"
    harmonise("template", TOPIC, "--trust", "RHQ", wrong, "--database", database_url)
    bad = [list(step) for step in STEPS]
    bad[1][4] = "2 fortnights"  # row 3
    bad[2][2] = "Massage"  # row 4
    bad[3][4] = ""  # row 5
    fill(wrong, bad, cells={(6, 5): datetime(2026, 4, 2)})  # "2-4" turned into 2 April by a spreadsheet program
    result = harmonise("import-pathway", wrong, "--database", database_url)
    assert result.exit_code == 1
    assert "nothing was imported" in result.output
    for expected in ("Steps row 3, When: '2 fortnights' is not a duration",
                     "Steps row 4, Kind: 'Massage' is not a kind of step",
                     "Steps row 5, When: is empty",
                     "Steps row 6, When: '2026-04-02T00:00:00' is a date"):
        assert expected in result.output
    assert "Traceback" not in result.output
    as_json = json.loads(harmonise("import-pathway", wrong, "--database", database_url, "--format", "json").output)
    assert {(p["sheet"], p["row"], p["column"]) for p in as_json["problems"]} == {
        ("Steps", 3, "When"), ("Steps", 4, "Kind"), ("Steps", 5, "When"), ("Steps", 6, "When")}
    store = Store.open(database_url)
    try:
        assert store.history("PlanDefinition", "rhq-laparoscopic-cholecystectomy-follow-up").total == 1
    finally:
        store.close()


def test_csv_of_the_steps_sheet_and_out_file(database_url, tmp_path):
    steps = tmp_path / "steps.csv"
    with steps.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Step id", "What happens", "Kind", "How", "When", "Repeats", "Who", "For which patients",
                         "Required or optional"])
        writer.writerows(STEPS)
    out = tmp_path / "rhq.json"
    result = harmonise("import-pathway", steps, "--trust", "RHQ", "--topic", TOPIC, "--version", "1.0.0",
                       "--database", database_url, "--out", out)
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text())
    assert written["id"] == "rhq-laparoscopic-cholecystectomy-follow-up"
    assert written["action"][1]["timingDuration"] == duration(6, "wk")
    store = Store.open(database_url)
    try:
        assert not list(store.current("PlanDefinition"))  # --out stores nothing
    finally:
        store.close()
    result = harmonise("import-pathway", steps, "--trust", "RHQ", "--topic", TOPIC, "--version", "1.0.0",
                       "--database", database_url)
    assert result.exit_code == 0 and "(created)" in result.output, result.output


def test_steps_no_cell_can_say_are_kept_as_stored_never_dropped(tmp_path):
    database = f"sqlite:///{tmp_path / 'store.db'}"
    assert harmonise("load", "--pathways", PATHWAYS, "--guidelines", GUIDELINES, "--database", database).exit_code == 0
    workbook = tmp_path / "rp5.xlsx"
    result = harmonise("export-pathway", "rp5-early-supported-discharge", workbook, "--database", database)
    assert result.exit_code == 0
    assert "Step 'dbh-esd-home' (row 4): When is kept as stored: its repeat happens more than once" in result.output
    sheet = load_workbook(workbook)["Steps"]
    assert sheet.cell(row=4, column=5).value == "as stored"
    assert "more than once per period" in sheet.cell(row=4, column=10).value
    fill(workbook, [], version="9.0.0", cells={(4, 2): "Home visits by the early supported discharge team"})
    assert harmonise("import-pathway", workbook, "--database", database).exit_code == 0
    store = Store.open(database)
    try:
        history = store.history("PlanDefinition", "rp5-early-supported-discharge")
        new, old = (v.existing() for v in history.versions[:2])
    finally:
        store.close()
    assert len(new["action"]) == len(old["action"])
    assert new["action"][2]["timingTiming"] == old["action"][2]["timingTiming"]
    assert new["action"][2]["title"] == "Home visits by the early supported discharge team"


def test_every_sample_pathway_round_trips_through_its_workbook(tmp_path):
    """Export then import of each trust pathway in the repository: no new version, and the same FHIR."""
    database = f"sqlite:///{tmp_path / 'store.db'}"
    assert harmonise("load", "--pathways", PATHWAYS, "--guidelines", GUIDELINES, "--database", database).exit_code == 0
    store = Store.open(database)
    try:
        pathways = [v for v in store.current("PlanDefinition")
                    if "trust-pathway" in json.dumps((v.resource or {}).get("meta"))]
        assert len(pathways) > 80
        for version in pathways:
            exported = export_pathway(store, version.resource_id)
            rows = read_workbook(exported.workbook)
            assert import_pathway(store, rows, write=False).change == "unchanged", version.resource_id
            rebuilt = to_plan_definition(rows, stored=unstamp(version.existing())).resource
            assert not DeepDiff(unstamp(version.existing()), rebuilt, ignore_numeric_type_changes=True), \
                version.resource_id
    finally:
        store.close()


def test_template_refuses_to_overwrite_and_unknown_topic(tmp_path):
    database = f"sqlite:///{tmp_path / 'store.db'}"
    workbook = tmp_path / "a.xlsx"
    workbook.write_bytes(b"filled in by someone")
    result = harmonise("template", TOPIC, "--trust", "RHQ", workbook, "--database", database)
    assert result.exit_code == 2 and workbook.read_bytes() == b"filled in by someone"
    result = harmonise("template", "tonsils", "--trust", "RHQ", tmp_path / "b.xlsx", "--database", database)
    assert result.exit_code == 2 and "not a pathway topic" in result.output
