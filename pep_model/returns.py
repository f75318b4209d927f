"""Seed step 5: the school returns the updated PEP to Business Support within 5 days of
the meeting. The lead presses "Send to Business Support": the final PEP goes by mail and
the PEP moves to returned, in one commit. Reminders go to the lead on day 3 and day 5;
overdue returns are listed for the Virtual School."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from pep_model.access import Actor, Capability
from pep_model.child import Child
from pep_model.errors import (
    ConflictError,
    IllegalTransition,
    NotAllowed,
    NotFound,
    PepError,
    StaleVersion,
)
from pep_model.m365 import MailAttachment
from pep_model.meetings import TZ
from pep_model.money import format_pence
from pep_model.outbox import VIRTUAL_SCHOOL_CHANNEL, mail, notice, person_target
from pep_model.overview import OverdueReturn
from pep_model.people import Person, Role
from pep_model.pep import DOCX, Pep
from pep_model.ports import AuditEntry, StoredDocument, UnitOfWork
from pep_model.pupil_premium import DecisionKind
from pep_model.pupil_premium_service import StoredRequest
from pep_model.quality import QaDecision, QaRound
from pep_model.rules import days_after_meeting
from pep_model.services import PepService, load_pep
from pep_model.terms import Term, TermCalendar, british_date
from pep_model.workflow import PepStatus, check_move, is_before_meeting

FINAL_RECORD = "final_record_docx"  # the version sent at return, before QA
FINALISED_RECORD = "finalised_record_docx"  # after QA: the version to file


class NotReturnableYet(IllegalTransition):
    """The PEP's meeting has not happened (or not finished): nothing to return yet."""

    def __init__(self, status: PepStatus, reason: str) -> None:
        PepError.__init__(self, reason)
        self.current = status.label
        self.target = PepStatus.RETURNED.label


def not_returnable_yet(pep: Pep) -> str | None:
    """Why this PEP cannot be returned to Business Support yet, in people's words; None
    when it can be (or has been)."""
    if is_before_meeting(pep.status):
        when = ""
        if pep.meeting is not None and pep.meeting.starts_at:
            held = datetime.fromisoformat(pep.meeting.starts_at).astimezone(TZ)
            when = f" (it is booked for {british_date(held.date())} at {held:%H:%M})"
        return (
            f"The PEP meeting has not happened yet{when}, so there is nothing to "
            f"return: the PEP is '{pep.status.label}'. After the meeting, once it is "
            "finished in Teams, the PEP can be sent to Business Support."
        )
    if pep.status is PepStatus.IN_MEETING:
        return (
            "The PEP meeting has not been finished yet: press 'Finish the meeting' "
            "on the meeting card (with next term's PEP date) first, then send the PEP "
            "to Business Support."
        )
    next_pep = pep.section("next_pep")
    if (
        pep.status in (PepStatus.AWAITING_RETURN, PepStatus.AMENDMENTS_REQUESTED)
        and not next_pep.get("date")
        and not next_pep.get("reason")
    ):
        return (
            "Next term's PEP date is missing: set the date of next term's PEP, or "
            "record why no date could be set, first — then send the PEP to Business "
            "Support."
        )
    return None


def business_support_mailboxes(configured: str, staff: Iterable[Person]) -> list[str]:
    """Where returned and finalised PEPs go: the configured address
    (PEP_BUSINESS_SUPPORT_EMAIL, else PEP_MAIL_SENDER); without one, the Business
    Support mailbox(es) of the staff file."""
    if configured:
        return [configured]
    return sorted({p.email for p in staff if p.email})


@dataclass(frozen=True)
class PupilPremiumLine:
    purpose: str
    requested: str  # "£300.00"
    decision: str  # "Approved £250.00: the rest next term"


@dataclass(frozen=True)
class FinalisedFacts:
    """What the finalised record adds to the PEP: the QA outcome and the PP+ decisions."""

    finalised_on: date
    qa_grade: str  # the grade's label on the authority's scale
    qa_round: int
    pupil_premium: tuple[PupilPremiumLine, ...]


def finalised_facts(
    rounds: Sequence[QaRound], requests: Iterable[StoredRequest], grade_label: Callable[[str], str]
) -> FinalisedFacts | None:
    """The facts of the approving QA round and every PP+ request still in the PEP;
    None when no round approved it."""
    approved = [r for r in rounds if r.decision is QaDecision.APPROVE]
    if not approved:
        return None
    last = approved[-1]
    lines = []
    for stored in requests:
        if stored.withdrawn:
            continue
        request, record = stored.request, stored.decision
        if record is None:
            decision = "Not decided yet"
        elif record.kind is DecisionKind.DECLINE:
            decision = f"Declined: {record.reason}" if record.reason else "Declined"
        elif record.approved_pence == record.requested_pence:
            decision = "Approved"
        else:
            decision = f"Approved {format_pence(record.approved_pence)}" + (
                f": {record.reason}" if record.reason else ""
            )
        lines.append(
            PupilPremiumLine(request.purpose, format_pence(request.amount_pence), decision)
        )
    return FinalisedFacts(
        last.at.astimezone(TZ).date(), grade_label(last.overall), last.number, tuple(lines)
    )


@dataclass(frozen=True)
class ReturnOutcome:
    pep: Pep
    child: Child
    sent: bool  # False: it had been returned already, nothing sent again
    key: str = ""  # the outbox message carrying it


class ReturnService:
    def __init__(
        self,
        service: PepService,
        *,
        sender: str,
        business_support: str = "",
        authority_name: str = "",
    ) -> None:
        self.service = service
        self.uow = service.uow
        self.calendar = service.calendar
        self.rules = service.rules
        self.clock = service.clock
        self.sender = sender
        self.business_support = business_support  # configured; else the staff file's
        self.authority_name = authority_name

    # ---- the lead returns the PEP ---------------------------------------------------

    async def send_to_business_support(
        self, pep_id: str, actor: Actor, filename: str, content: bytes
    ) -> ReturnOutcome:
        """Mail the final PEP (.docx) to Business Support and move the PEP to returned.
        Pressing twice sends once."""
        now = self.clock.now()
        async with self.uow() as uow:
            pep, child = await load_pep(uow, pep_id)
            if not actor.can(Capability.LEAD_MEETING, child):
                raise NotAllowed("Only the PEP lead can return this PEP.")
            if (why := not_returnable_yet(pep)) is not None:
                raise NotReturnableYet(pep.status, why)
            to = await self.mailboxes(uow)
            if (
                pep.status is PepStatus.RETURNED
                or pep.status is PepStatus.IN_QA
                or pep.status is PepStatus.FINALISED
            ):
                return ReturnOutcome(pep, child, sent=False)
            check_move(pep.status, PepStatus.RETURNED, actor.capabilities(child))
            read_version = pep.version
            amended = pep.status is PepStatus.AMENDMENTS_REQUESTED
            before = pep.status.value
            pep.status = PepStatus.RETURNED
            try:
                await uow.peps.save(pep, read_version)
            except StaleVersion:
                raise ConflictError(await uow.peps.get(pep_id)) from None
            await uow.documents.put(
                StoredDocument(child.lcs_id, pep.term_id, FINAL_RECORD, filename, DOCX, content)
            )
            key = f"return:{pep.id}:v{pep.version}"
            term = self.calendar.get(pep.term_id)
            what = "amended PEP" if amended else "PEP"
            held = british_date(pep.meeting_held_on) if pep.meeting_held_on else "-"
            await uow.outbox.add(
                mail(
                    key,
                    sender=self.sender,
                    to=to,
                    subject=f"Returned {what}: {child.lcs_id} ({child.initials}), {term.label}",
                    body=(
                        f"The {what} for the child with LCS id {child.lcs_id} "
                        f"({child.initials}), {term.label}, is attached.\n\n"
                        f"Meeting held: {held}\nReturned by: {actor.id}\n"
                        "For quality assurance by the PEP Coordinator; Pupil Premium Plus "
                        "requests go to the link Education Advisor.\n\n— PEP Companion"
                    ),
                    attachments=[MailAttachment(filename, DOCX, content)],
                    requested_by=actor.id,
                    pep_id=pep.id,
                ),
                now,
            )
            await uow.audit.append(
                AuditEntry(
                    now, actor.id, pep.id, "pep.return", None, before, PepStatus.RETURNED.value
                )
            )
            await uow.commit()
        return ReturnOutcome(pep, child, sent=True, key=key)

    async def mailboxes(self, uow: UnitOfWork) -> list[str]:
        """Business Support's address(es); NotFound when there is none at all."""
        found = business_support_mailboxes(
            self.business_support, await uow.staff.authority_wide(Role.BUSINESS_SUPPORT)
        )
        if not found and self.sender:
            found = [self.sender]
        if not found:
            raise NotFound(
                "No Business Support mailbox is known: set "
                "PEP_BUSINESS_SUPPORT_EMAIL or import the staff file with a "
                "business_support row."
            )
        return found

    # ---- after QA: the finalised record, the version to file --------------------------

    async def send_finalised_record(
        self, pep_id: str, filename: str, content: bytes, facts: FinalisedFacts
    ) -> str | None:
        """Mail the finalised PEP (after QA, with its grade and the PP+ decisions) to
        Business Support, the child's social worker(s) and the school's designated
        teacher(s), marked as the version to file. Once per finalisation (the outbox key
        carries the PEP's version); None when the PEP is not finalised."""
        now = self.clock.now()
        async with self.uow() as uow:
            pep, child = await load_pep(uow, pep_id)
            if pep.status is not PepStatus.FINALISED:
                return None
            support = await self.mailboxes(uow)
            people = [
                *await uow.people.people_for_child(child.lcs_id, Role.SOCIAL_WORKER),
                *await uow.people.people_for_school(child.school_urn, Role.DESIGNATED_TEACHER),
            ]
            to = list(dict.fromkeys([*support, *(p.email for p in people if p.email)]))
            term = self.calendar.get(pep.term_id)
            key = f"finalised:{pep.id}:v{pep.version}"
            await uow.documents.put(
                StoredDocument(child.lcs_id, pep.term_id, FINALISED_RECORD, filename, DOCX, content)
            )
            added = await uow.outbox.add(
                mail(
                    key,
                    sender=self.sender,
                    to=to,
                    subject=(
                        f"Finalised PEP — the version to file: {child.lcs_id} "
                        f"({child.initials}), {term.label}"
                    ),
                    body=(
                        f"The PEP for the child with LCS id {child.lcs_id} ({child.initials}), "
                        f"{term.label}, was finalised after quality assurance on "
                        f"{british_date(facts.finalised_on)} (QA grade: {facts.qa_grade}).\n\n"
                        "The attached record is the version to file: it replaces the version "
                        "sent to Business Support when the PEP was returned. It includes the "
                        "QA grade and the Pupil Premium Plus decisions.\n\n— PEP Companion"
                    ),
                    attachments=[MailAttachment(filename, DOCX, content)],
                    requested_by="system",
                    pep_id=pep.id,
                ),
                now,
            )
            if added:
                await uow.audit.append(
                    AuditEntry(
                        now,
                        "system",
                        pep.id,
                        "pep.finalised_record",
                        None,
                        None,
                        {"to": len(to), "round": facts.qa_round},
                    )
                )
            await uow.commit()
        return key

    # ---- the deadline ---------------------------------------------------------------

    def reminder_day(self, held_on: date, n: int) -> date:
        return days_after_meeting(held_on, n, self.calendar, self.rules)

    async def awaiting(self, today: date) -> list[tuple[Pep, Child]]:
        found = []
        async with self.uow() as uow:
            children = {c.lcs_id: c for c in await uow.children.list_all()}
            for term in recent_terms(self.calendar, today):
                for pep in await uow.peps.find(term_id=term.id):
                    if (
                        pep.status is PepStatus.AWAITING_RETURN
                        and pep.meeting_held_on is not None
                        and pep.child_id in children
                    ):
                        found.append((pep, children[pep.child_id]))
        return found

    async def queue_reminders(self, today: date | None = None) -> int:
        """Day 3 and day 5 after the meeting (PepRules.return_reminder_days): a mail and
        a Teams notice to the lead, once each; after a gap only the latest is sent."""
        today = today or self.clock.today()
        now = self.clock.now()
        added = 0
        for pep, child in await self.awaiting(today):
            assert pep.meeting_held_on is not None
            passed = [
                n
                for n in self.rules.return_reminder_days
                if self.reminder_day(pep.meeting_held_on, n) <= today
            ]
            if not passed:
                continue
            day = max(passed)
            async with self.uow() as uow:
                leads = await self.leads(uow, pep, child)
                due = british_date(pep.return_due) if pep.return_due else "-"
                for lead in leads:
                    key = f"return-reminder:{pep.id}:d{day}:{lead.id}"
                    if await uow.outbox.add(
                        mail(
                            key + ":mail",
                            sender=self.sender,
                            to=[lead.email],
                            subject=f"PEP return due {due}: {child.lcs_id} ({child.initials})",
                            body=(
                                f"The PEP meeting for {child.lcs_id} ({child.initials}) was "
                                f"held {day} days ago. Please send the updated PEP to "
                                f"Business Support by {due}: in Teams, open it with "
                                f"'return pep {child.lcs_id}' and press 'Send to "
                                "Business Support'.\n\n— PEP Companion"
                            ),
                            pep_id=pep.id,
                        ),
                        now,
                    ):
                        added += 1
                    await uow.outbox.add(
                        notice(
                            key + ":teams",
                            person_target(lead.id),
                            "return_reminder",
                            {"pep_id": pep.id, "day": day},
                            pep_id=pep.id,
                        ),
                        now,
                    )
                await uow.commit()
        return added

    async def leads(self, uow: UnitOfWork, pep: Pep, child: Child) -> list[Person]:
        """Who led the meeting (they finished it); else the child's PEP lead or the
        school's designated teacher."""
        for entry in reversed(await uow.audit.for_pep(pep.id)):
            if entry.action in ("meeting.finish", "meeting.start") and "@" in entry.actor_id:
                person = await uow.people.get(entry.actor_id)
                if person is not None:
                    return [person]
        people = uow.people
        for found in (
            await people.people_for_child(child.lcs_id, Role.PEP_LEAD),
            await people.people_for_school(child.school_urn, Role.PEP_LEAD),
            await people.people_for_school(child.school_urn, Role.DESIGNATED_TEACHER),
        ):
            if found:
                return found
        return []

    async def overdue(self, today: date | None = None) -> list[OverdueReturn]:
        today = today or self.clock.today()
        late = [
            OverdueReturn(
                child.lcs_id, child.school_urn, pep.return_due, (today - pep.return_due).days
            )
            for pep, child in await self.awaiting(today)
            if pep.return_due is not None and pep.return_due < today
        ]
        return sorted(late, key=lambda o: (o.return_due, o.child_id))

    async def queue_overdue_list(self, today: date | None = None) -> int:
        """Today's overdue returns to the Virtual School's channel (nothing when none)."""
        today = today or self.clock.today()
        late = await self.overdue(today)
        if not late:
            return 0
        async with self.uow() as uow:
            await uow.outbox.add(
                notice(
                    f"overdue-returns:{today.isoformat()}",
                    VIRTUAL_SCHOOL_CHANNEL,
                    "overdue_returns",
                    {
                        "as_of": today.isoformat(),
                        "rows": [
                            {
                                "child_id": o.child_id,
                                "school_urn": o.school_urn,
                                "return_due": o.return_due.isoformat(),
                                "days_overdue": o.days_overdue,
                            }
                            for o in late
                        ],
                    },
                ),
                self.clock.now(),
            )
            await uow.commit()
        return len(late)


# ---- the meeting ended without next term's date (issue 2's rule, nagged daily) -------


async def queue_next_date_nags(service: PepService, today: date | None = None) -> int:
    """PEPs still in their meeting a day after it began have no next PEP date (the
    meeting cannot finish without one): ask the social worker and the lead, daily."""
    today = today or service.clock.today()
    now = service.clock.now()
    added = 0
    async with service.uow() as uow:
        for term in recent_terms(service.calendar, today):
            for pep in await uow.peps.find(term_id=term.id):
                if pep.status is not PepStatus.IN_MEETING:
                    continue
                began = await _meeting_began(uow, pep)
                if began is None or began >= today:
                    continue
                child = await uow.children.get(pep.child_id)
                if child is None:
                    continue
                people = await next_date_askers(uow, child)
                for person in {p.id: p for p in people}.values():
                    if await uow.outbox.add(
                        notice(
                            f"next-date:{pep.id}:{today.isoformat()}:{person.id}",
                            person_target(person.id),
                            "next_date_request",
                            {"pep_id": pep.id},
                            pep_id=pep.id,
                        ),
                        now,
                    ):
                        added += 1
        await uow.commit()
    return added


def recent_terms(calendar: TermCalendar, today: date) -> list[Term]:
    """The term we are in (or about to be) and the one before: a meeting on the last day
    of term is returned, or still waits for its next date, in the holiday."""
    current = calendar.current_or_next(today)
    previous = calendar.previous(current)
    return [current] + ([previous] if previous is not None else [])


async def next_date_askers(uow: UnitOfWork, child: Child) -> list[Person]:
    """Who is asked for next term's PEP date: the child's social worker(s) and the
    school's designated teacher(s)."""
    return [
        *await uow.people.people_for_child(child.lcs_id, Role.SOCIAL_WORKER),
        *await uow.people.people_for_school(child.school_urn, Role.DESIGNATED_TEACHER),
    ]


async def _meeting_began(uow: UnitOfWork, pep: Pep) -> date | None:
    if pep.meeting is not None and pep.meeting.starts_at:
        return datetime.fromisoformat(pep.meeting.starts_at).astimezone(TZ).date()
    for entry in reversed(await uow.audit.for_pep(pep.id)):
        if entry.action == "meeting.start":
            return entry.at.astimezone(TZ).date()
    return None
