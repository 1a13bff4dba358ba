"""portal: the customer portal (issue 14): sessions and failed logins

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 03:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "portal_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("expires_at", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["portal_users.id"], name=op.f("fk_portal_sessions_user_id_portal_users")
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_portal_sessions")),
    )
    with op.batch_alter_table("portal_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_portal_sessions_user_id", ["user_id"], unique=False)
    op.create_table(
        "portal_login_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_login_failures")),
    )
    with op.batch_alter_table("portal_login_failures", schema=None) as batch_op:
        batch_op.create_index(
            "ix_portal_login_failures_username_at", ["username", "at"], unique=False
        )
        batch_op.create_index(
            "ix_portal_login_failures_address_at", ["address", "at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("portal_login_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_portal_login_failures_address_at")
        batch_op.drop_index("ix_portal_login_failures_username_at")
    op.drop_table("portal_login_failures")
    with op.batch_alter_table("portal_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_portal_sessions_user_id")
    op.drop_table("portal_sessions")
