"""The schema, as SQLAlchemy Core tables. Migrations (store/migrations) create it;
tests/integration check the two agree."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Computed,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# JSON on SQLite, JSONB on PostgreSQL; Python None is SQL NULL, not JSON 'null'.
Json: TypeEngine[Any] = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")

# The assignment's scope, computed by the database from child_id / school_urn so the
# unique constraint never meets a NULL (NULLs are distinct in unique constraints).
SCOPE_SQL = (
    "CASE WHEN child_id IS NOT NULL THEN 'child:' || child_id "
    "WHEN school_urn IS NOT NULL THEN 'school:' || school_urn "
    "ELSE 'authority' END"
)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware in and out on both backends (SQLite keeps no offset: stored as
    UTC and read back as UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


schools = Table(
    "schools",
    metadata,
    Column("urn", String, primary_key=True),
    Column("name", String, nullable=False),
)

children = Table(
    "children",
    metadata,
    Column("lcs_id", String, primary_key=True),
    Column("first_name", String, nullable=False),
    Column("last_name", String, nullable=False),
    Column("date_of_birth", Date, nullable=False),
    Column("year_group", Integer, nullable=False),
    Column("school_urn", String, ForeignKey("schools.urn"), nullable=False, index=True),
    Column("placement_type", String, nullable=False, default=""),
    Column("placement_start", Date),
    Column("school_start_date", Date),
    Column("carer_name", String, nullable=False, default=""),
    Column("legal_status", String, nullable=False, default=""),
    Column("sen_status", String, nullable=False, default="none"),
    Column("complex_case", Boolean, nullable=False, default=False),
    Column("transition_flag", Boolean, nullable=False, default=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

people = Table(
    "people",
    metadata,
    Column("id", String, primary_key=True),  # lower-cased email
    Column("email", String, nullable=False),
    Column("name", String, nullable=False),
    Column("entra_object_id", String, unique=True),
)

assignments = Table(
    "assignments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("person_id", String, ForeignKey("people.id"), nullable=False),
    Column("role", String, nullable=False),
    Column("child_id", String, ForeignKey("children.lcs_id"), index=True),
    Column("school_urn", String, index=True),
    Column("scope", String, Computed(SCOPE_SQL, persisted=True), nullable=False),
    UniqueConstraint("person_id", "role", "scope"),
)

peps = Table(
    "peps",
    metadata,
    Column("id", String, primary_key=True),  # "<lcs_id>-<term_id>"
    Column("child_id", String, ForeignKey("children.lcs_id"), nullable=False),
    Column("term_id", String, nullable=False, index=True),
    Column("status", String, nullable=False),
    Column("version", Integer, nullable=False),
    Column("sections", Json, nullable=False),
    Column("section_versions", Json, nullable=False),
    Column("current_section", String, nullable=False),
    Column("meeting", Json),
    Column("chat_id", String, index=True),  # meeting.chat_id, for by_chat
    Column("meeting_held_on", Date),
    Column("return_due", Date),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("child_id", "term_id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor_id", String, nullable=False),
    Column("pep_id", String, nullable=False, index=True),
    Column("action", String, nullable=False),
    Column("section", String),
    Column("before", Json),
    Column("after", Json),
)

documents = Table(
    "documents",
    metadata,
    Column("child_id", String, nullable=False),
    Column("term_id", String, nullable=False),
    Column("kind", String, nullable=False),
    Column("filename", String, nullable=False),
    Column("media_type", String, nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("stored_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("child_id", "term_id", "kind"),
)

# ---- Microsoft 365: the transactional outbox, meetings, jobs, conversations ----------

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String, nullable=False, unique=True),  # the idempotency key
    Column("kind", String, nullable=False),
    Column("payload", Json, nullable=False),
    Column("pep_id", String, index=True),
    Column("sequence", String, index=True),  # delivered in id order within a sequence
    Column("requested_by", String, nullable=False),
    Column("status", String, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("available_at", UtcDateTime, nullable=False),
    Column("lease_owner", String),
    Column("lease_until", UtcDateTime),
    Column("last_status", Integer),
    Column("last_error", String),
    Column("result", Json),
    Column("created_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    Index("ix_outbox_status_available_at", "status", "available_at"),
)

outbox_attachments = Table(
    "outbox_attachments",
    metadata,
    Column("message_id", Integer, ForeignKey("outbox.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("name", String, nullable=False),
    Column("media_type", String, nullable=False),
    Column("content", LargeBinary, nullable=False),
    PrimaryKeyConstraint("message_id", "position"),
)

meetings = Table(
    "meetings",
    metadata,
    Column("pep_id", String, ForeignKey("peps.id"), primary_key=True),
    Column("child_id", String, nullable=False),
    Column("term_id", String, nullable=False, index=True),
    Column("status", String, nullable=False),
    Column("organiser_id", String, nullable=False),
    Column("starts_at", UtcDateTime, nullable=False),
    Column("ends_at", UtcDateTime, nullable=False),
    Column("attendees", Json, nullable=False),
    Column("virtual_school_attending", Json, nullable=False),
    Column("generation", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

jobs = Table(
    "jobs",
    metadata,
    Column("name", String, primary_key=True),
    Column("next_run_at", UtcDateTime, nullable=False),
    Column("lease_owner", String),
    Column("lease_until", UtcDateTime),
    Column("runs", Integer, nullable=False),
    Column("last_started_at", UtcDateTime),
    Column("last_finished_at", UtcDateTime),
    Column("last_outcome", String),
)

conversation_refs = Table(
    "conversation_refs",
    metadata,
    Column("id", String, primary_key=True),
    Column("reference", Json, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# ---- after the meeting: QA rounds, PP+ requests and decisions, payment schedules ------

qa_rounds = Table(
    "qa_rounds",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("pep_id", String, ForeignKey("peps.id"), nullable=False),
    Column("term_id", String, nullable=False, index=True),
    Column("number", Integer, nullable=False),
    Column("coordinator_id", String, nullable=False),
    Column("grades", Json, nullable=False),
    Column("overall", String, nullable=False),
    Column("computed", String, nullable=False),
    Column("override_reason", String, nullable=False),
    Column("feedback", String, nullable=False),
    Column("decision", String, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    UniqueConstraint("pep_id", "number"),
)

pp_requests = Table(
    "pp_requests",
    metadata,
    Column("id", String, primary_key=True),  # "<pep id>-pp<row>"
    Column("pep_id", String, ForeignKey("peps.id"), nullable=False, index=True),
    Column("child_id", String, nullable=False, index=True),
    Column("term_id", String, nullable=False, index=True),
    Column("school_urn", String, nullable=False),
    Column("school_name", String, nullable=False),
    Column("row_index", Integer, nullable=False),
    Column("amount_pence", Integer, nullable=False),
    Column("purpose", String, nullable=False),
    Column("target_ref", String, nullable=False),
    Column("impact", String, nullable=False),
    Column("requested_by", String, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("withdrawn", Boolean, nullable=False),
    Column("decision", String),  # pupil_premium.DecisionKind; NULL: open
    Column("approved_pence", Integer),
    Column("reason", String),
    Column("decided_by", String),
    Column("decided_at", UtcDateTime),
    Column("pays_in_term_id", String, index=True),
    Column("held_in_term_ids", String, nullable=False),  # ",2026-autumn," or ""
    Column("version", Integer, nullable=False, server_default="1"),  # +1 on each change
)

# The overview reads a term's PEPs through this index alone: never the row, whose
# sections JSON SQLite would otherwise step over for every child.
Index(
    "ix_peps_overview",
    peps.c.term_id,
    peps.c.child_id,
    peps.c.id,
    peps.c.status,
    peps.c.meeting_held_on,
    peps.c.return_due,
)

pp_schedules = Table(
    "pp_schedules",
    metadata,
    Column("term_id", String, primary_key=True),
    Column("frozen_at", UtcDateTime),  # NULL: not exported yet
    Column("frozen_by", String),
    Column("csv", String),
    Column("document", LargeBinary),
    Column("document_name", String),
    Column("total_pence", Integer),
    Column("held_pence", Integer),
)

# ---- invokes answered: a retried invoke (same conversation and activity id) reaching any
# instance is answered from here instead of running again (bot/invoke_replay.py) -------

invoke_answers = Table(
    "invoke_answers",
    metadata,
    Column("conversation_id", String, nullable=False),
    Column("activity_id", String, nullable=False),
    Column("user_id", String, nullable=False),  # who sent it; nobody else is answered
    Column("answer", Json),  # NULL: being worked on
    Column("lease_until", UtcDateTime),  # while being worked on
    Column("created_at", UtcDateTime, nullable=False, index=True),  # swept after a day
    PrimaryKeyConstraint("conversation_id", "activity_id"),
)

__all__ = [
    "assignments",
    "audit_log",
    "children",
    "conversation_refs",
    "documents",
    "jobs",
    "meetings",
    "metadata",
    "outbox",
    "outbox_attachments",
    "people",
    "peps",
    "schools",
]
__all__ += ["pp_requests", "pp_schedules", "qa_rounds"]
__all__ += ["invoke_answers"]
