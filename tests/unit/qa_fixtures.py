"""An authority for the after-the-meeting tests, on the in-memory fakes.

school 100001 (Northvale Academy): LCS100001 (Year 7), LCS100003 (Year 9)
school 100002 (Brackenfield Primary): LCS100002 (Year 4)

Staff: designated teachers per school; a PEP coordinator and a link education advisor
for 100001 and others for 100002; an authority-wide coordinator; the Virtual School
Head and an officer; a social worker for LCS100001; someone with no assignment. Each
person has a Teams (Entra object) id, "aad-<first part of the email>".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from forms.payment_schedule import render_payment_schedule
from pep_model.access import Actor
from pep_model.child import Child, School
from pep_model.overview_service import OverviewService
from pep_model.people import Assignment, Person, Role
from pep_model.pep import pep_id_for
from pep_model.pupil_premium_service import PupilPremiumService
from pep_model.qa_service import QaService
from pep_model.quality import DOES_NOT_APPLY
from pep_model.rules import PepRules
from pep_model.sections import SECTION_KEYS
from pep_model.services import PepService
from pep_model.terms import TermCalendar, default_calendar
from pep_model.workflow import PepStatus
from tests.unit.builders import complete_raw, make_child, meeting_raw
from tests.unit.fakes import FixedClock, InMemoryUnitOfWorkFactory

TERM = "2026-autumn"
TODAY = date(2026, 11, 16)
SCHOOL = School("100001", "Northvale Academy")
OTHER_SCHOOL = School("100002", "Brackenfield Primary School")


def person(email: str, name: str) -> Person:
    return Person(email, name, f"aad-{email.split('@')[0]}")


DT = person("h.pemberton@northvale.sch.example", "Harriet Pemberton")
OTHER_DT = person("m.oyelaran@brackenfield.sch.example", "Marcus Oyelaran")
SW = person("rachel.donnelly@northvale.example", "Rachel Donnelly")
COORDINATOR = person("lucy.harrowby@northvale.example", "Lucy Harrowby")
OTHER_COORDINATOR = person("tariq.benhamou@northvale.example", "Tariq Benhamou")
AUTHORITY_COORDINATOR = person("pat.whitlow@northvale.example", "Pat Whitlow")
ADVISOR = person("gwen.talbot-price@northvale.example", "Gwen Talbot-Price")
OTHER_ADVISOR = person("simon.edevane@northvale.example", "Simon Edevane")
VSH = person("imogen.stallard@northvale.example", "Imogen Stallard")
VSO = person("bethan.carrow@northvale.example", "Bethan Carrow")
STRANGER = person("someone@elsewhere.example", "Someone Else")

ASSIGNMENTS: dict[Person, tuple[Assignment, ...]] = {
    DT: (Assignment(DT.id, Role.DESIGNATED_TEACHER, school_urn=SCHOOL.urn),),
    OTHER_DT: (Assignment(OTHER_DT.id, Role.DESIGNATED_TEACHER, school_urn=OTHER_SCHOOL.urn),),
    SW: (Assignment(SW.id, Role.SOCIAL_WORKER, child_id="LCS100001"),),
    COORDINATOR: (Assignment(COORDINATOR.id, Role.PEP_COORDINATOR, school_urn=SCHOOL.urn),),
    OTHER_COORDINATOR: (
        Assignment(OTHER_COORDINATOR.id, Role.PEP_COORDINATOR, school_urn=OTHER_SCHOOL.urn),
    ),
    AUTHORITY_COORDINATOR: (Assignment(AUTHORITY_COORDINATOR.id, Role.PEP_COORDINATOR),),
    ADVISOR: (Assignment(ADVISOR.id, Role.EDUCATION_ADVISOR, school_urn=SCHOOL.urn),),
    OTHER_ADVISOR: (
        Assignment(OTHER_ADVISOR.id, Role.EDUCATION_ADVISOR, school_urn=OTHER_SCHOOL.urn),
    ),
    VSH: (Assignment(VSH.id, Role.VIRTUAL_SCHOOL_HEAD),),
    VSO: (Assignment(VSO.id, Role.VIRTUAL_SCHOOL_OFFICER),),
    STRANGER: (),
}


def actor(p: Person) -> Actor:
    return Actor(p, ASSIGNMENTS[p])


def children() -> list[Child]:
    return [
        make_child("LCS100001", 7, SCHOOL.urn),
        make_child("LCS100002", 4, OTHER_SCHOOL.urn, first_name="Theo", last_name="Marchbank"),
        make_child("LCS100003", 9, SCHOOL.urn, first_name="Ruby", last_name="Quill"),
    ]


@dataclass
class World:
    factory: InMemoryUnitOfWorkFactory
    calendar: TermCalendar
    rules: PepRules
    clock: FixedClock
    peps: PepService
    qa: QaService
    pp: PupilPremiumService
    overview: OverviewService
    extra: dict[str, Any] = field(default_factory=dict)


def make_world(rules: PepRules | None = None, *, with_coordinators: bool = True) -> World:
    rules = rules or PepRules()
    calendar = default_calendar()
    clock = FixedClock(today=TODAY)
    staff = {
        p: a
        for p, a in ASSIGNMENTS.items()
        if with_coordinators or p not in (COORDINATOR, OTHER_COORDINATOR)
    }
    factory = InMemoryUnitOfWorkFactory().seed(
        schools=[SCHOOL, OTHER_SCHOOL],
        children=children(),
        people=list(ASSIGNMENTS),
        assignments=[a for held in staff.values() for a in held],
    )
    return World(
        factory,
        calendar,
        rules,
        clock,
        PepService(factory, calendar, rules, clock),
        QaService(factory, calendar, rules, clock),
        PupilPremiumService(
            factory,
            calendar,
            rules,
            clock,
            document=render_payment_schedule,
            authority_name="Northvale County Council",
        ),
        OverviewService(factory, calendar, rules, clock),
    )


def lead_for(child_id: str) -> Actor:
    return actor(OTHER_DT if child_id == "LCS100002" else DT)


class HasPeps(Protocol):
    """This world, or the same authority on a real database (tests/integration)."""

    peps: PepService


async def fill(world: HasPeps, pep_id: str, who: Actor, raw: dict[str, dict[str, Any]]) -> None:
    """Save each section at the PEP's current version, as a fresh card would."""
    for key, values in raw.items():
        version = (await world.peps.get(pep_id, who)).pep.version
        outcome = await world.peps.record_section(pep_id, key, values, who, version)
        assert outcome.saved, outcome.errors


async def met_pep(
    world: HasPeps, child_id: str = "LCS100001", changes: dict[str, dict[str, Any]] | None = None
) -> str:
    """A complete PEP whose meeting was held today (awaiting return)."""
    who = lead_for(child_id)
    pep = await world.peps.open_pep(child_id, TERM)
    raw = complete_raw()
    raw.update(changes or {})
    await fill(world, pep.id, who, raw)
    await world.peps.start_meeting(pep.id, who)
    await fill(world, pep.id, who, meeting_raw())
    _, problems = await world.peps.finish_meeting(pep.id, who)
    assert not problems, problems
    return pep.id


def mark_returned(world: World, pep_id: str, who: Actor | None = None) -> None:
    """What the return use case (pep_model/returns.py, not ours) does to the status."""
    pep = world.factory.stored_pep(pep_id)
    version = pep.version
    pep.status = PepStatus.RETURNED
    pep.version = version + 1
    world.factory.state.peps[pep_id] = pep


async def returned_pep(
    world: World, child_id: str = "LCS100001", changes: dict[str, dict[str, Any]] | None = None
) -> str:
    pep_id = await met_pep(world, child_id, changes)
    mark_returned(world, pep_id)
    return pep_id


def pep_id(child_id: str = "LCS100001") -> str:
    return pep_id_for(child_id, TERM)


def confirmed(grades: Mapping[str, str]) -> dict[str, str]:
    """`grades`, with every other section confirmed as 'does not apply' (approval needs a
    confirmed choice for every section)."""
    return {**dict.fromkeys(SECTION_KEYS, DOES_NOT_APPLY), **grades}
