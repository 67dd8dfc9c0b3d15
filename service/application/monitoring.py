"""The monitoring use case: early-warning signals and SPC charts from a ``Source``."""

from dataclasses import dataclass
from datetime import date

from ..monitoring.signals import Monitoring, monitor
from ..problems import Problem
from .sources import Record, Source


@dataclass(frozen=True)
class Watch:
    monitoring: Monitoring
    problems: list[Problem]
    source: str
    #: Every PlanDefinition version read (the site lists a guideline's versions from these too).
    records: list[Record]


def watch(source: Source, as_of: date) -> Watch:
    """Signals from every pathway version (drift needs the history), the activity and the register."""
    records, problems = source.plan_definitions(every_version=True)
    entries, register_problems = source.register()
    activity, activity_problems = source.activity()
    found = monitor([(r.pathway, r.data) for r in records], activity.values, activity.measures, entries, as_of)
    return Watch(found, problems + register_problems + activity_problems, source.description, records)
