"""Pupil Premium Plus use cases on the fakes: requests arriving with the returned PEP,
the link advisor's decisions, and the end-of-term schedule with its freeze."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pep_model.access import Actor
from pep_model.errors import NotAllowed, NotFound, ValidationFailed
from pep_model.people import Assignment, Person, Role
from pep_model.pupil_premium import (
    ApprovalRecord,
    Decision,
    DecisionKind,
    PupilPremiumPolicy,
    PupilPremiumRequest,
    build_schedule,
    schedule_csv,
)
from pep_model.pupil_premium_service import ScheduleRefused, StoredRequest
from pep_model.quality import QaDecision
from pep_model.rules import PepRules
from pep_model.workflow import PepStatus
from tests.unit.qa_fixtures import (
    ADVISOR,
    AUTHORITY_COORDINATOR,
    COORDINATOR,
    DT,
    OTHER_ADVISOR,
    OTHER_DT,
    SCHOOL,
    STRANGER,
    SW,
    VSH,
    VSO,
    World,
    actor,
    confirmed,
    fill,
    make_world,
    mark_returned,
    returned_pep,
)

TWO_REQUESTS = {
    "pupil_premium": {
        "rows": [
            {"amount": "300", "purpose": "Reading tutor", "target": "T1", "impact": "Reading age"},
            {"amount": "200.50", "purpose": "Laptop", "target": "T2", "impact": "Homework on time"},
        ]
    }
}


@pytest.fixture
def world() -> World:
    return make_world()


async def received(
    world: World, child_id: str = "LCS100001", changes: dict[str, dict[str, Any]] | None = None
) -> list[str]:
    pep_id = await returned_pep(world, child_id, changes)
    receipt = await world.pp.receive(pep_id)
    return [v.request.id for v in receipt.to_decide]


async def finalise(world: World, pep_id: str) -> None:
    await world.qa.start(pep_id)
    await world.qa.decide(
        pep_id, actor(AUTHORITY_COORDINATOR), confirmed({"voice": "green"}), QaDecision.APPROVE
    )


# ---- requests arrive ----------------------------------------------------------------


async def test_each_row_becomes_a_request_for_the_link_advisor(world: World) -> None:
    pep_id = await returned_pep(world, changes=TWO_REQUESTS)
    receipt = await world.pp.receive(pep_id)
    views = receipt.to_decide
    assert [(v.request.id, v.request.amount_pence) for v in views] == [
        (f"{pep_id}-pp1", 30_000),
        (f"{pep_id}-pp2", 20_050),
    ]
    assert {v.request.requested_by for v in views} == {DT.id}  # who wrote the rows
    assert views[1].target == "Use the time-out card instead of leaving class"
    assert views[0].waits_for_finalised_pep and views[0].requests_in_pep == 2
    assert [a.id for a in receipt.advisors] == [ADVISOR.id]
    again = await world.pp.receive(pep_id)
    assert again.to_decide == () and again.withdrawn == ()


async def test_an_amended_pep_reopens_changed_rows_and_withdraws_removed_ones(world: World) -> None:
    first, second = await received(world, changes=TWO_REQUESTS)
    await world.pp.decide(first, actor(ADVISOR), Decision.approve())
    await world.pp.decide(second, actor(ADVISOR), Decision.decline("Laptop from school funds"))
    pep_id = first.rsplit("-pp", 1)[0]
    # the school changes the first request's amount and removes the second
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
    assert [v.request.amount_pence for v in receipt.to_decide] == [25_000]
    assert receipt.to_decide[0].decision is None  # the earlier approval is withdrawn
    assert receipt.withdrawn == (second,)
    with pytest.raises(NotFound, match="taken this request out"):
        await world.pp.decide(second, actor(ADVISOR), Decision.approve())
    assert [e.action for e in world.factory.audit_entries(pep_id)][-2:] == [
        "pp.request",
        "pp.withdraw",
    ]


# ---- the advisor decides ----------------------------------------------------------------


async def test_approve_approve_less_and_decline(world: World) -> None:
    first, second = await received(world, changes=TWO_REQUESTS)
    advisor = actor(ADVISOR)
    approved = await world.pp.decide(first, advisor, Decision.approve())
    assert (approved.record.approved_pence, approved.record.pays_in_term_id) == (
        30_000,
        "2026-autumn",
    )
    assert [p.id for p in approved.leads] == [DT.id]
    with pytest.raises(ValidationFailed, match=r"more than the £200\.50 requested"):
        await world.pp.decide(second, advisor, Decision.approve_amount(25_000, "More"))
    with pytest.raises(ValidationFailed) as no_reason:
        await world.pp.decide(second, advisor, Decision.approve_amount(10_000, ""))
    assert [(e.field, e.row) for e in no_reason.value.errors] == [("reason", 1)]
    less = await world.pp.decide(second, advisor, Decision.approve_amount(10_000, "Refurb"))
    assert less.previous is None and less.view.approved_for_child == 30_000
    declined = await world.pp.decide(second, advisor, Decision.decline("Funded already"))
    assert declined.previous is not None and declined.previous.approved_pence == 10_000
    assert declined.record.kind is DecisionKind.DECLINE
    audit = world.factory.audit_entries(first.rsplit("-pp", 1)[0])[-1]
    assert (audit.action, audit.before["approved_pence"], audit.after["approved_pence"]) == (
        "pp.decide",
        10_000,
        0,
    )


async def test_the_cap_counts_this_childs_approvals_this_term(world: World) -> None:
    first, second = await received(
        world,
        changes={
            "pupil_premium": {
                "rows": [
                    {"amount": "400", "purpose": "Tutor", "target": "T1", "impact": "Reading"},
                    {"amount": "150", "purpose": "Trip", "target": "T2", "impact": "Belonging"},
                ]
            }
        },
    )
    world.pp.policy = PupilPremiumPolicy(per_term_cap_pence=50_000)
    await world.pp.decide(first, actor(ADVISOR), Decision.approve())
    with pytest.raises(ValidationFailed, match=r"£400\.00 is already approved.*£500\.00 cap"):
        await world.pp.decide(second, actor(ADVISOR), Decision.approve())
    up_to = await world.pp.decide(
        second, actor(ADVISOR), Decision.approve_amount(10_000, "Up to the cap")
    )
    assert (up_to.view.approved_for_child, up_to.view.room_under_cap) == (40_000, 10_000)
    # deciding the first again does not count its own earlier approval
    await world.pp.decide(first, actor(ADVISOR), Decision.approve())


async def test_bands_when_the_authority_uses_them() -> None:
    world = make_world(
        PepRules(
            pupil_premium_cap_pence=150_000, pupil_premium_bands_pence=(40_000, 80_000, 150_000)
        )
    )
    [request] = await received(
        world,
        changes={
            "pupil_premium": {
                "rows": [{"amount": "800", "purpose": "Tutor", "target": "T1", "impact": "Reading"}]
            }
        },
    )
    with pytest.raises(ValidationFailed, match="bands"):
        await world.pp.decide(request, actor(ADVISOR), Decision.approve_amount(50_000, "X"))
    outcome = await world.pp.decide(
        request, actor(ADVISOR), Decision.approve_amount(40_000, "Band A")
    )
    assert outcome.record.approved_pence == 40_000


async def test_nobody_decides_a_request_they_made(world: World) -> None:
    """A designated teacher who is also an education advisor wrote the request."""
    both = Actor(
        DT,
        (
            Assignment(DT.id, Role.DESIGNATED_TEACHER, school_urn=SCHOOL.urn),
            Assignment(DT.id, Role.EDUCATION_ADVISOR, school_urn=SCHOOL.urn),
        ),
    )
    [request] = await received(world)
    for decision in (Decision.approve(), Decision.decline("No")):
        with pytest.raises(NotAllowed, match="they made"):
            await world.pp.decide(request, both, decision)
    assert await world.pp.pending(both) == []
    assert [v.request.id for v in await world.pp.pending(actor(ADVISOR))] == [request]


async def test_nor_anyone_who_wrote_the_rows_though_someone_else_saved_last(world: World) -> None:
    helper = Person("ta@northvale.sch.example", "Teaching Assistant", "aad-ta")
    helper_actor = Actor(
        helper,
        (
            Assignment(helper.id, Role.PEP_LEAD, school_urn=SCHOOL.urn),
            Assignment(helper.id, Role.EDUCATION_ADVISOR, school_urn=SCHOOL.urn),
        ),
    )
    pep_id = await returned_pep(world)
    pep = world.factory.stored_pep(pep_id)
    pep.status = PepStatus.IN_MEETING
    world.factory.state.peps[pep_id] = pep
    await fill(
        world,
        pep_id,
        helper_actor,
        {
            "pupil_premium": {
                "rows": [{"amount": "100", "purpose": "Tutor", "target": "T1", "impact": "Reading"}]
            }
        },
    )
    await fill(world, pep_id, actor(DT), TWO_REQUESTS)
    mark_returned(world, pep_id)
    receipt = await world.pp.receive(pep_id)
    assert receipt.to_decide[0].request.requested_by == DT.id
    with pytest.raises(NotAllowed, match="they made"):
        await world.pp.decide(receipt.to_decide[0].request.id, helper_actor, Decision.approve())


@pytest.mark.parametrize("who", [OTHER_ADVISOR, COORDINATOR, DT, SW, VSH, STRANGER])
async def test_only_the_link_advisor_for_the_school_sees_and_decides(
    world: World, who: Person
) -> None:
    [request] = await received(world)
    with pytest.raises(NotAllowed):
        await world.pp.view(request, actor(who))
    with pytest.raises(NotAllowed):
        await world.pp.decide(request, actor(who), Decision.approve())
    assert await world.pp.pending(actor(who)) == []


# ---- the schedule ---------------------------------------------------------------------


async def test_no_payment_without_a_finalised_pep(world: World) -> None:
    [paid] = await received(world, "LCS100001")
    [held] = await received(world, "LCS100002")
    await world.pp.decide(paid, actor(ADVISOR), Decision.approve())
    await world.pp.decide(held, actor(OTHER_ADVISOR), Decision.approve_amount(12_345, "Rate"))
    await finalise(world, paid.rsplit("-pp", 1)[0])
    view = await world.pp.schedule("2026-autumn", actor(VSH))
    s = view.schedule
    assert [(line.child_id, line.pence) for line in s.lines] == [("LCS100001", 30_000)]
    assert [(line.child_id, line.pence) for line in s.held] == [("LCS100002", 12_345)]
    assert s.reconciles() and view.frozen is None
    relaxed = make_world(PepRules(payment_needs_finalised_pep=False))
    [request] = await received(relaxed)
    await relaxed.pp.decide(request, actor(ADVISOR), Decision.approve())
    assert (await relaxed.pp.schedule("2026-autumn", actor(VSO))).schedule.total_pence == 30_000


async def test_export_freezes_and_exporting_again_gives_the_same_files(world: World) -> None:
    [paid] = await received(world, "LCS100001")
    [held] = await received(world, "LCS100002")
    await world.pp.decide(paid, actor(ADVISOR), Decision.approve())
    await world.pp.decide(held, actor(OTHER_ADVISOR), Decision.approve())
    await finalise(world, paid.rsplit("-pp", 1)[0])
    first = await world.pp.export("2026-autumn", actor(VSH))
    assert first.newly_frozen and first.carried == 1
    assert first.frozen.frozen_at == world.clock.now() and first.frozen.frozen_by == VSH.id
    assert first.frozen.csv == schedule_csv(first.schedule)
    assert first.frozen.document[:2] == b"PK"
    assert (first.frozen.total_pence, first.frozen.held_pence) == (30_000, 30_000)
    # later: the held PEP is finalised, a late approval comes in; the frozen files stay
    world.clock.advance(days=3)
    await finalise(world, held.rsplit("-pp", 1)[0])
    [late] = await received(world, "LCS100003")
    late_outcome = await world.pp.decide(late, actor(ADVISOR), Decision.approve())
    assert late_outcome.record.pays_in_term_id == "2027-spring"
    again = await world.pp.export("2026-autumn", actor(VSH))
    assert not again.newly_frozen
    assert (again.frozen.csv, again.frozen.document) == (first.frozen.csv, first.frozen.document)
    assert schedule_csv(again.schedule) == first.frozen.csv  # rebuilt, still the same
    # next term pays the carried approval (now finalised) and the late one (held)
    spring = (await world.pp.schedule("2027-spring", actor(VSH))).schedule
    assert [(line.child_id, line.pence) for line in spring.lines] == [("LCS100002", 30_000)]
    assert [line.child_id for line in spring.held] == ["LCS100003"]


async def test_a_paid_decision_is_final(world: World) -> None:
    [request] = await received(world)
    await world.pp.decide(request, actor(ADVISOR), Decision.approve())
    await finalise(world, request.rsplit("-pp", 1)[0])
    await world.pp.export("2026-autumn", actor(VSH))
    world.clock.advance(days=1)
    view = await world.pp.view(request, actor(ADVISOR))
    assert view.paid
    with pytest.raises(ValidationFailed, match="exported payment schedule"):
        await world.pp.decide(request, actor(ADVISOR), Decision.decline("Changed mind"))
    # an amended row after payment leaves the paid decision as it is
    pep_id = request.rsplit("-pp", 1)[0]
    pep = world.factory.stored_pep(pep_id)
    pep.sections["pupil_premium"]["rows"][0]["amount"] = 10_000
    world.factory.state.peps[pep_id] = pep
    receipt = await world.pp.receive(pep_id)
    assert receipt.to_decide == ()
    assert world.factory.audit_entries(pep_id)[-1].action == "pp.request.unchanged_after_payment"


async def test_held_approvals_need_a_next_term_in_the_calendar(world: World) -> None:
    last = world.calendar.terms[-1].id
    request = PupilPremiumRequest(
        f"LCS100001-{last}",
        "LCS100001",
        last,
        SCHOOL.urn,
        SCHOOL.name,
        0,
        10_000,
        "Tutor",
        "T1",
        "Reading",
        DT.id,
    )
    decided = datetime(2028, 11, 1, tzinfo=UTC)
    record = ApprovalRecord(
        request.id,
        request.pep_id,
        "LCS100001",
        last,
        SCHOOL.urn,
        SCHOOL.name,
        10_000,
        10_000,
        DecisionKind.APPROVE,
        "",
        DT.id,
        ADVISOR.id,
        decided,
        last,
    )
    world.factory.state.pp_requests[request.id] = StoredRequest(request, decided, decision=record)
    world.clock.set_today(decided.date() + timedelta(days=40))
    with pytest.raises(ScheduleRefused, match="no term after"):
        await world.pp.export(last, actor(VSH))
    assert world.factory.state.pp_schedules.get(last) is None  # nothing frozen


@pytest.mark.parametrize("who", [DT, COORDINATOR, ADVISOR, SW, STRANGER])
async def test_the_schedule_is_for_virtual_school_staff(world: World, who: Person) -> None:
    with pytest.raises(NotAllowed):
        await world.pp.schedule("2026-autumn", actor(who))
    with pytest.raises(NotAllowed):
        await world.pp.export("2026-autumn", actor(who))


async def test_only_the_head_exports(world: World) -> None:
    assert (await world.pp.schedule("2026-autumn", actor(VSO))).schedule.total_pence == 0
    with pytest.raises(NotAllowed, match="Virtual School Head"):
        await world.pp.export("2026-autumn", actor(VSO))
    with pytest.raises(NotFound):
        await world.pp.schedule("1999-autumn", actor(VSH))


async def test_other_decisions_by_other_school_are_theirs(world: World) -> None:
    [request] = await received(world, "LCS100002")
    outcome = await world.pp.decide(request, actor(OTHER_ADVISOR), Decision.approve())
    assert [p.id for p in outcome.leads] == [OTHER_DT.id]
    schedule = build_schedule("2026-autumn", [outcome.record], set(), None)
    assert schedule.held_pence == 30_000


async def test_clocks_of_two_instances_cannot_lose_an_approval(world: World) -> None:
    """The lock orders a decision and the freeze; the timestamps follow that order even
    when the instance deciding has a clock behind (or ahead of) the one freezing."""
    [before] = await received(world, "LCS100001")
    [after] = await received(world, "LCS100003")
    await finalise(world, before.rsplit("-pp", 1)[0])
    await finalise(world, after.rsplit("-pp", 1)[0])
    world.clock.advance(minutes=5)  # the deciding instance runs 5 minutes ahead
    early = await world.pp.decide(before, actor(ADVISOR), Decision.approve())
    world.clock.advance(minutes=-5)
    export = await world.pp.export("2026-autumn", actor(VSH))
    assert export.frozen.frozen_at == early.record.decided_at
    assert [line.child_id for line in export.schedule.lines] == ["LCS100001"]
    assert export.schedule.late == ()
    world.clock.advance(minutes=-10)  # now one running behind decides after the freeze
    late = await world.pp.decide(after, actor(ADVISOR), Decision.approve())
    assert late.record.pays_in_term_id == "2027-spring"
    assert late.record.decided_at > export.frozen.frozen_at
