"""Initial schema: schools, children, people, assignments, peps, audit_log, documents.

Revision ID: 0001
Revises:
Created: 2026-11-16
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)
SCOPE_SQL = (
    "CASE WHEN child_id IS NOT NULL THEN 'child:' || child_id "
    "WHEN school_urn IS NOT NULL THEN 'school:' || school_urn "
    "ELSE 'authority' END"
)
APPEND_ONLY = "audit_log is append-only: UPDATE and DELETE are refused"

SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log
        BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"""
    for verb in ("UPDATE", "DELETE")
]

POSTGRESQL_TRIGGERS = [
    f"""CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION '{APPEND_ONLY}' USING ERRCODE = 'insufficient_privilege';
        END $$""",
    """CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()""",
    """CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()""",
]


def upgrade() -> None:
    op.create_table(
        "schools",
        sa.Column("urn", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("urn", name="pk_schools"),
    )
    op.create_table(
        "children",
        sa.Column("lcs_id", sa.String(), nullable=False),
        sa.Column("first_name", sa.String(), nullable=False),
        sa.Column("last_name", sa.String(), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        sa.Column("year_group", sa.Integer(), nullable=False),
        sa.Column("school_urn", sa.String(), nullable=False),
        sa.Column("placement_type", sa.String(), nullable=False),
        sa.Column("placement_start", sa.Date()),
        sa.Column("school_start_date", sa.Date()),
        sa.Column("carer_name", sa.String(), nullable=False),
        sa.Column("legal_status", sa.String(), nullable=False),
        sa.Column("sen_status", sa.String(), nullable=False),
        sa.Column("complex_case", sa.Boolean(), nullable=False),
        sa.Column("transition_flag", sa.Boolean(), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("lcs_id", name="pk_children"),
        sa.ForeignKeyConstraint(
            ["school_urn"], ["schools.urn"], name="fk_children_school_urn_schools"
        ),
    )
    op.create_index("ix_children_school_urn", "children", ["school_urn"])
    op.create_table(
        "people",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("email", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("entra_object_id", sa.String()),
        sa.PrimaryKeyConstraint("id", name="pk_people"),
        sa.UniqueConstraint("entra_object_id", name="uq_people_entra_object_id"),
    )
    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("person_id", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("child_id", sa.String()),
        sa.Column("school_urn", sa.String()),
        sa.Column("scope", sa.String(), sa.Computed(SCOPE_SQL, persisted=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_assignments"),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name="fk_assignments_person_id_people"
        ),
        sa.ForeignKeyConstraint(
            ["child_id"], ["children.lcs_id"], name="fk_assignments_child_id_children"
        ),
        sa.UniqueConstraint(
            "person_id", "role", "scope", name="uq_assignments_person_id_role_scope"
        ),
    )
    op.create_index("ix_assignments_child_id", "assignments", ["child_id"])
    op.create_index("ix_assignments_school_urn", "assignments", ["school_urn"])
    op.create_table(
        "peps",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("child_id", sa.String(), nullable=False),
        sa.Column("term_id", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sections", JSON, nullable=False),
        sa.Column("section_versions", JSON, nullable=False),
        sa.Column("current_section", sa.String(), nullable=False),
        sa.Column("meeting", JSON),
        sa.Column("chat_id", sa.String()),
        sa.Column("meeting_held_on", sa.Date()),
        sa.Column("return_due", sa.Date()),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_peps"),
        sa.ForeignKeyConstraint(
            ["child_id"], ["children.lcs_id"], name="fk_peps_child_id_children"
        ),
        sa.UniqueConstraint("child_id", "term_id", name="uq_peps_child_id_term_id"),
    )
    op.create_index("ix_peps_term_id", "peps", ["term_id"])
    op.create_index("ix_peps_chat_id", "peps", ["chat_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("actor_id", sa.String(), nullable=False),
        sa.Column("pep_id", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("section", sa.String()),
        sa.Column("before", JSON),
        sa.Column("after", JSON),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_pep_id", "audit_log", ["pep_id"])
    op.create_table(
        "documents",
        sa.Column("child_id", sa.String(), nullable=False),
        sa.Column("term_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("filename", sa.String(), nullable=False),
        sa.Column("media_type", sa.String(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("stored_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("child_id", "term_id", "kind", name="pk_documents"),
    )
    triggers = (
        POSTGRESQL_TRIGGERS if op.get_bind().dialect.name == "postgresql" else SQLITE_TRIGGERS
    )
    for statement in triggers:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update_delete ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    for table in ("documents", "audit_log", "peps", "assignments", "people", "children", "schools"):
        op.drop_table(table)
