"""Filling a store with many pathways fast, for the API benchmark, from the store's own parts.

``Writer.create`` writes one resource at a time (a statement for the version, one for its search
rows, the same again for its audit Provenance): about 2-5 ms a pathway, so several minutes for
100,000. The benchmark instead writes large batches, each one ``Store.write()`` transaction (the
store's clock, transaction number, lastUpdated and agent), and inserts for every resource exactly
the rows ``Writer.create`` would make, built by the store's own functions: the version stamped by
``content.stamp`` and serialised by ``content.to_text``, its rows from ``indexing.index_rows``, and
its ``audit.provenance`` record with its rows, in the same order: the versions with one
``executemany`` (keys returned in order), the search rows with another (``COPY`` on PostgreSQL).

That is a copy of ``Writer._write``'s logic, which another engineer may change, so ``check`` writes
the same resources both ways into two scratch stores (SQLite, then PostgreSQL) and compares every
table of the schema; the runner refuses to measure (and says why) if they differ. What is measured
as *ingest* is the real path (``loader.load`` then ``transfer.store_loaded``), never this one.
"""

import itertools
import json
import tempfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from service.store import Store
from service.store.audit import AUDIT_TYPE, Activity, provenance
from service.store.content import stamp, to_text
from service.store.indexing import index_rows
from service.store.records import StoredVersion
from service.store.schema import metadata, resource_version, search_index
from service.store.store import new_id

BATCH = 5000


def bulk_create(store: Store, resources: Iterable[dict[str, Any]], batch: int = BATCH) -> int:
    """Create every resource (version 1, with its id) in transactions of ``batch``; returns the count."""
    count = 0
    iterator = iter(resources)
    while chunk := list(itertools.islice(iterator, batch)):
        with store.write() as writer:
            _insert(writer, chunk)
        count += len(chunk)
    return count


Prepared = tuple[list[dict[str, Any]], list[list[dict[str, Any]]]]


def prepare(resources: list[dict[str, Any]], txn: int, last_updated: str, agent: Any) -> Prepared:
    """The rows ``Writer.create`` makes for each resource, in its order: (version rows, their index rows).

    Index rows carry ``version_pk`` 0 until the versions are inserted (``insert_prepared``).
    """
    entries: list[tuple[str, str, dict[str, Any]]] = []
    for resource in resources:
        resource_type, resource_id = resource["resourceType"], resource["id"]
        stamped = stamp(resource, resource_id, 1, last_updated)
        entries.append((resource_type, resource_id, stamped))
        if resource_type != AUDIT_TYPE:
            version = StoredVersion(resource_type, resource_id, 1, last_updated, "POST", stamped)
            audit_id = new_id()
            record = stamp(provenance(version, Activity.CREATE, agent), audit_id, 1, last_updated)
            entries.append((AUDIT_TYPE, audit_id, record))
    rows = [
        {"txn": txn, "resource_type": resource_type, "resource_id": resource_id, "version_id": 1,
         "last_updated": last_updated, "method": "POST", "deleted": False, "content": to_text(stamped)}
        for resource_type, resource_id, stamped in entries
    ]
    return rows, [index_rows(0, resource_type, stamped) for resource_type, _id, stamped in entries]


def insert_prepared(writer: Any, prepared: Prepared) -> None:
    """Insert prepared rows in the writer's transaction, each index row given its version's key."""
    connection = writer._connection  # noqa: SLF001 (benchmarks only; see the module docstring)
    rows, indexes = prepared
    statement = insert(resource_version).returning(resource_version.c.pk, sort_by_parameter_order=True)
    keys = connection.execute(statement, rows).scalars().all()
    index = []
    for pk, entry_rows in zip(keys, indexes, strict=True):
        for row in entry_rows:
            row["version_pk"] = pk
            index.append(row)
    if not index:
        return
    if connection.dialect.name == "postgresql":
        # The same rows, sent with COPY: several times faster than an INSERT per row.
        columns = [column.name for column in search_index.columns]
        cursor = connection.connection.driver_connection.cursor()
        with cursor.copy(f"COPY {search_index.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in index:
                copy.write_row([row[name] for name in columns])
    else:
        connection.execute(insert(search_index), index)


def _insert(writer: Any, resources: list[dict[str, Any]]) -> None:
    insert_prepared(writer, prepare(resources, writer.txn, writer.last_updated, writer.agent))


def _snapshot(store: Store) -> dict[str, Any]:
    """Every table's rows, without what differs between two writes of the same content (keys, times, ids)."""
    found: dict[str, Any] = {}
    with store.engine.connect() as connection:
        for table in metadata.sorted_tables:
            found[f"rows:{table.name}"] = connection.execute(select(func.count()).select_from(table)).scalar_one()
        versions = connection.execute(select(resource_version)).all()
        by_pk = {row.pk: row for row in versions}
        contents = Counter()
        for row in versions:
            data = json.loads(row.content) if row.content else None
            if data is not None:
                data.get("meta", {}).pop("lastUpdated", None)
                data.pop("recorded", None)
                if row.resource_type == AUDIT_TYPE:
                    data.pop("id", None)
            key = (row.resource_type, row.version_id, row.method, row.deleted, json.dumps(data, sort_keys=True))
            contents[key] += 1
        found["versions"] = sorted(contents.items())
        index = Counter()
        for row in connection.execute(select(search_index)).all():
            version = by_pk[row.version_pk]
            audit_only = version.resource_type == AUDIT_TYPE and row.param in ("_id", "recorded")
            if row.param == "_lastUpdated" or audit_only:
                continue
            index[(version.resource_type, row.param, row.value, row.namespace, row.normalized, row.low, row.high)] += 1
        found["index"] = sorted(index.items(), key=repr)
    return found


def check(resources: list[dict[str, Any]], urls: tuple[str, str] | None = None) -> str | None:
    """None when ``bulk_create`` writes what ``Writer.create`` writes; else what differs.

    ``urls`` are two empty stores to compare in (default: two scratch SQLite files).
    """
    with tempfile.TemporaryDirectory(prefix="harmonise-bench-check-") as folder:
        scratch = Path(folder)
        writer_url, bulk_url = urls or (f"sqlite:///{scratch / 'writer.db'}", f"sqlite:///{scratch / 'bulk.db'}")
        by_writer = Store.open(writer_url)
        by_bulk = Store.open(bulk_url)
        try:
            with by_writer.write() as writer:
                for resource in resources:
                    writer.create(resource, resource["id"])
            bulk_create(by_bulk, resources)
            expected, got = _snapshot(by_writer), _snapshot(by_bulk)
        finally:
            by_writer.close()
            by_bulk.close()
    if expected == got:
        return None
    differing = [key for key in expected if expected[key] != got.get(key)]
    return f"the bulk writer no longer writes what Writer.create writes (differs in: {', '.join(differing)})"
