"""Escalation, acknowledgement and the control-room API: alert state columns,
the timeline, rooms per alert, API keys, idempotent replies, acknowledgement links
and shift handovers.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 21:29:23.810608
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("room_id", sa.String(length=64), nullable=True),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("label", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_id"),
    )
    op.create_table(
        "handovers",
        sa.Column("room_id", sa.String(length=64), nullable=False),
        sa.Column("shift_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("announced_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("alerts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("room_id", "shift_start"),
    )
    op.create_table(
        "idempotent_responses",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("principal", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("idempotent_responses", schema=None) as batch_op:
        batch_op.create_index(
            "ux_idempotent_responses", ["principal", "key"], unique=True
        )

    op.create_table(
        "ack_tokens",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "alert_pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("recipient", sa.String(length=80), nullable=False),
        sa.Column("room_id", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_pk"],
            ["alerts.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("ack_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ack_tokens_alert_pk"), ["alert_pk"], unique=False
        )

    op.create_table(
        "alert_rooms",
        sa.Column(
            "alert_pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("room_id", sa.String(length=64), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_pk"],
            ["alerts.id"],
        ),
        sa.PrimaryKeyConstraint("alert_pk", "room_id"),
    )
    with op.batch_alter_table("alert_rooms", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_alert_rooms_room_id"), ["room_id"], unique=False
        )

    op.create_table(
        "timeline",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "alert_pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_pk"],
            ["alerts.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("timeline", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_timeline_alert_pk"), ["alert_pk"], unique=False
        )

    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("escalation_policy", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "escalation_level",
                sa.Integer(),
                server_default=sa.text("0"),
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column("next_escalation_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("acknowledged_by", sa.String(length=80), nullable=True)
        )
        batch_op.add_column(
            sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("resolution", sa.String(length=32), nullable=True)
        )
        batch_op.add_column(
            sa.Column("resolution_note", sa.String(length=2000), nullable=True)
        )
        batch_op.create_index(
            batch_op.f("ix_alerts_next_escalation_at"),
            ["next_escalation_at"],
            unique=False,
        )

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("step", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "purpose",
                sa.String(length=16),
                server_default=sa.text("'alert'"),
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("recipient", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("address", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("address")
        batch_op.drop_column("recipient")
        batch_op.drop_column("purpose")
        batch_op.drop_column("step")

    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_next_escalation_at"))
        batch_op.drop_column("resolution_note")
        batch_op.drop_column("resolution")
        batch_op.drop_column("resolved_at")
        batch_op.drop_column("acknowledged_by")
        batch_op.drop_column("acknowledged_at")
        batch_op.drop_column("next_escalation_at")
        batch_op.drop_column("escalation_level")
        batch_op.drop_column("escalation_policy")

    with op.batch_alter_table("timeline", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_timeline_alert_pk"))

    op.drop_table("timeline")
    with op.batch_alter_table("alert_rooms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_rooms_room_id"))

    op.drop_table("alert_rooms")
    with op.batch_alter_table("ack_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ack_tokens_alert_pk"))

    op.drop_table("ack_tokens")
    with op.batch_alter_table("idempotent_responses", schema=None) as batch_op:
        batch_op.drop_index("ux_idempotent_responses")

    op.drop_table("idempotent_responses")
    op.drop_table("handovers")
    op.drop_table("api_keys")
