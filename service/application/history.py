"""A topic's history: who changed what and when, read from the audit trail (the store's Provenance).

A topic's content is its PlanDefinitions (the network guideline's versions and the trusts' pathways)
and its register entries (Basic). Each version the store wrote has one Provenance, made in the same
transaction (``store.audit``), so the history is complete for every resource that is on the topic
now, or was when it was deleted. A resource moved to another topic by a later version is that
topic's history, not this one's.

The rows are newest first; changes made in one transaction (a release retires the previous
guideline as it makes the draft active) share their time and come in reference order.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from .. import conventions as c
from .. import register
from ..fhirformat import JsonDict
from ..pathway import PathwayKind
from ..store import Store, StoredVersion, parse_search
from ..store.audit import AUDIT_TYPE, Activity, agent_of
from ..store.query import MAX_COUNT
from ..store.searchparams import owning_trust
from .guidelines import topic_of
from .sources import StoreSource

#: The resource types a topic's content is held in.
TOPIC_TYPES: Final = ("PlanDefinition", "Basic")
#: References named in one Provenance search (comma-separated alternatives).
_PER_SEARCH: Final = 50


class Kind(StrEnum):
    GUIDELINE = "network guideline"
    PATHWAY = "trust pathway"
    REGISTER_ENTRY = "register entry"
    OTHER = "other"


@dataclass(frozen=True)
class Change:
    """One audited version of the topic's content: when, who, what."""

    recorded: datetime
    #: The agent as the audit names it (``agent.who.display``, else its identifier), with its role.
    who: str
    #: ODS code of the trust the agent acted for (``agent.onBehalfOf``); None for the network.
    on_behalf_of: str | None
    activity: Activity
    kind: Kind
    #: ``Type/id`` of the resource changed, and the version this change made.
    reference: str
    version_id: int
    #: What the version is, in words (title, business version and status; or the register entry's subject).
    label: str
    #: Whether the resource exists now (not deleted), so a page for it does too.
    exists: bool

    @property
    def resource_id(self) -> str:
        return self.reference.split("/", 1)[1]


def _topic(resource_type: str, resource: JsonDict) -> str | None:
    if resource_type == "PlanDefinition":
        return topic_of(resource)
    if not register.is_register_entry(resource):
        return None
    try:
        return register.from_resource(resource).topic
    except ValueError:
        return None


def _kind(resource: JsonDict) -> Kind:
    if register.is_register_entry(resource):
        return Kind.REGISTER_ENTRY
    return {PathwayKind.NETWORK_GUIDELINE: Kind.GUIDELINE, PathwayKind.TRUST_PATHWAY: Kind.PATHWAY}.get(
        PathwayKind.of_resource(resource), Kind.OTHER)


def _label(kind: Kind, resource: JsonDict) -> str:
    if kind is Kind.REGISTER_ENTRY:
        try:
            entry = register.from_resource(resource)
        except ValueError:
            return "register entry (unreadable)"
        retired = f", retired {entry.retired_on}" if entry.retired_on else ""
        return (f"{entry.trust}, {entry.step or 'whole pathway'}, {entry.dimension.value}: warranted until "
                f"{entry.review_by}{retired}")
    owner = next((v.value for v in owning_trust(resource)), None) if kind is Kind.PATHWAY else None
    title = resource.get("title") or resource.get("name") or resource.get("id")
    whose = f"{owner}: " if owner else ""
    return f"{whose}{title}, version {resource.get('version') or '(none)'} ({resource.get('status')})"


def _search(store: Store, resource_type: str, params: list[tuple[str, str]]) -> Iterator[StoredVersion]:
    return store.matching(parse_search(resource_type, [*params, ("_count", str(MAX_COUNT))]))


def _deleted(store: Store) -> set[tuple[str, str]]:
    """The topic types' resources deleted now, as (type, id), found by their deletions' audit records."""
    found = set()
    for audit in _search(store, AUDIT_TYPE, [("activity", Activity.DELETE.value)]):
        for target in (audit.resource or {}).get("target") or []:
            resource_type, _, rest = str(target.get("reference", "")).partition("/")
            if resource_type in TOPIC_TYPES:
                found.add((resource_type, rest.split("/_history/")[0]))
    return {key for key in found if (latest := store.read_latest(*key)) is not None and latest.deleted}


def _topic_versions(store: Store, topic: str) -> dict[tuple[str, str], list[StoredVersion]]:
    """Every version of each resource on the topic, newest first, by (type, id)."""
    current = [*_search(store, "PlanDefinition", [("context", f"{c.PATHWAY_TOPIC_SYSTEM}|{topic}")]),
               *_search(store, "Basic", [("topic", topic)])]
    keys = {(v.resource_type, v.resource_id) for v in current}
    source = StoreSource(store)
    versions = {key: list(source.history_of(*key)) for key in sorted(keys)}
    for key in sorted(_deleted(store) - keys):
        every = list(source.history_of(*key))
        last = next((v.resource for v in every if v.resource is not None), None)
        if last is not None and _topic(key[0], last) == topic:
            versions[key] = every
    return versions


def _audits(store: Store, references: list[str]) -> Iterator[tuple[str, int, JsonDict]]:
    """(``Type/id``, version, Provenance) for every audit record of a version of these resources."""
    for start in range(0, len(references), _PER_SEARCH):
        chunk = references[start:start + _PER_SEARCH]
        for audit in _search(store, AUDIT_TYPE, [("target", ",".join(chunk))]):
            provenance = audit.resource or {}
            for target in provenance.get("target") or []:
                reference, _, version = str(target.get("reference", "")).partition("/_history/")
                if version.isdigit():
                    yield reference, int(version), provenance


def _who(provenance: JsonDict) -> tuple[str, str | None]:
    agent = agent_of(provenance)
    if agent is None:
        return "unknown", None
    return agent.display or agent.subject, agent.trust


def _changes(versions: dict[tuple[str, str], list[StoredVersion]],
             audits: Iterable[tuple[str, int, JsonDict]]) -> list[Change]:
    by_version = {(f"{t}/{i}", v.version_id): (every, v) for (t, i), every in versions.items() for v in every}
    changes = []
    for reference, version_id, provenance in audits:
        if (reference, version_id) not in by_version:
            continue
        every, version = by_version[reference, version_id]
        # A deletion has no content: it is described by the version it deleted.
        content = version.resource or next((v.resource for v in every if v.version_id < version_id and v.resource),
                                           None) or {}
        kind = _kind(content)
        # The store wrote every audit record itself (store.audit.provenance): its activity is one of the three.
        activity = Activity(provenance["activity"]["coding"][0]["code"])
        who, trust = _who(provenance)
        changes.append(Change(datetime.fromisoformat(provenance["recorded"]), who, trust, activity, kind, reference,
                              version_id, _label(kind, content), not every[0].deleted))
    changes.sort(key=lambda change: (change.reference, -change.version_id))
    return sorted(changes, key=lambda change: change.recorded, reverse=True)


def topic_history(store: Store, topic: str) -> list[Change]:
    """Who changed the topic's guideline, pathways and register entries, and when: newest first."""
    versions = _topic_versions(store, topic)
    return _changes(versions, _audits(store, [f"{t}/{i}" for t, i in versions]))
