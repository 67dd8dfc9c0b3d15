"""Sign-in limits that forget: when an account's run of failures began, and attempts per client address.

``account.failures_since`` is when the current run of failed sign-ins began: failures of a run older
than the lock window no longer count (``store.accounts.record_failure``). Accounts that failed before
this revision have none, so their old failures are forgotten. ``sign_in_address`` counts the sign-in
attempts from one client address in the current window (``store.accounts.record_attempt``).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _text(length: int | None = None) -> sa.types.TypeEngine:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade() -> None:
    op.add_column("account", sa.Column("failures_since", _text(27), nullable=True))
    op.create_table(
        "sign_in_address",
        sa.Column("address", _text(64), primary_key=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("since", _text(27), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sign_in_address")
    with op.batch_alter_table("account") as batch:
        batch.drop_column("failures_since")
