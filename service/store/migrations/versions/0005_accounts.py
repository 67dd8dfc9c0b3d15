"""The workspace's accounts (``schema.account``): sign-in names, password hashes, roles, lock-out.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _text(length: int | None = None) -> sa.types.TypeEngine:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "account",
        sa.Column("name", _text(128), primary_key=True),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("trust", _text(16), nullable=True),
        sa.Column("network_lead", sa.Boolean, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("locked_until", _text(27), nullable=True),
        sa.Column("session_epoch", sa.Integer, nullable=False),
        sa.Column("created", _text(27), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("account")
