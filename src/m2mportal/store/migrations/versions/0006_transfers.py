"""transfers: SIM transfers, allowed transfer relations and SIM orders (issue 13)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 03:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "transfers",
        sa.Column("transaction_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("signup_id", sa.BigInteger(), nullable=False),
        sa.Column("sender_partner_id", sa.BigInteger(), nullable=False),
        sa.Column("receiver_partner_id", sa.BigInteger(), nullable=False),
        sa.Column("subunit_partner_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("decided_at", sa.String(length=32), nullable=True),
        sa.Column("completed_at", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["signup_id"], ["actions.signup_id"], name=op.f("fk_transfers_signup_id_actions")
        ),
        sa.ForeignKeyConstraint(
            ["sender_partner_id"],
            ["partners.id"],
            name=op.f("fk_transfers_sender_partner_id_partners"),
        ),
        sa.ForeignKeyConstraint(
            ["receiver_partner_id"],
            ["partners.id"],
            name=op.f("fk_transfers_receiver_partner_id_partners"),
        ),
        sa.ForeignKeyConstraint(
            ["subunit_partner_id"],
            ["partners.id"],
            name=op.f("fk_transfers_subunit_partner_id_partners"),
        ),
        sa.PrimaryKeyConstraint("transaction_id", name=op.f("pk_transfers")),
    )
    with op.batch_alter_table("transfers", schema=None) as batch_op:
        batch_op.create_index("ix_transfers_signup_id", ["signup_id"], unique=True)
        batch_op.create_index("ix_transfers_sender_partner_id", ["sender_partner_id"])
        batch_op.create_index("ix_transfers_receiver_partner_id", ["receiver_partner_id"])
    op.create_table(
        "transfer_partners",
        sa.Column("partner_id", sa.BigInteger(), nullable=False),
        sa.Column("target_partner_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_transfer_partners_partner_id_partners")
        ),
        sa.ForeignKeyConstraint(
            ["target_partner_id"],
            ["partners.id"],
            name=op.f("fk_transfer_partners_target_partner_id_partners"),
        ),
        sa.PrimaryKeyConstraint(
            "partner_id", "target_partner_id", name=op.f("pk_transfer_partners")
        ),
    )
    op.create_table(
        "orders",
        sa.Column("signup_id", sa.BigInteger(), nullable=False),
        sa.Column("partner_id", sa.BigInteger(), nullable=False),
        sa.Column("material_id", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("override_moq", sa.Boolean(), nullable=False),
        sa.Column("tariff_id", sa.BigInteger(), nullable=True),
        sa.Column("delivered_at", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["signup_id"], ["actions.signup_id"], name=op.f("fk_orders_signup_id_actions")
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_orders_partner_id_partners")
        ),
        sa.ForeignKeyConstraint(
            ["material_id"], ["materials.id"], name=op.f("fk_orders_material_id_materials")
        ),
        sa.PrimaryKeyConstraint("signup_id", name=op.f("pk_orders")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index("ix_orders_delivered_at", ["delivered_at"])


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_delivered_at")
    op.drop_table("orders")
    op.drop_table("transfer_partners")
    with op.batch_alter_table("transfers", schema=None) as batch_op:
        batch_op.drop_index("ix_transfers_receiver_partner_id")
        batch_op.drop_index("ix_transfers_sender_partner_id")
        batch_op.drop_index("ix_transfers_signup_id")
    op.drop_table("transfers")
