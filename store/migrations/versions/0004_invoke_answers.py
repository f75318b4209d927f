"""The answers given to invokes, so that a retried invoke reaching any instance is
answered once (bot/invoke_replay.py; docs/store.md, "Invokes answered once").

Revision ID: 0004
Revises: 0003
Created: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "invoke_answers",
        sa.Column("conversation_id", sa.String(), nullable=False),
        sa.Column("activity_id", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("answer", JSON),
        sa.Column("lease_until", TIMESTAMP),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("conversation_id", "activity_id", name="pk_invoke_answers"),
    )
    op.create_index("ix_invoke_answers_created_at", "invoke_answers", ["created_at"])


def downgrade() -> None:
    op.drop_table("invoke_answers")
