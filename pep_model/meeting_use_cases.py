"""The use cases of the PEP meeting: start, the walkthrough's place, the meeting link,
attendees, finish. A mixin of PepService (pep_model/services.py), which saves sections
and gives the rules' context."""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pep_model.access import Actor, Capability
from pep_model.child import Child
from pep_model.errors import AlreadyDone, ConflictError, FieldError, StoreUnavailable
from pep_model.pep import MeetingLink, Pep
from pep_model.ports import AuditEntry, Clock, UnitOfWork, UnitOfWorkFactory
from pep_model.rules import PepContext, PepRules, finish_problems, return_deadline
from pep_model.sections import SECTION_KEYS, raw_from_content, section_spec
from pep_model.terms import TermCalendar
from pep_model.use_cases import (
    KEEPS_CHANGING,
    SAVE_ATTEMPTS,
    SaveOutcome,
    load_pep,
    require,
    retry,
)
from pep_model.workflow import PepStatus, already, check_move, is_after_meeting


class Attendance(StrEnum):
    ADDED = "added"
    ALREADY = "already"  # listed already as given, or by a join event: nothing changed
    UPDATED = "updated"  # listed already; added again by hand with another role or way


@dataclass
class AttendeeOutcome(SaveOutcome):
    """An attendee added, found already listed, or updated; row (and `was`, before an
    update) in typed-in form."""

    attendance: Attendance = Attendance.ADDED
    row: dict[str, str] = field(default_factory=dict)
    was: dict[str, str] = field(default_factory=dict)

    @property
    def notice(self) -> str:
        """What the person who added them is told."""
        name = self.row.get("name", "")
        if self.attendance is Attendance.ADDED:
            return f"Added {name}."
        if self.attendance is Attendance.ALREADY:
            return f"{name} is already recorded as attending {_how(self.row)}."
        now, was = _attendee_words(self.row), _attendee_words(self.was)
        return f"{name} is now recorded as {now} (was {was})."


class MeetingUseCases(ABC):
    uow: UnitOfWorkFactory
    calendar: TermCalendar
    rules: PepRules
    clock: Clock

    @abstractmethod
    def context(self, pep: Pep, child: Child) -> PepContext: ...

    @abstractmethod
    async def record_section(
        self, pep_id: str, key: str, raw: Mapping[str, Any], actor: Actor, expected_version: int
    ) -> SaveOutcome: ...

    async def _move(
        self,
        pep_id: str,
        actor: Actor,
        target: PepStatus,
        action: str,
        *,
        check: Callable[[Pep, Child], list[FieldError]] | None = None,
        **changes: Any,
    ) -> tuple[Pep, list[FieldError]]:
        """Move the PEP to `target` (AlreadyDone when it is there already) unless
        `check` finds problems: then they are returned and nothing changes."""

        async def attempt(uow: UnitOfWork) -> tuple[Pep, list[FieldError]]:
            pep, child = await load_pep(uow, pep_id)
            problems = check(pep, child) if check is not None else []
            if problems:
                return pep, problems
            check_move(pep.status, target, actor.capabilities(child))
            before = pep.status.value
            read_version = pep.version
            pep.status = target
            for name, value in changes.items():
                setattr(pep, name, value)
            await uow.peps.save(pep, read_version)
            await uow.audit.append(
                AuditEntry(self.clock.now(), actor.id, pep.id, action, None, before, target.value)
            )
            await uow.commit()
            return pep, []

        return await retry(self.uow, attempt)

    async def start_meeting(self, pep_id: str, actor: Actor, chat_id: str | None = None) -> Pep:
        """Idempotent: a PEP already in its meeting is returned as it is."""
        async with self.uow() as uow:
            pep, child = await load_pep(uow, pep_id)
            require(actor, Capability.LEAD_MEETING, child)
            if pep.status is PepStatus.IN_MEETING:
                return pep
        if chat_id:
            await self.link_chat(pep_id, chat_id)
        try:
            pep, _ = await self._move(
                pep_id,
                actor,
                PepStatus.IN_MEETING,
                "meeting.start",
                current_section=SECTION_KEYS[0],
            )
        except AlreadyDone:  # started meanwhile by another request (a double click)
            async with self.uow() as uow:
                pep, _ = await load_pep(uow, pep_id)
        return pep

    async def navigate(self, pep_id: str, key: str, actor: Actor) -> Pep:
        """Move everyone's walkthrough to another section (the lead drives)."""
        section_spec(key)

        async def attempt(uow: UnitOfWork) -> Pep:
            pep, child = await load_pep(uow, pep_id)
            require(actor, Capability.LEAD_MEETING, child)
            if pep.current_section == key:
                return pep
            read_version = pep.version
            pep.current_section = key
            await uow.peps.save(pep, read_version)
            await uow.commit()
            return pep

        return await retry(self.uow, attempt)

    async def _update_meeting(self, pep_id: str, change: Callable[[MeetingLink], bool]) -> Pep:
        """Apply a change to the meeting link (bookkeeping no person edits)."""

        async def attempt(uow: UnitOfWork) -> Pep:
            pep, _ = await load_pep(uow, pep_id)
            read_version = pep.version
            meeting = copy.copy(pep.meeting) or MeetingLink()
            if not change(meeting):
                return pep
            pep.meeting = meeting
            await uow.peps.save(pep, read_version)
            await uow.commit()
            return pep

        return await retry(self.uow, attempt)

    async def set_card_message(self, pep_id: str, chat_id: str, message_id: str) -> Pep:
        def change(meeting: MeetingLink) -> bool:
            meeting.chat_id, meeting.card_message_id = chat_id, message_id
            return True

        return await self._update_meeting(pep_id, change)

    async def join_audience(self, pep_id: str, user_id: str, max_size: int = 60) -> Pep:
        """Remember a Teams user allowed to see this PEP in the meeting, so their card
        refreshes to their own view (Teams allows 60 such users)."""

        def change(meeting: MeetingLink) -> bool:
            ids = meeting.audience_ids()
            if not user_id or user_id in ids or len(ids) >= max_size:
                return False
            meeting.audience = ",".join([*ids, user_id])
            return True

        return await self._update_meeting(pep_id, change)

    async def link_chat(self, pep_id: str, chat_id: str, meeting_id: str = "") -> Pep:
        def change(meeting: MeetingLink) -> bool:
            if meeting.chat_id == chat_id and (not meeting_id or meeting.meeting_id == meeting_id):
                return False
            meeting.chat_id = chat_id
            meeting.meeting_id = meeting_id or meeting.meeting_id
            return True

        return await self._update_meeting(pep_id, change)

    async def record_attendee(
        self,
        pep_id: str,
        name: str,
        role: str,
        attended: str,
        actor: Actor,
        *,
        by_hand: bool = False,
    ) -> AttendeeOutcome:
        """Add one attendee. Someone of that name already listed stays as recorded (a
        join event never turns a hand-entered 'in person' into 'on Teams'), unless a
        person adds them again by hand with another role or way of attending: then
        their row is updated."""

        async def attempt() -> AttendeeOutcome | None:
            async with self.uow() as uow:
                pep, child = await load_pep(uow, pep_id)
            rows: list[dict[str, str]] = raw_from_content("attendees", pep.section("attendees"))[
                "rows"
            ]
            given = {"name": name, "role": role, "attended": attended}
            found = next((i for i, r in enumerate(rows) if _same_name(r["name"], name)), None)
            was: dict[str, str] = {}
            if found is None:
                rows.append(given)
                attendance, row = Attendance.ADDED, given
            else:
                was = rows[found]
                row = {**was, **{k: v for k, v in given.items() if v and k != "name"}}
                if not by_hand or row == was:
                    return AttendeeOutcome(pep, child, attendance=Attendance.ALREADY, row=was)
                rows[found], attendance = row, Attendance.UPDATED
            try:
                saved = await self.record_section(
                    pep_id, "attendees", {"rows": rows}, actor, pep.version
                )
            except ConflictError:  # the list changed meanwhile (a join event): read again
                return None
            return AttendeeOutcome(
                saved.pep, saved.child, saved.errors, saved.changed, attendance, row, was
            )

        for _ in range(SAVE_ATTEMPTS):
            if (outcome := await attempt()) is not None:
                return outcome
        raise StoreUnavailable(KEEPS_CHANGING)

    def finish_problems(self, pep: Pep, child: Child) -> list[FieldError]:
        return finish_problems(self.context(pep, child))

    async def finish_meeting(self, pep_id: str, actor: Actor) -> tuple[Pep, list[FieldError]]:
        """Refused (problems returned, nothing changed) until the meeting rule is met.
        Once finished, finishing again changes nothing and raises AlreadyDone ("This PEP
        meeting is already finished")."""

        def ready(pep: Pep, child: Child) -> list[FieldError]:
            require(actor, Capability.LEAD_MEETING, child)
            if is_after_meeting(pep.status):
                raise AlreadyDone(pep.status.label, already(PepStatus.AWAITING_RETURN))
            return self.finish_problems(pep, child)

        held_on = self.clock.today()
        return await self._move(
            pep_id,
            actor,
            PepStatus.AWAITING_RETURN,
            "meeting.finish",
            check=ready,
            meeting_held_on=held_on,
            return_due=return_deadline(held_on, self.calendar, self.rules),
        )


def _how(row: Mapping[str, str]) -> str:
    """'in person', 'on Teams', 'by phone': how the attendee's row says they attended."""
    label = section_spec("attendees").field("attended").choice_label(row.get("attended", ""))
    return label[:1].lower() + label[1:]


def _attendee_words(row: Mapping[str, str]) -> str:
    role = section_spec("attendees").field("role").choice_label(row.get("role", ""))
    return f"{role}, attending {_how(row)}"


def _same_name(a: str, b: str) -> bool:
    """Names as stored: spaces collapsed (as normalise_section does), any case."""
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()
