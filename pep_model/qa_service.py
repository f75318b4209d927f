"""Quality assurance of returned PEPs: the use cases the bot and the CLI call.

A returned PEP goes into QA (`start`, called by the bot's `on_pep_returned`), the
coordinator responsible reviews it from the pre-assessment, grades it and decides
(`decide`): approve (finalised) or return for amendment; the lead resubmits
(`resubmit`) and it comes back to QA. Every round is kept. A designated teacher can run
the same pre-assessment on a draft (`check`). The rules are quality.py's; nothing here
restates them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from pep_model.access import SYSTEM, Actor, Capability
from pep_model.child import Child, School
from pep_model.errors import NotAllowed, PepError, StaleVersion
from pep_model.people import Person, Role
from pep_model.pep import Pep
from pep_model.ports import AuditEntry, Clock, UnitOfWork, UnitOfWorkFactory
from pep_model.qa_criteria import CriterionResult, pre_assess, suggested_grades
from pep_model.quality import (
    Grade,
    QaAssessment,
    QaDecision,
    QaInvalid,
    QaPolicy,
    QaRound,
    accept_suggestions,
    assess,
    can_grade,
    graded,
    next_round_number,
    overall_grade,
    record_round,
    require_confirmed,
)
from pep_model.rules import PepContext, PepRules
from pep_model.services import load_pep, require
from pep_model.terms import Term, TermCalendar
from pep_model.workflow import PepStatus, check_move, is_before_meeting

# ---- ports this use case adds to the unit of work -----------------------------------


class QaRepository(Protocol):
    async def rounds(self, pep_id: str) -> list[QaRound]:
        """Every round recorded for the PEP, oldest first."""
        ...

    async def add_round(self, pep_id: str, term_id: str, qa_round: QaRound) -> None:
        """Record a round; StaleVersion when a round with its number is already there."""
        ...

    async def with_status(self, statuses: Sequence[PepStatus]) -> list[tuple[str, str, PepStatus]]:
        """(pep id, child id, status) of every PEP in one of the statuses, by pep id.
        Lean: no PEP content is read."""
        ...


class StaffDirectory(Protocol):
    async def authority_wide(self, role: Role) -> list[Person]:
        """People holding `role` for the whole authority, by person id."""
        ...


# ---- who is told ---------------------------------------------------------------------


def _unique(people: Iterable[Person]) -> list[Person]:
    seen: dict[str, Person] = {}
    for person in people:
        seen.setdefault(person.id, person)
    return list(seen.values())


async def responsible_staff(uow: UnitOfWork, role: Role, school_urn: str) -> list[Person]:
    """Who holds `role` for this school; when nobody does, who holds it authority-wide.
    (Responsibility by school or by area is configured by the staff assignments.)"""
    for_school = await uow.people.people_for_school(school_urn, role)
    if for_school:
        return _unique(for_school)
    return _unique(await uow.staff.authority_wide(role))


async def school_leads(uow: UnitOfWork, child: Child) -> list[Person]:
    """The people who lead the child's PEP in school: the PEP lead and the designated
    teacher, assigned to the child or to the school."""
    people: list[Person] = []
    for role in (Role.PEP_LEAD, Role.DESIGNATED_TEACHER):
        people += await uow.people.people_for_child(child.lcs_id, role)
        people += await uow.people.people_for_school(child.school_urn, role)
    return _unique(people)


async def school_of(uow: UnitOfWork, child: Child) -> School:
    return await uow.children.get_school(child.school_urn) or School(
        child.school_urn, child.school_urn
    )


# ---- what the cards show -------------------------------------------------------------


@dataclass(frozen=True)
class PreAssessment:
    """What the record shows against the QA criteria, before anyone grades."""

    pep: Pep
    child: Child
    school: School
    term: Term
    results: tuple[CriterionResult, ...]
    suggested: Mapping[str, Grade]
    policy: QaPolicy

    @property
    def suggested_overall(self) -> Grade | None:
        return overall_grade(self.suggested, self.policy) if self.suggested else None

    @property
    def meeting_pending(self) -> bool:
        """The meeting has not been held: who attended and the next date come later."""
        return is_before_meeting(self.pep.status)

    @property
    def unmet(self) -> tuple[CriterionResult, ...]:
        return tuple(r for r in self.results if r.applies and not r.met)


@dataclass(frozen=True)
class QaReview:
    """A PEP in (or through) QA: the pre-assessment and every round so far."""

    assessment: PreAssessment
    history: tuple[QaRound, ...]

    @property
    def pep(self) -> Pep:
        return self.assessment.pep

    @property
    def child(self) -> Child:
        return self.assessment.child

    @property
    def policy(self) -> QaPolicy:
        return self.assessment.policy

    @property
    def next_round(self) -> int:
        return next_round_number(self.history)

    @property
    def open(self) -> bool:
        """Waiting for a coordinator's decision."""
        return self.pep.status is PepStatus.IN_QA

    def preview(
        self,
        grades: Mapping[str, str],
        *,
        override: str | None = None,
        override_reason: str = "",
        feedback: str = "",
    ) -> QaAssessment:
        return assess(
            _graded(grades),
            self.policy,
            override=override,
            override_reason=override_reason,
            feedback=feedback,
        )


@dataclass(frozen=True)
class QaStart:
    review: QaReview
    started: bool  # moved from returned to in QA by this call
    coordinators: tuple[Person, ...]


@dataclass(frozen=True)
class QaOutcome:
    review: QaReview  # after the decision
    round: QaRound
    leads: tuple[Person, ...]  # to be told


@dataclass(frozen=True)
class QueueItem:
    pep_id: str
    child: Child
    status: PepStatus


def _graded(grades: Mapping[str, str]) -> dict[str, str]:
    return graded(grades)


class QaAlreadyDecided(PepError):
    """The card's round is already recorded (a double click, or an older card): nothing
    was recorded or sent. `review` is the PEP as it is now, `decided` that round."""

    def __init__(self, review: QaReview, decided: QaRound) -> None:
        self.review = review
        self.decided = decided
        super().__init__(f"QA round {decided.number} is already recorded")


@dataclass(frozen=True)
class SuggestionsAccepted:
    review: QaReview
    choices: Mapping[str, str]  # every section: a grade or 'does not apply'
    filled: tuple[str, ...]  # the sections the suggestions filled in


# ---- the use cases -------------------------------------------------------------------


class QaService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        calendar: TermCalendar,
        rules: PepRules,
        clock: Clock,
        policy: QaPolicy | None = None,
    ) -> None:
        self.uow = uow
        self.calendar = calendar
        self.rules = rules
        self.clock = clock
        self.policy = policy or QaPolicy.from_rules(rules)

    def pre_assessment(self, pep: Pep, child: Child, school: School) -> PreAssessment:
        term = self.calendar.get(pep.term_id)
        ctx = PepContext(
            child=child,
            term=term,
            calendar=self.calendar,
            rules=self.rules,
            today=self.clock.today(),
            sections=pep.sections,
        )
        as_of: date | None = pep.meeting_held_on
        results = tuple(pre_assess(ctx, self.policy, as_of=as_of))
        return PreAssessment(
            pep,
            child,
            school,
            term,
            results,
            suggested_grades(results, self.policy.scale),
            self.policy,
        )

    async def _review(self, uow: UnitOfWork, pep: Pep, child: Child) -> QaReview:
        return QaReview(
            self.pre_assessment(pep, child, await school_of(uow, child)),
            tuple(await uow.qa.rounds(pep.id)),
        )

    # ---- into QA ----------------------------------------------------------------

    async def start(self, pep_id: str) -> QaStart:
        """A returned PEP goes into QA. Idempotent: a PEP already in QA is left as it is
        (started=False); any other status is refused."""
        for _ in range(3):
            started = await self._start(pep_id)
            if started is not None:
                return started
        raise NotAllowed(f"PEP {pep_id} keeps changing; try again.")  # pragma: no cover

    async def _start(self, pep_id: str) -> QaStart | None:
        """None when another request moved the PEP meanwhile (look again)."""
        async with self.uow() as uow:
            pep, child = await load_pep(uow, pep_id)
            started = False
            if pep.status is PepStatus.RETURNED:
                check_move(pep.status, PepStatus.IN_QA, SYSTEM.capabilities(child))
                read_version = pep.version
                pep.status = PepStatus.IN_QA
                try:
                    await uow.peps.save(pep, read_version)
                except StaleVersion:
                    return None
                await uow.audit.append(
                    AuditEntry(
                        self.clock.now(), SYSTEM.id, pep.id, "qa.start", None, "returned", "in_qa"
                    )
                )
                started = True
            elif pep.status is not PepStatus.IN_QA:
                raise NotAllowed(
                    f"PEP {pep_id} is '{pep.status.label}', not returned: "
                    "it cannot go to quality assurance."
                )
            review = await self._review(uow, pep, child)
            coordinators = await responsible_staff(uow, Role.PEP_COORDINATOR, child.school_urn)
            await uow.commit()
        return QaStart(review, started, tuple(coordinators))

    # ---- the coordinator --------------------------------------------------------

    async def review(self, pep_id: str, actor: Actor) -> QaReview:
        async with self.uow() as uow:
            pep, child = await load_pep(uow, pep_id)
            if not can_grade(actor, child):
                raise NotAllowed(
                    "Only a PEP coordinator for this child's school can quality-assure this PEP."
                )
            return await self._review(uow, pep, child)

    async def decide(
        self,
        pep_id: str,
        actor: Actor,
        grades: Mapping[str, str],
        decision: QaDecision,
        *,
        override: str | None = None,
        override_reason: str = "",
        feedback: str = "",
        expected_round: int | None = None,
    ) -> QaOutcome:
        """Record a round and move the PEP on: finalised, or back to the school.
        QaInvalid (with the field) when the grades or the decision cannot stand;
        approval needs a choice the coordinator confirmed for every section (a grade or
        'does not apply'). `expected_round` is the card's: QaAlreadyDecided when that
        round is already recorded (decided once: nothing recorded or sent again)."""
        async with self.uow() as uow:
            pep, child = await load_pep(uow, pep_id)
            if not can_grade(actor, child):
                raise NotAllowed(
                    "Only a PEP coordinator for this child's school can quality-assure this PEP."
                )
            history = await uow.qa.rounds(pep.id)
            done = next((r for r in history if r.number == expected_round), None)
            if done is not None:
                raise QaAlreadyDecided(await self._review(uow, pep, child), done)
            _require_open(pep)
            if decision is QaDecision.APPROVE:
                require_confirmed(grades)
            number = next_round_number(history)
            if expected_round is not None and expected_round != number:
                raise QaInvalid(
                    "decision",
                    f"QA round {number - 1} was recorded meanwhile: "
                    "look at it before deciding again",
                )
            assessment = assess(
                _graded(grades),
                self.policy,
                override=override,
                override_reason=override_reason,
                feedback=feedback,
            )
            now = self.clock.now()
            qa_round = record_round(history, actor, child, assessment, decision, now, self.policy)
            target = decision.target_status
            check_move(pep.status, target, actor.capabilities(child))
            read_version = pep.version
            pep.status = target
            try:
                await uow.peps.save(pep, read_version)
                await uow.qa.add_round(pep.id, pep.term_id, qa_round)
            except StaleVersion:
                raise QaInvalid(
                    "decision",
                    "someone else decided this PEP meanwhile: open it again to see their decision",
                ) from None
            await uow.audit.append(
                AuditEntry(
                    now,
                    actor.id,
                    pep.id,
                    f"qa.{decision.value}",
                    None,
                    PepStatus.IN_QA.value,
                    {
                        "status": target.value,
                        "round": qa_round.number,
                        "overall": qa_round.overall,
                        "graded": len(qa_round.grades),
                    },
                )
            )
            review = await self._review(uow, pep, child)
            leads = await school_leads(uow, child)
            await uow.commit()
        return QaOutcome(review, qa_round, tuple(leads))

    async def accept_suggestions(
        self, pep_id: str, actor: Actor, choices: Mapping[str, str]
    ) -> SuggestionsAccepted:
        """'Accept all suggestions': a deliberate act, audited (which sections it filled
        in). Nothing is graded yet: the coordinator still approves or returns."""
        async with self.uow() as uow:
            pep, child = await load_pep(uow, pep_id)
            if not can_grade(actor, child):
                raise NotAllowed(
                    "Only a PEP coordinator for this child's school can quality-assure this PEP."
                )
            _require_open(pep)
            review = await self._review(uow, pep, child)
            chosen, filled = accept_suggestions(choices, review.assessment.suggested)
            await uow.audit.append(
                AuditEntry(
                    self.clock.now(),
                    actor.id,
                    pep.id,
                    "qa.accept_suggestions",
                    None,
                    None,
                    {
                        "round": review.next_round,
                        "sections": list(filled),
                        "grades": {k: chosen[k] for k in filled},
                    },
                )
            )
            await uow.commit()
        return SuggestionsAccepted(review, chosen, filled)

    async def queue(self, actor: Actor) -> list[QueueItem]:
        """PEPs waiting for QA that this actor may grade, oldest pep id first."""
        async with self.uow() as uow:
            found = await uow.qa.with_status((PepStatus.RETURNED, PepStatus.IN_QA))
            items = []
            for pep_id, child_id, status in found:
                child = await uow.children.get(child_id)
                if child is not None and can_grade(actor, child):
                    items.append(QueueItem(pep_id, child, status))
        return items

    # ---- the school -------------------------------------------------------------

    async def feedback(self, pep_id: str, actor: Actor) -> QaReview:
        """The QA history as the school sees it (to make the amendments)."""
        async with self.uow() as uow:
            pep, child = await load_pep(uow, pep_id)
            require(actor, Capability.EDIT, child)
            return await self._review(uow, pep, child)

    async def resubmit(self, pep_id: str, actor: Actor) -> Pep:
        """The amended PEP goes back (amendments requested -> returned); the caller then
        sends it into QA again with on_pep_returned."""
        async with self.uow() as uow:
            pep, child = await load_pep(uow, pep_id)
            require(actor, Capability.EDIT, child)
            if pep.status is not PepStatus.AMENDMENTS_REQUESTED:
                raise NotAllowed(
                    f"This PEP is '{pep.status.label}': only a PEP returned "
                    "for amendment can be sent back to QA."
                )
            check_move(pep.status, PepStatus.RETURNED, actor.capabilities(child))
            read_version = pep.version
            pep.status = PepStatus.RETURNED
            try:
                await uow.peps.save(pep, read_version)
            except StaleVersion:
                raise NotAllowed("This PEP changed meanwhile; open it again.") from None
            await uow.audit.append(
                AuditEntry(
                    self.clock.now(),
                    actor.id,
                    pep.id,
                    "qa.resubmit",
                    None,
                    PepStatus.AMENDMENTS_REQUESTED.value,
                    PepStatus.RETURNED.value,
                )
            )
            await uow.commit()
        return pep

    async def check(self, pep_id: str, actor: Actor) -> PreAssessment:
        """`check my pep`: the pre-assessment of a PEP the actor completes. Nothing is
        recorded."""
        async with self.uow() as uow:
            pep, child = await load_pep(uow, pep_id)
            require(actor, Capability.EDIT, child)
            return self.pre_assessment(pep, child, await school_of(uow, child))


def _require_open(pep: Pep) -> None:
    if pep.status is PepStatus.IN_QA:
        return
    if pep.status is PepStatus.FINALISED:
        raise QaInvalid("decision", "this PEP is already approved and finalised")
    if pep.status is PepStatus.AMENDMENTS_REQUESTED:
        raise QaInvalid(
            "decision",
            "this PEP is with the school for amendment; it comes "
            "back to QA when they send it again",
        )
    raise QaInvalid("decision", f"this PEP is '{pep.status.label}', not in quality assurance")
