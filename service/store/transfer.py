"""Folders of FHIR files into the store, and the store's current content back out to files.

Loading is idempotent: a resource whose content is unchanged makes no new version, a changed one
makes exactly one. ``store_files`` streams: it holds one batch of resources at a time, so loading
the whole NHS takes no more memory than loading a network. Exported files hold the content without
the server's meta, so loading them again changes nothing.

A load shares the store with the API. Files are read, parsed and validated with no transaction
open, and written in batches of about ``BATCH`` resources, each its own short write
(``Store.update_planned``: even its comparing, serialising and index rows are done before it takes
the write lock), so an API write waits for one batch's statements at most, never for the parse of a
folder or a file that is slow to parse. What a reader sees mid-load: each batch is atomic (its
versions, their Provenance, and every version of one resource together), but a load is no longer
one transaction: a reader may see some batches of a load and not yet the rest, and a load that is
stopped (killed, or the database lost) leaves the batches it committed, each whole. Loading the
same files again finishes the job and changes nothing that was already written.
"""

import itertools
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Final

from .. import loader
from ..fhirformat import JsonDict, to_json
from ..pathway import Pathway, PathwayKind
from ..problems import Problem, error
from .content import unstamp
from .store import Newest, Store
from .trusts import trust_organizations

_SLUG: Final = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
#: A numeric part of a business version (ASCII digits, short enough to be a number).
_NUMBER: Final = re.compile(r"[0-9]{1,18}")
#: Namespace of the ids given to resources that arrive without one.
_ID_NAMESPACE: Final = uuid.UUID("6f1d3c3e-5d2a-4b1e-9a57-68a1f0b0c2d4")


class Change(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    #: A file holding an earlier business version of a resource already stored: part of its
    #: history, written only when the resource was first loaded.
    HISTORY = "history"


@dataclass(frozen=True)
class LoadedItem:
    reference: str
    version_id: int
    change: Change
    #: Where it came from (file, and Bundle entry); None for the trusts' Organizations.
    source: str | None


@dataclass
class LoadReport:
    items: list[LoadedItem] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: int = 0

    def count(self, change: Change, resource_type: str = "PlanDefinition") -> int:
        return sum(1 for item in self.items
                   if item.change == change and item.reference.startswith(f"{resource_type}/"))


def resource_id_for(resource: loader.LoadedResource) -> str:
    """The resource's own id; one derived from its canonical (or file) when it has none."""
    own = resource.data.get("id")
    if isinstance(own, str) and own:
        return own
    basis = resource.pathway.canonical or f"{Path(resource.file).name}#{resource.entry}"
    return str(uuid.uuid5(_ID_NAMESPACE, basis))


#: A business version as a sortable key (see ``_version_key``).
VersionKey = tuple[tuple[int, int | str], ...]


def _version_key(resource: loader.LoadedResource) -> VersionKey:
    """A business version as a sortable key: ``2.10.0`` after ``2.9.1``; no version first."""
    version = resource.pathway.version or ""
    return tuple((0, int(part)) if _NUMBER.fullmatch(part) else (1, part)
                 for part in re.split(r"[.\-+]", version) if part)


def _by_id(resources: list[loader.LoadedResource]) -> dict[str, list[loader.LoadedResource]]:
    """Resources grouped by id, each group oldest business version first (files in order on a tie).

    Several files may hold versions of one resource (``RP5.2.1.0.json`` beside ``RP5.json``).
    """
    groups: dict[str, list[loader.LoadedResource]] = {}
    for resource in resources:
        groups.setdefault(resource_id_for(resource), []).append(resource)
    return {resource_id: sorted(group, key=_version_key) for resource_id, group in groups.items()}


#: Resources written per batch, each batch one write (``Store.update_planned``): a few statements whatever
#: the size, and small enough that a batch's turn holding the write lock is a few tens of milliseconds.
BATCH: Final = 100


def store_files(store: Store, paths: Iterable[Path], on_file: Callable[[Path], None] | None = None,
                on_found: Callable[[int], None] | None = None) -> LoadReport:
    """Write the trusts' Organizations and every PlanDefinition in the files, batch by batch.

    A resource new to the store gets every version found in the files, oldest first, as its
    history; a resource already stored is compared with the newest version only, so loading
    the same files again never makes a version. Files are read folder by folder and written in
    batches: versions of one resource are grouped within a folder (``RP5.json`` beside
    ``RP5.2.1.0.json``, the repository's layout), and written in one batch. A version found in a later
    folder than one already read for the same id is loaded only if its business version is newer
    than every version read before; otherwise it is refused with a problem naming both files, so
    the store never ends with an older version on top; two files claiming the same id and the
    same version are a conflict, and the later is not loaded. Only each id's newest version key
    and each (id, version)'s file are kept between batches. For progress bars, ``on_found`` is
    told how many files there are and ``on_file`` is called after each.

    No transaction is open while files are read (see the module's docstring): each batch is a write of its own.
    """
    files, problems = loader.discover(paths)
    if on_found:
        on_found(len(files))
    report = LoadReport(problems=list(problems), files=len(files))
    #: (id, version key) -> where it was read; and each id's newest version key so far.
    read_at: dict[tuple[str, VersionKey], str] = {}
    newest: dict[str, VersionKey] = {}
    pending: dict[str, list[loader.LoadedResource]] = {}
    waiting = 0  # resources in ``pending``
    _store_organizations(store, report)
    for _folder, in_folder in itertools.groupby(files, key=lambda path: path.parent):
        resources: list[loader.LoadedResource] = []
        for _path, loaded, found in loader.each_file(in_folder, on_file):
            resources.extend(loaded)
            report.problems.extend(found)
        for resource_id, versions in _by_id(resources).items():
            accepted = [v for v in versions if _accept(resource_id, v, read_at, newest, report.problems)]
            if accepted:
                pending.setdefault(resource_id, []).extend(accepted)
                waiting += len(accepted)
        if waiting >= BATCH:
            _store_pending(store, pending, report)
            waiting = 0
    _store_pending(store, pending, report)
    return report


def _accept(resource_id: str, resource: loader.LoadedResource, read_at: dict[tuple[str, VersionKey], str],
            newest: dict[str, VersionKey], problems: list[Problem]) -> bool:
    """Whether a version (in version order within its folder) can follow those read before it:
    not the same version as one already read, nor older than the newest read from another folder."""
    key = _version_key(resource)
    clash = read_at.get((resource_id, key))
    if clash is not None:
        problems.append(error(
            f"the id '{resource_id}' with version {resource.pathway.version!r} is already loaded from {clash}; "
            "not loaded", "PlanDefinition.id", rule="format").located(resource.location))
        return False
    before = newest.get(resource_id)
    if before is not None and key < before:
        problems.append(error(
            f"version {resource.pathway.version!r} of '{resource_id}' is older than a version already read from "
            f"{read_at[(resource_id, before)]}; versions of one resource belong in one folder; not loaded",
            "PlanDefinition.version", rule="format").located(resource.location))
        return False
    read_at[(resource_id, key)] = resource.location
    newest[resource_id] = key
    return True


def _store_organizations(store: Store, report: LoadReport) -> None:
    organizations = [(organization, organization["id"]) for organization in trust_organizations()]
    _nothing, outcomes = store.update_planned([("Organization", resource_id) for _o, resource_id in organizations],
                                              lambda _newest: (None, organizations))
    report.items.extend(LoadedItem(outcome.version.reference, outcome.version.version_id,
                                   _change(outcome.created, outcome.changed), None) for outcome in outcomes)


def _store_pending(store: Store, pending: dict[str, list[loader.LoadedResource]], report: LoadReport) -> None:
    """Write the pending resources in batches of about ``BATCH``, a resource's versions always together; empties
    ``pending``."""
    batch: list[tuple[str, list[loader.LoadedResource]]] = []
    size = 0
    for group in pending.items():
        batch.append(group)
        size += len(group[1])
        if size >= BATCH:
            _store_batch(store, batch, report)
            batch, size = [], 0
    if batch:
        _store_batch(store, batch, report)
    pending.clear()


#: Per report item of a batch: a finished item (history), or where its outcome will be among the writes.
_Item = LoadedItem | tuple[int, str | None]


def _store_batch(store: Store, groups: list[tuple[str, list[loader.LoadedResource]]], report: LoadReport) -> None:
    """One batch of resources in one write, reported in the order of one-by-one writes."""

    def plan(stored: Newest) -> tuple[list[_Item], list[tuple[JsonDict, str]]]:
        """What to write, given what is stored: every version of a new resource, else the newest only."""
        planned: list[tuple[JsonDict, str]] = []
        items: list[_Item] = []
        for resource_id, versions in groups:
            latest = stored[("PlanDefinition", resource_id)]
            to_write = versions if latest is None else versions[-1:]
            for resource in versions[:len(versions) - len(to_write)]:
                assert latest is not None
                items.append(LoadedItem(latest.reference, latest.version_id, Change.HISTORY, resource.location))
            for resource in to_write:
                items.append((len(planned), resource.location))
                planned.append((resource.data, resource_id))
        return items, planned

    items, outcomes = store.update_planned([("PlanDefinition", resource_id) for resource_id, _v in groups], plan)
    for item in items:
        if isinstance(item, tuple):
            outcome, location = outcomes[item[0]], item[1]
            item = LoadedItem(outcome.version.reference, outcome.version.version_id,
                              _change(outcome.created, outcome.changed), location)
        report.items.append(item)


def _change(created: bool, changed: bool) -> Change:
    if created:
        return Change.CREATED
    return Change.UPDATED if changed else Change.UNCHANGED


def _segment(code: str | None) -> str:
    return code if code and _SLUG.fullmatch(code) else "other"


def export_path(resource_id: str, pathway: Pathway | None) -> Path:
    """Where a PlanDefinition goes: the repository's layout, named by id so nothing collides."""
    name = f"{resource_id}.json"
    if pathway is not None and pathway.kind is PathwayKind.NETWORK_GUIDELINE:
        return Path("guidelines", _segment(pathway.network), name)
    if pathway is not None and pathway.kind is PathwayKind.TRUST_PATHWAY:
        return Path("pathways", _segment(pathway.network), _segment(pathway.topic), name)
    return Path("pathways", "other", name)


def export_current(store: Store, folder: Path) -> list[tuple[str, Path]]:
    """Write every current PlanDefinition under ``folder``; returns (reference, file) pairs."""
    written = []
    for version in store.current("PlanDefinition"):
        assert version.resource is not None
        _plan, pathway, _problems = loader.check_plan_definition(version.resource)
        target = folder / export_path(version.resource_id, pathway)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(to_json(unstamp(version.resource)))
        written.append((version.reference, target))
    return written
