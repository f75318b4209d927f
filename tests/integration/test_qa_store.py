"""QA rounds, PP+ requests and decisions, frozen schedules and the overview projection on
SQLite and PostgreSQL: the SQL repositories, the whole cycle through the use cases (same
results as the in-memory fakes), and decisions racing each other and the freeze."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

import docx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from pep_model.errors import StaleVersion, ValidationFailed
from pep_model.people import Role
from pep_model.pupil_premium import (
    ApprovalRecord,
    Decision,
    DecisionKind,
    PupilPremiumRequest,
    build_schedule,
)
from pep_model.pupil_premium_service import FrozenSchedule
from pep_model.quality import QaDecision, QaInvalid, QaRound
from pep_model.workflow import PepStatus
from tests.integration.qa_world import SqlWorld, returned_pep, set_status, sql_world
from tests.unit import qa_fixtures as fx
from tests.unit.qa_fixtures import (
    ADVISOR,
    AUTHORITY_COORDINATOR,
    COORDINATOR,
    DT,
    OTHER_ADVISOR,
    SCHOOL,
    TERM,
    VSH,
    actor,
    confirmed,
)

AT = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


@pytest.fixture
async def world(store_engine: AsyncEngine) -> AsyncIterator[SqlWorld]:
    yield await sql_world(store_engine)


# ---- the repositories --------------------------------------------------------------------


async def test_rounds_are_kept_in_order_and_numbered_once(world: SqlWorld) -> None:
    pep_id = await returned_pep(world)
    grades = MappingProxyType({"voice": "gold", "targets": "amber"})
    first = QaRound(
        1,
        COORDINATOR.id,
        grades,
        "amber",
        "green",
        "Weak targets",
        "Add measures",
        QaDecision.RETURN,
        AT,
    )
    second = QaRound(
        2,
        COORDINATOR.id,
        grades,
        "green",
        "green",
        "",
        "",
        QaDecision.APPROVE,
        AT + timedelta(days=2),
    )
    async with world.uow() as u:
        await u.qa.add_round(pep_id, TERM, first)
        await u.qa.add_round(pep_id, TERM, second)
        with pytest.raises(StaleVersion):
            await u.qa.add_round(pep_id, TERM, first)
        await u.commit()
    async with world.uow() as u:
        assert await u.qa.rounds(pep_id) == [first, second]
        assert await u.qa.with_status([PepStatus.RETURNED]) == [
            (pep_id, "LCS100001", PepStatus.RETURNED)
        ]
        assert [p.id for p in await u.staff.authority_wide(Role.PEP_COORDINATOR)] == [
            AUTHORITY_COORDINATOR.id
        ]


def _request(index: int = 0, amount: int = 30_000, child: str = "LCS100001") -> PupilPremiumRequest:
    return PupilPremiumRequest(
        f"{child}-{TERM}",
        child,
        TERM,
        SCHOOL.urn,
        SCHOOL.name,
        index,
        amount,
        "Tutor",
        "T1",
        "Reading",
        DT.id,
    )


def _record(
    request: PupilPremiumRequest, approved: int, pays: str = TERM, held: tuple[str, ...] = ()
) -> ApprovalRecord:
    return ApprovalRecord(
        request.id,
        request.pep_id,
        request.child_id,
        request.term_id,
        request.school_urn,
        request.school_name,
        request.amount_pence,
        approved,
        DecisionKind.APPROVE,
        "",
        request.requested_by,
        ADVISOR.id,
        AT,
        pays,
        held,
    )


async def test_requests_decisions_and_the_schedule_rows(world: SqlWorld) -> None:
    pep_id = await returned_pep(world)
    one, two = _request(0), _request(1, 12_345)
    async with world.uow() as u:
        repo = u.pupil_premium
        await repo.put(one, AT)
        await repo.put(two, AT)
        assert await repo.lock_term(TERM) is None
        assert await repo.save_decision(_record(one, 30_000), 1)
        assert await repo.save_decision(_record(two, 12_345, held=("2026-summer",)), 1)
        # a decision from a card of version 1 once the request is at version 2: refused
        assert not await repo.save_decision(_record(one, 10_000), 1)
        await u.commit()
    async with world.uow() as u:
        repo = u.pupil_premium
        stored = await repo.get(one.id)
        assert stored is not None and stored.request == one and stored.version == 2
        assert stored.decision == _record(one, 30_000)
        assert [s.id for s in await repo.for_pep(pep_id)] == [one.id, two.id]
        assert await repo.open_requests() == []
        assert [r.request_id for r in await repo.decisions("LCS100001", TERM)] == [one.id, two.id]
        records, finalised = await repo.for_schedule(TERM)
        assert sorted(r.request_id for r in records) == [one.id, two.id]
        assert finalised == set()
        held, _ = await repo.for_schedule("2026-summer")  # found by LIKE ',2026-summer,'
        assert [r.request_id for r in held] == [two.id]
        assert await repo.for_schedule("2026") == ([], set())
        moved = _record(one, 30_000, pays="2027-spring", held=(TERM,))
        await repo.move([moved])
        await repo.withdraw(two.id)
        frozen = FrozenSchedule(TERM, AT, VSH.id, "a,b\n", b"PK\x03\x04", "s.docx", 1, 2)
        await repo.freeze(frozen)
        await repo.freeze(FrozenSchedule(TERM, AT + timedelta(days=1), "x", "", b"", "", 0, 0))
        await u.commit()
    async with world.uow() as u:
        repo = u.pupil_premium
        assert (await repo.get(one.id)).decision == moved  # type: ignore[union-attr]
        withdrawn = await repo.get(two.id)
        assert withdrawn is not None and withdrawn.withdrawn and withdrawn.decision is None
        assert await repo.frozen(TERM) == frozen  # a second freeze changes nothing
        assert await repo.frozen_at(TERM) == AT
        assert await repo.frozen("2027-spring") is None
        await repo.put(two, AT)  # the school puts the row back: open again
        assert [s.id for s in await repo.open_requests()] == [two.id]


# ---- the whole cycle, compared with the fakes -------------------------------------------------


async def cycle(world: SqlWorld | fx.World) -> tuple[object, str, bytes]:
    """QA returned then approved; PP+ approved, declined, approved-but-held; export;
    a late approval; then the overview, the CSV and the document."""
    first = await (returned_pep(world) if isinstance(world, SqlWorld) else fx.returned_pep(world))
    second = await (
        returned_pep(world, "LCS100002")
        if isinstance(world, SqlWorld)
        else fx.returned_pep(world, "LCS100002")
    )
    for pep_id in (first, second):
        await world.qa.start(pep_id)
    await world.qa.decide(
        first,
        actor(COORDINATOR),
        {"voice": "amber", "targets": "amber"},
        QaDecision.RETURN,
        feedback="Amend",
    )
    await world.qa.resubmit(first, actor(DT))
    await world.qa.start(first)
    await world.qa.decide(
        first,
        actor(COORDINATOR),
        confirmed({"voice": "gold", "targets": "gold"}),
        QaDecision.APPROVE,
    )
    [a] = [v.request.id for v in (await world.pp.receive(first)).to_decide]
    [b] = [v.request.id for v in (await world.pp.receive(second)).to_decide]
    await world.pp.decide(a, actor(ADVISOR), Decision.approve_amount(29_999, "Rate"))
    await world.pp.decide(b, actor(OTHER_ADVISOR), Decision.decline("Funded"))
    await world.pp.decide(b, actor(OTHER_ADVISOR), Decision.approve())  # held: not final
    export = await world.pp.export(TERM, actor(VSH))
    world.clock.advance(days=1)
    overview = await world.overview.overview(actor(VSH), TERM)
    again = await world.pp.export(TERM, actor(VSH))
    assert (again.frozen.csv, again.frozen.document) == (export.frozen.csv, export.frozen.document)
    return overview, export.frozen.csv, export.frozen.document


async def test_the_cycle_on_the_database_matches_the_fakes(world: SqlWorld) -> None:
    overview, csv, document = await cycle(world)
    fake_overview, fake_csv, fake_document = await cycle(fx.make_world())
    assert overview == fake_overview
    assert (csv, document) == (fake_csv, fake_document)
    assert "2026-autumn,payment,100001,Northvale Academy,LCS100001,1,299.99" in csv
    assert "2026-autumn,held,100002,Brackenfield Primary School,LCS100002,1,300.00" in csv
    assert overview.grade_counts["gold"] == 1  # type: ignore[attr-defined]
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(document)).paragraphs)
    assert "Pupil Premium Plus payment schedule" in text and "£299.99" in text


# ---- racing -----------------------------------------------------------------------------------


async def test_two_coordinators_deciding_at_once_record_one_round(world: SqlWorld) -> None:
    pep_id = await returned_pep(world)
    await world.qa.start(pep_id)
    results = await asyncio.gather(
        world.qa.decide(
            pep_id, actor(COORDINATOR), confirmed({"voice": "green"}), QaDecision.APPROVE
        ),
        world.qa.decide(
            pep_id,
            actor(AUTHORITY_COORDINATOR),
            {"voice": "amber", "send": "amber"},
            QaDecision.RETURN,
            feedback="Amend",
        ),
        return_exceptions=True,
    )
    winners = [r for r in results if not isinstance(r, BaseException)]
    losers = [r for r in results if isinstance(r, BaseException)]
    assert len(winners) == 1 and len(losers) == 1
    assert isinstance(losers[0], QaInvalid)
    async with world.uow() as u:
        assert len(await u.qa.rounds(pep_id)) == 1
        pep = await u.peps.get(pep_id)
    assert pep is not None and pep.status in (PepStatus.FINALISED, PepStatus.AMENDMENTS_REQUESTED)


async def test_decisions_racing_the_freeze_are_never_lost(world: SqlWorld) -> None:
    """Each approval is either in the frozen schedule or stamped for the next term."""
    ids = []
    for child in ("LCS100001", "LCS100003"):
        pep_id = await returned_pep(world, child)
        await set_status(world, pep_id, PepStatus.FINALISED)
        ids += [v.request.id for v in (await world.pp.receive(pep_id)).to_decide]
    results = await asyncio.gather(
        world.pp.decide(ids[0], actor(ADVISOR), Decision.approve()),
        world.pp.export(TERM, actor(VSH)),
        world.pp.decide(ids[1], actor(ADVISOR), Decision.approve()),
        return_exceptions=True,
    )
    assert not [r for r in results if isinstance(r, BaseException)], results
    export = await world.pp.export(TERM, actor(VSH))
    paid = {line.child_id for line in export.schedule.lines}
    async with world.uow() as u:
        for request_id in ids:
            stored = await u.pupil_premium.get(request_id)
            assert stored is not None and stored.decision is not None
            child = stored.request.child_id
            if stored.decision.pays_in_term_id == TERM:
                assert child in paid
                assert f",{child}," in export.frozen.csv
            else:
                assert stored.decision.pays_in_term_id == "2027-spring"
                assert child not in paid
    rebuilt = build_schedule(TERM, *(await _for_schedule(world)), export.frozen.frozen_at)
    assert rebuilt.lines == export.schedule.lines


async def _for_schedule(world: SqlWorld) -> tuple[list[ApprovalRecord], set[str]]:
    async with world.uow() as u:
        return await u.pupil_premium.for_schedule(TERM)


async def test_the_cap_holds_when_two_requests_are_approved_at_once(world: SqlWorld) -> None:
    pep_id = await returned_pep(
        world,
        changes={
            "pupil_premium": {
                "rows": [
                    {"amount": "300", "purpose": "Tutor", "target": "T1", "impact": "Reading"},
                    {"amount": "250", "purpose": "Trip", "target": "T2", "impact": "Belonging"},
                ]
            }
        },
    )
    world.pp.policy = type(world.pp.policy)(per_term_cap_pence=50_000)
    ids = [v.request.id for v in (await world.pp.receive(pep_id)).to_decide]
    results = await asyncio.gather(
        *(world.pp.decide(i, actor(ADVISOR), Decision.approve()) for i in ids),
        return_exceptions=True,
    )
    assert sum(1 for r in results if isinstance(r, ValidationFailed)) == 1
    async with world.uow() as u:
        decided = await u.pupil_premium.decisions("LCS100001", TERM)
    assert sum(d.approved_pence for d in decided) <= 50_000


async def test_a_pep_returned_twice_at_once_goes_into_qa_once(world: SqlWorld) -> None:
    pep_id = await returned_pep(world)
    starts = await asyncio.gather(world.qa.start(pep_id), world.qa.start(pep_id))
    assert sorted(s.started for s in starts) == [False, True]
    async with world.uow() as u:
        audit = [e.action for e in await u.audit.for_pep(pep_id)]
    assert audit.count("qa.start") == 1
