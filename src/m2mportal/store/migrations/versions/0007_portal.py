"""portal: the customer portal (issue 14)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 03:00:00.000000
"""

from __future__ import annotations

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Reserved so parallel work can add migrations in a fixed order; filled by its issue.
    pass


def downgrade() -> None:
    pass
