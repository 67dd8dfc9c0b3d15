"""The first schema: the clock, every resource version, and the search index.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Key = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def Str(length: int | None = None) -> sa.String:  # noqa: N802
    """Byte-order text on both databases (see schema.Str)."""
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "clock",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("txn", sa.BigInteger, nullable=False),
        sa.Column("last_updated", Str(27), nullable=False),
    )
    op.bulk_insert(sa.table("clock", sa.column("id"), sa.column("txn"), sa.column("last_updated")),
                   [{"id": 1, "txn": 0, "last_updated": "0001-01-01T00:00:00.000000Z"}])
    op.create_table(
        "resource_version",
        sa.Column("pk", Key, primary_key=True, autoincrement=True),
        sa.Column("txn", sa.BigInteger, nullable=False),
        sa.Column("resource_type", Str(64), nullable=False),
        sa.Column("resource_id", Str(64), nullable=False),
        sa.Column("version_id", sa.Integer, nullable=False),
        sa.Column("last_updated", Str(27), nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("content", sa.Text, nullable=True),
        sa.UniqueConstraint("resource_type", "resource_id", "version_id", name="uq_resource_version"),
    )
    op.create_index("ix_resource_version_type_txn", "resource_version", ["resource_type", "txn"])
    op.create_table(
        "search_index",
        sa.Column("version_pk", Key, sa.ForeignKey("resource_version.pk", ondelete="CASCADE"), nullable=False),
        sa.Column("param", Str(64), nullable=False),
        sa.Column("value", Str(), nullable=True),
        sa.Column("namespace", Str(), nullable=True),
        sa.Column("normalized", Str(), nullable=True),
        sa.Column("low", Str(27), nullable=True),
        sa.Column("high", Str(27), nullable=True),
    )
    op.create_index("ix_search_index_version", "search_index", ["version_pk", "param"])
    op.create_index("ix_search_index_dates", "search_index", ["param", "low", "high"])


def downgrade() -> None:
    op.drop_table("search_index")
    op.drop_table("resource_version")
    op.drop_table("clock")
