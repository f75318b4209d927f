"""After the meeting: QA rounds, Pupil Premium Plus requests with their decisions, the
frozen end-of-term payment schedules, and a covering index for the overview on peps.

Revision ID: 0003
Revises: 0002
Created: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "qa_rounds",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("pep_id", sa.String(), nullable=False),
        sa.Column("term_id", sa.String(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("coordinator_id", sa.String(), nullable=False),
        sa.Column("grades", JSON, nullable=False),
        sa.Column("overall", sa.String(), nullable=False),
        sa.Column("computed", sa.String(), nullable=False),
        sa.Column("override_reason", sa.String(), nullable=False),
        sa.Column("feedback", sa.String(), nullable=False),
        sa.Column("decision", sa.String(), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_qa_rounds"),
        sa.ForeignKeyConstraint(["pep_id"], ["peps.id"], name="fk_qa_rounds_pep_id_peps"),
        sa.UniqueConstraint("pep_id", "number", name="uq_qa_rounds_pep_id_number"),
    )
    op.create_index("ix_qa_rounds_term_id", "qa_rounds", ["term_id"])
    op.create_table(
        "pp_requests",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("pep_id", sa.String(), nullable=False),
        sa.Column("child_id", sa.String(), nullable=False),
        sa.Column("term_id", sa.String(), nullable=False),
        sa.Column("school_urn", sa.String(), nullable=False),
        sa.Column("school_name", sa.String(), nullable=False),
        sa.Column("row_index", sa.Integer(), nullable=False),
        sa.Column("amount_pence", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(), nullable=False),
        sa.Column("target_ref", sa.String(), nullable=False),
        sa.Column("impact", sa.String(), nullable=False),
        sa.Column("requested_by", sa.String(), nullable=False),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
        sa.Column("decision", sa.String()),
        sa.Column("approved_pence", sa.Integer()),
        sa.Column("reason", sa.String()),
        sa.Column("decided_by", sa.String()),
        sa.Column("decided_at", TIMESTAMP),
        sa.Column("pays_in_term_id", sa.String()),
        sa.Column("held_in_term_ids", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_pp_requests"),
        sa.ForeignKeyConstraint(["pep_id"], ["peps.id"], name="fk_pp_requests_pep_id_peps"),
    )
    for column in ("pep_id", "child_id", "term_id", "pays_in_term_id"):
        op.create_index(f"ix_pp_requests_{column}", "pp_requests", [column])
    op.create_index(
        "ix_peps_overview",
        "peps",
        ["term_id", "child_id", "id", "status", "meeting_held_on", "return_due"],
    )
    op.create_table(
        "pp_schedules",
        sa.Column("term_id", sa.String(), nullable=False),
        sa.Column("frozen_at", TIMESTAMP),
        sa.Column("frozen_by", sa.String()),
        sa.Column("csv", sa.String()),
        sa.Column("document", sa.LargeBinary()),
        sa.Column("document_name", sa.String()),
        sa.Column("total_pence", sa.Integer()),
        sa.Column("held_pence", sa.Integer()),
        sa.PrimaryKeyConstraint("term_id", name="pk_pp_schedules"),
    )


def downgrade() -> None:
    op.drop_index("ix_peps_overview", table_name="peps")
    for table in ("pp_schedules", "pp_requests", "qa_rounds"):
        op.drop_table(table)
