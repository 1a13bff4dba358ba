"""pools: partner-level data, voice and SMS allowances

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 23:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pools",
        sa.Column("offering_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("partner_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("offering_name", sa.String(length=200), nullable=False),
        sa.Column("pool_type", sa.String(length=8), nullable=False),
        sa.Column("allowance", sa.BigInteger(), nullable=False),
        sa.Column("level1", sa.Integer(), nullable=False),
        sa.Column("level2", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_pools_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("offering_id", name=op.f("pk_pools")),
    )
    with op.batch_alter_table("pools", schema=None) as batch_op:
        batch_op.create_index("ix_pools_partner_id", ["partner_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pools", schema=None) as batch_op:
        batch_op.drop_index("ix_pools_partner_id")
    op.drop_table("pools")
