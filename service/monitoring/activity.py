"""Activity measures: the network's Measure definitions, CSV rows in, FHIR MeasureReports out.

A trust that only has spreadsheets sends a CSV with columns ``trust,topic,measure,period,value``
(``trust`` an ODS code, ``period`` ``YYYY-MM``; other columns are allowed and ignored). Every
row is checked before anything is kept: one bad row means nothing from the file is imported,
and each problem names the row, the column and the value.
"""

import csv
import hashlib
import io
import re
from calendar import monthrange
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from .. import conventions as c
from .. import fhirformat, terminology
from ..fhirformat import JsonDict
from ..problems import Problem, error
from .spc import Direction

COLUMNS = ("trust", "topic", "measure", "period", "value")
TARGET_EXTENSION = f"{c.BASE}/StructureDefinition/measure-target"
UNIT_EXTENSION = f"{c.BASE}/StructureDefinition/measure-unit"
ACTIVITY_IDENTIFIER_SYSTEM = f"{c.BASE}/activity"
_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True, slots=True)
class MeasureInfo:
    """What monitoring needs of a FHIR Measure."""

    id: str
    url: str
    title: str
    direction: Direction
    target: float | None
    unit: str


@dataclass(frozen=True, slots=True)
class ActivityValue:
    trust: str
    topic: str
    measure: str
    #: ``YYYY-MM``
    period: str
    value: float


def _extension(resource: JsonDict, url: str) -> object | None:
    for extension in resource.get("extension", []):
        if extension.get("url") == url:
            return next((v for k, v in extension.items() if k.startswith("value")), None)
    return None


def measure_info(resource: JsonDict) -> MeasureInfo:
    notation = resource.get("improvementNotation", {}).get("coding", [{}])[0].get("code")
    target = _extension(resource, TARGET_EXTENSION)
    return MeasureInfo(
        id=resource["id"],
        url=resource["url"],
        title=str(resource.get("title") or resource["id"]),
        direction=Direction(notation) if notation in ("increase", "decrease") else Direction.NEUTRAL,
        target=float(str(target)) if target is not None else None,
        unit=str(_extension(resource, UNIT_EXTENSION) or ""),
    )


def read_measures(folder: Path) -> dict[str, MeasureInfo]:
    """The Measure resources in ``folder`` (JSON or XML), by id."""
    measures = {}
    for path in sorted(folder.glob("*")):
        if path.suffix in (".json", ".xml"):
            resource = fhirformat.parse(path.read_bytes(), path.name)
            if resource.get("resourceType") == "Measure":
                info = measure_info(resource)
                measures[info.id] = info
    return measures


def parse_csv(text: str, measures: dict[str, MeasureInfo], source: str) -> tuple[list[ActivityValue], list[Problem]]:
    """Every row as an ActivityValue, or the problems; the caller keeps nothing if any."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [name for name in COLUMNS if name not in (reader.fieldnames or [])]
    if missing:
        return [], [
            error(
                f"the header lacks the column(s) {', '.join(missing)}; it needs {','.join(COLUMNS)}",
                "row 1",
                rule="activity",
            ).located(source)
        ]
    values: list[ActivityValue] = []
    problems: list[Problem] = []
    seen: dict[tuple[str, str, str, str], int] = {}
    topics = terminology.topics()
    for row_number, row in enumerate(reader, start=2):

        def bad(column: str, message: str, row: dict[str, str] = row, row_number: int = row_number) -> None:
            problems.append(
                error(
                    f"{message} (value: {row.get(column)!r})", f"row {row_number}, column '{column}'", rule="activity"
                ).located(source)
            )

        trust, topic = (row.get("trust") or "").strip(), (row.get("topic") or "").strip()
        measure, period = (row.get("measure") or "").strip(), (row.get("period") or "").strip()
        if trust not in c.TRUSTS:
            bad("trust", f"not one of the network's ODS codes ({', '.join(c.TRUSTS)})")
        if topic not in topics:
            bad("topic", "not a known pathway topic")
        if measure not in measures:
            bad("measure", f"not a known measure ({', '.join(sorted(measures))})")
        if not _PERIOD.match(period):
            bad("period", "not a month written YYYY-MM")
        try:
            number = Decimal((row.get("value") or "").strip())
            if not number.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            bad("value", "not a number")
            continue
        key = (trust, topic, measure, period)
        if key in seen:
            bad("period", f"a second value for {trust}, {topic}, {measure} in this month (first on row {seen[key]})")
        seen[key] = row_number
        values.append(ActivityValue(trust, topic, measure, period, float(number)))
    return ([] if problems else values), problems


def report_id(value: ActivityValue) -> str:
    """A stable id, so importing the same row again updates rather than duplicates."""
    key = f"{value.trust}|{value.topic}|{value.measure}|{value.period}"
    return "activity-" + hashlib.sha256(key.encode()).hexdigest()[:32]


def to_measure_report(value: ActivityValue, measure: MeasureInfo) -> JsonDict:
    year, month = (int(part) for part in value.period.split("-"))
    last_day = monthrange(year, month)[1]
    return {
        "resourceType": "MeasureReport",
        "id": report_id(value),
        "identifier": [
            {
                "system": ACTIVITY_IDENTIFIER_SYSTEM,
                "value": f"{value.trust}|{value.topic}|{value.measure}|{value.period}",
            }
        ],
        "status": "complete",
        "type": "summary",
        "measure": measure.url,
        "reporter": {"identifier": {"system": c.ODS_SYSTEM, "value": value.trust}, "display": c.TRUSTS[value.trust]},
        "period": {"start": f"{value.period}-01", "end": f"{value.period}-{last_day:02d}"},
        "group": [
            {
                "code": {
                    "coding": [
                        {
                            "system": c.PATHWAY_TOPIC_SYSTEM,
                            "code": value.topic,
                            "display": terminology.topics().display(value.topic),
                        }
                    ]
                },
                "measureScore": {
                    "value": Decimal(str(value.value)),
                    **({"unit": measure.unit} if measure.unit else {}),
                },
            }
        ],
    }


def from_measure_report(report: JsonDict, measures_by_url: dict[str, MeasureInfo]) -> ActivityValue | None:
    """The value a MeasureReport holds, if it is one of the network's activity measures."""
    measure = measures_by_url.get(report.get("measure", ""))
    reporter = report.get("reporter", {}).get("identifier", {})
    groups = report.get("group") or []
    if measure is None or reporter.get("system") != c.ODS_SYSTEM or not groups:
        return None
    topic = next(
        (
            coding.get("code")
            for coding in groups[0].get("code", {}).get("coding", [])
            if coding.get("system") == c.PATHWAY_TOPIC_SYSTEM
        ),
        None,
    )
    score = groups[0].get("measureScore", {}).get("value")
    start = report.get("period", {}).get("start", "")
    if topic is None or score is None or len(start) < 7:
        return None
    return ActivityValue(reporter["value"], topic, measure.id, start[:7], float(score))


def series(values: Iterable[ActivityValue]) -> dict[tuple[str, str, str], list[ActivityValue]]:
    """Values grouped by (trust, topic, measure), oldest month first."""
    grouped: dict[tuple[str, str, str], list[ActivityValue]] = {}
    for value in values:
        grouped.setdefault((value.trust, value.topic, value.measure), []).append(value)
    return {key: sorted(items, key=lambda v: v.period) for key, items in sorted(grouped.items())}
