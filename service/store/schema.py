"""The tables of the resource store (SQLAlchemy Core), the same on SQLite and PostgreSQL.

Every write is a new row in ``resource_version``; the content of a version is never changed, so
history, vread and snapshot searches all read the same rows. The one column written later is
``superseded_txn``: the transaction that made the next version, set in that same transaction, so
that "the version current at snapshot N" is a condition on the row itself (see ``sql.visible``).
Each ``search_index`` row carries copies of its version's type, id, ``txn`` and ``superseded_txn``
(the last kept up to date in the same transaction), and of the indexed prefixes of its value and
namespace (``value_key``, ``namespace_key``), so that a search on one value reads one index alone:
the count is one index range, and the first page is that range in id order, stopped after a page
(see ``sql.keyed``). A deletion has no index rows, so the copies need no ``deleted``.
``clock`` holds the store's one logical clock: each write transaction takes its row lock first,
so transaction numbers (``txn``) are handed out in commit order and a search can be pinned to
"everything up to txn N" for stable paging.
Timestamps are fixed-width UTC strings (``2025-01-31T09:30:00.000000Z``) so that they sort and
compare the same way on both databases.
"""

from typing import Final

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
#: How many characters of a search value its index holds (PostgreSQL's btree cannot hold a long
#: description whole); searches compare this prefix, to use the index, and then the whole value.
VALUE_PREFIX: Final = 128


def key_of(text: str | None) -> str | None:
    """The indexed prefix of a search value (``value_key``, ``namespace_key``), as the Writer stores it."""
    return None if text is None else text[:VALUE_PREFIX]


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
    #: The first VALUE_PREFIX characters of value and of namespace (``key_of``): PostgreSQL's btree
    #: cannot hold a long description whole; a search for a shorter text needs nothing else
    #: (``sql._equals``). Real columns, not an expression index, so the index alone answers.
    Column("value_key", Str(VALUE_PREFIX), nullable=True),
    Column("namespace_key", Str(VALUE_PREFIX), nullable=True),
    #: Copies of the version's columns (``resource_version``), for visibility and order from the index.
    Column("resource_type", Str(64), nullable=False),
    Column("resource_id", Str(64), nullable=False),
    Column("txn", BigInteger, nullable=False),
    Column("superseded_txn", BigInteger, nullable=True),
    Index("ix_search_index_version", "version_pk", "param"),
    Index("ix_search_index_dates", "param", "low", "high"),
    # Token, uri and exact string searches read the rows of one value: within (type, param, value,
    # namespace) they lie in id order, with what decides visibility and the version's key beside
    # them, so counting is an index-only range scan and the first page stops after a page.
    Index("ix_search_index_key", "resource_type", "param", "value_key", "namespace_key", "resource_id", "txn",
          "superseded_txn", "version_pk"),
)

#: What ``harmonise load`` last imported from a file, per resource: the content's fingerprint (a
#: digest of ``content.fingerprint``), the stored version that content is (written by the load, or
#: found already there), and the file. A load compares a file with this, not with the store, so a
#: file unchanged since its last import never undoes a newer write made through another door.
file_import = Table(
    "file_import", metadata,
    Column("resource_type", Str(64), primary_key=True),
    Column("resource_id", Str(64), primary_key=True),
    Column("digest", Str(64), nullable=False),
    Column("version_id", Integer, nullable=False),
    #: The file, relative to the folder that holds ``pathways/`` and ``guidelines/`` (so export can write it back).
    Column("source", Text, nullable=False),
    Column("txn", BigInteger, nullable=False),
)

#: The workspace's accounts (``store.accounts``): who may sign in at ``/workspace`` and as what. Not FHIR
#: resources: a password hash must never be readable through the API, and the failure count and
#: lock-out change on every attempt, which is state, not versioned content.
account = Table(
    "account", metadata,
    Column("name", Str(128), primary_key=True),
    #: An argon2id hash in PHC form (``security.passwords``); never the password.
    Column("password_hash", Text, nullable=False),
    #: ODS code of the trust the person acts for; NULL for a network lead.
    Column("trust", Str(16), nullable=True),
    Column("network_lead", Boolean, nullable=False),
    #: Failed sign-ins in the current run (since the last success or lock-out, within the lock window).
    Column("failures", Integer, nullable=False),
    #: When the current run of failures began (fixed-width UTC); a run older than the lock window is
    #: forgotten at the next failure. NULL: no run (or failures counted before this column existed).
    Column("failures_since", Str(TIMESTAMP_LENGTH), nullable=True),
    #: No sign-in is accepted before this time (fixed-width UTC), after too many failures.
    Column("locked_until", Str(TIMESTAMP_LENGTH), nullable=True),
    #: Sessions issued before sign-out carry an older number and are no longer accepted.
    Column("session_epoch", Integer, nullable=False),
    Column("created", Str(TIMESTAMP_LENGTH), nullable=False),
)

#: Sign-in attempts per client address (``store.accounts.record_attempt``), whatever account they name: the
#: attempts of the current window and when it began. Rows of windows that have ended are deleted as others
#: are counted, so the table holds only the addresses seen within one window.
sign_in_address = Table(
    "sign_in_address", metadata,
    #: The client's address as the server sees it (behind a trusted proxy, the forwarded one).
    Column("address", Str(64), primary_key=True),
    Column("attempts", Integer, nullable=False),
    Column("since", Str(TIMESTAMP_LENGTH), nullable=False),
)
