"""rules: limit, fraud, pool and cost rules and their state (issue 12)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 03:00:00.000000
"""

from __future__ import annotations

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Reserved so parallel work can add migrations in a fixed order; filled by its issue.
    pass


def downgrade() -> None:
    pass
