"""The persistent, versioned FHIR resource store (SQLite embedded, PostgreSQL for scale).

- ``schema`` and ``migrations``: the tables, created and upgraded by Alembic when ``engine``
  opens a database.
- ``searchparams``: the registry of search parameters (indexing, SQL and metadata all read it),
  with ``dates`` for FHIR date ranges and ``indexing`` for the rows of one version.
- ``query`` and ``sql``: search requests checked, then turned into snapshot-pinned SQL.
- ``store``: ``Store`` (reads, search, history) and ``Writer`` (atomic, optimistic-locked writes);
  ``content`` stamps and compares what is stored, ``records`` is what comes back.
- ``audit``: the Provenance the Writer records for every version, in the same transaction.
- ``transfer`` and ``trusts``: folders of FHIR files in (with the trusts' Organizations), current
  content back out to files.
"""

from .errors import (
    Gone,
    InvalidSearch,
    NotFound,
    PreconditionFailed,
    SearchTooCostly,
    StatementTimeout,
    StoreError,
    WriteConflict,
)
from .query import Limit, SearchBudget, SearchQuery, parse_search
from .records import Page, StoredVersion, WriteOutcome
from .store import Store, Writer, new_id

__all__ = ["Gone", "InvalidSearch", "Limit", "NotFound", "Page", "PreconditionFailed", "SearchBudget", "SearchQuery",
           "SearchTooCostly", "StatementTimeout", "Store", "StoreError", "StoredVersion", "WriteConflict",
           "WriteOutcome", "Writer", "new_id", "parse_search"]
