"""The variation engine on a topic worked out by hand, and properties that must hold for any pathway."""

import json
import random
from datetime import date
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.register import Dimension, RegisterEntry
from service.variation.compare import TrustPathway, compare_topic
from service.variation.report import Classification, VariationReport

from .variation_fixtures import TOPIC, action, build, four_trusts, guideline, q, trust_pathway

pytestmark = pytest.mark.fast  # no database, server process or browser: make test-fast runs it

SCHEMA = Path(__file__).resolve().parent.parent / "docs" / "schemas" / "compare-report.schema.json"

REGISTER = [
    RegisterEntry(
        trust="RP5",
        topic=TOPIC,
        step="",
        dimension=Dimension.PRESENCE,
        rationale="Extra telephone check while a community nursing service is set up.",
        agreed_by="Network board",
        agreed_on=date(2026, 1, 15),
        review_by=date(2027, 1, 31),
    )
]


def report(as_of: date = date(2026, 11, 22), with_guideline: bool = True):
    trusts = [TrustPathway(build(resource)) for resource in four_trusts().values()]
    return compare_topic(TOPIC, trusts, build(guideline()) if with_guideline else None, REGISTER, as_of)


def differences(topic_report, classification=None):
    return sorted(
        (d.trust, d.step, d.dimension.value, d.classification.value)
        for d in topic_report.differences
        if classification is None or d.classification is classification
    )


def test_contacts_length_and_mode_counts_worked_out_by_hand() -> None:
    trusts = {t.ods: t for t in report().trusts}
    assert {ods: t.contacts for ods, t in trusts.items()} == {"RFF": 2, "RFR": 5, "RHQ": 3, "RP5": 3}
    assert trusts["RHQ"].contacts_by_mode == {"face-to-face": 2, "telephone": 1}
    # 8 months = 243.5 days -> 244; 12 months = 365.25 -> 365; 3 + 3 x 2 months = 273.9375 -> 274.
    assert {ods: t.length_days for ods, t in trusts.items()} == {"RFF": 365, "RFR": 274, "RHQ": 244, "RP5": 244}
    assert trusts["RFR"].contacts_sources == [
        "PlanDefinition.action[0].timingDuration",
        "PlanDefinition.action[1].timingTiming",
    ]


def test_every_difference_and_its_classification_worked_out_by_hand() -> None:
    assert differences(report(), Classification.UNWARRANTED) == [
        ("RFF", "review-9m", "timing", "unwarranted"),  # day 365, outside days 183-274
        ("RFR", "review-9m", "count", "unwarranted"),  # four clinic reviews where the guideline has one
        ("RHQ", None, "presence", "unwarranted"),  # the 2-week wound check has no counterpart
    ]
    assert differences(report(), Classification.WARRANTED) == [("RP5", None, "presence", "warranted")]
    assert differences(report(), Classification.WITHIN_TOLERANCE) == [
        ("RFR", "review-9m", "timing", "within-tolerance"),
        ("RHQ", "review-9m", "timing", "within-tolerance"),  # day 244: inside, not the window's middle (228)
        ("RP5", "review-9m", "timing", "within-tolerance"),
    ]


def test_the_details_say_what_and_where_in_plain_words() -> None:
    by_key = {(d.trust, d.step, d.dimension.value): d for d in report().differences}
    late = by_key[("RFF", "review-9m", "timing")]
    assert late.detail == "'Clinic review' at day 365; guideline window days 183-274"
    assert late.source == "PlanDefinition.action[1].timingDuration"
    assert late.pathway == "http://rff.example.org/fhir/PlanDefinition/test|1.0.0"
    assert late.reference_source == "PlanDefinition.action[1].timingRange"
    wound = by_key[("RHQ", None, "presence")]
    assert wound.detail == "Extra step not in the reference: 'Wound check' (face-to-face) at day 14"
    assert wound.source == "PlanDefinition.action[0]"
    count = by_key[("RFR", "review-9m", "count")]
    assert count.detail.startswith("4 occurrences of 'Clinic review' at day 91, 152, 213, 274; the guideline has 1")


def test_a_justification_counts_until_its_review_date_then_is_flagged_expired() -> None:
    current = next(d for d in report(date(2027, 1, 31)).differences if d.trust == "RP5" and d.step is None)
    assert current.classification is Classification.WARRANTED and not current.expired
    assert current.justification.rationale.startswith("Extra telephone check")
    lapsed = next(d for d in report(date(2027, 2, 1)).differences if d.trust == "RP5" and d.step is None)
    assert lapsed.classification is Classification.UNWARRANTED
    assert lapsed.expired and lapsed.justification.expired


def test_the_matrix_lines_up_each_trusts_steps_with_the_guideline() -> None:
    rows = {row.key: row for row in report().steps}
    assert {ods: cell.days for ods, cell in rows["review-6w"].cells.items()} == {
        "RFF": [42],
        "RFR": [42],
        "RHQ": [42],
        "RP5": [42],
    }
    assert {ods: cell.days for ods, cell in rows["review-9m"].cells.items()} == {
        "RFF": [365],
        "RFR": [91, 152, 213, 274],
        "RHQ": [244],
        "RP5": [244],
    }
    assert rows["review-9m"].cells["RFF"].classification is Classification.UNWARRANTED
    extras = [row for row in report().steps if not row.in_reference]
    assert sorted((row.kind, tuple(row.cells)) for row in extras) == [
        ("follow-up", ("RP5",)),
        ("wound-check", ("RHQ",)),
    ]


def test_distance_from_the_guideline_adds_up_its_parts() -> None:
    trusts = {t.ods: t for t in report().trusts}
    # RFR: count part (4 - 1) / 1 = 3; nothing else outside tolerance.
    assert trusts["RFR"].distance_from_guideline.count == 3
    assert trusts["RFR"].distance_from_guideline.total == 3
    # RFF: timing part ln((1 + 365) / (1 + 274)).
    assert trusts["RFF"].distance_from_guideline.timing == pytest.approx(0.286, abs=0.001)
    assert trusts["RHQ"].distance_from_guideline.presence == 1


def test_without_an_agreed_guideline_trusts_are_compared_with_the_network_consensus() -> None:
    topic_report = report(with_guideline=False)
    assert topic_report.guideline is None and topic_report.compared_against.value == "network-median"
    keys = [row.key for row in topic_report.steps if row.in_reference]
    # Worked by hand (docs/comparison.md): RFR (most steps) seeds the clusters 42, 91, 152, 213
    # and 274; every trust's telephone review joins 42, and each trust's clinic review joins 274
    # (RHQ 244, RP5 244, RFF 365: nearest on the log scale), so that cluster's median day is
    # median(274, 244, 244, 365) = 259. RP5's 4-month call joins 152, but two trusts of four are
    # not more than half, so it stays out, like RHQ's wound check.
    assert keys == ["follow-up-day-42", "follow-up-day-259"]
    review = next(row for row in topic_report.steps if row.key == "follow-up-day-259")
    # Window: quartiles 244 and 296.75 widened to 259 +/- 25% (64.75 days): 194.25-323.75,
    # rounded to whole days like every other day in a report.
    assert review.window == (194, 324)
    assert differences(topic_report, Classification.UNWARRANTED) == [
        ("RFF", "follow-up-day-259", "timing", "unwarranted"),  # day 365 is beyond 324
        ("RFR", "follow-up-day-259", "count", "unwarranted"),
        ("RHQ", None, "presence", "unwarranted"),
    ]
    assert differences(topic_report, Classification.WARRANTED) == [("RP5", None, "presence", "warranted")]


def test_the_json_report_validates_against_the_published_schema() -> None:
    schema = json.loads(SCHEMA.read_text())
    assert schema == VariationReport.model_json_schema(), "regenerate docs/schemas/compare-report.schema.json"
    document = json.loads(VariationReport(as_of=date(2026, 11, 22), topics=[report()]).model_dump_json())
    jsonschema.validate(document, schema)
    assert document["topics"][0]["trusts"][0].keys() >= {
        "ods",
        "pathway",
        "contacts",
        "contacts_by_mode",
        "length_days",
    }


# --- properties ---------------------------------------------------------------------------------

UNITS = {"d": 1, "wk": 7}
step_strategy = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["follow-up", "wound-check", "investigation", "discharge"]),
        "mode": st.sampled_from(["face-to-face", "telephone", "video", "patient-initiated", "none"]),
        "role": st.sampled_from([None, "consultant", "nurse", "gp"]),
        "weeks": st.integers(min_value=0, max_value=60),
        "repeat": st.sampled_from([None, 2, 3]),
    }
)


def _actions(steps: list[dict], rng: random.Random, in_days: bool) -> list[dict]:
    actions = []
    for index, step in enumerate(steps):
        unit, value = ("d", step["weeks"] * 7) if in_days else ("wk", step["weeks"])
        timing = (
            {"timingDuration": q(value, unit)}
            if step["repeat"] is None
            else {
                "timingTiming": {
                    "repeat": {
                        "count": step["repeat"],
                        "period": 4 if not in_days else 28,
                        "periodUnit": "wk" if not in_days else "d",
                        "boundsRange": {"low": q(value, unit)},
                    }
                }
            }
        )
        actions.append(
            action(
                f"{'x' if in_days else 'a'}{rng.randrange(10**6)}-{index}",
                step["kind"],
                step["mode"],
                step["role"],
                f"Step {index}",
                **timing,
            )
        )
    return actions


def _comparable(topic_report) -> dict:
    """The report without element paths and ids, which legitimately change with the file's layout."""
    data = json.loads(topic_report.model_dump_json())
    for difference in data["differences"]:
        difference.pop("source")
    for trust in data["trusts"]:
        for key in ("contacts_sources", "length_source", "extra_steps", "not_comparable"):
            trust.pop(key)
    for row in data["steps"]:
        for cell in row["cells"].values():
            cell.pop("sources")
    data["differences"].sort(key=json.dumps)
    return data


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    network=st.lists(st.lists(step_strategy, min_size=1, max_size=6), min_size=2, max_size=4), seed=st.integers(0, 1000)
)
def test_order_ids_and_units_never_change_the_report(network: list[list[dict]], seed: int) -> None:
    rng = random.Random(seed)
    ods = ["RFF", "RFS", "RP5", "RXF"]
    original, rewritten = [], []
    for code, steps in zip(ods, network):
        original.append(TrustPathway(build(trust_pathway(code, _actions(steps, rng, in_days=False)))))
        shuffled = _actions(steps, rng, in_days=True)
        rng.shuffle(shuffled)
        rewritten.append(TrustPathway(build(trust_pathway(code, shuffled))))
    guide = build(guideline())
    first = compare_topic(TOPIC, original, guide, REGISTER, date(2026, 11, 22))
    second = compare_topic(TOPIC, rewritten, guide, REGISTER, date(2026, 11, 22))
    assert _comparable(first) == _comparable(second)


@settings(max_examples=60, deadline=None)
@given(steps=st.lists(step_strategy, min_size=1, max_size=8), seed=st.integers(0, 1000))
def test_a_pathway_compared_with_itself_has_no_differences(steps: list[dict], seed: int) -> None:
    resource = trust_pathway("RHQ", _actions(steps, random.Random(seed), in_days=False))
    for step in resource["action"]:
        step["requiredBehavior"] = "must"
    pathway = build(resource)
    as_guideline = build(
        {**resource, "meta": {"profile": ["http://harmonise.example.org/fhir/StructureDefinition/network-guideline"]}}
    )
    topic_report = compare_topic(TOPIC, [TrustPathway(pathway)], as_guideline, [], date(2026, 11, 22))
    assert topic_report.differences == []
    twins = compare_topic(
        TOPIC,
        [TrustPathway(pathway), TrustPathway(build(trust_pathway("RFF", resource["action"])))],
        None,
        [],
        date(2026, 11, 22),
    )
    assert twins.differences == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    network=st.lists(st.lists(step_strategy, min_size=1, max_size=6), min_size=2, max_size=4), seed=st.integers(0, 1000)
)
def test_distance_from_the_network_is_the_same_with_or_without_a_guideline(network: list[list[dict]],
                                                                           seed: int) -> None:
    """With a guideline the distance from the consensus is scored without writing findings
    (``alignment_score``); without one it is scored from the findings. Both must agree."""
    rng = random.Random(seed)
    trusts = [TrustPathway(build(trust_pathway(code, _actions(steps, rng, in_days=False))))
              for code, steps in zip(["RFF", "RFS", "RP5", "RXF"], network)]
    with_guideline = compare_topic(TOPIC, trusts, build(guideline()), REGISTER, date(2026, 11, 22))
    without = compare_topic(TOPIC, trusts, None, REGISTER, date(2026, 11, 22))
    assert [t.distance_from_network for t in with_guideline.trusts] == [t.distance_from_network for t in without.trusts]
