"""Folders of FHIR files into the store, and the store's current content back out to files.

The store is the record; files are how content comes in and goes out. A load never undoes a newer
write: per resource the store keeps what a load last imported from a file (``FileImport``), and a
file is compared with that, not with the store:

- a file unchanged since its last import changes nothing, even if the store has moved on;
- a file that changed while the store did not makes one new version;
- a file that changed while the store changed too (a write through the API or a command since the
  last import) is a **conflict**: that resource is not written, and the report names the file, the
  resource, both versions and who wrote the store's. ``OnConflict`` says what to do instead:
  keep the store's version, or take the file's as one new version. Nothing is lost either way:
  the other version stays in the history or in the file;
- a file whose content is what the store holds now changes nothing, and counts as imported.

A guideline's narrative (the ``.md`` beside its file) is put into the resource as it is imported
(``narrative.with_narrative``); the variation register (``variation-register.yaml``) is imported
as Basic resources (``register.to_resource``), under the same rules.

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
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Final

from .. import loader, register
from ..fhirformat import JsonDict, to_json, to_xml
from ..narrative import read_narrative, with_narrative
from ..pathway import Pathway, PathwayKind
from ..problems import Problem, error
from ..store import Store, StoredVersion, WriteOutcome, parse_search
from ..store.audit import agent_of
from ..store.content import unstamp
from ..store.store import FileImport, Writer, import_digest
from ..store.trusts import trust_organizations
from .conflicts import OnConflict

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
    #: The file and the store both changed since the last import: nothing was written.
    CONFLICT = "conflict"
    #: A conflict settled for the store (``OnConflict.KEEP_STORE``): nothing was written.
    KEPT = "kept"


@dataclass(frozen=True)
class Conflict:
    """A resource whose file and store version both changed since the last import."""

    reference: str
    file: str
    #: The business version in the file, and the store's (``version`` and ``versionId``).
    file_version: str | None
    store_version: str | None
    store_version_id: int
    #: Who wrote the store's version (its Provenance's agent), when known.
    written_by: str | None


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
    conflicts: list[Conflict] = field(default_factory=list)

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
                on_found: Callable[[int], None] | None = None, on_conflict: OnConflict = OnConflict.REPORT
                ) -> LoadReport:
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
    A file that changed while the store changed too is a conflict, settled by ``on_conflict``.
    """
    paths = list(paths)
    files, problems = loader.discover(paths)
    loading = _Loading(store, paths, on_conflict)
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
            resources.extend(_with_narrative(resource) for resource in loaded)
            report.problems.extend(found)
        for resource_id, versions in _by_id(resources).items():
            accepted = [v for v in versions if _accept(resource_id, v, read_at, newest, report.problems)]
            if accepted:
                pending.setdefault(resource_id, []).extend(accepted)
                waiting += len(accepted)
        if waiting >= BATCH:
            _store_pending(loading, pending, report)
            waiting = 0
    _store_pending(loading, pending, report)
    _store_register(loading, paths, report)
    report.conflicts.extend(loading.take_conflicts())
    return report


def _with_narrative(resource: loader.LoadedResource) -> loader.LoadedResource:
    """A guideline read from its own file, with the narrative written beside it (``<topic>.md``) put in."""
    if resource.entry is not None or resource.pathway.kind is not PathwayKind.NETWORK_GUIDELINE:
        return resource
    beside = Path(resource.file).with_suffix(".md")
    if not beside.is_file():
        return resource
    return replace(resource, data=with_narrative(resource.data, beside.read_text("utf-8")))


def _store_register(loading: "_Loading", paths: list[Path], report: LoadReport) -> None:
    """Each folder's variation register, as Basic resources: all its entries, or none if any is wrong."""
    for folder in paths:
        path = folder / register.REGISTER_FILE
        if not path.is_file():
            continue
        entries, problems = register.read_register(folder)
        report.problems.extend(problems)
        if problems:
            continue
        source = loading.source(path)
        items = [(register.to_resource(entry), f"{source} [{index}]") for index, entry in enumerate(entries)]
        report.items.extend(loading.write("Basic", [(r["id"], [(r, where)]) for r, where in items]))


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


def _store_pending(loading: "_Loading", pending: dict[str, list[loader.LoadedResource]], report: LoadReport) -> None:
    """Write the pending resources in batches of about ``BATCH``, a resource's versions always together; empties
    ``pending``."""
    batch: list[tuple[str, list[tuple[JsonDict, str]]]] = []
    size = 0
    for resource_id, versions in pending.items():
        batch.append((resource_id, [(v.data, v.location) for v in versions]))
        size += len(versions)
        if size >= BATCH:
            report.items.extend(loading.write("PlanDefinition", batch))
            batch, size = [], 0
    if batch:
        report.items.extend(loading.write("PlanDefinition", batch))
    pending.clear()
    report.conflicts.extend(loading.take_conflicts())


#: Per report item of a batch: a finished item, or where its outcome will be among the writes.
_Item = LoadedItem | tuple[int, str | None]
#: One resource's versions from the files, oldest first, each with where it was read.
_Versions = list[tuple[JsonDict, str]]


class _Decision(StrEnum):
    SKIP = "skip"  # the file is what was last imported: nothing to do
    RECORD = "record"  # the file is what the store holds: remember it as imported
    WRITE = "write"
    CONFLICT = "conflict"
    KEEP = "keep"  # a conflict settled for the store


class _Loading:
    """One load's writes: each batch decided against the store and its import records, then written in one
    short transaction with the import records it makes."""

    def __init__(self, store: Store, roots: list[Path], on_conflict: OnConflict) -> None:
        self.store, self.roots, self.on_conflict = store, [root.resolve() for root in roots], on_conflict
        self._conflicts: list[tuple[str, str, JsonDict, StoredVersion | None, str]] = []

    def source(self, path: Path) -> str:
        """A file as the import record names it: relative to the folder holding the folder it was read from."""
        resolved = path.resolve()
        for root in self.roots:
            if resolved.is_relative_to(root):
                return resolved.relative_to(root.parent).as_posix()
        return str(path)

    def _decide(self, newest: StoredVersion | None, record: FileImport | None, digest: str) -> _Decision:
        if newest is None:
            return _Decision.WRITE
        if not newest.deleted and import_digest(newest.existing()) == digest:
            return _Decision.SKIP if record is not None and record.digest == digest else _Decision.RECORD
        if record is not None and record.digest == digest:
            return _Decision.SKIP  # the file has not changed since it was imported; the store has moved on
        if record is not None and record.version_id == newest.version_id:
            return _Decision.WRITE  # the store has not changed since the import; the file has
        if self.on_conflict is OnConflict.TAKE_FILE:
            return _Decision.WRITE
        return _Decision.KEEP if self.on_conflict is OnConflict.KEEP_STORE else _Decision.CONFLICT

    def _plan(self, resource_type: str, groups: list[tuple[str, _Versions]],
              newest: dict[tuple[str, str], StoredVersion | None], records: dict[tuple[str, str], FileImport]
              ) -> tuple[list[_Item], list[tuple[JsonDict, str]], list[FileImport], list[tuple[str, str]]]:
        """(report items, writes, import records to make, (resource id, source) of each conflict)."""
        items: list[_Item] = []
        writes: list[tuple[JsonDict, str]] = []
        imported: list[FileImport] = []
        conflicts: list[tuple[str, str]] = []
        for resource_id, versions in groups:
            key = (resource_type, resource_id)
            latest, (content, location) = newest.get(key), versions[-1]
            digest = import_digest(content)
            decision = self._decide(latest, records.get(key), digest)
            source = self.source(Path(location.split(" (Bundle.entry[")[0].split(" [")[0]))
            if decision is _Decision.WRITE:
                to_write = versions if latest is None else versions[-1:]
                for _content, where in versions[:len(versions) - len(to_write)]:
                    assert latest is not None
                    items.append(LoadedItem(latest.reference, latest.version_id, Change.HISTORY, where))
                for data, where in to_write:
                    items.append((len(writes), where))
                    writes.append((data, resource_id))
                imported.append(FileImport(resource_type, resource_id, digest, -1, source))  # version filled in
                continue
            assert latest is not None
            # Files of earlier versions are the resource's history, written only when it was new.
            items.extend(LoadedItem(latest.reference, latest.version_id, Change.HISTORY, where)
                         for _content, where in versions[:-1])
            change = {_Decision.SKIP: Change.UNCHANGED, _Decision.RECORD: Change.UNCHANGED,
                      _Decision.CONFLICT: Change.CONFLICT, _Decision.KEEP: Change.KEPT}[decision]
            items.append(LoadedItem(latest.reference, latest.version_id, change, location))
            if decision in (_Decision.RECORD, _Decision.KEEP):
                imported.append(FileImport(resource_type, resource_id, digest, latest.version_id, source))
            if decision is _Decision.CONFLICT:
                conflicts.append((resource_id, location))
        return items, writes, imported, conflicts

    def write(self, resource_type: str, groups: list[tuple[str, _Versions]]) -> list[LoadedItem]:
        """Decide and write one batch; returns its report items in the order of one-by-one writes."""
        keys = [(resource_type, resource_id) for resource_id, _versions in groups]
        with self.store.reading_snapshot() as snapshot:  # decided without the lock first: most batches change nothing
            items, writes, imported, conflicts = self._plan(resource_type, groups, snapshot.newest(keys),
                                                            snapshot.imports(keys))
        if writes or imported:
            with self.store.write() as writer:  # and again in the write's turn, where it holds
                items, writes, imported, conflicts = self._plan(resource_type, groups, writer.newest(keys),
                                                                writer.imports(keys))
                outcomes = writer.update_many(writes) if writes else []
                writer.record_imports(self._versioned(imported, writes, outcomes, writer))
        else:
            outcomes = []
        for resource_id, location in conflicts:
            content = next(versions for r, versions in groups if r == resource_id)[-1][0]
            self._conflicts.append((resource_type, resource_id, content,
                                    self.store.read_latest(resource_type, resource_id), location))
        return [LoadedItem(outcomes[item[0]].version.reference, outcomes[item[0]].version.version_id,
                           _change(outcomes[item[0]].created, outcomes[item[0]].changed), item[1])
                if isinstance(item, tuple) else item for item in items]

    @staticmethod
    def _versioned(imported: list[FileImport], writes: list[tuple[JsonDict, str]], outcomes: list[WriteOutcome],
                   writer: Writer) -> list[FileImport]:
        """The import records, each naming the version its content is now (for writes: the last one written)."""
        written = {resource_id: outcome.version.version_id for (_d, resource_id), outcome in zip(writes, outcomes)}
        return [replace(record, version_id=written[record.resource_id]) if record.version_id < 0 else record
                for record in imported]

    def take_conflicts(self) -> list[Conflict]:
        found = [self._conflict(*item) for item in self._conflicts]
        self._conflicts.clear()
        return found

    def _conflict(self, resource_type: str, resource_id: str, content: JsonDict, stored: StoredVersion | None,
                  location: str) -> Conflict:
        store_content = stored.resource if stored is not None else None
        return Conflict(
            reference=f"{resource_type}/{resource_id}", file=location,
            file_version=content.get("version") if isinstance(content.get("version"), str) else None,
            store_version=(store_content or {}).get("version"), store_version_id=stored.version_id if stored else 0,
            written_by=_author(self.store, stored) if stored is not None else None)


def _author(store: Store, version: StoredVersion) -> str | None:
    """Who wrote a version, from its Provenance (the token's subject, or local-admin with the command)."""
    query = parse_search("Provenance", [("target", f"{version.reference}/_history/{version.version_id}")])
    for stored in store.search(query).versions:
        agent = agent_of(stored.resource or {})
        if agent is not None:
            name = agent.subject or str(agent.display)
            return f"{name} (for {agent.trust})" if agent.trust else name
    return None


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
    """Write the store's current content under ``folder`` in the repository's layout; returns (reference, file).

    Each PlanDefinition goes back to the file it was last imported from (as JSON or XML, as that file
    was), else to ``export_path``; a guideline's narrative goes beside it as ``.md``; the register's
    entries go to ``guidelines/variation-register.yaml``. A checkout of the network's content is so
    brought up to date from the store, and loading what was written changes nothing.
    """
    written: list[tuple[str, Path]] = []
    sources = store.imports("PlanDefinition")
    for version in store.current("PlanDefinition"):
        resource = unstamp(version.existing())
        _plan, pathway, _problems = loader.check_plan_definition(resource)
        imported = sources.get(version.resource_id)
        relative = Path(imported.source) if imported is not None and not Path(imported.source).is_absolute() else None
        target = folder / (relative or export_path(version.resource_id, pathway))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(to_xml(resource) if target.suffix.lower() == ".xml" else to_json(resource))
        written.append((version.reference, target))
        narrative = read_narrative(resource)
        if narrative is not None and pathway is not None and pathway.kind is PathwayKind.NETWORK_GUIDELINE:
            target.with_suffix(".md").write_text(narrative, "utf-8")
    entries = [register.from_resource(v.existing()) for v in store.current("Basic")
               if v.resource is not None and register.is_register_entry(v.resource)]
    if entries:
        target = folder / "guidelines" / register.REGISTER_FILE
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(register.register_yaml(entries), "utf-8")
        written.append(("Basic (the variation register)", target))
    return written
