"""A version on each Pupil Premium Plus request, so a decision card made from an older
version cannot change a decision silently (docs/qa-and-pp-workflow.md, "Decided once").

Revision ID: 0005
Revises: 0004
Created: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("pp_requests") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("pp_requests") as batch:
        batch.drop_column("version")
