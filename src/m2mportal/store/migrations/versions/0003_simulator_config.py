"""the traffic generator's control row

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 23:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "simulator_config",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("running", sa.Boolean(), nullable=False),
        sa.Column("speed", sa.Float(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("action_delay_ms", sa.Integer(), nullable=False),
        sa.Column("per_sim_delay_ms", sa.Integer(), nullable=False),
        sa.Column("position", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_simulator_config")),
    )


def downgrade() -> None:
    op.drop_table("simulator_config")
