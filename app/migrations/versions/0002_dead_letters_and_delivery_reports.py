"""Dead letters, SMS messages and delivery reports.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 19:31:22.944883
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sms_messages",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "delivery_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("gateway", sa.String(length=16), nullable=False),
        sa.Column("provider_message_id", sa.String(length=128), nullable=False),
        sa.Column("recipient", sa.String(length=20), nullable=False),
        sa.Column("report_state", sa.String(length=16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sms_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sms_messages_delivery_id"), ["delivery_id"], unique=False
        )
        batch_op.create_index(
            "ix_sms_messages_provider", ["gateway", "provider_message_id"], unique=False
        )

    op.create_table(
        "delivery_reports",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("gateway", sa.String(length=16), nullable=False),
        sa.Column("provider_message_id", sa.String(length=128), nullable=False),
        sa.Column("recipient", sa.String(length=20), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("raw_status", sa.String(length=64), nullable=False),
        sa.Column(
            "sms_message_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["sms_message_id"],
            ["sms_messages.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "undelivered", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deliveries_failing",
            ["room_id", "channel", "created_at"],
            unique=False,
            sqlite_where=sa.text("last_error IS NOT NULL"),
            postgresql_where=sa.text("last_error IS NOT NULL"),
        )
        batch_op.add_column(sa.Column("gateway", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("report_state", sa.String(length=16), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_failing")
        batch_op.drop_column("report_state")
        batch_op.drop_column("gateway")

    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_column("undelivered")

    op.drop_table("delivery_reports")
    with op.batch_alter_table("sms_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_sms_messages_provider")
        batch_op.drop_index(batch_op.f("ix_sms_messages_delivery_id"))

    op.drop_table("sms_messages")
