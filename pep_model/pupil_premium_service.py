"""Pupil Premium Plus: the use cases the bot and the CLI call.

When a PEP is returned its PP+ rows become requests for the school's link education
advisor (`receive`); the advisor approves, approves a different amount or declines
(`decide`); at the end of term the Virtual School Head exports the payment schedule,
which freezes it (`export`). The rules are pupil_premium.py's; nothing here restates
them. Money is int pence throughout.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from pep_model.access import Actor
from pep_model.child import Child
from pep_model.errors import FieldError, NotAllowed, NotFound, PepError, ValidationFailed
from pep_model.people import Person, Role
from pep_model.pep import Pep
from pep_model.ports import AuditEntry, Clock, UnitOfWork, UnitOfWorkFactory
from pep_model.pupil_premium import (
    ApprovalRecord,
    Decision,
    PaymentSchedule,
    PupilPremiumPolicy,
    PupilPremiumRequest,
    build_schedule,
    can_approve,
    carry_forward,
    decide,
    read_requests,
    same_decision,
    schedule_csv,
    schedule_term_for,
)
from pep_model.qa_service import responsible_staff, school_leads, school_of
from pep_model.rules import PepRules
from pep_model.services import load_pep
from pep_model.terms import Term, TermCalendar
from pep_model.workflow import PepStatus

REQUEST_SECTION = "pupil_premium"
_TICK = timedelta(microseconds=1)


class ScheduleRefused(PepError):
    """The schedule cannot be exported as asked; the message says why."""


class DecisionOutOfDate(PepError):
    """The card was made from an older version of the request: it was decided, changed
    or decided differently since. Nothing was recorded; `view` is the request as it is
    now (its decision, its version), so the card can offer to change it deliberately."""

    def __init__(self, view: RequestView) -> None:
        self.view = view
        super().__init__(f"request {view.request.id} is at version {view.version}")


# ---- what is stored ------------------------------------------------------------------


@dataclass(frozen=True)
class StoredRequest:
    request: PupilPremiumRequest
    received_at: datetime
    withdrawn: bool = False  # the school took the row out of the PEP
    decision: ApprovalRecord | None = None
    version: int = 1  # +1 on every change: received again, decided

    @property
    def id(self) -> str:
        return self.request.id


@dataclass(frozen=True)
class FrozenSchedule:
    """An exported schedule: its files are kept, so exporting again gives the same bytes."""

    term_id: str
    frozen_at: datetime
    frozen_by: str
    csv: str
    document: bytes
    document_name: str
    total_pence: int
    held_pence: int


class PupilPremiumRepository(Protocol):
    async def get(self, request_id: str) -> StoredRequest | None: ...

    async def for_pep(self, pep_id: str) -> list[StoredRequest]: ...

    async def put(self, request: PupilPremiumRequest, received_at: datetime) -> None:
        """Insert or replace a request; a replaced request is open again (no decision,
        not withdrawn)."""
        ...

    async def withdraw(self, request_id: str) -> None: ...

    async def open_requests(self) -> list[StoredRequest]:
        """Requests not withdrawn and not decided, by request id."""
        ...

    async def decisions(self, child_id: str, term_id: str) -> list[ApprovalRecord]:
        """Decisions on this child's requests of PEP term `term_id`."""
        ...

    async def save_decision(self, record: ApprovalRecord, version: int) -> bool:
        """Record the decision if the request is still at `version` (then it is at
        version + 1); False when it changed meanwhile."""
        ...

    async def lock_term(self, term_id: str) -> datetime | None:
        """Hold the term's schedule until the unit of work ends (decisions and the freeze
        of one term happen one at a time); returns when it was frozen, if it was."""
        ...

    async def frozen_at(self, term_id: str) -> datetime | None: ...

    async def for_schedule(self, term_id: str) -> tuple[list[ApprovalRecord], set[str]]:
        """Approvals (more than £0) the term's schedule pays or held, and the ids of
        their PEPs that are finalised."""
        ...

    async def move(self, records: Sequence[ApprovalRecord]) -> None:
        """Save the schedule term (pays_in_term_id, held_in_term_ids) of decided requests."""
        ...

    async def freeze(self, frozen: FrozenSchedule) -> None: ...

    async def frozen(self, term_id: str) -> FrozenSchedule | None: ...


class ScheduleDocument(Protocol):
    """Renders the readable schedule (a .docx) for people; the CSV is for finance."""

    def __call__(self, schedule: PaymentSchedule, term: Term, authority_name: str) -> bytes: ...


# ---- what the cards show -------------------------------------------------------------


@dataclass(frozen=True)
class RequestView:
    stored: StoredRequest
    child: Child
    pep_status: PepStatus
    target: str  # the description of the target it serves ('' if none)
    approved_for_child: int  # pence already approved for this child this term (others)
    paid: bool  # decided and in an exported schedule: it cannot change
    policy: PupilPremiumPolicy
    requests_in_pep: int

    @property
    def request(self) -> PupilPremiumRequest:
        return self.stored.request

    @property
    def decision(self) -> ApprovalRecord | None:
        return self.stored.decision

    @property
    def version(self) -> int:
        """What a decision card carries: a card of another version is out of date."""
        return self.stored.version

    @property
    def room_under_cap(self) -> int:
        """The most this request could be approved for, as far as the cap goes."""
        return max(self.policy.per_term_cap_pence - self.approved_for_child, 0)

    @property
    def waits_for_finalised_pep(self) -> bool:
        return (
            self.policy.payment_needs_finalised_pep and self.pep_status is not PepStatus.FINALISED
        )


@dataclass(frozen=True)
class PpReceipt:
    pep_id: str
    child: Child
    to_decide: tuple[RequestView, ...]  # new or changed: for the advisors' cards
    withdrawn: tuple[str, ...]
    advisors: tuple[Person, ...]


@dataclass(frozen=True)
class PpOutcome:
    view: RequestView
    record: ApprovalRecord
    previous: ApprovalRecord | None
    leads: tuple[Person, ...]
    changed: bool = True  # False: the same decision again; nothing recorded or sent


@dataclass(frozen=True)
class ScheduleView:
    term: Term
    schedule: PaymentSchedule
    frozen: FrozenSchedule | None


@dataclass(frozen=True)
class ScheduleExport:
    term: Term
    schedule: PaymentSchedule
    frozen: FrozenSchedule
    newly_frozen: bool
    carried: int  # approvals passed on to the next term's schedule


def can_view_schedule(actor: Actor) -> bool:
    return actor.has_overview()


def can_export_schedule(actor: Actor) -> bool:
    """Freezing the term's payments is the Virtual School Head's (or a scheduled job's)."""
    return actor.system or any(
        a.role is Role.VIRTUAL_SCHOOL_HEAD and not a.child_id and not a.school_urn
        for a in actor.assignments
    )


def schedule_document_name(term_id: str) -> str:
    return f"pupil-premium-plus-schedule-{term_id}.docx"


def schedule_csv_name(term_id: str) -> str:
    return f"pupil-premium-plus-schedule-{term_id}.csv"


def _summary(record: ApprovalRecord | None) -> dict[str, object] | None:
    if record is None:
        return None
    return {
        "request_id": record.request_id,
        "kind": record.kind.value,
        "requested_pence": record.requested_pence,
        "approved_pence": record.approved_pence,
        "reason": record.reason,
        "pays_in_term_id": record.pays_in_term_id,
    }


def _same_request(a: PupilPremiumRequest, b: PupilPremiumRequest) -> bool:
    return (a.amount_pence, a.purpose, a.target_ref, a.impact, a.school_urn) == (
        b.amount_pence,
        b.purpose,
        b.target_ref,
        b.impact,
        b.school_urn,
    )


# ---- the use cases -------------------------------------------------------------------


class PupilPremiumService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        calendar: TermCalendar,
        rules: PepRules,
        clock: Clock,
        *,
        policy: PupilPremiumPolicy | None = None,
        document: ScheduleDocument | None = None,
        authority_name: str = "",
    ) -> None:
        self.uow = uow
        self.calendar = calendar
        self.rules = rules
        self.clock = clock
        self.policy = policy or PupilPremiumPolicy.from_rules(rules)
        self.document = document
        self.authority_name = authority_name

    # ---- helpers ----------------------------------------------------------------

    async def _paid(self, uow: UnitOfWork, record: ApprovalRecord | None) -> bool:
        if record is None or record.approved_pence <= 0:
            return False
        frozen = await uow.pupil_premium.frozen_at(record.pays_in_term_id)
        return frozen is not None and record.decided_at <= frozen

    async def _view(
        self,
        uow: UnitOfWork,
        stored: StoredRequest,
        pep: Pep,
        child: Child,
        others: Sequence[ApprovalRecord] | None = None,
    ) -> RequestView:
        """`others`: the decisions for the child's term, when the caller has them."""
        request = stored.request
        if others is None:
            others = await uow.pupil_premium.decisions(child.lcs_id, request.term_id)
        approved = sum(o.approved_pence for o in others if o.request_id != request.id)
        target = next(
            (
                str(r.get("description") or "")
                for r in pep.section("targets").get("rows") or []
                if str(r.get("ref") or "").upper() == request.target_ref
            ),
            "",
        )
        rows = pep.section(REQUEST_SECTION).get("rows") or []
        return RequestView(
            stored,
            child,
            pep.status,
            target,
            approved,
            await self._paid(uow, stored.decision),
            self.policy,
            len(rows),
        )

    @staticmethod
    async def _authors(uow: UnitOfWork, pep_id: str) -> list[str]:
        """Who wrote the PEP's PP+ rows, most recent last (people, not the system)."""
        return [
            e.actor_id
            for e in await uow.audit.for_pep(pep_id)
            if e.action == "section.save"
            and e.section == REQUEST_SECTION
            and e.actor_id not in ("system", "unknown")
        ]

    # ---- requests arrive --------------------------------------------------------

    async def receive(self, pep_id: str, returned_by: str | None = None) -> PpReceipt:
        """Read the returned PEP's PP+ rows as requests. New or changed rows are open for
        a decision (an earlier decision on a changed row is withdrawn, unless it is
        already paid); rows taken out are withdrawn. The requester is whoever last wrote
        the PP+ section, else the person who returned the PEP."""
        async with self.uow() as uow:
            pep, child = await load_pep(uow, pep_id)
            school = await school_of(uow, child)
            authors = await self._authors(uow, pep.id)
            requester = authors[-1] if authors else (returned_by or "")
            now = self.clock.now()
            repo = uow.pupil_premium
            existing = {s.id: s for s in await repo.for_pep(pep.id)}
            fresh: list[StoredRequest] = []
            for request in read_requests(pep, school, requester):
                old = existing.pop(request.id, None)
                if old is not None and not old.withdrawn and _same_request(old.request, request):
                    continue
                if old is not None and await self._paid(uow, old.decision):
                    await uow.audit.append(
                        AuditEntry(
                            now,
                            "system",
                            pep.id,
                            "pp.request.unchanged_after_payment",
                            REQUEST_SECTION,
                            _summary(old.decision),
                            None,
                        )
                    )
                    continue
                await repo.put(request, now)
                await uow.audit.append(
                    AuditEntry(
                        now,
                        "system",
                        pep.id,
                        "pp.request",
                        REQUEST_SECTION,
                        _summary(old.decision) if old else None,
                        {"request_id": request.id, "amount_pence": request.amount_pence},
                    )
                )
                fresh.append(StoredRequest(request, now, version=old.version + 1 if old else 1))
            withdrawn = []
            for old in existing.values():
                if old.withdrawn or await self._paid(uow, old.decision):
                    continue
                await repo.withdraw(old.id)
                await uow.audit.append(
                    AuditEntry(
                        now,
                        "system",
                        pep.id,
                        "pp.withdraw",
                        REQUEST_SECTION,
                        _summary(old.decision),
                        {"request_id": old.id},
                    )
                )
                withdrawn.append(old.id)
            decided = await repo.decisions(child.lcs_id, pep.term_id) if fresh else []
            views = tuple([await self._view(uow, s, pep, child, decided) for s in fresh])
            advisors = await responsible_staff(uow, Role.EDUCATION_ADVISOR, child.school_urn)
            await uow.commit()
        return PpReceipt(pep.id, child, views, tuple(withdrawn), tuple(advisors))

    # ---- the advisor ------------------------------------------------------------

    async def view(self, request_id: str, actor: Actor) -> RequestView:
        async with self.uow() as uow:
            stored = await uow.pupil_premium.get(request_id)
            if stored is None:
                raise NotFound(f"There is no Pupil Premium Plus request {request_id}.")
            pep, child = await load_pep(uow, stored.request.pep_id)
            if not can_approve(actor, child):
                raise NotAllowed(
                    "Only the link education advisor for this child's school can see this request."
                )
            return await self._view(uow, stored, pep, child)

    async def pending(self, actor: Actor) -> list[RequestView]:
        """Open requests this actor may decide (never their own), oldest id first."""
        async with self.uow() as uow:
            views = []
            for stored in await uow.pupil_premium.open_requests():
                if stored.request.requested_by == actor.id:
                    continue
                child = await uow.children.get(stored.request.child_id)
                if child is None or not can_approve(actor, child):
                    continue
                pep = await uow.peps.get(stored.request.pep_id)
                if pep is not None:
                    views.append(await self._view(uow, stored, pep, child))
        return views

    async def decide(
        self, request_id: str, actor: Actor, decision: Decision, *, version: int | None = None
    ) -> PpOutcome:
        """Approve, approve a different amount, or decline. ValidationFailed names the
        request's row and field; NotAllowed for anyone but the child's link advisor, and
        for anyone who wrote the request.

        Decided once: the same decision as the one recorded changes nothing and tells
        nobody again (changed=False), whatever card it came from. Otherwise `version`
        (the card's) must be the request's: DecisionOutOfDate when it was decided or
        changed since. None: no card (the CLI, a deliberate change) — no check."""
        async with self.uow() as uow:
            repo = uow.pupil_premium
            found = await repo.get(request_id)
            if found is None:
                raise NotFound(f"There is no Pupil Premium Plus request {request_id}.")
            pep, child = await load_pep(uow, found.request.pep_id)
            if not can_approve(actor, child):
                raise NotAllowed(
                    "Only the link education advisor for this child's school "
                    "can decide this request."
                )
            if actor.id in await self._authors(uow, pep.id):
                raise NotAllowed("Nobody can decide a Pupil Premium Plus request they made.")
            term = self.calendar.get(found.request.term_id)
            frozen = await repo.lock_term(term.id)  # one decision per term at a time
            stored = await repo.get(request_id) or found
            request = stored.request
            if stored.withdrawn:
                raise NotFound("The school has taken this request out of the PEP.")
            if stored.decision is not None and same_decision(stored.decision, decision):
                view = await self._view(uow, stored, pep, child)
                return PpOutcome(view, stored.decision, stored.decision, (), changed=False)
            if await self._paid(uow, stored.decision):
                raise ValidationFailed(
                    [
                        FieldError(
                            REQUEST_SECTION,
                            "amount",
                            "this decision is in an exported payment schedule and cannot change",
                            request.index,
                        )
                    ]
                )
            if version is not None and version != stored.version:
                raise DecisionOutOfDate(await self._view(uow, stored, pep, child))
            now = self.clock.now()
            pays = term
            while frozen is not None:
                # Under the term's lock, a frozen schedule was frozen before this decision,
                # whatever the clocks of two instances say: never stamp it earlier.
                now = max(now, frozen + _TICK)
                following = self._schedule_term(now, pays, frozen)
                if following == pays:  # pragma: no cover - now is after the freeze
                    break
                pays = following
                frozen = await repo.lock_term(pays.id)
            others = await repo.decisions(child.lcs_id, request.term_id)
            record = decide(
                request,
                decision,
                decided_by=actor.id,
                decided_at=now,
                pays_in_term_id=pays.id,
                policy=self.policy,
                others=others,
            )
            if not await repo.save_decision(record, stored.version):
                raise DecisionOutOfDate(
                    await self._view(uow, await repo.get(request_id) or stored, pep, child)
                )
            await uow.audit.append(
                AuditEntry(
                    now,
                    actor.id,
                    pep.id,
                    "pp.decide",
                    REQUEST_SECTION,
                    _summary(stored.decision),
                    _summary(record),
                )
            )
            after = StoredRequest(request, stored.received_at, False, record, stored.version + 1)
            # `others` leaves this request's own decision out, as the view's sum does
            view = await self._view(uow, after, pep, child, others)
            leads = await school_leads(uow, child)
            await uow.commit()
        return PpOutcome(view, record, stored.decision, tuple(leads))

    def _schedule_term(self, now: datetime, term: Term, frozen_at: datetime | None) -> Term:
        try:
            return schedule_term_for(now, term, frozen_at, self.calendar)
        except ValueError:
            raise ValidationFailed(
                [
                    FieldError(
                        REQUEST_SECTION,
                        "amount",
                        f"the {term.label} schedule is exported and the "
                        "term calendar has no next term to pay this in",
                    )
                ]
            ) from None

    # ---- the schedule -----------------------------------------------------------

    async def schedule(self, term_id: str, actor: Actor) -> ScheduleView:
        """The term's schedule as it stands (or as it was frozen)."""
        if not can_view_schedule(actor):
            raise NotAllowed("The payment schedule is for Virtual School staff only.")
        term = self._term(term_id)
        async with self.uow() as uow:
            frozen = await uow.pupil_premium.frozen(term.id)
            approvals, finalised = await uow.pupil_premium.for_schedule(term.id)
        schedule = build_schedule(
            term.id, approvals, finalised, frozen.frozen_at if frozen else None, self.policy
        )
        return ScheduleView(term, schedule, frozen)

    async def export(self, term_id: str, actor: Actor) -> ScheduleExport:
        """The CSV for finance and the readable document. The first export freezes the
        schedule: held and late approvals pass to the next term's; later exports return
        the same files."""
        if not can_export_schedule(actor):
            raise NotAllowed("Only the Virtual School Head can export the payment schedule.")
        term = self._term(term_id)
        async with self.uow() as uow:
            repo = uow.pupil_premium
            await repo.lock_term(term.id)
            stored = await repo.frozen(term.id)
            approvals, finalised = await repo.for_schedule(term.id)
            if stored is not None:
                schedule = build_schedule(
                    term.id, approvals, finalised, stored.frozen_at, self.policy
                )
                return ScheduleExport(term, schedule, stored, False, 0)
            # Every decision recorded before this point is in: none may look later than
            # the freeze because another instance's clock runs ahead.
            now = max(
                [
                    self.clock.now(),
                    *(a.decided_at for a in approvals if a.pays_in_term_id == term.id),
                ]
            )
            schedule = build_schedule(term.id, approvals, finalised, now, self.policy)
            moved = []
            if schedule.held_records or schedule.late:
                try:
                    following = self.calendar.following(term)
                except ValueError:
                    raise ScheduleRefused(
                        f"{len(schedule.held_records) + len(schedule.late)} approvals wait "
                        f"for a finalised PEP and would pass to the next term, but the "
                        f"term calendar has no term after {term.id}: add it first."
                    ) from None
                moved = carry_forward(schedule, following.id)
                await repo.move(moved)
            document = (
                self.document(schedule, term, self.authority_name)
                if self.document is not None
                else b""
            )
            frozen = FrozenSchedule(
                term.id,
                now,
                actor.id,
                schedule_csv(schedule),
                document,
                schedule_document_name(term.id),
                schedule.total_pence,
                schedule.held_pence,
            )
            await repo.freeze(frozen)
            await uow.audit.append(
                AuditEntry(
                    now,
                    actor.id,
                    f"schedule:{term.id}",
                    "pp.schedule.freeze",
                    None,
                    None,
                    {
                        "total_pence": schedule.total_pence,
                        "held_pence": schedule.held_pence,
                        "carried": len(moved),
                    },
                )
            )
            await uow.commit()
        return ScheduleExport(term, schedule, frozen, True, len(moved))

    def _term(self, term_id: str) -> Term:
        try:
            return self.calendar.get(term_id)
        except ValueError as exc:
            raise NotFound(str(exc)) from None
