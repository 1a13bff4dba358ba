"""transfers: SIM transfers, orders and subunits (issue 13)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 03:00:00.000000
"""

from __future__ import annotations

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Reserved so parallel work can add migrations in a fixed order; filled by its issue.
    pass


def downgrade() -> None:
    pass
