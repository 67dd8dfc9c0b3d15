"""What each load last imported from a file (``schema.file_import``), so a load never undoes a newer write.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _text(length: int | None = None) -> sa.types.TypeEngine:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "file_import",
        sa.Column("resource_type", _text(64), primary_key=True),
        sa.Column("resource_id", _text(64), primary_key=True),
        sa.Column("digest", _text(64), nullable=False),
        sa.Column("version_id", sa.Integer, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("txn", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("file_import")
