"""The use cases, run on the in-memory fakes of the ports."""

from __future__ import annotations

from datetime import date

import pytest

from pep_model.access import Actor, Capability
from pep_model.errors import ConflictError, IllegalTransition, NotAllowed, NotFound
from pep_model.pep import Pep, pep_id_for
from pep_model.rules import PepRules
from pep_model.services import PepService
from pep_model.terms import TermCalendar
from pep_model.workflow import PepStatus
from tests.unit.builders import complete_raw, content_of, fill_complete, meeting_raw, record
from tests.unit.fakes import FixedClock, InMemoryUnitOfWork, InMemoryUnitOfWorkFactory

PEP_ID = pep_id_for("LCS100001", "2026-autumn")
VOICE = {"views": "I like science.", "how_gathered": "Chat with my key adult"}


@pytest.fixture
async def pep_id(service: PepService) -> str:
    pep = await service.open_pep("LCS100001", "2026-autumn")
    return pep.id


async def in_meeting(
    service: PepService, factory: InMemoryUnitOfWorkFactory, pep_id: str, actor: Actor
) -> None:
    await fill_complete(service, factory, pep_id, actor)
    await service.start_meeting(pep_id, actor, chat_id="19:meeting_abc@thread.v2")


# ---- opening a PEP ------------------------------------------------------------------


async def test_open_pep_starts_a_draft_with_the_childs_sen_status(
    service: PepService, factory: InMemoryUnitOfWorkFactory
) -> None:
    pep = await service.open_pep("LCS100001", "2026-autumn")
    assert (pep.id, pep.status, pep.version) == (PEP_ID, PepStatus.DRAFT, 0)
    assert factory.stored_pep(PEP_ID).sections["send"]["status"] == "none"
    assert [e.action for e in factory.audit_entries(PEP_ID)] == ["pep.open"]


async def test_open_pep_twice_returns_the_same_pep(
    service: PepService, pep_id: str, factory: InMemoryUnitOfWorkFactory, dt: Actor
) -> None:
    await record(service, factory, pep_id, "voice", VOICE, dt)
    again = await service.open_pep("LCS100001", "2026-autumn")
    assert again.sections["voice"]["views"] == "I like science."
    assert len(factory.state.peps) == 1


async def test_open_pep_for_an_unknown_child_is_not_found(service: PepService) -> None:
    with pytest.raises(NotFound, match="LCS999999"):
        await service.open_pep("LCS999999", "2026-autumn")


async def test_open_pep_carries_last_terms_targets_into_the_review(
    service: PepService, factory: InMemoryUnitOfWorkFactory, clock: FixedClock, dt: Actor
) -> None:
    clock.set_today(date(2026, 5, 11))
    summer = await service.open_pep("LCS100001", "2026-summer")
    saved = await record(
        service,
        factory,
        summer.id,
        "targets",
        {
            "rows": [
                {
                    "description": "Read daily",
                    "owner": "Carer",
                    "due": "10/07/2026",
                    "measure": "Reading log",
                },
                {
                    "description": "Join a club",
                    "owner": "Mentor",
                    "due": "2026-06-30",
                    "measure": "Attendance at the club",
                },
            ]
        },
        dt,
    )
    assert saved.saved, saved.errors
    clock.set_today(date(2026, 11, 16))

    autumn = await service.open_pep("LCS100001", "2026-autumn")

    assert autumn.sections["previous_targets"] == {
        "rows": [
            {
                "target": "T1: Read daily (owner: Carer) by 10/07/2026",
                "outcome": None,
                "evidence": None,
            },
            {
                "target": "T2: Join a club (owner: Mentor) by 30/06/2026",
                "outcome": None,
                "evidence": None,
            },
        ]
    }
    view = await service.get(autumn.id, dt)
    assert ("previous_targets", "outcome", 1) in [
        (p.section, p.field, p.row) for p in view.problems
    ]


async def test_a_carried_target_of_the_longest_allowed_parts_can_be_reviewed(
    service: PepService, factory: InMemoryUnitOfWorkFactory, dt: Actor
) -> None:
    longest = {
        "ref": "T1",
        "description": "d" * 1000,
        "owner": "o" * 200,
        "due": "2026-07-10",
        "measure": "m",
    }
    factory.seed(peps=[Pep("LCS100001", "2026-summer", sections={"targets": {"rows": [longest]}})])
    autumn = await service.open_pep("LCS100001", "2026-autumn")
    carried = autumn.sections["previous_targets"]["rows"][0]
    review = {"rows": [{**carried, "outcome": "met", "evidence": "Reading log"}]}
    outcome = await record(service, factory, autumn.id, "previous_targets", review, dt)
    assert outcome.saved, outcome.errors


async def test_a_first_pep_has_nothing_to_review(service: PepService) -> None:
    pep = await service.open_pep("LCS100001", "2026-autumn")
    assert "previous_targets" not in pep.sections


# ---- saving a section -----------------------------------------------------------------


async def test_record_section_saves_bumps_the_version_and_audits_before_and_after(
    service: PepService, factory: InMemoryUnitOfWorkFactory, pep_id: str, dt: Actor
) -> None:
    outcome = await service.record_section(pep_id, "voice", VOICE, dt, 0)
    assert outcome.saved and outcome.changed
    stored = factory.stored_pep(pep_id)
    assert stored.version == 1 and outcome.pep.version == 1
    assert stored.sections["voice"] == {
        "views": "I like science.",
        "how_gathered": "Chat with my key adult",
    }
    entry = factory.audit_entries(pep_id)[-1]
    assert (entry.action, entry.section, entry.actor_id) == ("section.save", "voice", dt.id)
    assert entry.before is None and entry.after == stored.sections["voice"]

    await service.record_section(pep_id, "voice", {**VOICE, "views": "I like art."}, dt, 1)
    entry = factory.audit_entries(pep_id)[-1]
    assert entry.before["views"] == "I like science." and entry.after["views"] == "I like art."
    assert factory.stored_pep(pep_id).version == 2


async def test_saving_the_same_values_again_changes_nothing(
    service: PepService, factory: InMemoryUnitOfWorkFactory, pep_id: str, dt: Actor
) -> None:
    await service.record_section(pep_id, "voice", VOICE, dt, 0)
    outcome = await service.record_section(pep_id, "voice", VOICE, dt, 1)
    assert outcome.saved and not outcome.changed
    assert factory.stored_pep(pep_id).version == 1
    assert len(factory.audit_entries(pep_id)) == 2  # open + one save


async def test_a_validation_failure_saves_nothing_and_returns_the_errors(
    service: PepService, factory: InMemoryUnitOfWorkFactory, pep_id: str, dt: Actor
) -> None:
    outcome = await service.record_section(
        pep_id,
        "attendance",
        {"possible_sessions": "100", "attended_sessions": "90", "unauthorised_sessions": "many"},
        dt,
        0,
    )
    assert not outcome.saved
    assert [(e.field, e.message) for e in outcome.errors] == [
        ("unauthorised_sessions", "enter a whole number, 0 or more")
    ]
    stored = factory.stored_pep(pep_id)
    assert stored.version == 0 and "attendance" not in stored.sections
    assert stored.status is PepStatus.DRAFT
    assert [e.action for e in factory.audit_entries(pep_id)] == ["pep.open"]


async def test_targets_are_numbered_when_saved(
    service: PepService, pep_id: str, factory: InMemoryUnitOfWorkFactory, dt: Actor
) -> None:
    await record(service, factory, pep_id, "targets", complete_raw()["targets"], dt)
    rows = factory.stored_pep(pep_id).sections["targets"]["rows"]
    assert [r["ref"] for r in rows] == ["T1", "T2"]


async def test_a_pupil_premium_request_for_an_unknown_target_is_refused(
    service: PepService, factory: InMemoryUnitOfWorkFactory, pep_id: str, dt: Actor
) -> None:
    outcome = await record(
        service, factory, pep_id, "pupil_premium", complete_raw()["pupil_premium"], dt
    )
    assert [(e.field, e.message) for e in outcome.errors] == [
        ("target", "T1 is not a current target (targets: none yet)")
    ]


# ---- status follows readiness ---------------------------------------------------------


async def test_status_follows_readiness(
    service: PepService, pep_id: str, factory: InMemoryUnitOfWorkFactory, dt: Actor
) -> None:
    await record(service, factory, pep_id, "voice", VOICE, dt)
    assert factory.stored_pep(pep_id).status is PepStatus.IN_PROGRESS

    await fill_complete(service, factory, pep_id, dt)
    assert factory.stored_pep(pep_id).status is PepStatus.READY_FOR_MEETING
    assert await service.readiness(pep_id, dt) == []

    await record(service, factory, pep_id, "voice", {"views": ""}, dt)
    assert factory.stored_pep(pep_id).status is PepStatus.IN_PROGRESS
    assert [(p.section, p.field) for p in await service.readiness(pep_id, dt)] == [
        ("voice", "views")
    ]


async def test_the_last_missing_section_makes_the_pep_ready(
    service: PepService, factory: InMemoryUnitOfWorkFactory, pep_id: str, dt: Actor
) -> None:
    raw = complete_raw()
    carer = raw.pop("carer")
    await fill_complete(service, factory, pep_id, dt, raw)
    assert factory.stored_pep(pep_id).status is PepStatus.IN_PROGRESS
    await record(service, factory, pep_id, "carer", carer, dt)
    assert factory.stored_pep(pep_id).status is PepStatus.READY_FOR_MEETING


# ---- concurrent edits -------------------------------------------------------------------


async def test_a_stale_save_of_the_same_section_is_a_conflict_showing_current_values(
    service: PepService, factory: InMemoryUnitOfWorkFactory, pep_id: str, dt: Actor, sw: Actor
) -> None:
    await service.record_section(pep_id, "voice", VOICE, dt, 0)
    with pytest.raises(ConflictError) as caught:
        await service.record_section(pep_id, "voice", {"views": "Mine"}, sw, 0)
    assert caught.value.current.sections["voice"]["views"] == "I like science."
    assert factory.stored_pep(pep_id).sections["voice"]["views"] == "I like science."
    assert factory.stored_pep(pep_id).version == 1


async def test_a_stale_save_of_a_different_section_is_saved(
    service: PepService, factory: InMemoryUnitOfWorkFactory, pep_id: str, dt: Actor, sw: Actor
) -> None:
    await service.record_section(pep_id, "voice", VOICE, dt, 0)
    outcome = await service.record_section(pep_id, "carer", {"views": "Happier"}, sw, 0)
    assert outcome.saved
    stored = factory.stored_pep(pep_id)
    assert stored.version == 2
    assert stored.sections["voice"]["views"] == "I like science."
    assert stored.sections["carer"]["views"] == "Happier"


# ---- who may save ---------------------------------------------------------------------


@pytest.mark.parametrize("who", ["other_dt", "other_sw", "carer", "child_actor", "vso", "stranger"])
async def test_a_person_without_edit_access_is_not_allowed_and_nothing_is_saved(
    request: pytest.FixtureRequest,
    who: str,
    service: PepService,
    factory: InMemoryUnitOfWorkFactory,
    pep_id: str,
) -> None:
    actor: Actor = request.getfixturevalue(who)
    with pytest.raises(NotAllowed):
        await service.record_section(pep_id, "voice", VOICE, actor, 0)
    assert factory.stored_pep(pep_id).version == 0
    assert "voice" not in factory.stored_pep(pep_id).sections


async def test_viewing_needs_the_view_right(
    service: PepService, pep_id: str, carer: Actor, vso: Actor
) -> None:
    assert (await service.get(pep_id, vso)).pep.id == pep_id
    with pytest.raises(NotAllowed):
        await service.get(pep_id, carer)
    assert (await service.get(pep_id, carer, Capability.VIEW_MEETING)).pep.id == pep_id


async def test_an_unknown_pep_is_not_found(service: PepService, dt: Actor) -> None:
    with pytest.raises(NotFound):
        await service.get("LCS100001-2031-autumn", dt)


# ---- the meeting --------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["attendees", "summary", "actions", "next_pep"])
async def test_meeting_sections_are_not_editable_before_the_meeting(
    service: PepService, factory: InMemoryUnitOfWorkFactory, pep_id: str, dt: Actor, key: str
) -> None:
    with pytest.raises(NotAllowed, match="cannot be changed while the PEP is 'Not started'"):
        await record(service, factory, pep_id, key, meeting_raw()[key], dt)
    assert factory.stored_pep(pep_id).version == 0


@pytest.mark.parametrize("key", ["attendees", "summary", "actions", "next_pep"])
async def test_meeting_sections_are_editable_in_the_meeting(
    service: PepService, factory: InMemoryUnitOfWorkFactory, pep_id: str, dt: Actor, key: str
) -> None:
    await in_meeting(service, factory, pep_id, dt)
    outcome = await record(service, factory, pep_id, key, meeting_raw()[key], dt)
    assert outcome.saved, outcome.errors
    assert factory.stored_pep(pep_id).status is PepStatus.IN_MEETING


async def test_before_meeting_sections_stay_editable_in_the_meeting(
    service: PepService, factory: InMemoryUnitOfWorkFactory, pep_id: str, dt: Actor
) -> None:
    await in_meeting(service, factory, pep_id, dt)
    outcome = await record(service, factory, pep_id, "voice", {"views": "Updated"}, dt)
    assert outcome.saved
    assert factory.stored_pep(pep_id).status is PepStatus.IN_MEETING


async def test_start_meeting_opens_the_walkthrough_at_the_first_section(
    service: PepService, factory: InMemoryUnitOfWorkFactory, pep_id: str, sw: Actor
) -> None:
    pep = await service.start_meeting(pep_id, sw, chat_id="19:abc@thread.v2")
    assert pep.status is PepStatus.IN_MEETING and pep.current_section == "send"
    assert pep.meeting is not None and pep.meeting.chat_id == "19:abc@thread.v2"
    entry = factory.audit_entries(pep_id)[-1]
    assert (entry.action, entry.before, entry.after) == ("meeting.start", "draft", "in_meeting")
    by_chat = await factory.peps.by_chat("19:abc@thread.v2")
    assert by_chat is not None and by_chat.id == pep_id


async def test_start_meeting_is_idempotent(
    service: PepService, pep_id: str, factory: InMemoryUnitOfWorkFactory, sw: Actor
) -> None:
    first = await service.start_meeting(pep_id, sw)
    again = await service.start_meeting(pep_id, sw)
    assert again.status is PepStatus.IN_MEETING and again.version == first.version
    assert [e.action for e in factory.audit_entries(pep_id)].count("meeting.start") == 1


async def test_only_a_meeting_lead_starts_the_meeting(
    service: PepService, pep_id: str, carer: Actor, vso: Actor
) -> None:
    for actor in (carer, vso):
        with pytest.raises(NotAllowed):
            await service.start_meeting(pep_id, actor)


async def test_navigate_moves_everyones_walkthrough(
    service: PepService, pep_id: str, factory: InMemoryUnitOfWorkFactory, dt: Actor, carer: Actor
) -> None:
    await service.start_meeting(pep_id, dt)
    version = factory.stored_pep(pep_id).version
    pep = await service.navigate(pep_id, "attendance", dt)
    assert pep.current_section == "attendance"
    assert factory.stored_pep(pep_id).current_section == "attendance"
    assert factory.stored_pep(pep_id).version == version + 1
    await service.navigate(pep_id, "attendance", dt)
    assert factory.stored_pep(pep_id).version == version + 1
    with pytest.raises(NotAllowed):
        await service.navigate(pep_id, "voice", carer)
    with pytest.raises(KeyError):
        await service.navigate(pep_id, "hobbies", dt)


async def test_record_attendee_adds_each_person_once(
    service: PepService, pep_id: str, factory: InMemoryUnitOfWorkFactory, dt: Actor
) -> None:
    await service.start_meeting(pep_id, dt)
    first = await service.record_attendee(
        pep_id, "Harriet Pemberton", "designated_teacher", "teams", dt
    )
    assert first.saved and first.changed
    await service.record_attendee(pep_id, "Rachel Donnelly", "social_worker", "teams", dt)
    for same in ("harriet pemberton", "HARRIET PEMBERTON", " Harriet  Pemberton "):
        again = await service.record_attendee(pep_id, same, "designated_teacher", "teams", dt)
        assert again.saved and not again.changed, same
    rows = factory.stored_pep(pep_id).sections["attendees"]["rows"]
    assert [r["name"] for r in rows] == ["Harriet Pemberton", "Rachel Donnelly"]


async def test_record_attendee_refuses_an_unknown_role(
    service: PepService, pep_id: str, dt: Actor
) -> None:
    await service.start_meeting(pep_id, dt)
    outcome = await service.record_attendee(pep_id, "Mo", "wizard", "teams", dt)
    assert [e.field for e in outcome.errors] == ["role"]


async def test_finish_meeting_is_refused_until_the_meeting_record_is_complete(
    service: PepService, factory: InMemoryUnitOfWorkFactory, pep_id: str, dt: Actor
) -> None:
    await in_meeting(service, factory, pep_id, dt)
    record_ = meeting_raw()
    expected = [("attendees", "rows"), ("summary", "summary"), ("next_pep", "date")]
    for key in ("attendees", "summary", "next_pep"):
        pep, problems = await service.finish_meeting(pep_id, dt)
        assert [(p.section, p.field) for p in problems] == expected
        assert pep.status is PepStatus.IN_MEETING
        assert factory.stored_pep(pep_id).status is PepStatus.IN_MEETING
        await record(service, factory, pep_id, key, record_[key], dt)
        expected.pop(0)

    pep, problems = await service.finish_meeting(pep_id, dt)

    assert problems == []
    assert pep.status is PepStatus.AWAITING_RETURN
    assert pep.meeting_held_on == date(2026, 11, 16)
    assert pep.return_due == date(2026, 11, 21)
    stored = factory.stored_pep(pep_id)
    assert (stored.status, stored.return_due) == (PepStatus.AWAITING_RETURN, date(2026, 11, 21))
    assert factory.audit_entries(pep_id)[-1].action == "meeting.finish"


async def test_a_reason_lets_the_meeting_finish_without_a_next_date(
    service: PepService, factory: InMemoryUnitOfWorkFactory, pep_id: str, dt: Actor
) -> None:
    await in_meeting(service, factory, pep_id, dt)
    raw = meeting_raw()
    raw["next_pep"] = {"date": "", "reason": "Placement ends in December"}
    for key, values in raw.items():
        await record(service, factory, pep_id, key, values, dt)
    _, problems = await service.finish_meeting(pep_id, dt)
    assert problems == []


async def test_return_due_counts_working_days_when_configured(
    factory: InMemoryUnitOfWorkFactory, calendar: TermCalendar, dt: Actor, clock: FixedClock
) -> None:
    clock.set_today(date(2026, 12, 18))
    service = PepService(factory, calendar, PepRules(return_in_working_days=True), clock)
    pep = await service.open_pep("LCS100001", "2026-autumn")
    await in_meeting(service, factory, pep.id, dt)
    for key, values in meeting_raw().items():
        await record(service, factory, pep.id, key, values, dt)
    pep, problems = await service.finish_meeting(pep.id, dt)
    assert problems == [] and pep.return_due == date(2026, 12, 29)


async def test_finish_meeting_outside_the_meeting_is_an_illegal_move(
    service: PepService, factory: InMemoryUnitOfWorkFactory, dt: Actor
) -> None:
    ready = Pep(
        "LCS100001",
        "2026-autumn",
        status=PepStatus.READY_FOR_MEETING,
        sections=content_of(meeting_raw()),
    )
    factory.seed(peps=[ready])
    with pytest.raises(
        IllegalTransition, match="'Ready for the meeting' cannot move to 'Awaiting return'"
    ):
        await service.finish_meeting(ready.id, dt)
    assert factory.stored_pep(ready.id).status is PepStatus.READY_FOR_MEETING


async def test_a_save_that_loses_the_race_is_a_conflict_showing_the_winners_values(
    service: PepService, factory: InMemoryUnitOfWorkFactory, pep_id: str, dt: Actor, sw: Actor
) -> None:
    """Someone else's save of the same section lands between this save's read and its
    write: read again, the section has changed since the card's version."""
    make_uow = factory.__call__
    raced: list[int] = []

    def racing_uow() -> InMemoryUnitOfWork:
        uow = make_uow()
        real_save = uow.peps.save

        async def save(pep: Pep, expected_version: int) -> None:
            if not raced:
                raced.append(expected_version)
                winner = factory.stored_pep(pep.id)
                winner.sections["voice"] = {"views": "Theirs", "how_gathered": None}
                winner.section_versions["voice"] = winner.version + 1
                await factory.peps.save(winner, winner.version)
            await real_save(pep, expected_version)

        uow.peps.save = save  # type: ignore[method-assign]
        return uow

    service.uow = racing_uow
    with pytest.raises(ConflictError) as caught:
        await service.record_section(pep_id, "voice", VOICE, dt, 0)
    assert caught.value.current.sections["voice"]["views"] == "Theirs"
    assert factory.stored_pep(pep_id).version == 1
    assert [e.action for e in factory.audit_entries(pep_id)] == ["pep.open"]


# ---- my PEPs -------------------------------------------------------------------------


async def test_my_peps_lists_only_visible_children_and_reading_creates_nothing(
    service: PepService, factory: InMemoryUnitOfWorkFactory, sw: Actor
) -> None:
    views = await service.my_peps(sw)
    assert [v.pep.id for v in views] == ["LCS100001-2026-autumn", "LCS100002-2026-autumn"]
    assert factory.state.peps == {}  # shown as they would open; nothing written
    assert views[0].transition_reasons == ("starting Year 7, a new phase",)
    assert views[0].problems  # nothing filled in yet


async def test_my_peps_keeps_existing_peps(
    service: PepService, factory: InMemoryUnitOfWorkFactory, pep_id: str, dt: Actor
) -> None:
    await record(service, factory, pep_id, "voice", VOICE, dt)
    views = await service.my_peps(dt)
    assert [v.child.lcs_id for v in views] == ["LCS100001", "LCS100003"]
    assert views[0].pep.sections["voice"]["views"] == "I like science."
    assert views[0].pep.status is PepStatus.IN_PROGRESS


async def test_my_peps_for_a_term_asked_for(service: PepService, vso: Actor) -> None:
    views = await service.my_peps(vso, "2027-spring")
    assert [v.pep.id for v in views] == [
        "LCS100001-2027-spring",
        "LCS100002-2027-spring",
        "LCS100003-2027-spring",
    ]
    assert views[0].transition_reasons == ()


@pytest.mark.parametrize("who", ["stranger", "carer"])
async def test_my_peps_is_empty_for_someone_who_may_see_no_pep(
    request: pytest.FixtureRequest,
    who: str,
    service: PepService,
    factory: InMemoryUnitOfWorkFactory,
) -> None:
    assert await service.my_peps(request.getfixturevalue(who)) == []
    assert factory.state.peps == {}


async def test_an_unreadable_value_is_reported_once(
    service: PepService, pep_id: str, factory: InMemoryUnitOfWorkFactory, dt: Actor
) -> None:
    outcome = await record(
        service,
        factory,
        pep_id,
        "targets",
        {
            "rows": [
                {
                    "description": "Read daily",
                    "owner": "Carer",
                    "due": "31/02/2027",
                    "measure": "Reading log",
                }
            ]
        },
        dt,
    )
    assert [(e.field, e.row, e.message) for e in outcome.errors] == [
        ("due", 0, "enter a real date as dd/mm/yyyy")
    ]


async def test_a_reader_previews_a_pep_nobody_opened_and_an_editor_opens_it(
    service: PepService, factory: InMemoryUnitOfWorkFactory, vso: Actor, dt: Actor
) -> None:
    seen = await service.pep_or_preview("LCS100001", "2026-autumn", vso)
    assert seen.pep.id == "LCS100001-2026-autumn" and factory.state.peps == {}
    opened = await service.pep_or_preview("LCS100001", "2026-autumn", dt)
    assert list(factory.state.peps) == [opened.pep.id]


async def test_open_term_opens_every_missing_pep_once(
    service: PepService, factory: InMemoryUnitOfWorkFactory
) -> None:
    await service.open_term("2026-autumn")
    first = dict(factory.state.peps)
    await service.open_term("2026-autumn")
    assert factory.state.peps == first and len(first) == 3
