"""Scheduling a PEP meeting (the social worker), moving or cancelling it, and the Virtual
School joining it (its unscheduled cases: virtual_school_cases.py).

Every change writes the meeting row, the PEP's meeting link and the outbox messages for
Microsoft 365 in one commit; graph/dispatch.py sends them, then calls after_delivery
(the created event's join URL and chat id go into the PEP, the app is installed in the
meeting chat, the Virtual School's channel is alerted).
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pep_model.access import Actor, Capability
from pep_model.child import Child
from pep_model.errors import FieldError, NotAllowed, NotFound, StaleVersion
from pep_model.m365 import MeetingInvite
from pep_model.meetings import (
    FORM,
    TZ,
    MeetingAttendee,
    MeetingStatus,
    MeetingWording,
    PepMeeting,
    ScheduleRequest,
    check_time,
    choose_attendees,
    parse_extra,
)
from pep_model.outbox import (
    VIRTUAL_SCHOOL_CHANNEL,
    AfterDelivery,
    OutboxEntry,
    OutboxKind,
    OutboxStatus,
    OutgoingMessage,
    invite_payload,
    invitee_payload,
    notice,
    person_target,
)
from pep_model.people import Person, Role
from pep_model.pep import MeetingLink, Pep
from pep_model.ports import AuditEntry, UnitOfWork
from pep_model.qa_service import school_of
from pep_model.services import PepService
from pep_model.terms import Term
from pep_model.virtual_school_cases import virtual_school_reasons
from pep_model.workflow import is_before_meeting

T = TypeVar("T")
ATTEMPTS = 5  # re-reads when a concurrent write moved a version on
VIRTUAL_SCHOOL_ROLES = frozenset({Role.VIRTUAL_SCHOOL_OFFICER, Role.VIRTUAL_SCHOOL_HEAD})


@dataclass(frozen=True)
class Proposal:
    attendee: MeetingAttendee
    ticked: bool
    note: str = ""


@dataclass(frozen=True)
class SchedulePlan:
    """Everything the scheduling card shows for one child."""

    child: Child
    school_name: str
    term: Term
    pep: Pep
    meeting: PepMeeting | None  # live (scheduled) meetings only
    proposals: tuple[Proposal, ...]
    reasons: tuple[str, ...]  # why the Virtual School is interested; empty: not
    organiser: Person

    @property
    def virtual_school_case(self) -> bool:
        return bool(self.reasons)


@dataclass
class ScheduleOutcome:
    plan: SchedulePlan
    request: ScheduleRequest
    errors: list[FieldError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    meeting: PepMeeting | None = None
    delivery_key: str = ""  # the calendar message to wait for
    confirm_key: str = ""  # the confirmation that follows if nobody waited for it

    @property
    def done(self) -> bool:
        return self.meeting is not None


class SchedulingService:
    def __init__(
        self,
        service: PepService,
        wording: MeetingWording | None = None,
        *,
        confirm_delay_seconds: float = 20.0,
    ) -> None:
        self.service = service
        self.uow = service.uow
        self.calendar = service.calendar
        self.rules = service.rules
        self.clock = service.clock
        self.wording = wording or MeetingWording()
        self.confirm_delay = timedelta(seconds=confirm_delay_seconds)

    # ---- what the card shows --------------------------------------------------------

    async def caseload(self, actor: Actor) -> list[Child]:
        async with self.uow() as uow:
            return actor.visible(await uow.children.list_all(), Capability.SCHEDULE)

    def term(self) -> Term:
        return self.calendar.current_or_next(self.clock.today())

    async def plan(self, actor: Actor, child_id: str) -> SchedulePlan:
        term = self.term()
        async with self.uow() as uow:
            child = await uow.children.get(child_id)
            if child is None or not actor.can(Capability.SCHEDULE, child):
                raise NotAllowed(
                    "You can schedule PEP meetings only for the children on your caseload."
                )
        if actor.person is None:
            raise NotAllowed("I can't find you in this authority's PEP records.")
        pep = await self.service.open_pep(child_id, term.id)
        async with self.uow() as uow:
            school = await school_of(uow, child)
            meeting = await uow.meetings.get(pep.id)
            reasons = self.reasons(child, term)
            proposals = await self._proposals(uow, child, actor.person, bool(reasons))
        live = meeting if meeting is not None and meeting.live else None
        if live is not None:
            proposals = _as_invited(proposals, live)
        return SchedulePlan(
            child, school.name, term, pep, live, tuple(proposals), tuple(reasons), actor.person
        )

    def reasons(self, child: Child, term: Term) -> list[str]:
        """Why the Virtual School is invited (none: not a Virtual School case)."""
        return virtual_school_reasons(child, term, self.rules, self.clock.today())

    async def _proposals(
        self, uow: UnitOfWork, child: Child, organiser: Person, virtual_school: bool
    ) -> list[Proposal]:
        found: list[Proposal] = []
        seen = {organiser.id}

        def add(people: list[Person], role: Role, ticked: bool, note: str = "") -> None:
            for person in people:
                if person.id not in seen:
                    seen.add(person.id)
                    found.append(
                        Proposal(
                            MeetingAttendee(person.email, person.name, role.value), ticked, note
                        )
                    )

        people = uow.people
        add(
            await people.people_for_school(child.school_urn, Role.DESIGNATED_TEACHER),
            Role.DESIGNATED_TEACHER,
            True,
        )
        add(await people.people_for_child(child.lcs_id, Role.PEP_LEAD), Role.PEP_LEAD, True)
        add(await people.people_for_school(child.school_urn, Role.PEP_LEAD), Role.PEP_LEAD, True)
        add(
            await people.people_for_child(child.lcs_id, Role.SOCIAL_WORKER),
            Role.SOCIAL_WORKER,
            True,
        )
        add(await people.people_for_child(child.lcs_id, Role.CARER), Role.CARER, True)
        add(await people.people_for_child(child.lcs_id, Role.CHILD), Role.CHILD, False, "optional")
        if virtual_school:
            add(
                await people.people_for_school(child.school_urn, Role.VIRTUAL_SCHOOL_OFFICER),
                Role.VIRTUAL_SCHOOL_OFFICER,
                True,
                "link officer",
            )
            add(
                await uow.staff.authority_wide(Role.VIRTUAL_SCHOOL_OFFICER),
                Role.VIRTUAL_SCHOOL_OFFICER,
                False,
            )
        return found

    # ---- scheduling and rescheduling --------------------------------------------------

    async def submit(
        self, actor: Actor, request: ScheduleRequest, reschedule_version: int | None = None
    ) -> ScheduleOutcome:
        """Schedule (reschedule_version None) or move the child's meeting this term.
        Refused with errors beside the fields, or held back with warnings until the
        person accepts them; otherwise committed with its outbox messages."""
        plan = await self.plan(actor, request.child_id)
        outcome = ScheduleOutcome(plan, request)
        existing = plan.meeting
        if existing is not None and reschedule_version is None:
            outcome.errors.append(
                FieldError(
                    FORM,
                    "date",
                    "this child already has a PEP meeting this term, on "
                    f"{_when(existing)}: reschedule or cancel that one",
                )
            )
        if existing is None and reschedule_version is not None:
            outcome.errors.append(
                FieldError(
                    FORM,
                    "date",
                    "the meeting you were moving has been cancelled: schedule a new one",
                )
            )
        if not is_before_meeting(plan.pep.status):
            outcome.errors.append(
                FieldError(FORM, "date", "this term's PEP meeting has already been held")
            )
        checked = check_time(request, plan.term, self.calendar, self.rules, self.clock.now())
        outcome.errors += checked.errors
        extra, extra_errors = parse_extra(request.extra)
        outcome.errors += extra_errors
        attendees = choose_attendees(
            [p.attendee for p in plan.proposals], request.invited, extra, plan.organiser.email
        )
        if not attendees and not extra_errors:
            outcome.errors.append(FieldError(FORM, "attendees", "invite at least one person"))
        if outcome.errors:
            return outcome
        outcome.warnings = checked.warnings
        if checked.warnings and not request.accept_out_of_hours:
            return outcome
        assert checked.starts_at is not None and checked.ends_at is not None
        for _ in range(ATTEMPTS):
            try:
                return await self._write(
                    actor,
                    plan,
                    outcome,
                    checked.starts_at,
                    checked.ends_at,
                    attendees,
                    reschedule_version,
                )
            except StaleVersion:
                continue
        raise StaleVersion(f"PEP {plan.pep.id} kept changing while scheduling")

    async def _write(
        self,
        actor: Actor,
        plan: SchedulePlan,
        outcome: ScheduleOutcome,
        starts: datetime,
        ends: datetime,
        attendees: tuple[MeetingAttendee, ...],
        reschedule_version: int | None,
    ) -> ScheduleOutcome:
        now = self.clock.now()
        pep_id = plan.pep.id
        async with self.uow() as uow:
            stored = await uow.meetings.get(pep_id)
            live = stored if stored is not None and stored.live else None
            if reschedule_version is None and live is not None:
                outcome.errors.append(
                    FieldError(
                        FORM,
                        "date",
                        f"someone has just scheduled this PEP meeting, on {_when(live)}",
                    )
                )
                return outcome
            if reschedule_version is not None:
                if live is None or live.version != reschedule_version:
                    outcome.errors.append(
                        FieldError(
                            FORM,
                            "date",
                            "someone changed this meeting while you were "
                            "typing; it is shown as it is now",
                        )
                    )
                    outcome.plan = replace(plan, meeting=live)
                    return outcome
                meeting = replace(live, starts_at=starts, ends_at=ends, attendees=attendees)
                await uow.meetings.save(meeting, live.version)
                kind, key = OutboxKind.MEETING_UPDATE, meeting.key(f"v{meeting.version}:update")
            else:
                generation = stored.generation + 1 if stored is not None else 1
                meeting = PepMeeting(
                    pep_id,
                    plan.child.lcs_id,
                    plan.term.id,
                    plan.organiser.id,
                    starts,
                    ends,
                    attendees,
                    generation=generation,
                )
                if not await uow.meetings.add(meeting):
                    raise StaleVersion(f"meeting {pep_id} appeared meanwhile")
                kind, key = OutboxKind.MEETING_CREATE, meeting.create_key
            await self._link(uow, pep_id, lambda link: _scheduled_link(link, meeting))
            invite = self.invite(plan, meeting, key)
            payload: dict[str, Any] = {
                "invite": invite_payload(invite),
                "generation": meeting.generation,
                "virtual_school_case": plan.virtual_school_case,
            }
            if kind is OutboxKind.MEETING_UPDATE:
                payload["event_of"] = meeting.create_key
            await uow.outbox.add(
                OutgoingMessage(
                    key,
                    kind,
                    payload,
                    requested_by=actor.id,
                    pep_id=pep_id,
                    sequence=meeting.sequence,
                ),
                now,
            )
            confirm = meeting.key(f"v{meeting.version}:confirmed")
            await uow.outbox.add(
                notice(
                    confirm,
                    person_target(plan.organiser.id),
                    "meeting_scheduled",
                    {
                        "pep_id": pep_id,
                        "generation": meeting.generation,
                        "rescheduled": kind is OutboxKind.MEETING_UPDATE,
                    },
                    pep_id=pep_id,
                    requested_by=actor.id,
                    after=key,
                    not_before=now + self.confirm_delay,
                ),
                now,
            )
            action = (
                "meeting.reschedule" if kind is OutboxKind.MEETING_UPDATE else "meeting.schedule"
            )
            await uow.audit.append(
                AuditEntry(
                    now,
                    actor.id,
                    pep_id,
                    action,
                    None,
                    None,
                    {
                        "starts_at": starts.isoformat(),
                        "minutes": meeting.minutes,
                        "attendees": len(attendees),
                    },
                )
            )
            await uow.commit()
        outcome.meeting = meeting
        outcome.delivery_key = key
        outcome.confirm_key = confirm
        return outcome

    def invite(self, plan: SchedulePlan, meeting: PepMeeting, key: str) -> MeetingInvite:
        values = {
            "initials": plan.child.initials,
            "lcs_id": plan.child.lcs_id,
            "school": plan.school_name,
            "term": plan.term.label,
        }
        return MeetingInvite(
            idempotency_key=key,
            organiser_email=plan.organiser.email,
            subject=self.wording.subject_for(values),
            body_html=self.wording.body_html(values),
            start=meeting.starts_at,
            end=meeting.ends_at,
            attendees=tuple(a.invitee() for a in meeting.attendees),
        )

    async def _link(
        self,
        uow: UnitOfWork,
        pep_id: str,
        change: Callable[[MeetingLink | None], MeetingLink | None],
    ) -> Pep:
        """Change the PEP's meeting link; re-read and re-apply when the PEP moved on (the
        link is bookkeeping nobody types)."""
        for _ in range(ATTEMPTS):
            pep = await uow.peps.get(pep_id)
            if pep is None:
                raise NotFound(f"There is no PEP {pep_id}.")
            read_version = pep.version
            pep.meeting = change(copy.copy(pep.meeting))
            try:
                await uow.peps.save(pep, read_version)
            except StaleVersion:
                continue
            return pep
        raise StaleVersion(f"PEP {pep_id} kept changing")

    # ---- cancelling and the Virtual School joining ----------------------------------

    async def cancel(self, actor: Actor, pep_id: str, reason: str = "") -> PepMeeting:
        return await self._retry(lambda: self._cancel(actor, pep_id, reason.strip()))

    async def _cancel(self, actor: Actor, pep_id: str, reason: str) -> PepMeeting:
        now = self.clock.now()
        async with self.uow() as uow:
            meeting, child = await self._live(uow, pep_id)
            if not actor.can(Capability.SCHEDULE, child):
                raise NotAllowed("Only the child's social worker can cancel the meeting.")
            cancelled = replace(meeting, status=MeetingStatus.CANCELLED)
            await uow.meetings.save(cancelled, meeting.version)
            pep = await uow.peps.get(pep_id)
            if pep is not None and is_before_meeting(pep.status):
                await self._link(uow, pep_id, lambda link: None)
            prefix = meeting.key("")
            for entry in await uow.outbox.find(status=OutboxStatus.PENDING, key_prefix=prefix):
                await uow.outbox.cancel(entry.key, now)
            created = await uow.outbox.get(meeting.create_key)
            if created is not None and created.status in (
                OutboxStatus.PENDING,
                OutboxStatus.DELIVERED,
            ):
                # sent, or being sent right now: cancel the event after it
                await uow.outbox.add(
                    OutgoingMessage(
                        meeting.key("cancel"),
                        OutboxKind.MEETING_CANCEL,
                        {
                            "event_of": meeting.create_key,
                            "organiser_email": meeting.organiser_id,
                            "comment": reason or "This PEP meeting has been cancelled.",
                        },
                        requested_by=actor.id,
                        pep_id=pep_id,
                        sequence=meeting.sequence,
                    ),
                    now,
                )
            await uow.audit.append(AuditEntry(now, actor.id, pep_id, "meeting.cancel"))
            await uow.commit()
        return cancelled

    async def attend(self, actor: Actor, pep_id: str) -> tuple[PepMeeting, bool]:
        """A Virtual School officer joins: invited to the event (True), or already was."""
        return await self._retry(lambda: self._attend(actor, pep_id))

    async def _attend(self, actor: Actor, pep_id: str) -> tuple[PepMeeting, bool]:
        now = self.clock.now()
        async with self.uow() as uow:
            meeting, child = await self._live(uow, pep_id)
            person = actor.person
            if person is None or not VIRTUAL_SCHOOL_ROLES & actor.roles_for(child):
                raise NotAllowed("Only Virtual School staff can join from this alert.")
            if person.id in meeting.virtual_school_attending:
                return meeting, False
            attendee = MeetingAttendee(person.email, person.name, Role.VIRTUAL_SCHOOL_OFFICER.value)
            known = any(a.email.lower() == person.email.lower() for a in meeting.attendees)
            joined = replace(
                meeting,
                attendees=meeting.attendees if known else (*meeting.attendees, attendee),
                virtual_school_attending=(*meeting.virtual_school_attending, person.id),
            )
            await uow.meetings.save(joined, meeting.version)
            if not known:
                await uow.outbox.add(
                    OutgoingMessage(
                        meeting.key(f"attend:{attendee.key}"),
                        OutboxKind.MEETING_ADD_ATTENDEE,
                        {
                            "event_of": meeting.create_key,
                            "organiser_email": meeting.organiser_id,
                            "invitee": invitee_payload(attendee.invitee()),
                        },
                        requested_by=actor.id,
                        pep_id=pep_id,
                        sequence=meeting.sequence,
                    ),
                    now,
                )
            await uow.audit.append(
                AuditEntry(now, actor.id, pep_id, "meeting.virtual_school_attends")
            )
            await uow.commit()
        return joined, True

    async def _live(self, uow: UnitOfWork, pep_id: str) -> tuple[PepMeeting, Child]:
        meeting = await uow.meetings.get(pep_id)
        if meeting is None or not meeting.live:
            raise NotFound("This PEP meeting is not scheduled (it may have been cancelled).")
        child = await uow.children.get(meeting.child_id)
        if child is None:  # pragma: no cover - the store keeps them together
            raise NotFound(f"There is no child {meeting.child_id}.")
        return meeting, child

    async def _retry(self, work: Callable[[], Awaitable[T]]) -> T:
        for _ in range(ATTEMPTS - 1):
            try:
                return await work()
            except StaleVersion:
                continue
        return await work()

    async def meeting(self, pep_id: str) -> PepMeeting | None:
        async with self.uow() as uow:
            return await uow.meetings.get(pep_id)

    # ---- after Microsoft 365 took a calendar change ----------------------------------

    def hooks(self) -> dict[OutboxKind, AfterDelivery]:
        return {
            OutboxKind.MEETING_CREATE: self.after_create,
            OutboxKind.MEETING_UPDATE: self.after_update,
        }

    async def after_create(
        self, uow: UnitOfWork, entry: OutboxEntry, result: dict[str, Any]
    ) -> None:
        meeting = await uow.meetings.get(entry.pep_id or "")
        if (
            meeting is None
            or not meeting.live
            or meeting.generation != entry.payload.get("generation")
        ):
            return  # cancelled meanwhile: the cancellation follows in the sequence
        await self._link(uow, meeting.pep_id, lambda link: _created_link(link, result))
        now = self.clock.now()
        chat_id = result.get("chat_id")
        if chat_id:
            await uow.outbox.add(
                OutgoingMessage(
                    f"chat-install:{chat_id}",
                    OutboxKind.CHAT_INSTALL,
                    {"chat_id": chat_id},
                    pep_id=meeting.pep_id,
                ),
                now,
            )
        if entry.payload.get("virtual_school_case"):
            await uow.outbox.add(
                notice(
                    meeting.key("vs-alert"),
                    VIRTUAL_SCHOOL_CHANNEL,
                    "virtual_school_alert",
                    {"pep_id": meeting.pep_id},
                    pep_id=meeting.pep_id,
                ),
                now,
            )

    async def after_update(
        self, uow: UnitOfWork, entry: OutboxEntry, result: dict[str, Any]
    ) -> None:
        if result.get("join_url"):
            await self._link(uow, entry.pep_id or "", lambda link: _created_link(link, result))


def _when(meeting: PepMeeting) -> str:
    return meeting.starts_at.astimezone(TZ).strftime("%d/%m/%Y at %H:%M")


def _as_invited(proposals: list[Proposal], meeting: PepMeeting) -> list[Proposal]:
    """For a reschedule: ticked = invited now; extra addresses shown as proposals too."""
    invited = {a.email.lower(): a for a in meeting.attendees}
    shown = [Proposal(p.attendee, p.attendee.email.lower() in invited, p.note) for p in proposals]
    known = {p.attendee.email.lower() for p in proposals}
    shown += [Proposal(a, True) for e, a in invited.items() if e not in known]
    return shown


def _scheduled_link(link: MeetingLink | None, meeting: PepMeeting) -> MeetingLink:
    updated = link if link is not None else MeetingLink()
    updated.starts_at = meeting.starts_at.isoformat()
    return updated


def _created_link(link: MeetingLink | None, result: dict[str, Any]) -> MeetingLink:
    updated = link if link is not None else MeetingLink()
    updated.event_id = str(result.get("event_id") or updated.event_id)
    updated.join_url = str(result.get("join_url") or updated.join_url)
    updated.chat_id = str(result.get("chat_id") or updated.chat_id)
    return updated
