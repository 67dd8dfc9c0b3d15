"""The versioned resource store: reads, searches, history, and atomic writes.

Writes happen inside ``Store.write()``, one database transaction. Its first statement advances
the ``clock`` row, which locks it until commit: writers take turns (on PostgreSQL across
processes too), transaction numbers follow commit order, and every version written gets a
``lastUpdated`` later than any before it. Optimistic locking is checked inside that turn, and the
unique (type, id, version) constraint refuses a second "version N" even if a check were raced.

Every write names its agent, and every version it makes gets its Provenance (``audit``) in the
same transaction. A ``Permit`` given to the write sees each change, with the content it replaces,
before it is made, so access rules are checked against what is stored inside the same turn.
"""

import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Row, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..fhirformat import JsonDict
from . import sql
from .audit import AUDIT_TYPE, Activity, Agent, local_admin, provenance
from .content import fingerprint, from_text, stamp, to_text
from .dates import parse_timestamp, timestamp
from .engine import IMMEDIATE, make_engine, migrate
from .errors import Gone, NotFound, PreconditionFailed, WriteConflict
from .indexing import index_rows
from .query import SearchQuery
from .records import Page, StoredVersion, WriteOutcome
from .schema import clock, resource_version, search_index

_V = resource_version

#: Called before each change with (type, stored content or None, new content or None); raises to refuse it.
Permit = Callable[[str, JsonDict | None, JsonDict | None], None]
#: The largest version number the schema holds (a 32-bit INTEGER on both databases).
MAX_VERSION = 2**31 - 1
#: Whoever uses a store opened without saying otherwise: a process with the database in hand.
LOCAL_ADMIN = local_admin()


def _version(row: Row[Any]) -> StoredVersion:
    return StoredVersion(
        resource_type=row.resource_type, resource_id=row.resource_id, version_id=row.version_id,
        last_updated=row.last_updated, method=row.method,
        resource=None if row.deleted else from_text(row.content),
    )


def _snapshot(connection: Connection) -> int:
    return connection.execute(select(clock.c.txn).where(clock.c.id == 1)).scalar_one()


def _latest(connection: Connection, resource_type: str, resource_id: str) -> StoredVersion | None:
    row = connection.execute(
        select(_V).where(_V.c.resource_type == resource_type, _V.c.resource_id == resource_id)
        .order_by(_V.c.version_id.desc()).limit(1)
    ).first()
    return _version(row) if row else None


def _search(connection: Connection, query: SearchQuery) -> Page:
    snapshot = query.snapshot if query.snapshot is not None else _snapshot(connection)
    matching = sql.matches(query, snapshot)
    total = None
    if query.total:
        total = connection.execute(select(func.count()).select_from(matching.subquery())).scalar_one()
    rows: Sequence[Row[Any]] = []
    if query.count:
        statement = sql.ordered(matching, query.sort).limit(query.count + 1).offset(query.offset)
        rows = connection.execute(statement).all()
    return Page(tuple(_version(row) for row in rows[:query.count]), snapshot, query.offset, query.count,
                total, len(rows) > query.count)


def new_id() -> str:
    """A server-assigned logical id."""
    return str(uuid.uuid4())


class Writer:
    """The writes of one transaction. Made by ``Store.write()``; never kept after it."""

    def __init__(self, connection: Connection, txn: int, last_updated: str, agent: Agent,
                 permit: Permit | None = None) -> None:
        self._connection = connection
        self.txn = txn
        self.last_updated = last_updated
        self.agent = agent
        self._permit = permit

    def latest(self, resource_type: str, resource_id: str) -> StoredVersion | None:
        """The newest version, deleted or not, as this transaction sees it."""
        return _latest(self._connection, resource_type, resource_id)

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

    def _insert(self, resource_type: str, resource_id: str, version_id: int, method: str,
                resource: JsonDict | None) -> StoredVersion:
        stamped = None if resource is None else stamp(resource, resource_id, version_id, self.last_updated)
        try:
            pk = self._connection.execute(insert(_V).values(
                txn=self.txn, resource_type=resource_type, resource_id=resource_id, version_id=version_id,
                last_updated=self.last_updated, method=method, deleted=stamped is None,
                content=None if stamped is None else to_text(stamped),
            ).returning(_V.c.pk)).scalar_one()
        except IntegrityError:
            raise WriteConflict(f"{resource_type}/{resource_id} was changed by another request at the same "
                                "moment; read it again and retry") from None
        if stamped is not None:
            rows = index_rows(pk, resource_type, stamped)
            if rows:
                self._connection.execute(insert(search_index), rows)
        return StoredVersion(resource_type, resource_id, version_id, self.last_updated, method, stamped)

    def _write(self, resource_type: str, resource_id: str, version_id: int, method: str, activity: Activity,
               resource: JsonDict | None) -> StoredVersion:
        """Insert a version and its audit record."""
        version = self._insert(resource_type, resource_id, version_id, method, resource)
        if resource_type != AUDIT_TYPE:
            self._insert(AUDIT_TYPE, new_id(), 1, "POST", provenance(version, activity, self.agent))
        return version

    def create(self, resource: JsonDict, resource_id: str | None = None) -> StoredVersion:
        """A new resource; its id is ``resource_id`` if the server chose one already, else a new UUID."""
        resource_type = resource["resourceType"]
        self._check(resource_type, None, resource)
        return self._write(resource_type, resource_id or new_id(), 1, "POST", Activity.CREATE, resource)

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
        self._check(resource_type, latest, resource)
        if latest is not None and latest.resource is not None and fingerprint(latest.resource) == fingerprint(resource):
            return WriteOutcome(latest, created=False, changed=False)
        created = latest is None or latest.deleted
        version_id = latest.version_id + 1 if latest else 1
        activity = Activity.CREATE if created else Activity.UPDATE
        version = self._write(resource_type, resource_id, version_id, "PUT", activity, resource)
        return WriteOutcome(version, created=created)

    def delete(self, resource_type: str, resource_id: str, if_match: int | None = None) -> StoredVersion | None:
        """Mark the resource deleted (a new version); None when there was nothing to delete."""
        latest = self.latest(resource_type, resource_id)
        if if_match is not None and (latest is None or latest.version_id != if_match):
            raise PreconditionFailed(f"If-Match asked for version {if_match} of {resource_type}/{resource_id}, "
                                     "which is not the current version")
        if latest is None or latest.deleted:
            return None
        self._check(resource_type, latest, None)
        return self._write(resource_type, resource_id, latest.version_id + 1, "DELETE", Activity.DELETE, None)


class Store:
    """A versioned FHIR resource store on one database."""

    def __init__(self, engine: Engine, operator: Agent | None = LOCAL_ADMIN) -> None:
        self.engine = engine
        #: The agent of writes that name none; None makes every write name its own (the API's store).
        self.operator = operator

    @classmethod
    def open(cls, url: str, operator: Agent | None = LOCAL_ADMIN) -> "Store":
        """Connect to the database at ``url`` and bring its schema up to date."""
        engine = make_engine(url)
        migrate(engine)
        return cls(engine, operator)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def write(self, agent: Agent | None = None, permit: Permit | None = None) -> Iterator[Writer]:
        """One atomic write by ``agent`` (default: the store's operator): everything done with the
        Writer, audit records included, commits together or not at all."""
        agent = agent or self.operator
        if agent is None:
            raise ValueError("this store records who writes: the write must name its agent")
        with self.engine.connect().execution_options(**{IMMEDIATE: True}) as connection, connection.begin():
            txn, previous = connection.execute(
                update(clock).where(clock.c.id == 1).values(txn=clock.c.txn + 1)
                .returning(clock.c.txn, clock.c.last_updated)
            ).one()
            now = max(datetime.now(UTC), parse_timestamp(previous) + timedelta(microseconds=1))
            connection.execute(update(clock).where(clock.c.id == 1).values(last_updated=timestamp(now)))
            yield Writer(connection, txn, timestamp(now), agent, permit)

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        with self.engine.connect() as connection, connection.begin():
            yield connection

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
            row = connection.execute(select(_V).where(
                _V.c.resource_type == resource_type, _V.c.resource_id == resource_id,
                _V.c.version_id == version_id)).first()
        if row is None:
            raise NotFound(f"{resource_type}/{resource_id} has no version {version_id}")
        version = _version(row)
        if version.deleted:
            raise Gone(f"version {version_id} of {resource_type}/{resource_id} is its deletion")
        return version

    def search(self, query: SearchQuery) -> Page:
        with self._reading() as connection:
            return _search(connection, query)

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
