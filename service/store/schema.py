"""The tables of the resource store (SQLAlchemy Core), the same on SQLite and PostgreSQL.

Every write is a new row in ``resource_version``; the content of a version is never changed, so
history, vread and snapshot searches all read the same rows. The one column written later is
``superseded_txn``: the transaction that made the next version, set in that same transaction, so
that "the version current at snapshot N" is a condition on the row itself (see ``sql.visible``).
``clock`` holds the store's one logical clock: each write transaction takes its row lock first,
so transaction numbers (``txn``) are handed out in commit order and a search can be pinned to
"everything up to txn N" for stable paging.
Timestamps are fixed-width UTC strings (``2025-01-31T09:30:00.000000Z``) so that they sort and
compare the same way on both databases.
"""

from typing import Any, Final

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
    func,
    literal_column,
)

#: Autoincrementing keys: BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite.
Key = BigInteger().with_variant(Integer(), "sqlite")


def Str(length: int | None = None) -> String:  # noqa: N802  (a column type, named like one)
    """Text compared byte by byte on both databases (PostgreSQL's "C" collation, SQLite's BINARY),
    so that sorting and ranges agree whatever the server's locale."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")

TIMESTAMP_LENGTH = 27
#: How many characters of a search value its index holds (PostgreSQL's btree cannot hold a long
#: description whole); searches compare this prefix, to use the index, and then the whole value.
VALUE_PREFIX: Final = 128


def value_prefix(column: Any) -> Any:
    """The indexed prefix of a search value column: the same expression in the index and in queries
    (constants written into the SQL, not bound, so both databases match it to the index)."""
    return func.substr(column, literal_column("1"), literal_column(str(VALUE_PREFIX)))


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
    #: The txn of the next version of the same resource; NULL while this is the newest version.
    Column("superseded_txn", BigInteger, nullable=True),
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
    Index("ix_search_index_version", "version_pk", "param"),
    Index("ix_search_index_dates", "param", "low", "high"),
)
# Token, uri and exact string searches start from the values (the few index rows that match), then
# visit their versions. Bounded prefixes of value and namespace, because PostgreSQL's btree cannot
# hold a long description whole; a search for a shorter text needs nothing else (``sql._equals``).
Index("ix_search_index_value", search_index.c.param, value_prefix(search_index.c.value),
      value_prefix(search_index.c.namespace))
