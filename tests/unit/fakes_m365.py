"""In-memory fakes of the outbox and meeting ports, used by tests/unit/fakes.py's unit of
work. Same journal discipline as the other fakes: writes reach the shared state at once
and are undone when the unit of work is left without commit. Claims honour leases,
due times and sequences exactly as the SQL repository does."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pep_model.errors import StaleVersion
from pep_model.meetings import MeetingStatus, PepMeeting
from pep_model.outbox import Json, OutboxEntry, OutboxStatus, OutgoingMessage

if TYPE_CHECKING:
    from tests.unit.fakes import InMemoryState, _Journal

PENDING = OutboxStatus.PENDING


class InMemoryOutboxRepository:
    """Rows are OutboxEntry values plus the lease (owner, until) kept beside them."""

    def __init__(self, state: InMemoryState, journal: _Journal) -> None:
        self._state = state
        self._journal = journal

    @property
    def _rows(self) -> dict[str, OutboxEntry]:
        return self._state.outbox

    def _lease(self, key: str) -> tuple[str, datetime] | None:
        return self._state.outbox_leases.get(key)

    def _free(self, key: str, now: datetime) -> bool:
        lease = self._lease(key)
        return lease is None or lease[1] < now

    async def add(self, message: OutgoingMessage, now: datetime) -> bool:
        if message.key in self._rows:
            return False
        entry = OutboxEntry(
            id=len(self._rows) + 1,
            key=message.key,
            kind=message.kind,
            status=PENDING,
            payload=copy.deepcopy(message.payload),
            requested_by=message.requested_by,
            pep_id=message.pep_id,
            sequence=message.sequence,
            attempts=0,
            available_at=message.not_before or now,
            created_at=now,
            attachments=message.attachments,
        )
        self._journal.set(self._rows, message.key, entry)
        return True

    async def get(self, key: str) -> OutboxEntry | None:
        entry = self._rows.get(key)
        return replace(entry, attachments=()) if entry else None

    async def existing(self, keys: Sequence[str]) -> set[str]:
        return {k for k in keys if k in self._rows}

    async def cancel(self, key: str, now: datetime) -> bool:
        entry = self._rows.get(key)
        if entry is None or entry.status is not PENDING or not self._free(key, now):
            return False
        self._journal.set(
            self._rows, key, replace(entry, status=OutboxStatus.CANCELLED, finished_at=now)
        )
        return True

    def _first_in_sequence(self, entry: OutboxEntry) -> bool:
        return entry.sequence is None or not any(
            e.sequence == entry.sequence and e.id < entry.id and e.status is PENDING
            for e in self._rows.values()
        )

    async def claim(
        self,
        owner: str,
        now: datetime,
        lease_seconds: float,
        limit: int,
        keys: Sequence[str] | None = None,
    ) -> list[OutboxEntry]:
        wanted = set(keys) if keys is not None else None
        claimed = []
        for entry in sorted(self._rows.values(), key=lambda e: e.id):
            if len(claimed) >= limit:
                break
            if (
                entry.status is not PENDING
                or entry.available_at > now
                or not self._free(entry.key, now)
                or not self._first_in_sequence(entry)
                or (wanted is not None and entry.key not in wanted)
            ):
                continue
            taken = replace(entry, attempts=entry.attempts + 1)
            self._journal.set(self._rows, entry.key, taken)
            self._journal.set(
                self._state.outbox_leases,
                entry.key,
                (owner, now + timedelta(seconds=lease_seconds)),
            )
            claimed.append(taken)
        return claimed

    def _held(self, entry_id: int, owner: str) -> OutboxEntry | None:
        for entry in self._rows.values():
            if entry.id == entry_id:
                lease = self._lease(entry.key)
                if entry.status is PENDING and lease is not None and lease[0] == owner:
                    return entry
        return None

    def _finish(self, entry: OutboxEntry, **changes: object) -> bool:
        self._journal.set(self._rows, entry.key, replace(entry, **changes))  # type: ignore[arg-type]
        self._journal.delete(self._state.outbox_leases, entry.key)
        return True

    async def delivered(
        self, entry_id: int, owner: str, now: datetime, result: Json | None
    ) -> bool:
        entry = self._held(entry_id, owner)
        return entry is not None and self._finish(
            entry,
            status=OutboxStatus.DELIVERED,
            result=copy.deepcopy(result),
            finished_at=now,
            last_error=None,
            attachments=(),
        )

    async def retry_later(
        self,
        entry_id: int,
        owner: str,
        now: datetime,
        available_at: datetime,
        status: int,
        error: str,
    ) -> bool:
        entry = self._held(entry_id, owner)
        return entry is not None and self._finish(
            entry, available_at=available_at, last_status=status, last_error=error[:500]
        )

    async def failed(
        self, entry_id: int, owner: str, now: datetime, status: int, error: str
    ) -> bool:
        entry = self._held(entry_id, owner)
        return entry is not None and self._finish(
            entry,
            status=OutboxStatus.FAILED,
            last_status=status,
            last_error=error[:500],
            finished_at=now,
        )

    async def find(
        self,
        *,
        status: OutboxStatus | None = None,
        key_prefix: str | None = None,
        limit: int | None = None,
    ) -> list[OutboxEntry]:
        found = [
            replace(e, attachments=())
            for e in sorted(self._rows.values(), key=lambda e: e.id)
            if (status is None or e.status is status)
            and (not key_prefix or e.key.startswith(key_prefix))
        ]
        return found[:limit] if limit is not None else found

    async def counts(self) -> dict[str, int]:
        counts = dict.fromkeys((s.value for s in OutboxStatus), 0)
        for entry in self._rows.values():
            counts[entry.status.value] += 1
        return counts

    async def next_due(self) -> datetime | None:
        times = []
        for entry in self._rows.values():
            if entry.status is PENDING:
                lease = self._lease(entry.key)
                times.append(max(entry.available_at, lease[1]) if lease else entry.available_at)
        return min(times) if times else None


class InMemoryMeetingRepository:
    def __init__(self, state: InMemoryState, journal: _Journal) -> None:
        self._state = state
        self._journal = journal

    async def get(self, pep_id: str) -> PepMeeting | None:
        stored = self._state.meetings.get(pep_id)
        return copy.deepcopy(stored) if stored is not None else None

    async def add(self, meeting: PepMeeting) -> bool:
        stored = self._state.meetings.get(meeting.pep_id)
        if stored is not None and stored.status is not MeetingStatus.CANCELLED:
            return False
        meeting.version = 0
        self._journal.set(self._state.meetings, meeting.pep_id, copy.deepcopy(meeting))
        return True

    async def save(self, meeting: PepMeeting, expected_version: int) -> None:
        stored = self._state.meetings.get(meeting.pep_id)
        if stored is None or stored.version != expected_version:
            raise StaleVersion(
                f"meeting {meeting.pep_id} is no longer at version {expected_version}"
            )
        meeting.version = expected_version + 1
        self._journal.set(self._state.meetings, meeting.pep_id, copy.deepcopy(meeting))

    async def find(self, term_id: str) -> list[PepMeeting]:
        return [
            copy.deepcopy(m)
            for _, m in sorted(self._state.meetings.items())
            if m.term_id == term_id
        ]
