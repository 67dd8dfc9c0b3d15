"""Step timing worked out by hand (docs/profile.md, "Timing forms" and "Units")."""

from fractions import Fraction

import pytest
from fhir.resources.R4B.plandefinition import PlanDefinition

from service import units
from service.normalise import normalise
from service.problems import Severity

pytestmark = pytest.mark.fast  # no database, server process or browser: make test-fast runs it

UCUM = "http://unitsofmeasure.org"


def q(value, code):
    return {"value": value, "unit": code, "system": UCUM, "code": code}


def plan(*actions) -> PlanDefinition:
    return PlanDefinition.model_validate({"resourceType": "PlanDefinition", "status": "draft", "action": list(actions)})


def days(pathway, action_id):
    step = next(s for s in pathway.steps if s.action_id == action_id)
    return [o.day for o in step.timing.occurrences]


def test_unit_lengths_in_days() -> None:
    assert units.to_days(1, "wk") == 7
    assert units.to_days(1, "mo") == Fraction(304375, 10000)  # 30.4375
    assert units.to_days(1, "a") == Fraction(36525, 100)  # 365.25
    assert units.to_days(36, "h") == Fraction(3, 2)
    assert units.to_days(2880, "min") == 2


@pytest.mark.parametrize(
    ("exact", "day"),
    [(Fraction(85, 2), 43), (Fraction(-1, 2), 0), (Fraction(1332, 10), 133), (Fraction(2246, 10), 225)],
)
def test_rounding_is_to_the_nearest_day_with_halves_up(exact: Fraction, day: int) -> None:
    assert units.round_days(exact) == day


def test_every_three_months_four_times_from_week_six() -> None:
    # 42, 42 + 91.3125 = 133.3125, 224.625 -> 225, 315.9375 -> 316 (the worked example).
    pathway, problems = normalise(
        plan(
            {
                "id": "clinic",
                "timingTiming": {
                    "repeat": {"count": 4, "period": 3, "periodUnit": "mo", "boundsRange": {"low": q(6, "wk")}}
                },
            }
        )
    )
    assert problems == []
    assert days(pathway, "clinic") == [42, 133, 225, 316]


def test_a_repeat_ends_at_its_upper_bound_when_that_comes_before_the_count() -> None:
    # Every 12 weeks from week 12, up to 40 weeks: days 84, 168, 252 (336 is past day 280).
    pathway, _ = normalise(
        plan(
            {
                "id": "c",
                "timingTiming": {
                    "repeat": {
                        "count": 6,
                        "period": 12,
                        "periodUnit": "wk",
                        "boundsRange": {"low": q(12, "wk"), "high": q(40, "wk")},
                    }
                },
            }
        )
    )
    assert days(pathway, "c") == [84, 168, 252]


def test_frequency_divides_the_period() -> None:
    # Twice a week for two weeks (bounds 2 wk, no count): days 0, 3.5, 7, 10.5, 14 -> 0, 4, 7, 11, 14.
    pathway, _ = normalise(
        plan(
            {
                "id": "c",
                "timingTiming": {
                    "repeat": {"frequency": 2, "period": 1, "periodUnit": "wk", "boundsDuration": q(2, "wk")}
                },
            }
        )
    )
    assert days(pathway, "c") == [0, 4, 7, 11, 14]


def test_a_range_has_a_window_and_its_middle_as_the_nominal_day() -> None:
    pathway, _ = normalise(plan({"id": "w", "timingRange": {"low": q(7, "d"), "high": q(10, "d")}}))
    occurrence = pathway.steps[0].timing.occurrences[0]
    assert (occurrence.earliest, occurrence.latest, occurrence.day) == (7, 10, 9)  # 8.5 rounds up


def test_related_actions_are_followed_through_a_chain() -> None:
    pathway, problems = normalise(
        plan(
            {"id": "call", "timingDuration": q(2, "d")},
            {
                "id": "clinic",
                "relatedAction": [{"actionId": "call", "relationship": "after-end", "offsetDuration": q(2, "wk")}],
            },
            {
                "id": "discharge",
                "relatedAction": [{"actionId": "clinic", "relationship": "after-start", "offsetDuration": q(1, "mo")}],
            },
            {
                "id": "bloods",
                "relatedAction": [{"actionId": "clinic", "relationship": "before-start", "offsetDuration": q(36, "h")}],
            },
        )
    )
    assert problems == []
    assert days(pathway, "clinic") == [16]
    assert days(pathway, "discharge") == [46]  # 16 + 30.4375 = 46.4375
    assert days(pathway, "bloods") == [15]  # 16 - 1.5 = 14.5, halves up
    discharge = next(s for s in pathway.steps if s.action_id == "discharge")
    assert discharge.timing.sources == (
        "PlanDefinition.action[2].relatedAction[0].offsetDuration",
        "PlanDefinition.action[1].relatedAction[0].offsetDuration",
        "PlanDefinition.action[0].timingDuration",
    )


def test_after_end_of_a_repeating_step_counts_from_its_last_occurrence() -> None:
    pathway, _ = normalise(
        plan(
            {"id": "clinic", "timingTiming": {"repeat": {"count": 3, "period": 1, "periodUnit": "wk"}}},
            {
                "id": "discharge",
                "relatedAction": [{"actionId": "clinic", "relationship": "after-end", "offsetDuration": q(1, "d")}],
            },
        )
    )
    assert days(pathway, "clinic") == [0, 7, 14]
    assert days(pathway, "discharge") == [15]


def test_an_offset_range_widens_the_window() -> None:
    pathway, _ = normalise(
        plan(
            {"id": "a", "timingDuration": q(10, "d")},
            {
                "id": "b",
                "relatedAction": [
                    {"actionId": "a", "relationship": "after", "offsetRange": {"low": q(1, "wk"), "high": q(2, "wk")}}
                ],
            },
        )
    )
    occurrence = pathway.steps[1].timing.occurrences[0]
    assert (occurrence.earliest, occurrence.latest, occurrence.day) == (17, 24, 21)


def test_a_missing_related_action_is_reported_and_the_step_not_guessed() -> None:
    pathway, problems = normalise(plan({"id": "a", "relatedAction": [{"actionId": "ghost", "relationship": "after"}]}))
    assert [(p.severity, p.path, p.rule) for p in problems] == [
        (Severity.WARNING, "PlanDefinition.action[0].relatedAction[0].actionId", "related-action")
    ]
    assert "ghost" in problems[0].message
    assert pathway.steps[0].timing.occurrences == ()
    assert "missing action 'ghost'" in pathway.steps[0].timing.not_comparable


def test_a_cycle_of_related_actions_is_reported() -> None:
    pathway, problems = normalise(
        plan(
            {"id": "a", "relatedAction": [{"actionId": "b", "relationship": "after"}]},
            {"id": "b", "relatedAction": [{"actionId": "a", "relationship": "after"}]},
        )
    )
    assert any("cycle" in p.message and p.rule == "related-action" for p in problems)
    assert all(not s.timing.comparable for s in pathway.steps)


@pytest.mark.parametrize(
    ("action", "reason"),
    [
        ({"timingAge": {"value": 65, "code": "a", "system": UCUM}}, "age"),
        ({"timingDateTime": "2026-01-01"}, "calendar date"),
        ({"timingPeriod": {"start": "2026-01-01"}}, "calendar date"),
        ({"timingTiming": {"repeat": {"period": 1, "periodUnit": "d"}}}, "open-ended"),
        ({"timingTiming": {"repeat": {"count": 6, "duration": 21, "durationUnit": "d"}}}, "no period"),
        ({"timingTiming": {"code": {"text": "BID"}}}, "no repeat"),
        (
            {"dynamicValue": [{"path": "timing.event", "expression": {"language": "text/cql", "expression": "Now()"}}]},
            "Now()",
        ),
        ({}, "no timing"),
    ],
)
def test_timing_known_only_at_run_time_is_not_statically_comparable(action: dict, reason: str) -> None:
    pathway, _ = normalise(plan({"id": "x", **action}))
    timing = pathway.steps[0].timing
    assert not timing.comparable and timing.occurrences == ()
    assert reason in timing.not_comparable


def test_a_unit_that_is_not_a_unit_of_time_is_an_error_naming_the_element() -> None:
    _, problems = normalise(plan({"id": "x", "timingDuration": {"value": 2, "unit": "fortnights"}}))
    assert [(p.severity, p.path) for p in problems] == [
        (Severity.ERROR, "PlanDefinition.action[0].timingDuration.unit")
    ]
    assert "fortnights" in problems[0].message


def test_a_ucum_unit_without_its_code_is_read_with_a_warning() -> None:
    pathway, problems = normalise(plan({"id": "x", "timingDuration": {"value": 1, "unit": "h"}}))
    assert [(p.severity, p.rule) for p in problems] == [(Severity.WARNING, "units")]
    assert pathway.steps[0].timing.occurrences[0].earliest == pytest.approx(1 / 24, abs=1e-4)


def test_nested_actions_take_their_group_timing_and_groups_are_not_steps() -> None:
    pathway, _ = normalise(plan({"id": "group", "timingDuration": q(1, "wk"), "action": [{"id": "inner"}]}))
    assert [s.action_id for s in pathway.steps] == ["inner"]
    assert days(pathway, "inner") == [7]
    assert pathway.steps[0].path == "PlanDefinition.action[0].action[0]"
