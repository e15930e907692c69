"""Events are answered once stored and expanded into alerts after: ``expanded_at``,
and a partial index of the events still waiting. Events stored before this revision
were expanded in the request that stored them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 04:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_WHERE = sa.text("expanded_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("expanded_at", sa.DateTime(timezone=True), nullable=True)
        )
    op.execute("UPDATE events SET expanded_at = received_at")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_events_waiting",
            ["id"],
            unique=False,
            sqlite_where=_WHERE,
            postgresql_where=_WHERE,
        )


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_waiting")
        batch_op.drop_column("expanded_at")
