"""rules: limit, fraud, pool and cost rules and their state (issue 12)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 03:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sims", schema=None) as batch_op:
        batch_op.add_column(sa.Column("limit_period", sa.String(length=7), nullable=True))
        batch_op.add_column(sa.Column("limit_apn", sa.String(length=100), nullable=True))
    op.create_table(
        "rule_counters",
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("subject", "period", "rule", name=op.f("pk_rule_counters")),
    )
    op.create_table(
        "rule_firings",
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("fired_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("subject", "rule", "level", "period", name=op.f("pk_rule_firings")),
    )


def downgrade() -> None:
    op.drop_table("rule_firings")
    op.drop_table("rule_counters")
    with op.batch_alter_table("sims", schema=None) as batch_op:
        batch_op.drop_column("limit_apn")
        batch_op.drop_column("limit_period")
