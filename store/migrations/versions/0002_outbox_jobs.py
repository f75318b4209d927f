"""Microsoft 365: the transactional outbox (messages and their attachments), scheduled
PEP meetings, the job runner's leases, and the bot's conversation references.

Revision ID: 0002
Revises: 0001
Created: 2026-11-17
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("pep_id", sa.String()),
        sa.Column("sequence", sa.String()),
        sa.Column("requested_by", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("available_at", TIMESTAMP, nullable=False),
        sa.Column("lease_owner", sa.String()),
        sa.Column("lease_until", TIMESTAMP),
        sa.Column("last_status", sa.Integer()),
        sa.Column("last_error", sa.String()),
        sa.Column("result", JSON),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("finished_at", TIMESTAMP),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("key", name="uq_outbox_key"),
    )
    op.create_index("ix_outbox_status_available_at", "outbox", ["status", "available_at"])
    op.create_index("ix_outbox_sequence", "outbox", ["sequence"])
    op.create_index("ix_outbox_pep_id", "outbox", ["pep_id"])
    op.create_table(
        "outbox_attachments",
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("media_type", sa.String(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("message_id", "position", name="pk_outbox_attachments"),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["outbox.id"],
            name="fk_outbox_attachments_message_id_outbox",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "meetings",
        sa.Column("pep_id", sa.String(), nullable=False),
        sa.Column("child_id", sa.String(), nullable=False),
        sa.Column("term_id", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("organiser_id", sa.String(), nullable=False),
        sa.Column("starts_at", TIMESTAMP, nullable=False),
        sa.Column("ends_at", TIMESTAMP, nullable=False),
        sa.Column("attendees", JSON, nullable=False),
        sa.Column("virtual_school_attending", JSON, nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("pep_id", name="pk_meetings"),
        sa.ForeignKeyConstraint(["pep_id"], ["peps.id"], name="fk_meetings_pep_id_peps"),
    )
    op.create_index("ix_meetings_term_id", "meetings", ["term_id"])
    op.create_table(
        "jobs",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("next_run_at", TIMESTAMP, nullable=False),
        sa.Column("lease_owner", sa.String()),
        sa.Column("lease_until", TIMESTAMP),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("last_started_at", TIMESTAMP),
        sa.Column("last_finished_at", TIMESTAMP),
        sa.Column("last_outcome", sa.String()),
        sa.PrimaryKeyConstraint("name", name="pk_jobs"),
    )
    op.create_table(
        "conversation_refs",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("reference", JSON, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_conversation_refs"),
    )


def downgrade() -> None:
    for table in ("conversation_refs", "jobs", "meetings", "outbox_attachments", "outbox"):
        op.drop_table(table)
