"""Two people saving at the same moment, through PepService on the real store (SQLite
and PostgreSQL): different sections never collide, the same content twice is saved
once, the same section with different content is the one real conflict."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from pep_model.access import Actor
from pep_model.child import Child, School, SenStatus, YearGroup
from pep_model.errors import CardOutOfStep, ConflictError
from pep_model.people import Assignment, Person, Role
from pep_model.rules import PepRules
from pep_model.services import PepService, SaveOutcome
from pep_model.terms import default_calendar
from store.unit_of_work import SqlUnitOfWorkFactory
from tests.integration.test_store import FixedClock

TERM = "2026-autumn"
SCHOOL = School("900001", "Fernhollow Academy")
ROUNDS = 10


def _child(n: int) -> Child:
    from datetime import date

    return Child(
        lcs_id=f"LCS{n}",
        first_name="Test",
        last_name=f"Child-{n}",
        date_of_birth=date(2014, 3, 9),
        year_group=YearGroup(7),
        school_urn=SCHOOL.urn,
        sen_status=SenStatus.NONE,
    )


TEACHER = Person("dt.one@fernhollow.sch.example", "Teacher One")
WORKER = Person("sw.one@northvale.example", "Worker One")


def _actor(person: Person, role: Role) -> Actor:
    return Actor(person, (Assignment(person.id, role, school_urn=SCHOOL.urn),))


@pytest.fixture
async def service(store_engine: AsyncEngine) -> PepService:
    uow = SqlUnitOfWorkFactory(store_engine)
    async with uow() as work:
        await work.children.upsert_school(SCHOOL)
        for n in range(ROUNDS):
            await work.children.upsert(_child(n))
        await work.commit()
    return PepService(uow, default_calendar(), PepRules(), FixedClock())


async def test_two_people_saving_different_sections_at_once_both_save(service: PepService) -> None:
    teacher = _actor(TEACHER, Role.DESIGNATED_TEACHER)
    worker = _actor(WORKER, Role.DESIGNATED_TEACHER)
    outcomes: list[SaveOutcome | BaseException] = []
    for n in range(ROUNDS):  # a fresh PEP a round: both read version 0, both write
        pep = await service.open_pep(f"LCS{n}", TERM)
        async with asyncio.timeout(30):
            outcomes += await asyncio.gather(
                service.record_section(
                    pep.id, "voice", {"views": f"Voice {n}"}, teacher, pep.version
                ),
                service.record_section(
                    pep.id, "carer", {"views": f"Carer {n}"}, worker, pep.version
                ),
                return_exceptions=True,
            )
    assert all(isinstance(o, SaveOutcome) and o.saved and o.changed for o in outcomes), [
        o for o in outcomes if not isinstance(o, SaveOutcome)
    ]
    async with service.uow() as work:
        for n in range(ROUNDS):
            stored = await work.peps.get(f"LCS{n}-{TERM}")
            assert stored is not None and stored.version == 2
            assert stored.sections["voice"]["views"] == f"Voice {n}"
            assert stored.sections["carer"]["views"] == f"Carer {n}"
            saves = [
                e.section for e in await work.audit.for_pep(stored.id) if e.action == "section.save"
            ]
            assert sorted(saves) == ["carer", "voice"]


async def test_a_double_click_at_once_is_saved_twice_and_written_once(service: PepService) -> None:
    teacher = _actor(TEACHER, Role.DESIGNATED_TEACHER)
    pep = await service.open_pep("LCS0", TERM)
    async with asyncio.timeout(30):
        first, second = await asyncio.gather(
            *(
                service.record_section(
                    pep.id, "voice", {"views": "Same words"}, teacher, pep.version
                )
                for _ in range(2)
            )
        )
    assert first.saved and second.saved
    assert [first.changed, second.changed].count(True) == 1
    async with service.uow() as work:
        saves = [e for e in await work.audit.for_pep(pep.id) if e.action == "section.save"]
        stored = await work.peps.get(pep.id)
    assert len(saves) == 1 and stored is not None and stored.version == 1


async def test_the_same_section_with_different_words_at_once_is_one_conflict(
    service: PepService,
) -> None:
    teacher = _actor(TEACHER, Role.DESIGNATED_TEACHER)
    worker = _actor(WORKER, Role.DESIGNATED_TEACHER)
    pep = await service.open_pep("LCS0", TERM)
    async with asyncio.timeout(30):
        results = await asyncio.gather(
            service.record_section(pep.id, "voice", {"views": "Teacher's"}, teacher, 0),
            service.record_section(pep.id, "voice", {"views": "Worker's"}, worker, 0),
            return_exceptions=True,
        )
    saved = [r for r in results if isinstance(r, SaveOutcome)]
    conflicts = [r for r in results if isinstance(r, ConflictError)]
    assert len(saved) == 1 and len(conflicts) == 1, results
    assert conflicts[0].current.sections["voice"] == saved[0].pep.sections["voice"]


async def test_a_card_newer_than_the_stored_pep_is_refused(service: PepService) -> None:
    teacher = _actor(TEACHER, Role.DESIGNATED_TEACHER)
    pep = await service.open_pep("LCS0", TERM)
    with pytest.raises(CardOutOfStep):
        await service.record_section(pep.id, "voice", {"views": "Crafted"}, teacher, 99)
    async with service.uow() as work:
        stored = await work.peps.get(pep.id)
    assert stored is not None and stored.version == 0 and "voice" not in stored.sections
