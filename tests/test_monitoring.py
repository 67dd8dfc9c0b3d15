"""Activity import and early-warning signals, on the sample network's planted patterns."""

from datetime import date

import pytest
from fhir.resources.R4B.measurereport import MeasureReport

from service import loader
from service.monitoring import signals as s
from service.monitoring.activity import from_measure_report, parse_csv, read_measures, series, to_measure_report
from service.register import read_register
from service.variation.compare import TrustPathway

from .conftest import GUIDELINES, PATHWAYS, REPOSITORY, minimal_pathway

pytestmark = pytest.mark.fast  # no database, server process or browser: make test-fast runs it

ACTIVITY = REPOSITORY / "activity"
MEASURES = read_measures(ACTIVITY / "measures")
HEADER = "trust,topic,measure,period,value,note\n"


def test_the_network_measures_are_read_with_direction_and_target() -> None:
    required = MEASURES["required-follow-up-completed"]
    assert (required.direction.value, required.target, required.unit) == ("increase", 90.0, "%")
    assert MEASURES["days-to-first-follow-up"].direction.value == "decrease"
    assert MEASURES["follow-up-contacts-per-patient"].direction.value == "neutral"


def test_bad_rows_are_named_by_row_column_and_value_and_nothing_is_kept() -> None:
    text = HEADER + (
        "RHQ,tonsillectomy-follow-up,days-to-first-follow-up,2026-01,4,\n"
        "XYZ,tonsillectomy-follow-up,days-to-first-follow-up,2026-02,4,\n"
        "RHQ,tonsillectomy-follow-up,days-to-first-follow-up,2026-13,4,\n"
        "RHQ,tonsillectomy-follow-up,days-to-first-follow-up,2026-03,four,\n"
        "RHQ,tonsillectomy-follow-up,days-to-first-follow-up,2026-01,5,\n"
    )
    values, problems = parse_csv(text, MEASURES, "upload.csv")
    assert values == []
    assert [(p.path, p.file) for p in problems] == [
        ("row 3, column 'trust'", "upload.csv"),
        ("row 4, column 'period'", "upload.csv"),
        ("row 5, column 'value'", "upload.csv"),
        ("row 6, column 'period'", "upload.csv"),
    ]
    assert "'XYZ'" in problems[0].message and "'four'" in problems[2].message
    assert "first on row 2" in problems[3].message


def test_a_csv_without_the_required_columns_is_refused() -> None:
    values, problems = parse_csv("trust,topic,value\nRHQ,x,1\n", MEASURES, "upload.csv")
    assert values == [] and "measure, period" in problems[0].message


def test_a_row_becomes_a_valid_measure_report_and_back() -> None:
    values, problems = parse_csv(
        HEADER + "RP5,tonsillectomy-follow-up,required-follow-up-completed,2026-02,72.5,x\n", MEASURES, "upload.csv"
    )
    assert problems == []
    report = to_measure_report(values[0], MEASURES["required-follow-up-completed"])
    MeasureReport.model_validate(report)
    assert report["period"] == {"start": "2026-02-01", "end": "2026-02-28"}
    by_url = {m.url: m for m in MEASURES.values()}
    assert from_measure_report(report, by_url) == values[0]


@pytest.fixture(scope="module")
def network_signals() -> list[s.Signal]:
    result = loader.load([PATHWAYS, GUIDELINES])
    values, problems = parse_csv((ACTIVITY / "sample-activity.csv").read_text(), MEASURES, "sample")
    assert problems == []
    register, _ = read_register(GUIDELINES)
    monitoring = s.monitor(
        [(r.pathway, r.data) for r in result.resources], values, MEASURES, register, date(2026, 11, 22)
    )
    return monitoring.signals


def test_the_sample_network_raises_exactly_the_planted_signals_newest_first(network_signals) -> None:
    assert [(x.raised_on.isoformat(), x.kind.value, x.trust, x.topic) for x in network_signals] == [
        ("2026-09-30", "guideline-review-overdue", None, "pre-eclampsia-postnatal-follow-up"),
        ("2026-06-30", "justification-expired", "RXF", "tonsillectomy-follow-up"),
        ("2026-03-31", "justification-expired", "RFS", "distal-radius-fracture-follow-up"),
        ("2025-11-03", "drift", "RP5", "tonsillectomy-follow-up"),  # version 2.2.0 dropped the day-1 call
        ("2025-11-01", "special-cause", "RP5", "tonsillectomy-follow-up"),  # and completion fell from then
        ("2025-09-10", "justification-expired", "RFS", "gestational-diabetes-postnatal-follow-up"),
    ]
    special = network_signals[4]
    assert "version 2.2.0 from 2025-11-03" in special.look_at
    assert "shift" in special.detail


def test_adopting_the_guideline_rebases_the_chart_so_the_improvement_raises_no_false_concern() -> None:
    result = loader.load([PATHWAYS])
    versions = s.versions_by_trust(TrustPathway(r.pathway, r.file) for r in result.resources)
    values, _ = parse_csv((ACTIVITY / "sample-activity.csv").read_text(), MEASURES, "sample")
    key = ("RHQ", "six-month-post-stroke-review", "required-follow-up-completed")
    (charted,) = s.chart_series({key: series(values)[key]}, MEASURES, versions)
    assert [i for i, _ in charted.rebases] == [13]  # 2025-12, when version 2.1.0 adopted the guideline
    assert charted.periods[13] == "2025-12"
    assert not any(p.variation.is_concern for p in charted.chart.points)
    assert s.special_cause_signals([charted], versions) == []


def test_a_pathways_versions_are_read_in_version_order_not_as_text() -> None:
    """1.10.0 follows 1.9.0 (as text it sorts first): the drift signal must read the history in that order."""

    def version(number: str) -> TrustPathway:
        data = minimal_pathway(id="rhq-test", version=number, date="2026-01-01")
        _plan, pathway, _problems = loader.check_plan_definition(data)
        assert pathway is not None
        return TrustPathway(pathway, f"{number}.json")

    ordered = s.versions_by_trust([version("1.10.0"), version("1.9.0"), version("1.2.0")])
    assert [p.version for p in ordered[("RHQ", "laparoscopic-cholecystectomy-follow-up")]] == ["1.2.0", "1.9.0",
                                                                                               "1.10.0"]
