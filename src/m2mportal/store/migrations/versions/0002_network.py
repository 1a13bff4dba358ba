"""the network: usage records, data sessions, SMS and voice records

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "network_records",
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("iccid", sa.String(length=20), nullable=False),
        sa.Column("recorded_at", sa.String(length=32), nullable=False),
        sa.Column("received_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("record_id", name=op.f("pk_network_records")),
    )
    with op.batch_alter_table("network_records", schema=None) as batch_op:
        batch_op.create_index("ix_network_records_recorded_at", ["recorded_at"], unique=False)

    op.create_table(
        "data_sessions",
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("iccid", sa.String(length=20), nullable=False),
        sa.Column("apn", sa.String(length=100), nullable=False),
        sa.Column("ip_address", sa.String(length=45), nullable=True),
        sa.Column("rat_type", sa.String(length=16), nullable=False),
        sa.Column("imei", sa.String(length=16), nullable=True),
        sa.Column("mcc", sa.String(length=3), nullable=False),
        sa.Column("mnc", sa.String(length=3), nullable=False),
        sa.Column("started_at", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.Column("ended_at", sa.String(length=32), nullable=True),
        sa.Column("bytes_up", sa.BigInteger(), nullable=False),
        sa.Column("bytes_down", sa.BigInteger(), nullable=False),
        sa.Column("end_cause", sa.String(length=64), nullable=True),
        sa.Column("restriction_reason", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_data_sessions")),
    )
    with op.batch_alter_table("data_sessions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_data_sessions_iccid_started_at", ["iccid", "started_at"], unique=False
        )
        batch_op.create_index("ix_data_sessions_started_at", ["started_at"], unique=False)

    op.create_table(
        "sms_records",
        sa.Column("sms_id", sa.String(length=64), nullable=False),
        sa.Column("iccid", sa.String(length=20), nullable=False),
        sa.Column("direction", sa.String(length=2), nullable=False),
        sa.Column("sent_at", sa.String(length=32), nullable=False),
        sa.Column("originator", sa.String(length=32), nullable=False),
        sa.Column("destination", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_at", sa.String(length=32), nullable=False),
        sa.Column("expires_at", sa.String(length=32), nullable=True),
        sa.Column("mcc", sa.String(length=3), nullable=True),
        sa.Column("mnc", sa.String(length=3), nullable=True),
        sa.Column("cost", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("sms_id", name=op.f("pk_sms_records")),
    )
    with op.batch_alter_table("sms_records", schema=None) as batch_op:
        batch_op.create_index("ix_sms_records_iccid_sent_at", ["iccid", "sent_at"], unique=False)
        batch_op.create_index("ix_sms_records_sent_at", ["sent_at"], unique=False)

    op.create_table(
        "voice_records",
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("iccid", sa.String(length=20), nullable=False),
        sa.Column("direction", sa.String(length=2), nullable=False),
        sa.Column("started_at", sa.String(length=32), nullable=False),
        sa.Column("duration_seconds", sa.Integer(), nullable=False),
        sa.Column("mcc", sa.String(length=3), nullable=False),
        sa.Column("mnc", sa.String(length=3), nullable=False),
        sa.Column("cost", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("call_id", name=op.f("pk_voice_records")),
    )
    with op.batch_alter_table("voice_records", schema=None) as batch_op:
        batch_op.create_index(
            "ix_voice_records_iccid_started_at", ["iccid", "started_at"], unique=False
        )
        batch_op.create_index("ix_voice_records_started_at", ["started_at"], unique=False)


def downgrade() -> None:
    for table, indexes in (
        ("voice_records", ("ix_voice_records_started_at", "ix_voice_records_iccid_started_at")),
        ("sms_records", ("ix_sms_records_sent_at", "ix_sms_records_iccid_sent_at")),
        ("data_sessions", ("ix_data_sessions_started_at", "ix_data_sessions_iccid_started_at")),
        ("network_records", ("ix_network_records_recorded_at",)),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for index in indexes:
                batch_op.drop_index(index)
        op.drop_table(table)
