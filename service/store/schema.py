"""The tables of the resource store (SQLAlchemy Core), the same on SQLite and PostgreSQL.

Every write is a new row in ``resource_version``; nothing is updated in place, so history, vread
and snapshot searches all read the same rows. ``clock`` holds the store's one logical clock: each
write transaction takes its row lock first, so transaction numbers (``txn``) are handed out in
commit order and a search can be pinned to "everything up to txn N" for stable paging.
Timestamps are fixed-width UTC strings (``2025-01-31T09:30:00.000000Z``) so that they sort and
compare the same way on both databases.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

#: Autoincrementing keys: BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite.
Key = BigInteger().with_variant(Integer(), "sqlite")


def Str(length: int | None = None) -> String:  # noqa: N802  (a column type, named like one)
    """Text compared byte by byte on both databases (PostgreSQL's "C" collation, SQLite's BINARY),
    so that sorting and ranges agree whatever the server's locale."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")

TIMESTAMP_LENGTH = 27

metadata = MetaData()

clock = Table(
    "clock", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    #: The number of the last committed write transaction.
    Column("txn", BigInteger, nullable=False),
    #: The lastUpdated of that transaction; the next one is always later, even if the wall clock is not.
    Column("last_updated", Str(TIMESTAMP_LENGTH), nullable=False),
)

resource_version = Table(
    "resource_version", metadata,
    Column("pk", Key, primary_key=True, autoincrement=True),
    Column("txn", BigInteger, nullable=False),
    Column("resource_type", Str(64), nullable=False),
    Column("resource_id", Str(64), nullable=False),
    Column("version_id", Integer, nullable=False),
    Column("last_updated", Str(TIMESTAMP_LENGTH), nullable=False),
    #: The interaction that made this version: POST (create), PUT (update) or DELETE.
    Column("method", String(8), nullable=False),
    Column("deleted", Boolean, nullable=False),
    #: Canonical FHIR JSON (fhirformat.to_json, compact) with id and meta stamped; NULL when deleted.
    Column("content", Text, nullable=True),
    # Two writers can never both create version N of one resource: the loser gets an IntegrityError.
    UniqueConstraint("resource_type", "resource_id", "version_id", name="uq_resource_version"),
    Index("ix_resource_version_type_txn", "resource_type", "txn"),
)

search_index = Table(
    "search_index", metadata,
    Column("version_pk", Key, ForeignKey("resource_version.pk", ondelete="CASCADE"), nullable=False),
    Column("param", Str(64), nullable=False),
    #: The exact value: a string as written, a token's code, a uri, a canonical's url, an id.
    Column("value", Str(), nullable=True),
    #: A token's system, or a canonical's version.
    Column("namespace", Str(), nullable=True),
    #: A string in its matching form (case and accents folded, spaces collapsed).
    Column("normalized", Str(), nullable=True),
    #: A date's range as half-open UTC bounds [low, high).
    Column("low", Str(TIMESTAMP_LENGTH), nullable=True),
    Column("high", Str(TIMESTAMP_LENGTH), nullable=True),
    # Searches reach index rows through their version (EXISTS ... WHERE version_pk = v.pk), so text
    # values are not indexed on their own: PostgreSQL's btree cannot hold a long description.
    Index("ix_search_index_version", "version_pk", "param"),
    Index("ix_search_index_dates", "param", "low", "high"),
)
