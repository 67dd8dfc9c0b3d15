"""The versioned resource store: reads, searches, history, and atomic writes.

Writes happen inside ``Store.write()``, one database transaction. Its first statement advances
the ``clock`` row, which locks it until commit: writers take turns (on PostgreSQL across
processes too), transaction numbers follow commit order, and every version written gets a
``lastUpdated`` later than any before it. Optimistic locking is checked inside that turn, and the
unique (type, id, version) constraint refuses a second "version N" even if a check were raced.
A big write can do its work before its turn (``Store.update_planned``): it plans against a snapshot,
and the turn only runs the statements, or plans again if anything committed after that snapshot.

Every write names its agent, and every version it makes gets its Provenance (``audit``) in the
same transaction. A ``Permit`` given to the write sees each change, with the content it replaces,
before it is made, so access rules are checked against what is stored inside the same turn.
"""

import hashlib
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Row, bindparam, delete, func, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError

from ..fhirformat import JsonDict
from . import sql
from .audit import AUDIT_TYPE, Activity, Agent, local_admin, provenance
from .content import fingerprint, stamp, to_text
from .dates import parse_timestamp, timestamp
from .engine import DEFAULT_POOL_SIZE, IMMEDIATE, make_engine, migrate, reading
from .errors import Gone, NotFound, PreconditionFailed, WriteConflict
from .indexing import index_rows
from .query import SearchQuery
from .records import Page, StoredVersion, WriteOutcome
from .schema import clock, file_import, resource_version, search_index

_V = resource_version

#: Called before each change with (type, stored content or None, new content or None); raises to refuse it.
Permit = Callable[[str, JsonDict | None, JsonDict | None], None]
#: The newest stored version of each (type, id) asked for; None for one never stored.
Newest = Mapping[tuple[str, str], StoredVersion | None]


@dataclass(frozen=True)
class FileImport:
    """What a load last imported from a file for one resource (``schema.file_import``)."""

    resource_type: str
    resource_id: str
    #: ``import_digest`` of the content imported.
    digest: str
    #: The stored version that content is: written by that load, or found already stored.
    version_id: int
    source: str


def import_digest(resource: JsonDict) -> str:
    """A short digest of a resource's content (``content.fingerprint``): equal exactly when the content is."""
    return hashlib.sha256(fingerprint(resource).encode("utf-8")).hexdigest()


def _imports(connection: Connection, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], FileImport]:
    found: dict[tuple[str, str], FileImport] = {}
    keys = list(keys)
    for start in range(0, len(keys), 500):
        rows = connection.execute(select(file_import).where(
            tuple_(file_import.c.resource_type, file_import.c.resource_id).in_(keys[start:start + 500]))).all()
        for row in rows:
            found[(row.resource_type, row.resource_id)] = FileImport(row.resource_type, row.resource_id, row.digest,
                                                                     row.version_id, row.source)
    return found
#: Resources to ``update``, each with its id, in order.
Updates = Sequence[tuple[JsonDict, str]]
T = TypeVar("T")
#: The largest version number the schema holds (a 32-bit INTEGER on both databases).
MAX_VERSION = 2**31 - 1
#: Whoever uses a store opened without saying otherwise: a process with the database in hand.
LOCAL_ADMIN = local_admin()


def _version(row: Row[Any]) -> StoredVersion:
    """A version row as a record; its content is parsed only if asked for (``StoredVersion.resource``)."""
    record = _record(row.resource_type, row.resource_id,
                     (row.version_id, row.last_updated, row.method, row.deleted, row.content))
    assert record is not None
    return record


def _snapshot(connection: Connection) -> int:
    return connection.execute(select(clock.c.txn).where(clock.c.id == 1)).scalar_one()


#: The columns a StoredVersion is made of, in its order (type and id are the caller's).
_RECORD = (_V.c.version_id, _V.c.last_updated, _V.c.method, _V.c.deleted, _V.c.content)
#: Built once: a read by id is the API's most frequent statement, and building it costs more than running it.
_LATEST = (select(*_RECORD).where(_V.c.resource_type == bindparam("resource_type"),
                                  _V.c.resource_id == bindparam("resource_id"))
           .order_by(_V.c.version_id.desc()).limit(1))
_VERSION = select(*_RECORD).where(_V.c.resource_type == bindparam("resource_type"),
                                  _V.c.resource_id == bindparam("resource_id"),
                                  _V.c.version_id == bindparam("version_id"))


def _record(resource_type: str, resource_id: str, row: Sequence[Any] | None) -> StoredVersion | None:
    if row is None:
        return None
    version_id, last_updated, method, deleted, content = row
    return StoredVersion(resource_type, resource_id, version_id, last_updated, method, None if deleted else content)


def _latest(connection: Connection, resource_type: str, resource_id: str) -> StoredVersion | None:
    row = connection.execute(_LATEST, {"resource_type": resource_type, "resource_id": resource_id}).first()
    return _record(resource_type, resource_id, row)


class Totals:
    """Totals of searches by (type, criteria, snapshot), the most recent ``size`` of them.

    The versions a snapshot sees never change (``sql``), so neither does its count: a search's total
    is counted once, on its first page, and the later pages (their links carry ``_snapshot``) and
    the same search repeated before anything is written take it from here. Only totals of snapshots
    the store read from its own clock outside a write are kept: a snapshot a client names may not
    have been reached yet, and a write's own snapshot is not committed.
    """

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._found: OrderedDict[tuple[Any, ...], int] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> int | None:
        with self._lock:
            total = self._found.get(key)
            if total is not None:
                self._found.move_to_end(key)
            return total

    def put(self, key: tuple[Any, ...], total: int) -> None:
        with self._lock:
            self._found[key] = total
            self._found.move_to_end(key)
            while len(self._found) > self._size:
                self._found.popitem(last=False)


def _search(connection: Connection, query: SearchQuery, totals: Totals | None = None) -> Page:
    """One page, and the total unless ``_total=none``; ``totals`` (outside writes only) keeps totals."""
    pinned = query.snapshot is not None
    keyed = sql.keyed(query)
    rows: Sequence[Row[Any]] = []
    snapshot = query.snapshot
    if keyed and query.count and not pinned:
        # The page reads the clock itself, in the same statement, and says in each row which snapshot.
        page = sql.keyed(query, clocked=True)[1]  # type: ignore[index]
        rows = connection.execute(page, {"limit": query.count + 1, "offset": query.offset}).all()
        snapshot = rows[0].snapshot if rows else None
    if snapshot is None:
        snapshot = _snapshot(connection)
    if keyed and query.count and not rows:  # pinned, or nothing at the page's snapshot: at this one?
        rows = connection.execute(keyed[1], {"snapshot": snapshot, "limit": query.count + 1,
                                             "offset": query.offset}).all()
    total = None
    if query.total:
        key = (query.resource_type, query.criteria, snapshot)
        total = totals.get(key) if totals is not None else None
        if total is None:
            if keyed:
                total = connection.execute(keyed[0], {"snapshot": snapshot}).scalar_one()
            else:
                count = select(func.count()).select_from(sql.matches(query, snapshot).subquery())
                total = connection.execute(count).scalar_one()
            if totals is not None and not pinned:
                totals.put(key, total)
    if query.count and not keyed:
        rows = connection.execute(sql.ordered(sql.matches(query, snapshot), query.sort)
                                  .limit(query.count + 1).offset(query.offset)).all()
    return Page(tuple(_version(row) for row in rows[:query.count]), snapshot, query.offset, query.count,
                total, len(rows) > query.count)


def _latest_many(connection: Connection, resource_type: str, resource_ids: Iterable[str]) -> dict[str, StoredVersion]:
    """The newest version of each of these resources that exists (the one nothing has superseded)."""
    found: dict[str, StoredVersion] = {}
    wanted = sorted(set(resource_ids))
    for start in range(0, len(wanted), _LOOKUP_CHUNK):
        rows = connection.execute(select(_V).where(
            _V.c.resource_type == resource_type, _V.c.resource_id.in_(wanted[start:start + _LOOKUP_CHUNK]),
            _V.c.superseded_txn.is_(None))).all()
        found.update((row.resource_id, _version(row)) for row in rows)
    return found


def _newest(connection: Connection, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], StoredVersion | None]:
    """The newest version of each (type, id), None for one never stored."""
    by_type: dict[str, set[str]] = {}
    for resource_type, resource_id in keys:
        by_type.setdefault(resource_type, set()).add(resource_id)
    newest: dict[tuple[str, str], StoredVersion | None] = {}
    for resource_type, resource_ids in by_type.items():
        found = _latest_many(connection, resource_type, resource_ids)
        newest.update(((resource_type, resource_id), found.get(resource_id)) for resource_id in resource_ids)
    return newest


def _latest_of(connection: Connection, resources: Sequence[tuple[JsonDict, str]],
               known: Mapping[tuple[str, str], StoredVersion | None] | None = None,
               ) -> dict[tuple[str, str], StoredVersion | None]:
    """The newest version of each resource's (type, id): from ``known`` where it says, else looked up."""
    keys = {(resource["resourceType"], resource_id) for resource, resource_id in resources}
    known = known or {}
    newest = {key: known[key] for key in keys if key in known}
    newest.update(_newest(connection, keys.difference(newest)))
    return newest


def _after(previous: str) -> str:
    """The time of a new transaction: now, or just after the one before if the clock stepped back."""
    return timestamp(max(datetime.now(UTC), parse_timestamp(previous) + timedelta(microseconds=1)))


def new_id() -> str:
    """A server-assigned logical id."""
    return str(uuid.uuid4())


#: Ids looked up per statement by the batch methods.
_LOOKUP_CHUNK = 500
#: PostgreSQL sends a batch's search index rows with COPY from this many rows on.
_COPY_FROM = 200


@dataclass
class Batch:
    """Versions ready to insert, each with its search index rows, in the order they are written.

    Built without the database (``prepare_creates``, or the Writer as it plans its writes), and
    inserted by ``Writer.insert_batch`` with one statement for the versions and one for the index
    rows. Index rows carry ``version_pk`` 0 until their version's key is known.
    """

    versions: list[dict[str, Any]] = field(default_factory=list)
    index: list[list[dict[str, Any]]] = field(default_factory=list)
    #: (type, id, version) of stored versions that the batch's versions supersede.
    supersedes: list[tuple[str, str, int]] = field(default_factory=list)

    def add(self, txn: int, last_updated: str, agent: Agent, resource_type: str, resource_id: str,
            version_id: int, method: str, activity: Activity, resource: JsonDict | None) -> StoredVersion:
        """Plan one version (and, unless it is itself an audit record, its Provenance); returns the version."""
        version = self._add(txn, last_updated, resource_type, resource_id, version_id, method, resource)
        if resource_type != AUDIT_TYPE:
            self._add(txn, last_updated, AUDIT_TYPE, new_id(), 1, "POST", provenance(version, activity, agent))
        return version

    def _add(self, txn: int, last_updated: str, resource_type: str, resource_id: str, version_id: int,
             method: str, resource: JsonDict | None) -> StoredVersion:
        stamped = None if resource is None else stamp(resource, resource_id, version_id, last_updated)
        text = None if stamped is None else to_text(stamped)
        self.versions.append({
            "txn": txn, "resource_type": resource_type, "resource_id": resource_id, "version_id": version_id,
            "last_updated": last_updated, "method": method, "deleted": stamped is None, "content": text,
            "superseded_txn": None,
        })
        self.index.append([] if stamped is None else index_rows(0, resource_type, stamped, resource_id, txn))
        return StoredVersion.written(resource_type, resource_id, version_id, last_updated, method, text, stamped)


def prepare_creates(resources: Iterable[JsonDict], txn: int, last_updated: str, agent: Agent) -> Batch:
    """The rows ``Writer.create(resource, resource["id"])`` makes for each resource, in its order.

    Needs no database: a caller may build batches in other processes, then hand them to
    ``Writer.insert_batch`` of a write whose ``txn``, ``last_updated`` and ``agent`` these are.
    """
    batch = Batch()
    for resource in resources:
        batch.add(txn, last_updated, agent, resource["resourceType"], resource["id"], 1, "POST",
                  Activity.CREATE, resource)
    return batch


class Planner:
    """Plans the versions of one transaction (its ``txn``, ``lastUpdated`` and agent) into a Batch: the
    CPU work of a write (comparing, stamping, serialising, index rows, Provenance), with no database,
    so ``Store.update_planned`` can do it before the write's turn rather than while holding the lock."""

    def __init__(self, txn: int, last_updated: str, agent: Agent) -> None:
        self.txn = txn
        self.last_updated = last_updated
        self.agent = agent

    def _check(self, resource_type: str, latest: StoredVersion | None, proposed: JsonDict | None) -> None:
        """Refuse a change the write's permit does not allow; a plan made outside a write has none."""

    def _plan(self, batch: Batch, resource_type: str, resource_id: str, latest: StoredVersion | None,
              method: str, activity: Activity, resource: JsonDict | None) -> StoredVersion:
        """Add the version after ``latest`` (and its audit record) to ``batch``, superseding ``latest``."""
        version_id = latest.version_id + 1 if latest else 1
        if latest is not None:
            batch.supersedes.append((resource_type, resource_id, latest.version_id))
        return batch.add(self.txn, self.last_updated, self.agent, resource_type, resource_id, version_id, method,
                         activity, resource)

    def _planned_update(self, batch: Batch, resource: JsonDict, resource_id: str,
                        latest: StoredVersion | None) -> WriteOutcome:
        resource_type = resource["resourceType"]
        self._check(resource_type, latest, resource)
        if latest is not None and latest.resource is not None and fingerprint(latest.resource) == fingerprint(resource):
            return WriteOutcome(latest, created=False, changed=False)
        created = latest is None or latest.deleted
        activity = Activity.CREATE if created else Activity.UPDATE
        return WriteOutcome(self._plan(batch, resource_type, resource_id, latest, "PUT", activity, resource),
                            created=created)

    def plan_updates(self, batch: Batch, resources: Sequence[tuple[JsonDict, str]],
                     latest: dict[tuple[str, str], StoredVersion | None]) -> list[WriteOutcome]:
        """``update`` of each (resource, id) in order, added to ``batch``, given each (type, id)'s newest
        stored version in ``latest`` (None if never stored); ``latest`` follows the plan."""
        outcomes = []
        for resource, resource_id in resources:
            key = (resource["resourceType"], resource_id)
            outcome = self._planned_update(batch, resource, resource_id, latest[key])
            latest[key] = outcome.version
            outcomes.append(outcome)
        return outcomes


class Writer(Planner):
    """The writes of one transaction. Made by ``Store.write()``; never kept after it."""

    def __init__(self, connection: Connection, txn: int, last_updated: str, agent: Agent,
                 permit: Permit | None = None) -> None:
        super().__init__(txn, last_updated, agent)
        self._connection = connection
        self._permit = permit

    def latest(self, resource_type: str, resource_id: str) -> StoredVersion | None:
        """The newest version, deleted or not, as this transaction sees it."""
        return _latest(self._connection, resource_type, resource_id)

    def latest_many(self, resource_type: str, resource_ids: Iterable[str]) -> dict[str, StoredVersion]:
        """``latest`` of many resources at once, by id; ids never stored are left out."""
        return _latest_many(self._connection, resource_type, resource_ids)

    def newest(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], StoredVersion | None]:
        """The newest version of each (type, id) as this transaction sees it; None for one never stored."""
        return _newest(self._connection, keys)

    def imports(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], FileImport]:
        """What loads last imported for these (type, id), as this transaction sees it."""
        return _imports(self._connection, keys)

    def record_imports(self, records: Sequence[FileImport]) -> None:
        """Remember what this load imported, in its transaction: with the versions it wrote, or without any."""
        if not records:
            return
        keys = [(r.resource_type, r.resource_id) for r in records]
        for start in range(0, len(keys), 500):
            self._connection.execute(delete(file_import).where(
                tuple_(file_import.c.resource_type, file_import.c.resource_id).in_(keys[start:start + 500])))
        self._connection.execute(insert(file_import), [
            {"resource_type": r.resource_type, "resource_id": r.resource_id, "digest": r.digest,
             "version_id": r.version_id, "source": r.source, "txn": self.txn} for r in records])

    def search(self, query: SearchQuery) -> Page:
        """Search as this transaction sees the store (for conditional create)."""
        return _search(self._connection, query)

    def _check(self, resource_type: str, latest: StoredVersion | None, proposed: JsonDict | None) -> None:
        """Ask the permit; a deleted resource is judged by its last content, so its id cannot be taken over."""
        if self._permit is None:
            return
        current = latest.resource if latest is not None else None
        if latest is not None and latest.deleted:
            row = self._connection.execute(
                select(_V).where(_V.c.resource_type == resource_type, _V.c.resource_id == latest.resource_id,
                                 _V.c.deleted.is_(False)).order_by(_V.c.version_id.desc()).limit(1)
            ).first()
            current = _version(row).resource if row else None
        self._permit(resource_type, current, proposed)

    def insert_batch(self, batch: Batch) -> None:
        """Insert a batch: the versions with one statement (keys returned in order), then their
        index rows, then mark the versions they supersede (and those versions' index rows). WriteConflict
        if a version exists already."""
        if not batch.versions:
            return
        statement = insert(_V).returning(_V.c.pk, sort_by_parameter_order=True)
        try:
            keys = self._connection.execute(statement, batch.versions).scalars().all()
        except IntegrityError:
            names = ", ".join(sorted({f"{row['resource_type']}/{row['resource_id']}" for row in batch.versions
                                      if row["resource_type"] != AUDIT_TYPE}))
            raise WriteConflict(f"{names or 'a resource'} was changed by another request at the same moment; "
                                "read it again and retry") from None
        rows = []
        for pk, version_rows in zip(keys, batch.index, strict=True):
            for row in version_rows:
                row["version_pk"] = pk
                rows.append(row)
        self._insert_index(rows)
        if batch.supersedes:
            superseded = [{"t": t, "i": i, "v": v} for t, i, v in batch.supersedes]
            version = (_V.c.resource_type == bindparam("t"), _V.c.resource_id == bindparam("i"),
                       _V.c.version_id == bindparam("v"))
            self._connection.execute(update(_V).where(*version).values(superseded_txn=self.txn), superseded)
            self._connection.execute(
                update(search_index).where(search_index.c.version_pk == select(_V.c.pk).where(*version)
                                           .scalar_subquery()).values(superseded_txn=self.txn), superseded)

    def _insert_index(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        if self._connection.dialect.name == "postgresql" and len(rows) >= _COPY_FROM:
            # The same rows, sent with COPY: several times faster than INSERT for many rows.
            columns = [column.name for column in search_index.columns]
            cursor = self._connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
            with cursor.copy(f"COPY {search_index.name} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([row[name] for name in columns])
        else:
            self._connection.execute(insert(search_index), rows)

    def create(self, resource: JsonDict, resource_id: str | None = None) -> StoredVersion:
        """A new resource; its id is ``resource_id`` if the server chose one already, else a new UUID."""
        return self.create_many([(resource, resource_id or new_id())])[0]

    def create_many(self, resources: Sequence[tuple[JsonDict, str]]) -> list[StoredVersion]:
        """``create`` of each (resource, id), in order, written in one batch: the same rows."""
        batch = Batch()
        versions = []
        for resource, resource_id in resources:
            resource_type = resource["resourceType"]
            self._check(resource_type, None, resource)
            versions.append(batch.add(self.txn, self.last_updated, self.agent, resource_type, resource_id, 1, "POST",
                                      Activity.CREATE, resource))
        self.insert_batch(batch)
        return versions

    def update(self, resource: JsonDict, resource_id: str, if_match: int | None = None) -> WriteOutcome:
        """Update or create ``resource_id``; unchanged content makes no new version.

        ``if_match`` is the version the client last read: if it is not the current one, nothing
        is written and PreconditionFailed is raised (HTTP 412).
        """
        resource_type = resource["resourceType"]
        latest = self.latest(resource_type, resource_id)
        if if_match is not None and (latest is None or latest.version_id != if_match):
            current = "does not exist" if latest is None else f"is at version {latest.version_id}"
            raise PreconditionFailed(f"If-Match asked for version {if_match} of {resource_type}/{resource_id}, "
                                     f"but it {current}; read it again and reapply the change")
        batch = Batch()
        outcome = self._planned_update(batch, resource, resource_id, latest)
        self.insert_batch(batch)
        return outcome

    def update_many(self, resources: Sequence[tuple[JsonDict, str]]) -> list[WriteOutcome]:
        """``update`` of each (resource, id), in order, as if one after another, written in one batch:
        the same versions, index rows and audit records, with a few statements in all. One id may
        come several times (a resource's history, oldest first)."""
        batch = Batch()
        outcomes = self.plan_updates(batch, resources, _latest_of(self._connection, resources))
        self.insert_batch(batch)
        return outcomes

    def delete(self, resource_type: str, resource_id: str, if_match: int | None = None) -> StoredVersion | None:
        """Mark the resource deleted (a new version); None when there was nothing to delete."""
        latest = self.latest(resource_type, resource_id)
        if if_match is not None and (latest is None or latest.version_id != if_match):
            raise PreconditionFailed(f"If-Match asked for version {if_match} of {resource_type}/{resource_id}, "
                                     "which is not the current version")
        if latest is None or latest.deleted:
            return None
        self._check(resource_type, latest, None)
        batch = Batch()
        version = self._plan(batch, resource_type, resource_id, latest, "DELETE", Activity.DELETE, None)
        self.insert_batch(batch)
        return version


class Snapshot:
    """Reads on one connection (``Store.reading_snapshot``)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def newest(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], StoredVersion | None]:
        return _newest(self._connection, keys)

    def imports(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], FileImport]:
        return _imports(self._connection, keys)


class Store:
    """A versioned FHIR resource store on one database."""

    def __init__(self, engine: Engine, operator: Agent | None = LOCAL_ADMIN) -> None:
        self.engine = engine
        #: The same pool, read without transactions (``engine.reading``).
        self._reader = reading(engine)
        #: The agent of writes that name none; None makes every write name its own (the API's store).
        self.operator = operator
        self._totals = Totals()

    @classmethod
    def open(cls, url: str, operator: Agent | None = LOCAL_ADMIN, pool: int = DEFAULT_POOL_SIZE) -> "Store":
        """Connect to the database at ``url``, keeping ``pool`` connections, and bring its schema up to date."""
        engine = make_engine(url, pool)
        migrate(engine)
        return cls(engine, operator)

    def close(self) -> None:
        self.engine.dispose()

    def _agent(self, agent: Agent | None) -> Agent:
        agent = agent or self.operator
        if agent is None:
            raise ValueError("this store records who writes: the write must name its agent")
        return agent

    @contextmanager
    def write(self, agent: Agent | None = None, permit: Permit | None = None) -> Iterator[Writer]:
        """One atomic write by ``agent`` (default: the store's operator): everything done with the
        Writer, audit records included, commits together or not at all."""
        with self._turn(self._agent(agent), permit) as writer:
            yield writer

    @contextmanager
    def _turn(self, agent: Agent, permit: Permit | None, planned: Planner | None = None) -> Iterator[Writer]:
        """The write transaction; it takes ``planned``'s number and time if it comes straight after the
        snapshot that plan was made on (nothing committed since), so the plan holds as made."""
        with self.engine.connect().execution_options(**{IMMEDIATE: True}) as connection, connection.begin():
            txn, previous = connection.execute(
                update(clock).where(clock.c.id == 1).values(txn=clock.c.txn + 1)
                .returning(clock.c.txn, clock.c.last_updated)
            ).one()
            if planned is not None and planned.txn == txn and planned.last_updated > previous:
                now = planned.last_updated  # fixed-width UTC strings: compared as text, in time order
            else:
                now = _after(previous)
            connection.execute(update(clock).where(clock.c.id == 1).values(last_updated=now))
            yield Writer(connection, txn, now, agent, permit)

    def update_planned(self, wanted: Iterable[tuple[str, str]], plan: Callable[[Newest], tuple[T, Updates]],
                       agent: Agent | None = None) -> tuple[T, list[WriteOutcome]]:
        """``Writer.update_many`` of what ``plan`` chooses, given the newest stored version of each
        (type, id) in ``wanted`` (and of what it chooses); returns what else ``plan`` returned, and the outcomes.

        The work is done before the write's turn, against a snapshot: reading the stored versions,
        comparing, serialising, index rows, Provenance. The turn then only runs the statements, so a
        big write keeps other writers waiting for its inserts alone. If anything was committed after
        the snapshot, the plan is stale and is made again inside the turn (``plan`` is called again:
        only the last call's result counts). A plan that changes nothing takes no turn at all.
        """
        agent, wanted = self._agent(agent), list(wanted)
        with self._reading() as connection:
            # The clock first: whatever commits after this is seen as a later transaction number in the turn.
            txn, previous = connection.execute(select(clock.c.txn, clock.c.last_updated).where(clock.c.id == 1)).one()
            newest = _newest(connection, wanted)
            chosen, resources = plan(newest)
            latest = _latest_of(connection, resources, newest)
        planner, batch = Planner(txn + 1, _after(previous), agent), Batch()
        outcomes = planner.plan_updates(batch, resources, latest)
        if not batch.versions:
            return chosen, outcomes
        with self._turn(agent, None, planner) as writer:
            if (writer.txn, writer.last_updated) == (planner.txn, planner.last_updated):
                writer.insert_batch(batch)
                return chosen, outcomes
            chosen, resources = plan(writer.newest(wanted))
            return chosen, writer.update_many(resources)

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        """A connection for reads: no BEGIN or COMMIT on PostgreSQL (see ``engine.reading``)."""
        with self._reader.connect() as connection:
            yield connection

    @contextmanager
    def reading_snapshot(self) -> Iterator["Snapshot"]:
        """Reads that a write will make again in its turn: decided here first, without taking the lock."""
        with self._reading() as connection:
            yield Snapshot(connection)

    def read_latest(self, resource_type: str, resource_id: str) -> StoredVersion | None:
        """The newest version, deleted or not; None for a resource never stored."""
        with self._reading() as connection:
            return _latest(connection, resource_type, resource_id)

    def imports(self, resource_type: str) -> dict[str, FileImport]:
        """What loads last imported for every resource of a type, by id (for export)."""
        with self._reading() as connection:
            rows = connection.execute(select(file_import).where(file_import.c.resource_type == resource_type)).all()
        return {row.resource_id: FileImport(row.resource_type, row.resource_id, row.digest, row.version_id,
                                            row.source) for row in rows}

    def last_change(self) -> int:
        """The number of the latest write transaction: it grows with every change, through any door, so a
        reader that saw this number has seen everything up to it (the site rebuilds when it moves)."""
        with self._reading() as connection:
            return _snapshot(connection)

    def read(self, resource_type: str, resource_id: str) -> StoredVersion:
        """The current version; NotFound if never created, Gone if deleted."""
        with self._reading() as connection:
            latest = _latest(connection, resource_type, resource_id)
        if latest is None:
            raise NotFound(f"{resource_type}/{resource_id} does not exist")
        if latest.deleted:
            raise Gone(f"{resource_type}/{resource_id} was deleted (version {latest.version_id}, "
                       f"{latest.last_updated})")
        return latest

    def vread(self, resource_type: str, resource_id: str, version_id: int) -> StoredVersion:
        if not 1 <= version_id <= MAX_VERSION:
            raise NotFound(f"{resource_type}/{resource_id} has no version {version_id}")
        with self._reading() as connection:
            version = _record(resource_type, resource_id, connection.execute(
                _VERSION, {"resource_type": resource_type, "resource_id": resource_id, "version_id": version_id},
            ).first())
        if version is None:
            raise NotFound(f"{resource_type}/{resource_id} has no version {version_id}")
        if version.deleted:
            raise Gone(f"version {version_id} of {resource_type}/{resource_id} is its deletion")
        return version

    def search(self, query: SearchQuery) -> Page:
        with self._reading() as connection:
            return _search(connection, query, self._totals)

    def matching(self, query: SearchQuery) -> Iterator[StoredVersion]:
        """Every match of a search (``query``'s count is the page size), page by page of one snapshot."""
        page = self.search(replace(query, offset=0, total=False))
        while True:
            yield from page.versions
            if not page.has_next:
                return
            page = self.search(replace(query, offset=page.offset + page.count, snapshot=page.snapshot, total=False))

    def history(self, resource_type: str, resource_id: str | None = None, *, since: str | None = None,
                count: int = 20, offset: int = 0, snapshot: int | None = None) -> Page:
        """Versions newest first (of one resource, or of every resource of the type).

        ``since`` is a store timestamp: only versions made at or after it. Raises NotFound for a
        resource that never existed.
        """
        with self._reading() as connection:
            snapshot = snapshot if snapshot is not None else _snapshot(connection)
            conditions = [_V.c.resource_type == resource_type, _V.c.txn <= snapshot]
            if resource_id is not None:
                conditions.append(_V.c.resource_id == resource_id)
            if since is not None:
                conditions.append(_V.c.last_updated >= since)
            total = connection.execute(select(func.count()).where(*conditions)).scalar_one()
            if resource_id is not None and total == 0 and since is None:
                raise NotFound(f"{resource_type}/{resource_id} does not exist")
            rows = connection.execute(select(_V).where(*conditions).order_by(_V.c.pk.desc())
                                      .limit(count + 1).offset(offset)).all() if count else []
        return Page(tuple(_version(row) for row in rows[:count]), snapshot, offset, count, total,
                    len(rows) > count)

    def current(self, resource_type: str) -> Iterator[StoredVersion]:
        """Every current, undeleted resource of a type, by id (for export)."""
        with self._reading() as connection:
            snapshot = _snapshot(connection)
            statement = select(sql.V).where(sql.visible(resource_type, snapshot)).order_by(sql.V.c.resource_id)
            rows = connection.execute(statement).all()
        return (_version(row) for row in rows)
