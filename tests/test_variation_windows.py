"""Windows compared as windows, and timing that cannot be compared said to be so (#14).

Each case is one trust step against one guideline step, "Open access" (patient-initiated, days
0-14, must); the expected details, days and scores are worked out by hand in the comments.
"""

import math
from datetime import date

import pytest
from fhir.resources.R4B.plandefinition import PlanDefinition

from service.normalise import normalise
from service.pathway import Pathway
from service.site.matrix import cell as matrix_cell
from service.variation.compare import TrustPathway, compare_topic
from service.variation.report import Classification, TopicReport

from .variation_fixtures import BASE, TOPIC, action, q, trust_pathway

pytestmark = pytest.mark.fast  # no database, server process or browser: make test-fast runs it

TODAY = date(2026, 11, 22)


def _build(resource: dict) -> Pathway:
    """Normalised, allowing warnings (a dynamicValue timing is one) but no errors."""
    pathway, problems = normalise(PlanDefinition.model_validate(resource))
    assert [p for p in problems if p.severity.value == "error"] == []
    return pathway


def _open_access(id_: str, **timing) -> dict:
    return action(id_, "follow-up", "patient-initiated", None, "Open access", **timing)


def _guideline(**timing) -> Pathway:
    resource = trust_pathway("RHQ", [_open_access("open-access", requiredBehavior="must", **timing)])
    resource["meta"]["profile"] = [f"{BASE}/StructureDefinition/network-guideline"]
    resource["url"] = f"{BASE}/PlanDefinition/guideline-test"
    return _build(resource)


GUIDELINE_0_14 = {"timingRange": {"low": q(0, "d"), "high": q(14, "d")}}


def _compare(trust_timing: dict, guideline_timing: dict = GUIDELINE_0_14) -> TopicReport:
    trust = TrustPathway(_build(trust_pathway("RFF", [_open_access("oa", **trust_timing)])))
    return compare_topic(TOPIC, [trust], _guideline(**guideline_timing), [], TODAY)


def _window(low: int, high: int) -> dict:
    return {"timingRange": {"low": q(low, "d"), "high": q(high, "d")}}


def test_a_window_ending_after_the_guidelines_is_an_unwarranted_timing_difference() -> None:
    report = _compare(_window(0, 28))
    [difference] = report.differences
    assert (difference.dimension.value, difference.classification) == ("timing", Classification.UNWARRANTED)
    # Judged by its window, not by its middle (day 14, which is inside 0-14 and would have matched).
    assert difference.detail == (
        "'Open access' days 0-28: allows up to day 28; the guideline's window ends at day 14 "
        "(days 15-28 are outside it)"
    )
    assert difference.source == "PlanDefinition.action[0].timingRange"
    # How far it reaches outside: ln((1 + 28) / (1 + 14)) = ln(29 / 15) = 0.659.
    assert report.trusts[0].distance_from_guideline.timing == pytest.approx(math.log(29 / 15), abs=0.001)
    assert report.trusts[0].distance_from_guideline.timing == 0.659
    # The last day the pathway may reach is the window's end, 28, not its middle.
    assert report.trusts[0].length_days == 28


def test_a_window_inside_the_guidelines_is_within_tolerance() -> None:
    report = _compare(_window(2, 10))
    [difference] = report.differences
    assert difference.classification is Classification.WITHIN_TOLERANCE
    assert difference.detail == "'Open access' days 2-10; inside the guideline window days 0-14"
    assert report.trusts[0].distance_from_guideline.total == 0
    assert report.trusts[0].unwarranted == 0


def test_a_trust_day_outside_the_guidelines_window_is_judged_as_before() -> None:
    report = _compare({"timingDuration": q(20, "d")})
    [difference] = report.differences
    assert difference.classification is Classification.UNWARRANTED
    assert difference.detail == "'Open access' at day 20; guideline window days 0-14"
    assert difference.source == "PlanDefinition.action[0].timingDuration"
    # ln((1 + 20) / (1 + 14)) = ln(1.4) = 0.336.
    assert report.trusts[0].distance_from_guideline.timing == 0.336


def test_a_window_overlapping_the_guidelines_names_the_days_outside_it() -> None:
    report = _compare(_window(10, 20))
    [difference] = report.differences
    assert difference.classification is Classification.UNWARRANTED
    assert difference.detail == (
        "'Open access' days 10-20: allows up to day 20; the guideline's window ends at day 14 "
        "(days 15-20 are outside it)"
    )
    # Only the part outside counts: ln((1 + 20) / (1 + 14)) = 0.336, as for day 20 alone.
    assert report.trusts[0].distance_from_guideline.timing == 0.336


def test_a_window_starting_before_the_guidelines_says_so() -> None:
    report = _compare(_window(0, 10), guideline_timing=_window(4, 8))
    [difference] = report.differences
    # Both sides reach outside days 4-8: days 0-3 before it and days 9-10 after it.
    assert difference.detail == (
        "'Open access' days 0-10: allows from day 0; the guideline's window starts at day 4 "
        "(days 0-3 are outside it); allows up to day 10; the guideline's window ends at day 8 "
        "(days 9-10 are outside it)"
    )
    # ln((1 + 4) / (1 + 0)) + ln((1 + 10) / (1 + 8)) = 1.609 + 0.201 = 1.810, more than an occurrence's
    # most, ln(2.5) = 0.916 (as for a single day: docs/comparison.md, "Distance scores").
    assert math.log(5) + math.log(11 / 9) > math.log(2.5)
    assert report.trusts[0].distance_from_guideline.timing == 0.916


def test_a_window_against_a_guideline_day_is_a_difference_on_each_side() -> None:
    report = _compare(_window(0, 14), guideline_timing={"timingDuration": q(7, "d")})
    [difference] = report.differences
    assert difference.classification is Classification.UNWARRANTED
    assert difference.detail == (
        "'Open access' days 0-14: allows from day 0; the guideline says day 7 (days 0-6 are outside it); "
        "allows up to day 14; the guideline says day 7 (days 8-14 are outside it)"
    )


def test_the_same_window_matches_and_the_cell_shows_it_as_written() -> None:
    report = _compare(_window(0, 14))
    assert report.differences == []
    [row] = report.steps
    cell = row.cells["RFF"]
    assert cell.when == "days 0-14" and cell.windows == [(0, 14)] and cell.classification is None
    assert cell.days == [7]  # the nominal day, which only orders occurrences
    assert (row.timing.min, row.timing.max) == (0, 14)
    shown = matrix_cell(report, row, "RFF")
    assert shown.days_text == "days 0\u201314" and shown.label == "matches"
    # A single day is still said as a day, and has no windows.
    single = _compare({"timingDuration": q(7, "d")}).steps[0].cells["RFF"]
    assert single.when == "day 7" and single.windows is None


DYNAMIC = {"dynamicValue": [
    {"path": "timingDateTime", "expression": {"language": "text/cql", "expression": "Discharged + 3 days"}}
]}


def test_a_timing_set_when_the_plan_is_applied_is_not_comparable_never_a_match_or_missing() -> None:
    report = _compare(DYNAMIC)
    [row] = report.steps
    cell = row.cells["RFF"]
    assert cell.not_comparable is not None and "dynamicValue[0]" in cell.not_comparable
    assert cell.when.startswith("not comparable: its timing is set when the plan is applied")
    assert cell.days == [] and cell.classification is None
    # Neither a timing difference nor a missing step: the trust has the step, its time is unknown.
    assert report.differences == []
    assert report.trusts[0].missing_steps == [] and report.trusts[0].not_comparable == ["PlanDefinition.action[0]"]
    shown = matrix_cell(report, row, "RFF")
    assert shown.days_text.startswith("not comparable: its timing is set when the plan is applied")
    assert shown.label == ""  # not "matches"


def test_a_guideline_step_that_is_not_comparable_makes_its_cells_not_comparable() -> None:
    report = _compare({"timingDuration": q(7, "d")}, guideline_timing=DYNAMIC)
    [row] = report.steps
    assert row.not_comparable is not None and row.not_comparable.startswith("its timing is set")
    cell = row.cells["RFF"]
    assert cell.not_comparable is not None and cell.not_comparable.startswith("the reference's timing:")
    assert matrix_cell(report, row, "RFF").label == ""
