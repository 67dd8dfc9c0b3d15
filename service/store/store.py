"""The versioned resource store: reads, searches, history, and atomic writes.

Writes happen inside ``Store.write()``, one database transaction. Its first statement advances
the ``clock`` row, which locks it until commit: writers take turns (on PostgreSQL across
processes too), transaction numbers follow commit order, and every version written gets a
``lastUpdated`` later than any before it. Optimistic locking is checked inside that turn, and the
unique (type, id, version) constraint refuses a second "version N" even if a check were raced.
"""

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Row, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..fhirformat import JsonDict
from . import sql
from .content import fingerprint, from_text, stamp, to_text
from .dates import parse_timestamp, timestamp
from .engine import IMMEDIATE, make_engine, migrate
from .errors import Gone, NotFound, PreconditionFailed, WriteConflict
from .indexing import index_rows
from .query import SearchQuery
from .records import Page, StoredVersion, WriteOutcome
from .schema import clock, resource_version, search_index

_V = resource_version


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

    def __init__(self, connection: Connection, txn: int, last_updated: str) -> None:
        self._connection = connection
        self.txn = txn
        self.last_updated = last_updated

    def latest(self, resource_type: str, resource_id: str) -> StoredVersion | None:
        """The newest version, deleted or not, as this transaction sees it."""
        return _latest(self._connection, resource_type, resource_id)

    def search(self, query: SearchQuery) -> Page:
        """Search as this transaction sees the store (for conditional create)."""
        return _search(self._connection, query)

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

    def create(self, resource: JsonDict, resource_id: str | None = None) -> StoredVersion:
        """A new resource; its id is ``resource_id`` if the server chose one already, else a new UUID."""
        return self._insert(resource["resourceType"], resource_id or new_id(), 1, "POST", resource)

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
        if latest is not None and latest.resource is not None and fingerprint(latest.resource) == fingerprint(resource):
            return WriteOutcome(latest, created=False, changed=False)
        version_id = latest.version_id + 1 if latest else 1
        version = self._insert(resource_type, resource_id, version_id, "PUT", resource)
        return WriteOutcome(version, created=latest is None or latest.deleted)

    def delete(self, resource_type: str, resource_id: str, if_match: int | None = None) -> StoredVersion | None:
        """Mark the resource deleted (a new version); None when there was nothing to delete."""
        latest = self.latest(resource_type, resource_id)
        if if_match is not None and (latest is None or latest.version_id != if_match):
            raise PreconditionFailed(f"If-Match asked for version {if_match} of {resource_type}/{resource_id}, "
                                     "which is not the current version")
        if latest is None or latest.deleted:
            return None
        return self._insert(resource_type, resource_id, latest.version_id + 1, "DELETE", None)


class Store:
    """A versioned FHIR resource store on one database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str) -> "Store":
        """Connect to the database at ``url`` and bring its schema up to date."""
        engine = make_engine(url)
        migrate(engine)
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def write(self) -> Iterator[Writer]:
        """One atomic write: everything done with the Writer commits together, or not at all."""
        with self.engine.connect().execution_options(**{IMMEDIATE: True}) as connection, connection.begin():
            txn, previous = connection.execute(
                update(clock).where(clock.c.id == 1).values(txn=clock.c.txn + 1)
                .returning(clock.c.txn, clock.c.last_updated)
            ).one()
            now = max(datetime.now(UTC), parse_timestamp(previous) + timedelta(microseconds=1))
            connection.execute(update(clock).where(clock.c.id == 1).values(last_updated=timestamp(now)))
            yield Writer(connection, txn, timestamp(now))

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
