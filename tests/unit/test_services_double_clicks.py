"""Double clicks, retries and two people at once, on the use cases: the same request
twice changes nothing more and is answered as done; different sections never collide;
a card the store cannot have made is refused. (On a real database, both backends:
tests/integration/test_save_races.py.)"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pep_model.access import Actor
from pep_model.errors import AlreadyDone, CardOutOfStep, ConflictError, StoreUnavailable
from pep_model.meeting_use_cases import Attendance
from pep_model.pep import Pep
from pep_model.services import PepService
from pep_model.workflow import PepStatus
from tests.unit.builders import fill_complete, meeting_raw, record
from tests.unit.fakes import InMemoryUnitOfWork, InMemoryUnitOfWorkFactory

VOICE = {"views": "I like science.", "how_gathered": "Chat with my key adult"}
CARER = {"views": "Settled at home", "role": "Reads with her"}


@pytest.fixture
async def pep_id(service: PepService) -> str:
    return (await service.open_pep("LCS100001", "2026-autumn")).id


def saves_of(factory: InMemoryUnitOfWorkFactory, pep_id: str) -> list[str | None]:
    return [e.section for e in factory.audit_entries(pep_id) if e.action == "section.save"]


def racing(
    factory: InMemoryUnitOfWorkFactory, times: int, meanwhile: Callable[[Pep], None]
) -> Callable[[], InMemoryUnitOfWork]:
    """Units of work in which, the first `times` times a PEP is written, another
    request's write (`meanwhile`, at the next version) lands between the read and the
    write, so the version check fails."""
    left = [times]
    make = factory.__call__

    def uow() -> InMemoryUnitOfWork:
        work = make()
        real_save = work.peps.save

        async def save(pep: Pep, expected_version: int) -> None:
            if left[0] > 0:
                left[0] -= 1
                other = factory.stored_pep(pep.id)
                meanwhile(other)
                await factory.peps.save(other, other.version)
            await real_save(pep, expected_version)

        work.peps.save = save  # type: ignore[method-assign]
        return work

    return uow


def carer_saved(pep: Pep) -> None:
    pep.sections["carer"] = {"views": "Settled at home", "role": "Reads with her"}
    pep.section_versions["carer"] = pep.version + 1


# ---- the same save twice ----------------------------------------------------------------


async def test_a_double_click_on_save_is_saved_both_times_and_written_once(
    service: PepService, factory: InMemoryUnitOfWorkFactory, pep_id: str, dt: Actor
) -> None:
    first = await service.record_section(pep_id, "voice", VOICE, dt, 0)
    second = await service.record_section(pep_id, "voice", VOICE, dt, 0)  # same card
    assert first.saved and first.changed
    assert second.saved and not second.changed
    assert factory.stored_pep(pep_id).version == 1
    assert saves_of(factory, pep_id) == ["voice"]


async def test_what_is_stored_already_is_saved_whoever_sends_it_from_any_card(
    service: PepService, factory: InMemoryUnitOfWorkFactory, pep_id: str, dt: Actor, sw: Actor
) -> None:
    await service.record_section(pep_id, "voice", VOICE, dt, 0)
    await record(service, factory, pep_id, "carer", CARER, dt)
    # the social worker's card shows version 0: the voice section changed since, but
    # what they typed (spaces aside) is what is stored
    same = await service.record_section(
        pep_id,
        "voice",
        {"views": "  I like science. ", "how_gathered": "Chat with my key adult"},
        sw,
        0,
    )
    assert same.saved and not same.changed
    assert saves_of(factory, pep_id) == ["voice", "carer"]


async def test_different_content_on_a_card_older_than_the_section_is_still_a_conflict(
    service: PepService, factory: InMemoryUnitOfWorkFactory, pep_id: str, dt: Actor, sw: Actor
) -> None:
    await service.record_section(pep_id, "voice", VOICE, dt, 0)
    with pytest.raises(ConflictError):
        await service.record_section(pep_id, "voice", {**VOICE, "views": "Mine"}, sw, 0)
    assert factory.stored_pep(pep_id).sections["voice"]["views"] == "I like science."


# ---- two people, two sections, one moment ----------------------------------------------


async def test_a_save_that_meets_a_write_to_another_section_is_applied_to_it(
    service: PepService, factory: InMemoryUnitOfWorkFactory, pep_id: str, dt: Actor
) -> None:
    service.uow = racing(factory, 1, carer_saved)
    outcome = await service.record_section(pep_id, "voice", VOICE, dt, 0)
    assert outcome.saved and outcome.changed
    stored = factory.stored_pep(pep_id)
    assert stored.version == 2
    assert stored.sections["voice"]["views"] == "I like science."
    assert stored.sections["carer"]["views"] == "Settled at home"
    assert stored.section_versions == {"carer": 1, "voice": 2}
    assert saves_of(factory, pep_id) == ["voice"]  # the racer wrote no audit row here


async def test_a_row_that_keeps_changing_is_busy_not_a_conflict(
    service: PepService, factory: InMemoryUnitOfWorkFactory, pep_id: str, dt: Actor
) -> None:
    def bump(pep: Pep) -> None:
        pep.current_section = "carer" if pep.current_section != "carer" else "voice"

    service.uow = racing(factory, 100, bump)
    with pytest.raises(StoreUnavailable):
        await service.record_section(pep_id, "voice", VOICE, dt, 0)
    assert "voice" not in factory.stored_pep(pep_id).sections
    assert saves_of(factory, pep_id) == []


async def test_finish_meets_a_save_of_another_section_and_still_finishes(
    service: PepService, factory: InMemoryUnitOfWorkFactory, pep_id: str, dt: Actor
) -> None:
    await in_meeting_with_record(service, factory, pep_id, dt)
    service.uow = racing(factory, 1, carer_saved)
    pep, problems = await service.finish_meeting(pep_id, dt)
    assert problems == [] and pep.status is PepStatus.AWAITING_RETURN
    assert factory.stored_pep(pep_id).status is PepStatus.AWAITING_RETURN


# ---- a card the store cannot have made ---------------------------------------------------


async def test_a_card_newer_than_the_pep_is_refused_as_out_of_step(
    service: PepService, factory: InMemoryUnitOfWorkFactory, pep_id: str, dt: Actor
) -> None:
    await service.record_section(pep_id, "voice", VOICE, dt, 0)
    with pytest.raises(CardOutOfStep, match="out of step with the PEP; open it again"):
        await service.record_section(pep_id, "voice", {**VOICE, "views": "Crafted"}, dt, 7)
    assert factory.stored_pep(pep_id).sections["voice"]["views"] == "I like science."
    assert factory.stored_pep(pep_id).version == 1


# ---- finishing twice ----------------------------------------------------------------------


async def in_meeting_with_record(
    service: PepService, factory: InMemoryUnitOfWorkFactory, pep_id: str, actor: Actor
) -> None:
    await fill_complete(service, factory, pep_id, actor)
    await service.start_meeting(pep_id, actor, chat_id="19:meeting_abc@thread.v2")
    for key, values in meeting_raw().items():
        await record(service, factory, pep_id, key, values, actor)


async def test_finish_pressed_twice_is_already_finished_and_finishes_once(
    service: PepService, factory: InMemoryUnitOfWorkFactory, pep_id: str, dt: Actor
) -> None:
    await in_meeting_with_record(service, factory, pep_id, dt)
    await service.finish_meeting(pep_id, dt)
    version = factory.stored_pep(pep_id).version
    with pytest.raises(AlreadyDone) as again:
        await service.finish_meeting(pep_id, dt)
    assert str(again.value) == "This PEP meeting is already finished."
    assert factory.stored_pep(pep_id).version == version
    assert [e.action for e in factory.audit_entries(pep_id)].count("meeting.finish") == 1


@pytest.mark.parametrize("status", [PepStatus.RETURNED, PepStatus.IN_QA, PepStatus.FINALISED])
async def test_finish_on_a_pep_that_moved_on_since_is_already_finished(
    service: PepService,
    factory: InMemoryUnitOfWorkFactory,
    pep_id: str,
    dt: Actor,
    status: PepStatus,
) -> None:
    pep = factory.stored_pep(pep_id)
    pep.status = status
    factory.seed(peps=[pep])
    with pytest.raises(AlreadyDone, match=r"^This PEP meeting is already finished\.$"):
        await service.finish_meeting(pep_id, dt)
    assert factory.stored_pep(pep_id).status is status


async def test_start_pressed_twice_at_once_starts_once(
    service: PepService, factory: InMemoryUnitOfWorkFactory, pep_id: str, dt: Actor
) -> None:
    await fill_complete(service, factory, pep_id, dt)

    def started(pep: Pep) -> None:  # the other press lands first
        pep.status = PepStatus.IN_MEETING

    service.uow = racing(factory, 1, started)
    pep = await service.start_meeting(pep_id, dt)
    assert pep.status is PepStatus.IN_MEETING
    assert [e.action for e in factory.audit_entries(pep_id)].count("meeting.start") == 0


# ---- adding someone already listed ---------------------------------------------------------


async def test_adding_someone_already_listed_the_same_way_changes_nothing(
    service: PepService, factory: InMemoryUnitOfWorkFactory, pep_id: str, dt: Actor
) -> None:
    await service.start_meeting(pep_id, dt)
    await service.record_attendee(
        pep_id, "Rachel Donnelly", "social_worker", "teams", dt, by_hand=True
    )
    version = factory.stored_pep(pep_id).version
    again = await service.record_attendee(
        pep_id, "rachel  donnelly", "social_worker", "teams", dt, by_hand=True
    )
    assert again.attendance is Attendance.ALREADY and not again.changed
    assert again.notice == "Rachel Donnelly is already recorded as attending on Teams."
    assert factory.stored_pep(pep_id).version == version


async def test_adding_someone_again_by_hand_updates_how_they_attended(
    service: PepService, factory: InMemoryUnitOfWorkFactory, pep_id: str, dt: Actor
) -> None:
    await service.start_meeting(pep_id, dt)
    await service.record_attendee(
        pep_id, "Rachel Donnelly", "social_worker", "teams", dt, by_hand=True
    )
    updated = await service.record_attendee(
        pep_id, "Rachel Donnelly", "social_worker", "phone", dt, by_hand=True
    )
    assert updated.attendance is Attendance.UPDATED and updated.changed
    assert updated.notice == (
        "Rachel Donnelly is now recorded as Social worker, attending "
        "by phone (was Social worker, attending on Teams)."
    )
    rows = factory.stored_pep(pep_id).sections["attendees"]["rows"]
    assert [(r["name"], r["attended"]) for r in rows] == [("Rachel Donnelly", "phone")]


async def test_a_join_event_never_turns_in_person_into_teams(
    service: PepService, factory: InMemoryUnitOfWorkFactory, pep_id: str, dt: Actor
) -> None:
    await service.start_meeting(pep_id, dt)
    await service.record_attendee(
        pep_id, "Rachel Donnelly", "social_worker", "in_person", dt, by_hand=True
    )
    joined = await service.record_attendee(
        pep_id, "Rachel Donnelly", "social_worker", "teams", dt
    )  # a meeting event, not a person
    assert joined.attendance is Attendance.ALREADY and not joined.changed
    rows = factory.stored_pep(pep_id).sections["attendees"]["rows"]
    assert [r["attended"] for r in rows] == ["in_person"]


async def test_an_update_by_hand_is_validated_like_an_add(
    service: PepService, factory: InMemoryUnitOfWorkFactory, pep_id: str, dt: Actor
) -> None:
    await service.start_meeting(pep_id, dt)
    await service.record_attendee(pep_id, "Mo Farah", "other", "teams", dt, by_hand=True)
    outcome = await service.record_attendee(pep_id, "Mo Farah", "wizard", "teams", dt, by_hand=True)
    assert [e.field for e in outcome.errors] == ["role"]
    rows = factory.stored_pep(pep_id).sections["attendees"]["rows"]
    assert [r["role"] for r in rows] == ["other"]
