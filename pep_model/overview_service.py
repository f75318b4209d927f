"""The Virtual School's overview of a term: the use cases the bot, the weekly digest and
the CLI call. The store gives one lean row per child (no PEP content); overview.py does
the counting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from pep_model.access import SYSTEM, Actor
from pep_model.child import Child, YearGroup
from pep_model.errors import NotAllowed, NotFound
from pep_model.overview import Overview, OverviewRow, build_overview, overview_csv
from pep_model.people import Person, Role
from pep_model.ports import Clock, UnitOfWorkFactory
from pep_model.quality import GradeScale, QaPolicy
from pep_model.rules import PepRules, is_transition_case
from pep_model.terms import Term, TermCalendar
from pep_model.workflow import PepStatus


@dataclass(frozen=True, slots=True)
class OverviewFacts:
    """What the store reads per child for one term: the child's few facts the transition
    rule needs, and their PEP's lean columns (status None: no PEP opened)."""

    child_id: str
    school_urn: str
    year_group: int
    school_start_date: date | None
    transition_flag: bool
    complex_case: bool
    status: PepStatus | None = None
    meeting_starts_at: datetime | None = None
    meeting_held_on: date | None = None
    return_due: date | None = None
    qa_overall: str | None = None
    pp_requested_pence: int = 0
    pp_approved_pence: int = 0
    pp_paid_pence: int = 0
    virtual_school_attending: bool = False


class OverviewRepository(Protocol):
    async def facts(self, term_id: str) -> list[OverviewFacts]:
        """One per child on the roster, with their PEP for `term_id` if opened; PP+
        summed in the store (requested: not withdrawn; approved: decided; paid: in an
        exported schedule), the QA grade of the latest round."""
        ...


_PLACEHOLDER_BIRTH = date(2000, 1, 1)


def overview_rows(
    facts: list[OverviewFacts], term: Term, rules: PepRules, today: date
) -> list[OverviewRow]:
    """Lean rows for build_overview. The transition rule reads only the year group, the
    school start date and the flag, so it runs once per distinct combination (a few
    hundred at most) on a stand-in child: no name or date of birth is loaded."""
    known: dict[tuple[int, date | None, bool], bool] = {}

    def transition(f: OverviewFacts) -> bool:
        key = (f.year_group, f.school_start_date, f.transition_flag)
        found = known.get(key)
        if found is None:
            child = Child(
                f.child_id,
                "",
                "",
                _PLACEHOLDER_BIRTH,
                YearGroup(f.year_group),
                f.school_urn,
                school_start_date=f.school_start_date,
                transition_flag=f.transition_flag,
            )
            found = known[key] = is_transition_case(child, term, rules, today)
        return found

    term_id = term.id
    return [
        OverviewRow(
            f.child_id,
            term_id,
            f.school_urn,
            f.year_group,
            f.status,
            transition(f),
            f.complex_case,
            f.meeting_starts_at,
            f.meeting_held_on,
            f.return_due,
            f.qa_overall,
            f.pp_requested_pence,
            f.pp_approved_pence,
            f.pp_paid_pence,
            f.virtual_school_attending,
        )
        for f in facts
    ]


class OverviewService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        calendar: TermCalendar,
        rules: PepRules,
        clock: Clock,
        scale: GradeScale | None = None,
    ) -> None:
        self.uow = uow
        self.calendar = calendar
        self.rules = rules
        self.clock = clock
        self.scale = scale or QaPolicy.from_rules(rules).scale

    def term(self, term_id: str | None = None) -> Term:
        if term_id is None:
            return self.calendar.current_or_next(self.clock.today())
        try:
            return self.calendar.get(term_id)
        except ValueError as exc:
            raise NotFound(str(exc)) from None

    async def overview(self, actor: Actor, term_id: str | None = None) -> Overview:
        """For Virtual School staff only (the OVERVIEW capability)."""
        if not actor.has_overview():
            raise NotAllowed("The overview is for Virtual School staff only.")
        term = self.term(term_id)
        today = self.clock.today()
        async with self.uow() as uow:
            facts = await uow.overview.facts(term.id)
        return build_overview(
            overview_rows(facts, term, self.rules, today), today, term, self.scale
        )

    async def report_csv(self, term_id: str, actor: Actor = SYSTEM) -> str:
        return overview_csv(await self.overview(actor, term_id))

    async def digest_recipients(self) -> list[Person]:
        """The weekly digest goes to the Virtual School Head(s)."""
        async with self.uow() as uow:
            return await uow.staff.authority_wide(Role.VIRTUAL_SCHOOL_HEAD)
