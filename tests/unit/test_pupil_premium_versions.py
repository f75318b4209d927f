"""PP+ decisions are made once: every decision carries the request's version; the same
decision again changes nothing and tells nobody; an older card never changes a decision
silently."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pep_model.pupil_premium import ApprovalRecord, Decision, DecisionKind, same_decision
from pep_model.pupil_premium_service import DecisionOutOfDate
from pep_model.workflow import PepStatus
from tests.unit.qa_fixtures import ADVISOR, DT, World, actor, fill, make_world, mark_returned
from tests.unit.test_pupil_premium_service import TWO_REQUESTS, received


@pytest.fixture
def world() -> World:
    return make_world()


def decisions(world: World, pep_id: str) -> list[str]:
    return [e.action for e in world.factory.audit_entries(pep_id) if e.action == "pp.decide"]


async def test_the_same_decision_twice_is_recorded_once(world: World) -> None:
    first, _ = await received(world, changes=TWO_REQUESTS)
    pep_id = first.rsplit("-pp", 1)[0]
    view = await world.pp.view(first, actor(ADVISOR))
    assert view.version == 1
    once = await world.pp.decide(first, actor(ADVISOR), Decision.approve(), version=1)
    assert once.changed and once.view.version == 2 and once.leads
    twice = await world.pp.decide(first, actor(ADVISOR), Decision.approve(), version=1)
    assert not twice.changed and twice.leads == ()  # nobody to tell again
    assert twice.record == once.record
    assert decisions(world, pep_id) == ["pp.decide"]
    assert world.factory.state.pp_requests[first].version == 2


async def test_an_older_card_cannot_change_a_decision(world: World) -> None:
    first, _ = await received(world, changes=TWO_REQUESTS)
    await world.pp.decide(first, actor(ADVISOR), Decision.approve(), version=1)
    with pytest.raises(DecisionOutOfDate) as stale:
        await world.pp.decide(
            first, actor(ADVISOR), Decision.approve_amount(25_000, "Cheaper"), version=1
        )
    assert stale.value.view.version == 2
    assert stale.value.view.decision is not None
    assert stale.value.view.decision.approved_pence == 30_000
    kept = world.factory.state.pp_requests[first].decision
    assert kept is not None and kept.approved_pence == 30_000
    # with the current version, the change is deliberate
    changed = await world.pp.decide(
        first, actor(ADVISOR), Decision.approve_amount(25_000, "Cheaper"), version=2
    )
    assert changed.changed and changed.previous is not None
    assert changed.record.approved_pence == 25_000 and changed.view.version == 3


async def test_a_card_from_before_the_school_changed_the_request_is_out_of_date(
    world: World,
) -> None:
    first, _ = await received(world, changes=TWO_REQUESTS)
    pep_id = first.rsplit("-pp", 1)[0]
    pep = world.factory.stored_pep(pep_id)
    pep.status = PepStatus.AMENDMENTS_REQUESTED
    world.factory.state.peps[pep_id] = pep
    await fill(
        world,
        pep_id,
        actor(DT),
        {
            "pupil_premium": {
                "rows": [
                    {
                        "amount": "250",
                        "purpose": "Reading tutor",
                        "target": "T1",
                        "impact": "Reading age",
                    }
                ]
            }
        },
    )
    mark_returned(world, pep_id)
    receipt = await world.pp.receive(pep_id)
    assert [v.version for v in receipt.to_decide] == [2]
    with pytest.raises(DecisionOutOfDate) as stale:
        await world.pp.decide(first, actor(ADVISOR), Decision.approve(), version=1)
    assert stale.value.view.decision is None
    assert stale.value.view.request.amount_pence == 25_000
    done = await world.pp.decide(first, actor(ADVISOR), Decision.approve(), version=2)
    assert done.record.approved_pence == 25_000


def test_same_decision_compares_what_would_be_recorded() -> None:
    record = ApprovalRecord(
        "r",
        "p",
        "c",
        "t",
        "u",
        "s",
        30_000,
        25_000,
        DecisionKind.APPROVE_AMOUNT,
        "Cheaper",
        "dt",
        "adv",
        datetime(2026, 11, 20, tzinfo=UTC),
        "t",
    )
    assert same_decision(record, Decision.approve_amount(25_000, " Cheaper "))
    assert not same_decision(record, Decision.approve_amount(20_000, "Cheaper"))
    assert not same_decision(record, Decision.approve_amount(25_000, "Other"))
    assert not same_decision(record, Decision.approve())
    assert not same_decision(record, Decision.decline("Cheaper"))
