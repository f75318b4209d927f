"""The Virtual School's overview from the store's lean rows, on the fakes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from pep_model.errors import NotAllowed, NotFound
from pep_model.meetings import MeetingStatus, PepMeeting
from pep_model.overview import overview_csv
from pep_model.people import Person
from pep_model.pupil_premium import Decision
from pep_model.quality import QaDecision
from tests.unit.qa_fixtures import (
    ADVISOR,
    AUTHORITY_COORDINATOR,
    COORDINATOR,
    DT,
    OTHER_ADVISOR,
    STRANGER,
    SW,
    TERM,
    VSH,
    VSO,
    World,
    actor,
    confirmed,
    make_world,
    met_pep,
    pep_id,
    returned_pep,
)


@pytest.fixture
def world() -> World:
    return make_world()


def meeting(
    world: World,
    child_id: str,
    *,
    status: MeetingStatus = MeetingStatus.SCHEDULED,
    attending: tuple[str, ...] = (),
) -> None:
    starts = datetime(2026, 11, 25, 10, tzinfo=UTC)
    world.factory.state.meetings[pep_id(child_id)] = PepMeeting(
        pep_id(child_id),
        child_id,
        TERM,
        SW.id,
        starts,
        starts + timedelta(hours=1),
        (),
        status,
        attending,
    )


async def busy_term(world: World) -> None:
    """LCS100001: returned, QA round 1 (green), PP+ £300 approved and paid after export.
    LCS100002: met 20 days ago, not returned (overdue), £300 requested, undecided.
    LCS100003: a complex case with a draft PEP and a meeting the Virtual School attends."""
    first = await returned_pep(world, "LCS100001")
    await world.qa.start(first)
    await world.qa.decide(
        first,
        actor(COORDINATOR),
        confirmed({"voice": "green", "carer": "green"}),
        QaDecision.APPROVE,
    )
    [request] = [v.request.id for v in (await world.pp.receive(first)).to_decide]
    await world.pp.decide(request, actor(ADVISOR), Decision.approve())
    await world.pp.export(TERM, actor(VSH))
    world.clock.set_today(world.clock.today() - timedelta(days=20))
    second = await met_pep(world, "LCS100002")
    world.clock.set_today(world.clock.today() + timedelta(days=20))
    assert world.factory.stored_pep(second).return_due is not None
    child = world.factory.state.children["LCS100003"]
    world.factory.state.children["LCS100003"] = replace(child, complex_case=True)
    await world.peps.open_pep("LCS100003", TERM)
    meeting(world, "LCS100003", attending=(VSO.id,))


async def test_the_overview_of_a_busy_term(world: World) -> None:
    await busy_term(world)
    o = await world.overview.overview(actor(VSH))
    assert (o.term_id, o.children, o.peps) == (TERM, 3, 3)
    assert o.no_meeting_scheduled == ()
    assert [(r.child_id, r.days_overdue) for r in o.overdue_returns] == [("LCS100002", 15)]
    assert o.status_counts["finalised"] == 1 and o.status_counts["awaiting_return"] == 1
    assert dict(o.grade_counts) == {"gold": 0, "green": 1, "amber": 0, "red": 0}
    assert (o.pp_requested_pence, o.pp_approved_pence, o.pp_paid_pence) == (30_000, 30_000, 30_000)
    cases = {c.child_id: c for c in o.transition_cases}
    assert set(cases) == {"LCS100001", "LCS100003"}  # Year 7 in autumn; complex
    assert cases["LCS100003"].virtual_school_attending
    assert cases["LCS100003"].meeting_starts_at == datetime(2026, 11, 25, 10, tzinfo=UTC)
    assert o.transition_without_virtual_school == 1


async def test_children_without_a_pep_or_a_meeting_are_listed(world: World) -> None:
    await met_pep(world, "LCS100001")
    await world.peps.open_pep("LCS100002", TERM)
    await world.peps.open_pep("LCS100003", TERM)
    meeting(world, "LCS100003", status=MeetingStatus.CANCELLED)
    o = await world.overview.overview(actor(VSO), TERM)
    assert o.no_meeting_scheduled == ("LCS100002", "LCS100003")
    empty = await make_world().overview.overview(actor(VSO), "2027-spring")
    assert empty.no_meeting_scheduled == ("LCS100001", "LCS100002", "LCS100003")
    assert empty.peps == 0


async def test_the_report_is_the_overviews_csv(world: World) -> None:
    await busy_term(world)
    csv = await world.overview.report_csv(TERM)
    assert csv == overview_csv(await world.overview.overview(actor(VSH), TERM))
    assert "overdue_return,LCS100002,100002" in csv
    assert "Ada" not in csv and "Fenwick" not in csv  # ids only
    with pytest.raises(NotFound):
        await world.overview.report_csv("2099-autumn")


@pytest.mark.parametrize(
    "who", [DT, SW, COORDINATOR, AUTHORITY_COORDINATOR, ADVISOR, OTHER_ADVISOR, STRANGER]
)
async def test_the_overview_is_for_virtual_school_staff_only(world: World, who: Person) -> None:
    with pytest.raises(NotAllowed, match="Virtual School staff only"):
        await world.overview.overview(actor(who))
    with pytest.raises(NotAllowed):
        await world.overview.report_csv(TERM, actor(who))


async def test_the_digest_goes_to_the_virtual_school_head(world: World) -> None:
    assert [p.id for p in await world.overview.digest_recipients()] == [VSH.id]
