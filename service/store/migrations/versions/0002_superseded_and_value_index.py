"""Visibility on the row, and an index on search values.

- ``resource_version.superseded_txn``: the txn of the resource's next version (NULL for the
  newest), filled in here for every stored version, so that "current at snapshot N" no longer
  needs a look at newer rows (``sql.visible``).
- ``ix_search_index_value``: (param, the first 128 characters of value and of namespace), for
  token, uri and exact string searches, which used to visit every version of the type.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

#: Written out here rather than imported, so that this revision stays what it was if the schema changes.
VALUE_PREFIX = 128


def upgrade() -> None:
    with op.batch_alter_table("resource_version") as table:
        table.add_column(sa.Column("superseded_txn", sa.BigInteger, nullable=True))
    # Version ids of a resource are consecutive (each write makes latest + 1), and later versions
    # have later txns; min() keeps this right even if a number were ever skipped.
    op.execute(sa.text(
        "UPDATE resource_version SET superseded_txn = ("
        " SELECT min(newer.txn) FROM resource_version AS newer"
        " WHERE newer.resource_type = resource_version.resource_type"
        " AND newer.resource_id = resource_version.resource_id"
        " AND newer.version_id > resource_version.version_id)"
        " WHERE EXISTS (SELECT 1 FROM resource_version AS newer"
        " WHERE newer.resource_type = resource_version.resource_type"
        " AND newer.resource_id = resource_version.resource_id"
        " AND newer.version_id > resource_version.version_id)"
    ))
    op.create_index("ix_search_index_value", "search_index",
                    ["param", sa.text(f"substr(value, 1, {VALUE_PREFIX})"),
                     sa.text(f"substr(namespace, 1, {VALUE_PREFIX})")])


def downgrade() -> None:
    op.drop_index("ix_search_index_value", "search_index")
    with op.batch_alter_table("resource_version") as table:
        table.drop_column("superseded_txn")
