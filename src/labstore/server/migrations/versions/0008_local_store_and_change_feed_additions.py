"""local store and change feed additions (issue 4)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22

Reserved so parallel work streams each own one migration file; empty until its issue fills it.
"""

from collections.abc import Sequence

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
