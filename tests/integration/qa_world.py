"""The after-the-meeting authority of tests/unit/qa_fixtures.py, on a real database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from forms.payment_schedule import render_payment_schedule
from pep_model.overview_service import OverviewService
from pep_model.pupil_premium_service import PupilPremiumService
from pep_model.qa_service import QaService
from pep_model.rules import PepRules
from pep_model.services import PepService
from pep_model.terms import TermCalendar, default_calendar
from pep_model.workflow import PepStatus
from store.unit_of_work import SqlUnitOfWorkFactory
from tests.unit.fakes import FixedClock
from tests.unit.qa_fixtures import (
    ASSIGNMENTS,
    OTHER_SCHOOL,
    SCHOOL,
    TODAY,
    children,
    met_pep,
)


@dataclass
class SqlWorld:
    uow: SqlUnitOfWorkFactory
    calendar: TermCalendar
    rules: PepRules
    clock: FixedClock
    peps: PepService
    qa: QaService
    pp: PupilPremiumService
    overview: OverviewService


async def sql_world(engine: AsyncEngine, rules: PepRules | None = None) -> SqlWorld:
    uow = SqlUnitOfWorkFactory(engine)
    async with uow() as u:
        for school in (SCHOOL, OTHER_SCHOOL):
            await u.children.upsert_school(school)
        for child in children():
            await u.children.upsert(child)
        for person, held in ASSIGNMENTS.items():
            await u.people.upsert(person)
            for assignment in held:
                await u.people.assign(assignment)
        await u.commit()
    rules = rules or PepRules()
    calendar = default_calendar()
    clock = FixedClock(today=TODAY)
    return SqlWorld(
        uow,
        calendar,
        rules,
        clock,
        PepService(uow, calendar, rules, clock),
        QaService(uow, calendar, rules, clock),
        PupilPremiumService(
            uow,
            calendar,
            rules,
            clock,
            document=render_payment_schedule,
            authority_name="Northvale County Council",
        ),
        OverviewService(uow, calendar, rules, clock),
    )


async def set_status(world: SqlWorld, pep_id: str, status: PepStatus) -> None:
    async with world.uow() as u:
        pep = await u.peps.get(pep_id)
        assert pep is not None
        version = pep.version
        pep.status = status
        await u.peps.save(pep, version)
        await u.commit()


async def returned_pep(
    world: SqlWorld, child_id: str = "LCS100001", changes: dict[str, dict[str, Any]] | None = None
) -> str:
    pep_id = await met_pep(world, child_id, changes)
    await set_status(world, pep_id, PepStatus.RETURNED)
    return pep_id
