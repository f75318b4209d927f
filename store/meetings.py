"""Scheduled PEP meetings (pep_model/meetings.py MeetingRepository) and the
conversation references the bot keeps for proactive messages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from pep_model.errors import StaleVersion
from pep_model.meetings import MeetingAttendee, MeetingStatus, PepMeeting
from store.connection import StoreConnection
from store.tables import conversation_refs, meetings


def _values(meeting: PepMeeting) -> dict[str, Any]:
    return {
        "child_id": meeting.child_id,
        "term_id": meeting.term_id,
        "status": meeting.status.value,
        "organiser_id": meeting.organiser_id,
        "starts_at": meeting.starts_at,
        "ends_at": meeting.ends_at,
        "attendees": [
            {"email": a.email, "name": a.name, "role": a.role, "required": a.required}
            for a in meeting.attendees
        ],
        "virtual_school_attending": list(meeting.virtual_school_attending),
        "generation": meeting.generation,
        "updated_at": datetime.now(UTC),
    }


def _meeting(row: Any) -> PepMeeting:
    return PepMeeting(
        pep_id=row.pep_id,
        child_id=row.child_id,
        term_id=row.term_id,
        organiser_id=row.organiser_id,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        attendees=tuple(
            MeetingAttendee(
                str(a["email"]),
                str(a.get("name") or ""),
                str(a.get("role") or "other"),
                bool(a.get("required", True)),
            )
            for a in row.attendees or []
        ),
        status=MeetingStatus(row.status),
        virtual_school_attending=tuple(row.virtual_school_attending or ()),
        generation=row.generation,
        version=row.version,
    )


class SqlMeetingRepository:
    def __init__(self, db: StoreConnection) -> None:
        self.db = db

    async def get(self, pep_id: str) -> PepMeeting | None:
        row = (
            await self.db.read(select(meetings).where(meetings.c.pep_id == pep_id), point=True)
        ).first()
        return _meeting(row) if row else None

    async def add(self, meeting: PepMeeting) -> bool:
        values = _values(meeting)
        inserted = await self.db.write(
            self.db.insert(meetings)
            .values(pep_id=meeting.pep_id, version=0, **values)
            .on_conflict_do_nothing(index_elements=["pep_id"])
        )
        if inserted.rowcount != 1:
            replaced = await self.db.write(
                update(meetings)
                .where(
                    meetings.c.pep_id == meeting.pep_id,
                    meetings.c.status == MeetingStatus.CANCELLED.value,
                )
                .values(version=0, **values)
            )
            if replaced.rowcount != 1:
                return False
        meeting.version = 0
        return True

    async def save(self, meeting: PepMeeting, expected_version: int) -> None:
        result = await self.db.write(
            update(meetings)
            .where(meetings.c.pep_id == meeting.pep_id, meetings.c.version == expected_version)
            .values(version=expected_version + 1, **_values(meeting))
        )
        if result.rowcount != 1:
            raise StaleVersion(
                f"meeting {meeting.pep_id} is no longer at version {expected_version}"
            )
        meeting.version = expected_version + 1

    async def find(self, term_id: str) -> list[PepMeeting]:
        rows = await self.db.read(
            select(meetings).where(meetings.c.term_id == term_id).order_by(meetings.c.pep_id)
        )
        return [_meeting(r) for r in rows]


class SqlConversationRefs:
    """Where the bot can post without being spoken to: "person:<id>" (their personal
    chat) and "channel:virtual_school". A reference is ids and a service URL only."""

    def __init__(self, db: StoreConnection) -> None:
        self.db = db

    async def remember(self, ref_id: str, reference: dict[str, str]) -> None:
        insert = self.db.insert(conversation_refs).values(
            id=ref_id, reference=reference, updated_at=datetime.now(UTC)
        )
        await self.db.write(
            insert.on_conflict_do_update(
                index_elements=["id"],
                set_={
                    "reference": insert.excluded.reference,
                    "updated_at": insert.excluded.updated_at,
                },
            )
        )

    async def get(self, ref_id: str) -> dict[str, str] | None:
        row = (
            await self.db.read(
                select(conversation_refs.c.reference).where(conversation_refs.c.id == ref_id),
                point=True,
            )
        ).first()
        return dict(row.reference) if row else None

    async def any(self) -> dict[str, str] | None:
        """Some reference, for its service URL, tenant and bot id."""
        row = (
            await self.db.read(
                select(conversation_refs.c.reference)
                .order_by(conversation_refs.c.updated_at.desc())
                .limit(1)
            )
        ).first()
        return dict(row.reference) if row else None
