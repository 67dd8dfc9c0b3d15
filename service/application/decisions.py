"""The network's register decisions: record a warranted variation, renew it, retire it.

Each is one audited write of the entry's Basic (``register.to_resource``), through a ``Writer`` the
caller opens. ``check_coverage``, called before, refuses an entry that covers no difference the report
has today, so a mistyped step id cannot silently warrant nothing (``--anyway`` skips it, to record
one ahead of the change it is for).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from .. import register
from ..register import RegisterEntry
from ..store import StoredVersion, Writer
from ..store.content import unstamp
from ..variation.report import TopicReport
from .comparing import compare
from .sources import StoreSource


class DecisionError(Exception):
    """A register change that cannot be made as asked; the message says why and what would do."""


@dataclass(frozen=True)
class Coverage:
    """What an entry would cover in today's report."""

    differences: int
    #: The steps the trust's differences on the topic are about (for a message naming them).
    steps: tuple[str, ...]


def coverage(report: TopicReport | None, entry: RegisterEntry) -> Coverage:
    """How many of the trust's differences on the topic the entry would cover, and which steps have some."""
    if report is None:
        return Coverage(0, ())
    mine = [d for d in report.differences if d.trust == entry.trust]
    covered = [d for d in mine if d.dimension.value == entry.dimension.value and entry.step in ("", d.step or "")]
    return Coverage(len(covered), tuple(sorted({d.step for d in mine if d.step})))


def check_coverage(source: StoreSource, entry: RegisterEntry, today: date) -> None:
    """DecisionError unless the entry covers a difference of today's report. Run before the write opens:
    a comparison is no work to do while holding the store's write lock."""
    report = next(iter(compare(source, [entry.topic], today).report.topics), None)
    found = coverage(report, entry)
    if not found.differences:
        where = f"step '{entry.step}'" if entry.step else "the whole pathway"
        steps = ", ".join(found.steps) or "none"
        raise DecisionError(
            f"the entry covers no difference in today's report: {entry.trust} has no {entry.dimension.value} "
            f"difference at {where} on {entry.topic}. The steps with differences for {entry.trust} on "
            f"{entry.topic} are: {steps}. Check the step id, or record it anyway (--anyway) if it is for a "
            "change still to come")


def add(writer: Writer, entry: RegisterEntry) -> StoredVersion:
    """Record a warranted variation (``check_coverage`` first, unless the network records one ahead of time)."""
    resource = register.to_resource(entry)
    return writer.update(resource, str(resource["id"])).version


def _entry(writer: Writer, entry_id: str) -> RegisterEntry:
    stored = writer.latest("Basic", entry_id)
    if stored is None or stored.deleted or stored.resource is None or not register.is_register_entry(stored.resource):
        raise DecisionError(f"Basic/{entry_id} is not a register entry (see harmonise register list)")
    return register.from_resource(stored.resource)


def _save(writer: Writer, entry_id: str, entry: RegisterEntry) -> StoredVersion:
    resource = register.to_resource(entry)
    resource["id"] = entry_id
    current = writer.latest("Basic", entry_id)
    if current is not None and current.resource is not None:
        kept = unstamp(current.resource)
        resource = {**kept, **{k: v for k, v in resource.items() if k != "meta"}, "meta": kept.get("meta", {})}
    return writer.update(resource, entry_id).version


def renew(writer: Writer, entry_id: str, review_by: date, rationale: str, today: date) -> StoredVersion:
    """Move an entry's review date on, with the rationale for keeping it (the old one stays in the history)."""
    entry = _entry(writer, entry_id)
    if entry.retired_on is not None:
        raise DecisionError(f"Basic/{entry_id} was retired on {entry.retired_on}: record a new entry instead")
    if review_by <= today:
        raise DecisionError(f"the new review date {review_by} is not after today ({today})")
    return _save(writer, entry_id, entry.model_copy(update={"review_by": review_by, "rationale": rationale}))


def retire(writer: Writer, entry_id: str, reason: str, today: date) -> StoredVersion:
    """End an entry: it warrants nothing from ``today``, and is kept with why."""
    entry = _entry(writer, entry_id)
    if entry.retired_on is not None:
        raise DecisionError(f"Basic/{entry_id} was retired already, on {entry.retired_on}")
    return _save(writer, entry_id, entry.model_copy(update={"retired_on": today, "retired_because": reason}))


def entries(versions: Iterable[StoredVersion]) -> list[tuple[str, RegisterEntry]]:
    """(id, entry) of each stored register entry, by topic, trust and step."""
    found = [(v.resource_id, register.from_resource(v.resource)) for v in versions
             if v.resource is not None and register.is_register_entry(v.resource)]
    return sorted(found, key=lambda item: (item[1].topic, item[1].trust, item[1].step, item[1].dimension.value))
