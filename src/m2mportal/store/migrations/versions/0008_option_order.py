"""sim_options: an index in the order SIM details list a SIM's options

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 19:45:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sim_options", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sim_options_iccid_booked_at", ["iccid", "booked_at", "option_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("sim_options", schema=None) as batch_op:
        batch_op.drop_index("ix_sim_options_iccid_booked_at")
