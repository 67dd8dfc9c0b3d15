"""Filling a store with many pathways fast, for the API benchmark, through the store's batch writes.

``bulk_create`` writes large batches, each one ``Store.write()`` transaction (the store's clock,
transaction number, lastUpdated and agent), with ``Writer.create_many``: for every resource exactly
the rows ``Writer.create`` makes (they share the code), in a few statements per batch. The runner
builds batches in several processes with ``prepare`` (``store.prepare_creates``, which needs no
database) and inserts them with ``insert_prepared`` (``Writer.insert_batch``).

``check`` still writes the same resources both ways (one ``Writer.create`` at a time, and
``bulk_create``) into two scratch stores and compares every table of the schema; the runner refuses
to measure (and says why) if they differ. What is measured as *ingest* is the real path
(``transfer.store_files``), never this one.
"""

import itertools
import json
import tempfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from service.store import Store
from service.store.audit import AUDIT_TYPE, Agent
from service.store.schema import metadata, resource_version, search_index
from service.store.store import Batch, Writer, prepare_creates

BATCH = 5000

#: What ``prepare`` hands back (picklable, so it can be built in another process).
Prepared = Batch


def bulk_create(store: Store, resources: Iterable[dict[str, Any]], batch: int = BATCH) -> int:
    """Create every resource (version 1, with its id) in transactions of ``batch``; returns the count."""
    count = 0
    iterator = iter(resources)
    while chunk := list(itertools.islice(iterator, batch)):
        with store.write() as writer:
            writer.create_many([(resource, resource["id"]) for resource in chunk])
        count += len(chunk)
    return count


def prepare(resources: list[dict[str, Any]], txn: int, last_updated: str, agent: Agent) -> Prepared:
    """The rows ``Writer.create`` makes for each resource, in its order, for the write ``txn``."""
    return prepare_creates(resources, txn, last_updated, agent)


def insert_prepared(writer: Writer, prepared: Prepared) -> None:
    """Insert prepared rows in the writer's transaction (the one whose txn they were prepared for)."""
    writer.insert_batch(prepared)


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
