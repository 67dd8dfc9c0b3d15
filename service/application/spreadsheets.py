"""Pathways from spreadsheets, against the store: the template, the import, the export (docs/spreadsheets.md).

- ``template``: a workbook for a trust and a topic, prefilled from the trust's pathway for that
  topic in the store if it has one (its steps, the next version), else with the trust, the topic,
  its index event and version 1.0.0.
- ``import_pathway``: a filled-in workbook (or its Steps sheet as CSV) to a trust-pathway
  PlanDefinition, checked by the loader, stored as the trust's new version of its pathway for the
  topic (its id, or ``<ods>-<topic>`` for a first one), audited as whoever the store writes as.
  Nothing is written when any cell is wrong; a workbook that says what the store holds makes no version.
- ``export_pathway``: a stored pathway as the same workbook; what no cell can say is kept and named.

The conversion itself is pure (``service.spreadsheet``).
"""

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Final

from .. import conventions as c
from .. import loader, terminology
from ..fhirformat import JsonDict
from ..pathway import PathwayKind
from ..spreadsheet import CellProblem, Rows, Sheets, to_plan_definition, to_rows, write_workbook
from ..spreadsheet.convert import PATHWAY_FIELDS, Cell
from ..store import NotFound, PreconditionFailed, Store, StoredVersion, parse_search
from ..store.audit import Agent
from ..store.content import unstamp
from ..store.query import MAX_COUNT
from ..store.store import Permit
from ..variation.report import TopicReport

FIRST_VERSION: Final = "1.0.0"


@dataclass(frozen=True)
class Template:
    workbook: bytes
    sheets: Sheets
    #: The stored pathway it was prefilled from (``PlanDefinition/id/_history/n``), if any.
    prefilled_from: str | None


@dataclass
class ImportResult:
    """What an import did: ``change`` is created, updated, unchanged, written (``--out``) or refused."""

    change: str
    resource: JsonDict | None = None
    problems: list[CellProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: ``PlanDefinition/id/_history/n`` of the version stored (or already stored, when unchanged).
    reference: str | None = None
    #: The version it replaces, when there was one.
    replaces: str | None = None

    @property
    def ok(self) -> bool:
        return self.change != "refused"


@dataclass(frozen=True)
class Export:
    workbook: bytes
    sheets: Sheets
    reference: str


def _reference(version: StoredVersion) -> str:
    return f"PlanDefinition/{version.resource_id}/_history/{version.version_id}"


def current_pathway(store: Store, trust: str, topic: str) -> StoredVersion | None:
    """The trust's pathway for the topic in the store: of its current trust pathways for the topic, the latest
    (``Pathway.recency``); None if it has none."""
    query = parse_search("PlanDefinition", [("context", f"{c.PATHWAY_TOPIC_SYSTEM}|{topic}"),
                                            ("_count", str(MAX_COUNT))])
    found = []
    for stored in store.matching(query):
        if stored.resource is None:
            continue
        _plan, pathway, _problems = loader.check_plan_definition(stored.resource)
        if pathway is not None and pathway.kind is PathwayKind.TRUST_PATHWAY and pathway.trust == trust \
                and pathway.topic == topic:
            found.append((pathway.recency, stored))
    return max(found, key=lambda item: item[0])[1] if found else None


def next_version(version: str | None) -> str:
    """The version after ``version``: ``1.3.0`` -> ``1.4.0``, ``2`` -> ``3``; empty when it is not numbers."""
    if not version:
        return FIRST_VERSION
    parts = version.split(".")
    if not all(re.fullmatch(r"[0-9]{1,9}", part) for part in parts):
        return ""
    index = 1 if len(parts) > 1 else 0
    bumped = [*parts[:index], str(int(parts[index]) + 1), *("0" for _ in parts[index + 1:])]
    return ".".join(bumped)


def _checked_topic_and_trust(topic: str, trust: str) -> tuple[str, str]:
    trust = trust.upper()
    if trust not in c.TRUSTS:
        raise ValueError(f"'{trust}' is not one of the network's trusts ({', '.join(sorted(c.TRUSTS))})")
    if topic not in terminology.topics():
        example = next(iter(terminology.topics().concepts))
        raise ValueError(f"'{topic}' is not a pathway topic of the network (e.g. {example})")
    return topic, trust


def template(store: Store, topic: str, trust: str, today: date) -> Template:
    """The workbook for ``trust``'s pathway for ``topic`` (ValueError for an unknown trust or topic)."""
    topic, trust = _checked_topic_and_trust(topic, trust)
    stored = current_pathway(store, trust, topic)
    if stored is not None:
        sheets = to_rows(stored.existing())
        sheets.pathway.update(version=next_version(sheets.pathway["version"]), date=today.isoformat())
    else:
        sheets = Sheets(pathway={
            "trust": trust, "topic": topic, "version": FIRST_VERSION,
            "title": f"{terminology.topics().display(topic)} ({c.TRUSTS[trust]})", "status": "active",
            "date": today.isoformat(), "index_event": terminology.topic_index_event(topic) or "",
            "description": "", "illustrative": "Yes"}, steps=[])
    heading = f"{c.TRUSTS[trust]}: {terminology.topics().display(topic)}"
    return Template(write_workbook(sheets, heading), sheets, _reference(stored) if stored else None)


def csv_pathway_fields(store: Store, trust: str, topic: str, version: str, today: date, *, title: str | None = None,
                       status: str | None = None) -> dict[str, Cell]:
    """The Pathway sheet's values for a CSV of the Steps sheet: from the command's options, the rest from the
    trust's stored pathway for the topic, else the template's defaults."""
    stored = current_pathway(store, trust.upper(), topic)
    base = to_rows(stored.existing()).pathway if stored is not None else {
        "title": f"{terminology.topics().display(topic)} ({c.TRUSTS.get(trust.upper(), trust)})"
        if topic in terminology.topics() else "", "status": "active",
        "index_event": terminology.topic_index_event(topic) or "" if topic in terminology.topics() else "",
        "description": "", "illustrative": "Yes"}
    values: dict[str, Cell] = {column.key: base.get(column.key, "") for column in PATHWAY_FIELDS}
    values.update(trust=trust, topic=topic, version=version, date=today.isoformat())
    if title is not None:
        values["title"] = title
    if status is not None:
        values["status"] = status
    return values


def _topic_and_trust(rows: Rows) -> tuple[str, str] | None:
    trust, topic = rows.pathway.get("trust"), rows.pathway.get("topic")
    if not isinstance(trust, str) or not isinstance(topic, str):
        return None
    code = next((concept.code for concept in terminology.topics().concepts.values()
                 if topic.strip().casefold() in (concept.code.casefold(), concept.display.casefold())), None)
    return (code, trust.strip().upper()) if code else None


def import_pathway(store: Store, rows: Rows, *, write: bool = True, agent: Agent | None = None,
                   permit: Permit | None = None) -> ImportResult:
    """The workbook's pathway, stored as the trust's new version (``write``), or only converted and checked.

    It is written as ``agent`` (default: the store's operator), checked by ``permit`` (whatever it raises
    leaves the store unchanged).

    Every problem is reported and nothing is written when there is any. A workbook that says what the
    trust's stored pathway says (as a workbook shows it) writes nothing.
    """
    found = _topic_and_trust(rows)
    stored = current_pathway(store, found[1], found[0]) if found else None
    data = unstamp(stored.existing()) if stored is not None else None
    converted = to_plan_definition(rows, stored=data)
    if converted.resource is None:
        return ImportResult("refused", problems=converted.problems)
    resource = converted.resource
    result = ImportResult("written", resource, warnings=converted.warnings,
                          replaces=_reference(stored) if stored else None)
    if data is not None and to_rows(resource).content() == to_rows(data).content():
        result.change, result.resource, result.reference = "unchanged", data, _reference(stored) if stored else None
        return result
    if data is not None and resource.get("version") == data.get("version"):
        return ImportResult("refused", problems=[CellProblem(
            rows.pathway_sheet, rows.pathway_rows.get("version"), "Version", str(resource.get("version")),
            "is the version already stored, which says something else: give this changed schedule a new version "
            f"(e.g. {next_version(str(resource.get('version'))) or 'a higher number'})")])
    if not write:
        return result
    resource_id = str(resource["id"])
    try:
        with store.write(agent, permit) as writer:
            outcome = writer.update(resource, resource_id, if_match=stored.version_id if stored else None)
    except PreconditionFailed:
        return ImportResult("refused", problems=[CellProblem(
            "The store", None, None, None, f"PlanDefinition/{resource_id} changed while the workbook was being "
            "imported; nothing was written: import the workbook again")])
    result.change = "created" if outcome.created else "updated" if outcome.changed else "unchanged"
    result.reference = _reference(outcome.version)
    return result


def export_pathway(store: Store, resource_id: str) -> Export:
    """A stored trust pathway as a workbook (NotFound if there is none; ValueError if it is not a trust pathway)."""
    stored = store.read("PlanDefinition", resource_id)
    _plan, pathway, _problems = loader.check_plan_definition(stored.existing())
    if pathway is None or pathway.kind is not PathwayKind.TRUST_PATHWAY:
        raise ValueError(f"PlanDefinition/{resource_id} is not a trust pathway: only trust pathways are written as "
                         "workbooks")
    sheets = to_rows(unstamp(stored.existing()))
    topic = sheets.pathway["topic"]
    trust = c.TRUSTS.get(sheets.pathway["trust"], sheets.pathway["trust"])
    heading = f"{trust}: {terminology.topics().display(topic) if topic in terminology.topics() else topic}"
    return Export(write_workbook(sheets, heading), sheets, _reference(stored))


__all__ = ["Export", "ImportResult", "NotFound", "Preview", "Template", "current_pathway", "export_pathway",
           "import_pathway", "next_version", "preview", "template"]


@dataclass(frozen=True)
class Preview:
    """A workbook's pathway checked (``result``, nothing written) and, when it could be stored, the topic's
    comparison with it in place of the trust's stored version (``proposed``) and as the store holds it now."""

    result: ImportResult
    proposed: TopicReport | None = None
    now: TopicReport | None = None


def preview(store: Store, rows: Rows, today: date) -> Preview:
    """What importing ``rows`` would store, and how the topic would then compare; the store is not changed."""
    from .comparing import compare
    from .sources import StoreSource, WithProposed

    result = import_pathway(store, rows, write=False)
    if result.change != "written" or result.resource is None:
        return Preview(result)
    found = _topic_and_trust(rows)
    assert found is not None  # a converted workbook names its topic and trust
    source = StoreSource(store)
    proposed = compare(WithProposed(source, result.resource, "the uploaded workbook (not stored)"), [found[0]], today)
    now = compare(source, [found[0]], today)
    return Preview(result, next(iter(proposed.report.topics), None), next(iter(now.report.topics), None))
