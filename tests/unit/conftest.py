"""Fixtures for the unit tier: the core on in-memory fakes of its ports.

One authority with two schools:
  school 100001: LCS100001 (Year 7, the main child), LCS100003 (Year 9, another caseload)
  school 100002: LCS100002 (Year 4)
People: a designated teacher of 100001 (school scope), a designated teacher of 100002,
a social worker for LCS100001 and LCS100002, another social worker for LCS100003, a
carer and the child's own account for LCS100001, a Virtual School officer
(authority-wide) and a stranger with no assignment at all.
"""

from __future__ import annotations

from datetime import date

import pytest

from pep_model.access import Actor
from pep_model.child import Child, School
from pep_model.people import Assignment, Person, Role
from pep_model.rules import PepRules
from pep_model.services import PepService
from pep_model.terms import TermCalendar, default_calendar
from tests.unit.builders import make_child
from tests.unit.fakes import FixedClock, InMemoryUnitOfWorkFactory

SCHOOL = School("100001", "Northvale Academy")
OTHER_SCHOOL = School("100002", "Brackenfield Primary School")

DT = Person("h.pemberton@northvale.sch.example", "Harriet Pemberton")
OTHER_DT = Person("m.oyelaran@brackenfield.sch.example", "Marcus Oyelaran")
SW = Person("rachel.donnelly@northvale.example", "Rachel Donnelly")
OTHER_SW = Person("nadia.rahimi@northvale.example", "Nadia Rahimi")
CARER = Person("maureen.ashdown@carers.example", "Maureen Ashdown")
CHILD_PERSON = Person("ada.fenwick@pupils.example", "Ada Fenwick")
VSO = Person("bethan.carrow@northvale.example", "Bethan Carrow")
STRANGER = Person("someone@elsewhere.example", "Someone Else")

ASSIGNMENTS = {
    DT: (Assignment(DT.id, Role.DESIGNATED_TEACHER, school_urn=SCHOOL.urn),),
    OTHER_DT: (Assignment(OTHER_DT.id, Role.DESIGNATED_TEACHER, school_urn=OTHER_SCHOOL.urn),),
    SW: (
        Assignment(SW.id, Role.SOCIAL_WORKER, child_id="LCS100001"),
        Assignment(SW.id, Role.SOCIAL_WORKER, child_id="LCS100002"),
    ),
    OTHER_SW: (Assignment(OTHER_SW.id, Role.SOCIAL_WORKER, child_id="LCS100003"),),
    CARER: (Assignment(CARER.id, Role.CARER, child_id="LCS100001"),),
    CHILD_PERSON: (Assignment(CHILD_PERSON.id, Role.CHILD, child_id="LCS100001"),),
    VSO: (Assignment(VSO.id, Role.VIRTUAL_SCHOOL_OFFICER),),
    STRANGER: (),
}


@pytest.fixture
def calendar() -> TermCalendar:
    return default_calendar()


@pytest.fixture
def rules() -> PepRules:
    return PepRules()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(today=date(2026, 11, 16))


@pytest.fixture
def child() -> Child:
    return make_child("LCS100001", 7, SCHOOL.urn)


@pytest.fixture
def other_school_child() -> Child:
    return make_child("LCS100002", 4, OTHER_SCHOOL.urn, first_name="Theo", last_name="Marchbank")


@pytest.fixture
def other_caseload_child() -> Child:
    return make_child("LCS100003", 9, SCHOOL.urn, first_name="Ruby", last_name="Quill")


@pytest.fixture
def children(child: Child, other_school_child: Child, other_caseload_child: Child) -> list[Child]:
    return [child, other_school_child, other_caseload_child]


@pytest.fixture
def factory(children: list[Child]) -> InMemoryUnitOfWorkFactory:
    return InMemoryUnitOfWorkFactory().seed(
        schools=[SCHOOL, OTHER_SCHOOL],
        children=children,
        people=list(ASSIGNMENTS),
        assignments=[a for held in ASSIGNMENTS.values() for a in held],
    )


def _actor(person: Person) -> Actor:
    return Actor(person, ASSIGNMENTS[person])


@pytest.fixture
def dt() -> Actor:
    return _actor(DT)


@pytest.fixture
def other_dt() -> Actor:
    return _actor(OTHER_DT)


@pytest.fixture
def sw() -> Actor:
    return _actor(SW)


@pytest.fixture
def other_sw() -> Actor:
    return _actor(OTHER_SW)


@pytest.fixture
def carer() -> Actor:
    return _actor(CARER)


@pytest.fixture
def child_actor() -> Actor:
    return _actor(CHILD_PERSON)


@pytest.fixture
def vso() -> Actor:
    return _actor(VSO)


@pytest.fixture
def stranger() -> Actor:
    return _actor(STRANGER)


@pytest.fixture
def service(
    factory: InMemoryUnitOfWorkFactory, calendar: TermCalendar, rules: PepRules, clock: FixedClock
) -> PepService:
    return PepService(factory, calendar, rules, clock)
