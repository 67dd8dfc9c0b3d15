"""Monitoring's edge with the store: activity in, and everything ``monitor`` needs back out.

The monitoring logic itself (``spc``, ``signals``) is pure; this module is the only part that
reads or writes the store, so that the command, the API and the site all see the same thing.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from .. import fhirformat, loader
from ..fhirformat import JsonDict
from ..register import read_register
from ..store import Store
from .activity import ActivityValue, MeasureInfo, from_measure_report, measure_info, to_measure_report
from .signals import Monitoring, monitor


@dataclass(frozen=True)
class ImportReport:
    measures: int
    created: int
    updated: int
    unchanged: int


def _all_versions(store: Store, resource_type: str) -> Iterator[JsonDict]:
    offset = 0
    while True:
        page = store.history(resource_type, count=500, offset=offset)
        yield from (version.resource for version in page.versions if version.resource is not None)
        if not page.has_next:
            return
        offset += page.count


def import_activity(
    store: Store, values: list[ActivityValue], measures: dict[str, MeasureInfo], measure_files: Path
) -> ImportReport:
    """Write the measures used and one MeasureReport per value, all in one transaction.

    Re-importing the same rows changes nothing; a changed value makes one new version.
    """
    used = {value.measure for value in values}
    created = updated = unchanged = 0
    with store.write() as writer:
        for path in sorted(measure_files.glob("*")):
            if path.suffix in (".json", ".xml"):
                resource = fhirformat.parse(path.read_bytes(), path.name)
                if resource.get("resourceType") == "Measure" and resource.get("id") in used:
                    writer.update(resource, resource["id"])
        for value in values:
            report = to_measure_report(value, measures[value.measure])
            outcome = writer.update(report, report["id"])
            if outcome.created:
                created += 1
            elif outcome.changed:
                updated += 1
            else:
                unchanged += 1
    return ImportReport(len(used), created, updated, unchanged)


def stored_measures(store: Store) -> dict[str, MeasureInfo]:
    return {info.id: info for info in (measure_info(v.resource) for v in store.current("Measure") if v.resource)}


def stored_activity(store: Store, measures: dict[str, MeasureInfo]) -> list[ActivityValue]:
    by_url = {m.url: m for m in measures.values()}
    values = (from_measure_report(v.resource, by_url) for v in store.current("MeasureReport") if v.resource)
    return [value for value in values if value is not None]


def monitor_store(store: Store, guidelines: Path | None, today: date) -> Monitoring:
    """Signals and charts from what the store holds (every pathway version, all activity)."""
    resources = []
    for data in _all_versions(store, "PlanDefinition"):
        _plan, pathway, _problems = loader.check_plan_definition(data)
        if pathway is not None:
            resources.append((pathway, data))
    measures = stored_measures(store)
    register = read_register(guidelines)[0] if guidelines else []
    return monitor(resources, stored_activity(store, measures), measures, register, today)
