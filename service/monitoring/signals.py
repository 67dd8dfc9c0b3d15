"""Early-warning signals: where the network should look next, newest first.

Four kinds, each traced to what raised it:

- **special cause**: a measure at a trust shows special-cause *concern* in its latest months
  (``RECENT_MONTHS``), on an XmR chart rebased at the month the trust adopted the guideline;
- **drift**: a trust's newer pathway version has more unwarranted differences from the
  guideline it adopted than the version before it;
- **guideline review overdue**: an agreed guideline's next review date (``effectivePeriod.end``)
  has passed;
- **justification expired**: a register entry's ``review_by`` date has passed.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from .. import terminology
from ..fhirformat import JsonDict
from ..pathway import Pathway, PathwayKind
from ..register import RegisterEntry
from ..variation.compare import TrustPathway, compare_topic
from ..variation.report import Classification
from .activity import ActivityValue, MeasureInfo, series
from .spc import Chart, xmr

#: A special cause is open while it touches one of the latest this-many points.
RECENT_MONTHS = 3


class SignalKind(StrEnum):
    SPECIAL_CAUSE = "special-cause"
    DRIFT = "drift"
    GUIDELINE_REVIEW_OVERDUE = "guideline-review-overdue"
    JUSTIFICATION_EXPIRED = "justification-expired"


class Signal(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: SignalKind
    #: When the signal arose (first month of the concern, version date, review date).
    raised_on: date
    trust: str | None
    topic: str | None
    title: str
    detail: str
    #: What a network lead should look at first.
    look_at: str
    #: What it was computed from (measure and months, pathway canonicals, register entry).
    source: str


@dataclass(frozen=True)
class MonitoredSeries:
    """One measure at one trust for one topic, charted."""

    trust: str
    topic: str
    measure: MeasureInfo
    periods: tuple[str, ...]
    chart: Chart
    #: Indices of the points where limits were recalculated, with why.
    rebases: tuple[tuple[int, str], ...]


def _month(value: str | None) -> str | None:
    return value[:7] if value and len(value) >= 7 else None


def versions_by_trust(pathways: Iterable[TrustPathway]) -> dict[tuple[str, str], list[Pathway]]:
    """Every version of each trust's pathway per topic, oldest first."""
    grouped: dict[tuple[str, str], list[Pathway]] = defaultdict(list)
    for item in pathways:
        p = item.pathway
        if p.kind is PathwayKind.TRUST_PATHWAY and p.trust and p.topic:
            grouped[(p.trust, p.topic)].append(p)
    return {key: sorted(items, key=lambda p: p.recency) for key, items in grouped.items()}


def adoptions(versions: Sequence[Pathway]) -> list[tuple[str, str]]:
    """(month, why) for each version that adopted a guideline its predecessor had not."""
    found = []
    for before, after in zip(versions, versions[1:]):
        month = _month(after.date)
        if after.guideline and after.guideline != before.guideline and month:
            found.append((month, f"version {after.version} adopted {after.guideline}"))
    return found


def chart_series(
    values_by_key: dict[tuple[str, str, str], list[ActivityValue]],
    measures: dict[str, MeasureInfo],
    versions: dict[tuple[str, str], list[Pathway]],
) -> list[MonitoredSeries]:
    charted = []
    for (trust, topic, measure_id), values in values_by_key.items():
        if len(values) < 2 or measure_id not in measures:
            continue
        measure = measures[measure_id]
        periods = tuple(v.period for v in values)
        rebases = tuple(
            (periods.index(month), why)
            for month, why in adoptions(versions.get((trust, topic), []))
            if month in periods and periods.index(month) > 0
        )
        chart = xmr([v.value for v in values], measure.direction, measure.target, rebase=[i for i, _ in rebases])
        charted.append(MonitoredSeries(trust, topic, measure, periods, chart, rebases))
    return charted


def _first_of(period: str) -> date:
    return date.fromisoformat(f"{period}-01")


def special_cause_signals(
    charted: Iterable[MonitoredSeries], versions: dict[tuple[str, str], list[Pathway]]
) -> list[Signal]:
    signals = []
    for charted_series in charted:
        points = charted_series.chart.points
        recent = range(max(0, len(points) - RECENT_MONTHS), len(points))
        if not any(points[i].variation.is_concern for i in recent):
            continue
        start = len(points) - 1
        while start > 0 and points[start - 1].variation.is_concern and points[start - 1].segment == points[-1].segment:
            start -= 1
        latest = points[-1]
        periods = charted_series.periods
        unit = f" {charted_series.measure.unit}" if charted_series.measure.unit else ""
        rules = sorted({rule.value for p in points[start:] for rule in p.rules})
        changes = [
            f"version {p.version} from {p.date}"
            for p in versions.get((charted_series.trust, charted_series.topic), [])
            if p.date and charted_series.periods[max(0, start - 2)] <= p.date[:7] <= charted_series.periods[-1]
        ]
        look_at = (
            ("pathway changes around then: " + "; ".join(changes))
            if changes
            else "what changed in the service around then (no pathway change is recorded)"
        )
        signals.append(
            Signal(
                kind=SignalKind.SPECIAL_CAUSE,
                raised_on=_first_of(charted_series.periods[start]),
                trust=charted_series.trust,
                topic=charted_series.topic,
                title=f"{charted_series.measure.title}: {latest.variation.words}",
                detail=(
                    f"Since {periods[start]}, {len(points) - start} month(s) of concern ({', '.join(rules)}); "
                    f"latest {latest.value:g}{unit} against a mean of {latest.mean:.1f} "
                    f"(limits {latest.lower:.1f} to {latest.upper:.1f})."
                ),
                look_at=look_at,
                source=f"MeasureReport {charted_series.measure.url} for {charted_series.trust}, "
                f"{charted_series.topic}, {periods[0]} to {periods[-1]}",
            )
        )
    return signals


def _unwarranted(pathway: Pathway, guideline: Pathway, register: Sequence[RegisterEntry], today: date) -> list[str]:
    report = compare_topic(pathway.topic or "", [TrustPathway(pathway)], guideline, register, today)
    return [
        f"{d.step or 'extra step'} ({d.dimension.value})"
        for d in report.differences
        if d.classification is Classification.UNWARRANTED
    ]


def drift_signals(
    versions: dict[tuple[str, str], list[Pathway]],
    guidelines: dict[str, Pathway],
    register: Sequence[RegisterEntry],
    today: date,
) -> list[Signal]:
    signals = []
    for (trust, topic), history in versions.items():
        for before, after in zip(history, history[1:]):
            guideline = guidelines.get(after.guideline or "")
            if guideline is None or before.guideline != after.guideline or not after.date:
                continue
            was, now = _unwarranted(before, guideline, register, today), _unwarranted(after, guideline, register, today)
            if len(now) > len(was):
                new = [d for d in now if d not in was] or now
                signals.append(
                    Signal(
                        kind=SignalKind.DRIFT,
                        raised_on=date.fromisoformat(after.date[:10]),
                        trust=trust,
                        topic=topic,
                        title=f"Pathway moved away from the guideline it adopted "
                        f"(version {before.version} to {after.version})",
                        detail=(
                            f"{len(now)} unwarranted difference(s) from {after.guideline}, up from {len(was)}: "
                            f"{', '.join(new)}."
                        ),
                        look_at=f"harmonise compare {topic} --use '{after.canonical}'",
                        source=f"{before.canonical} -> {after.canonical}",
                    )
                )
    return signals


def review_signals(guidelines: Iterable[tuple[Pathway, str | None]], today: date) -> list[Signal]:
    """``guidelines`` are (guideline, next review date as ISO text) pairs."""
    signals = []
    for guideline, review_by in guidelines:
        if guideline.status != "active" or not review_by or date.fromisoformat(review_by[:10]) >= today:
            continue
        signals.append(
            Signal(
                kind=SignalKind.GUIDELINE_REVIEW_OVERDUE,
                raised_on=date.fromisoformat(review_by[:10]),
                trust=None,
                topic=guideline.topic,
                title=f"Guideline past its review date: {guideline.title}",
                detail=f"Version {guideline.version} was due for review by {review_by[:10]}.",
                look_at="the guideline with the network, and the trusts' current pathways for the topic",
                source=f"{guideline.canonical} effectivePeriod.end",
            )
        )
    return signals


def register_signals(register: Iterable[RegisterEntry], today: date) -> list[Signal]:
    return [
        Signal(
            kind=SignalKind.JUSTIFICATION_EXPIRED,
            raised_on=entry.review_by,
            trust=entry.trust,
            topic=entry.topic,
            title=f"Warranted-variation justification past its review date ({entry.dimension.value}"
            f"{', step ' + entry.step if entry.step else ''})",
            detail=f'Agreed by {entry.agreed_by} on {entry.agreed_on}: "{entry.rationale}"; '
            f"review was due by {entry.review_by}. Until it is reviewed, the difference counts as unwarranted.",
            look_at="the register entry with the network: renew it with a new review date, or ask the trust to change",
            source=f"guidelines/variation-register.yaml ({entry.trust}, {entry.topic}, "
            f"{entry.step or 'whole pathway'}, {entry.dimension.value})",
        )
        for entry in register
        if entry.expired(today)
    ]


def newest_first(signals: Iterable[Signal]) -> list[Signal]:
    return sorted(signals, key=lambda s: (s.raised_on, s.kind.value, s.trust or "", s.topic or ""), reverse=True)


def topic_title(topic: str | None) -> str:
    return terminology.topics().display(topic) if topic else ""


@dataclass(frozen=True)
class Monitoring:
    """Everything ``harmonise monitor``, ``$signals`` and the site show."""

    signals: list[Signal]
    charts: list[MonitoredSeries]


def monitor(
    resources: Iterable[tuple[Pathway, JsonDict]],
    activity: Iterable[ActivityValue],
    measures: dict[str, MeasureInfo],
    register: Sequence[RegisterEntry],
    today: date,
) -> Monitoring:
    """Signals and charts from every PlanDefinition version, the activity and the register."""
    resources = list(resources)
    versions = versions_by_trust(TrustPathway(pathway) for pathway, _ in resources)
    guidelines: dict[str, tuple[Pathway, JsonDict]] = {}
    for pathway, data in resources:
        if pathway.kind is PathwayKind.NETWORK_GUIDELINE and pathway.canonical:
            guidelines[pathway.canonical] = (pathway, data)
    latest: dict[str, tuple[Pathway, JsonDict]] = {}
    for pathway, data in guidelines.values():
        key = pathway.url or pathway.canonical or ""
        if key not in latest or (pathway.date or "") > (latest[key][0].date or ""):
            latest[key] = (pathway, data)
    charts = chart_series(series(activity), measures, versions)
    signals = newest_first(
        special_cause_signals(charts, versions)
        + drift_signals(versions, {k: g for k, (g, _) in guidelines.items()}, register, today)
        + review_signals([(g, (data.get("effectivePeriod") or {}).get("end")) for g, data in latest.values()], today)
        + register_signals(register, today)
    )
    return Monitoring(signals, charts)
