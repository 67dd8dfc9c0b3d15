"""Importing activity: monthly figures in as MeasureReports (``harmonise import-activity``).

The monitoring logic itself (``spc``, ``signals``) is pure; what it reads back out of the store
comes through the application layer (``application.sources``), as for every other reader.
"""

from dataclasses import dataclass
from pathlib import Path

from .. import fhirformat
from ..monitoring.activity import ActivityValue, MeasureInfo, to_measure_report
from ..store import Store


@dataclass(frozen=True)
class ImportReport:
    measures: int
    created: int
    updated: int
    unchanged: int


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
