"""Search index rows that answer a search alone: value prefixes as columns, and visibility copies.

- ``search_index.value_key``, ``namespace_key``: the first 128 characters of value and namespace,
  as real columns (PostgreSQL cannot answer from an expression index alone).
- ``search_index.resource_type``, ``resource_id``, ``txn``, ``superseded_txn``: copies of the
  version's columns, filled in here for every row, so visibility and order come from the index.
- ``ix_search_index_key`` (type, param, value_key, namespace_key, id, txn, superseded_txn,
  version_pk) replaces ``ix_search_index_value``.

On PostgreSQL the other indexes of ``search_index`` are dropped while every row is rewritten and
made again afterwards (faster than updating them row by row). Run ``VACUUM ANALYZE search_index``
after upgrading a large database: index-only scans need the visibility map the rewrite cleared.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

#: Written out here rather than imported, so that this revision stays what it was if the schema changes.
VALUE_PREFIX = 128
KEY_COLUMNS = ["resource_type", "param", "value_key", "namespace_key", "resource_id", "txn", "superseded_txn",
               "version_pk"]
COPIED = ("resource_type", "resource_id", "txn", "superseded_txn")


def Str(length: int | None = None) -> sa.String:  # noqa: N802
    """Byte-order text on both databases (see schema.Str)."""
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.drop_index("ix_search_index_value", "search_index")
    with op.batch_alter_table("search_index") as table:
        table.add_column(sa.Column("value_key", Str(VALUE_PREFIX), nullable=True))
        table.add_column(sa.Column("namespace_key", Str(VALUE_PREFIX), nullable=True))
        table.add_column(sa.Column("resource_type", Str(64), nullable=True))
        table.add_column(sa.Column("resource_id", Str(64), nullable=True))
        table.add_column(sa.Column("txn", sa.BigInteger, nullable=True))
        table.add_column(sa.Column("superseded_txn", sa.BigInteger, nullable=True))
    prefixes = (f"value_key = substr(value, 1, {VALUE_PREFIX}), "
                f"namespace_key = substr(namespace, 1, {VALUE_PREFIX})")
    if postgresql:
        op.drop_index("ix_search_index_version", "search_index")
        op.drop_index("ix_search_index_dates", "search_index")
        copies = ", ".join(f"{name} = v.{name}" for name in COPIED)
        op.execute(sa.text(f"UPDATE search_index SET {prefixes}, {copies} FROM resource_version AS v "
                           "WHERE v.pk = search_index.version_pk"))
        op.create_index("ix_search_index_version", "search_index", ["version_pk", "param"])
        op.create_index("ix_search_index_dates", "search_index", ["param", "low", "high"])
    else:
        copies = ", ".join(f"{name} = (SELECT v.{name} FROM resource_version AS v "
                           "WHERE v.pk = search_index.version_pk)" for name in COPIED)
        op.execute(sa.text(f"UPDATE search_index SET {prefixes}, {copies}"))
    with op.batch_alter_table("search_index") as table:
        for name in ("resource_type", "resource_id", "txn"):
            table.alter_column(name, nullable=False, existing_type=sa.BigInteger if name == "txn" else Str(64))
    op.create_index("ix_search_index_key", "search_index", KEY_COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_search_index_key", "search_index")
    with op.batch_alter_table("search_index") as table:
        for name in ("superseded_txn", "txn", "resource_id", "resource_type", "namespace_key", "value_key"):
            table.drop_column(name)
    op.create_index("ix_search_index_value", "search_index",
                    ["param", sa.text(f"substr(value, 1, {VALUE_PREFIX})"),
                     sa.text(f"substr(namespace, 1, {VALUE_PREFIX})")])
