"""Scheduling a PEP meeting: the checks, the outbox rows, and what delivery does."""

from __future__ import annotations

from datetime import date, time

import pytest

from graph.dispatch import Dispatcher
from pep_model.access import Actor
from pep_model.errors import NotAllowed
from pep_model.meetings import MeetingStatus, ScheduleRequest, attendee_key
from pep_model.outbox import VIRTUAL_SCHOOL_CHANNEL, OutboxKind, OutboxStatus
from pep_model.pep import pep_id_for
from pep_model.scheduling import SchedulingService
from pep_model.services import PepService
from pep_model.virtual_school_cases import alert_unscheduled
from tests.unit.conftest import CARER, CHILD_PERSON, DT, SW, VSO
from tests.unit.fake_m365_ports import (
    RecordingCalendar,
    RecordingChatApp,
    RecordingMailbox,
    RecordingNotices,
)
from tests.unit.fakes import FixedClock, InMemoryUnitOfWorkFactory

PEP = pep_id_for("LCS100001", "2026-autumn")


@pytest.fixture
def scheduling(service: PepService) -> SchedulingService:
    return SchedulingService(service)


@pytest.fixture
def ports() -> tuple[RecordingCalendar, RecordingMailbox, RecordingChatApp, RecordingNotices]:
    return RecordingCalendar(), RecordingMailbox(), RecordingChatApp(), RecordingNotices()


@pytest.fixture
def dispatcher(
    factory: InMemoryUnitOfWorkFactory,
    clock: FixedClock,
    scheduling: SchedulingService,
    ports: tuple,
) -> Dispatcher:
    calendar, mailbox, chat, notices = ports
    return Dispatcher(
        factory,
        clock,
        calendar=calendar,
        mailbox=mailbox,
        chat_app=chat,
        notices=notices,
        hooks=scheduling.hooks(),
        report_mailbox="ops@northvale.example",
        sender="business.support@northvale.example",
    )


def request(**changes: object) -> ScheduleRequest:
    fields: dict[str, object] = {
        "child_id": "LCS100001",
        "day": "2026-11-24",
        "at": "14:00",
        "minutes": "60",
        "invited": frozenset({attendee_key(DT.email), attendee_key(CARER.email)}),
    }
    fields.update(changes)
    return ScheduleRequest(**fields)  # type: ignore[arg-type]


def fields_of(outcome: object) -> dict[str, str]:
    return {e.field: e.message for e in outcome.errors}  # type: ignore[attr-defined]


async def test_the_plan_proposes_the_people_around_the_child(
    scheduling: SchedulingService, sw: Actor
) -> None:
    plan = await scheduling.plan(sw, "LCS100001")
    shown = {p.attendee.email: p for p in plan.proposals}
    assert shown[DT.email].ticked and shown[CARER.email].ticked
    assert not shown[CHILD_PERSON.email].ticked and shown[CHILD_PERSON.email].note
    assert SW.email not in shown, "the organiser is not an attendee of their own meeting"
    # Year 7 in the autumn term: a transition case, so the Virtual School is offered
    assert plan.virtual_school_case and VSO.email in shown
    assert any("Year 7" in r for r in plan.reasons)


async def test_only_the_childs_social_worker_schedules(
    scheduling: SchedulingService, dt: Actor, other_sw: Actor
) -> None:
    for actor in (dt, other_sw):
        with pytest.raises(NotAllowed):
            await scheduling.plan(actor, "LCS100001")


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"day": ""}, "date", "choose the date"),
        ({"day": "31/02/2026"}, "date", "enter a date"),
        ({"day": "2027-01-12"}, "date", "Autumn term 2026"),
        ({"day": "2026-11-10"}, "date", "in the future"),
        ({"day": "2026-11-16", "at": "09:00"}, "time", "in the future"),
        ({"at": "25:00"}, "time", "enter a time"),
        ({"minutes": "17"}, "duration", "choose a length"),
        ({"extra": "ok@example.org, not-an-address"}, "extra", "not-an-address"),
        ({"invited": frozenset()}, "attendees", "at least one"),
    ],
)
async def test_checks_name_the_field(
    scheduling: SchedulingService,
    sw: Actor,
    factory: InMemoryUnitOfWorkFactory,
    changes: dict[str, object],
    field: str,
    words: str,
) -> None:
    outcome = await scheduling.submit(sw, request(**changes))
    assert not outcome.done
    assert words in fields_of(outcome)[field]
    assert outcome.request == request(**changes), "what was typed comes back"
    assert not factory.state.outbox and not factory.state.meetings


async def test_out_of_hours_asks_first(scheduling: SchedulingService, sw: Actor) -> None:
    outcome = await scheduling.submit(sw, request(at="18:30"))
    assert not outcome.done and not outcome.errors
    assert "outside school hours" in outcome.warnings[0]
    saturday = await scheduling.submit(sw, request(day="2026-11-21"))
    assert "Saturday" in saturday.warnings[0]
    accepted = await scheduling.submit(sw, request(at="18:30", accept_out_of_hours=True))
    assert accepted.done


async def test_scheduling_writes_meeting_link_and_outbox_in_one_commit(
    scheduling: SchedulingService, sw: Actor, factory: InMemoryUnitOfWorkFactory
) -> None:
    outcome = await scheduling.submit(sw, request())
    assert outcome.done and outcome.delivery_key.endswith(":create")
    meeting = factory.state.meetings[PEP]
    assert meeting.organiser_id == SW.id and meeting.minutes == 60
    assert {a.email for a in meeting.attendees} == {DT.email, CARER.email}
    pep = factory.stored_pep(PEP)
    assert pep.meeting is not None and pep.meeting.starts_at.startswith("2026-11-24T14:00")
    create = factory.state.outbox[outcome.delivery_key]
    assert create.kind is OutboxKind.MEETING_CREATE and create.requested_by == SW.id
    invite = create.payload["invite"]
    assert invite["organiser_email"] == SW.email and invite["subject"] == "AF PEP"
    for secret in ("Ada", "Fenwick", "2015"):
        assert secret not in invite["subject"] + invite["body_html"]
    assert "Northvale Academy" in invite["body_html"]
    assert factory.state.outbox[outcome.confirm_key].kind is OutboxKind.TEAMS_NOTICE
    assert [e.action for e in factory.audit_entries(PEP)][-1] == "meeting.schedule"


async def test_no_second_meeting_this_term(scheduling: SchedulingService, sw: Actor) -> None:
    assert (await scheduling.submit(sw, request())).done
    again = await scheduling.submit(sw, request(day="2026-11-30"))
    assert "already has a PEP meeting" in fields_of(again)["date"]


async def test_delivery_links_the_pep_installs_the_app_and_alerts_the_virtual_school(
    scheduling: SchedulingService,
    sw: Actor,
    dispatcher: Dispatcher,
    ports: tuple,
    factory: InMemoryUnitOfWorkFactory,
    clock: FixedClock,
) -> None:
    calendar, _, chat, notices = ports
    outcome = await scheduling.submit(sw, request())
    statuses = await dispatcher.deliver_now([outcome.delivery_key], timeout=2)
    assert statuses[outcome.delivery_key] is OutboxStatus.DELIVERED
    pep = factory.stored_pep(PEP)
    assert pep.meeting is not None
    assert pep.meeting.event_id == "evt-1" and pep.meeting.join_url.endswith("evt-1")
    assert pep.meeting.chat_id == "19:meeting_evt-1@thread.v2"
    await dispatcher.drain()
    assert chat.installed == ["19:meeting_evt-1@thread.v2"]
    assert notices.templates(VIRTUAL_SCHOOL_CHANNEL) == ["virtual_school_alert"]
    # the confirmation waits (not_before) for whoever asked to wait first
    assert notices.templates(f"person:{SW.id}") == []
    clock.advance(minutes=1)
    await dispatcher.drain()
    assert notices.templates(f"person:{SW.id}") == ["meeting_scheduled"]
    assert calendar.calls == [("create", outcome.delivery_key)]


async def test_reschedule_updates_and_cancel_cancels(
    scheduling: SchedulingService,
    sw: Actor,
    dispatcher: Dispatcher,
    ports: tuple,
    factory: InMemoryUnitOfWorkFactory,
) -> None:
    calendar = ports[0]
    first = await scheduling.submit(sw, request())
    await dispatcher.drain()
    assert first.meeting is not None
    moved = await scheduling.submit(
        sw, request(day="2026-11-26", at="10:00"), reschedule_version=first.meeting.version
    )
    assert moved.done and moved.delivery_key.endswith(":update")
    stale = await scheduling.submit(
        sw, request(day="2026-11-27"), reschedule_version=first.meeting.version
    )
    assert "changed this meeting" in fields_of(stale)["date"]
    await dispatcher.drain()
    assert calendar.events["evt-1"]["updates"] == 1
    assert calendar.events["evt-1"]["invite"].start.isoformat().startswith("2026-11-26T10:00")
    assert factory.stored_pep(PEP).meeting.event_id == "evt-1"  # type: ignore[union-attr]
    cancelled = await scheduling.cancel(sw, PEP, "Carer unwell")
    assert cancelled.status is MeetingStatus.CANCELLED
    await dispatcher.drain()
    assert calendar.events["evt-1"]["cancelled"]
    assert factory.stored_pep(PEP).meeting is None
    # a new meeting after a cancellation is a new event with new keys
    again = await scheduling.submit(sw, request(day="2026-12-01"))
    assert again.done and ":g2:" in again.delivery_key
    await dispatcher.drain()
    assert "evt-2" in calendar.events


async def test_cancel_before_delivery_sends_nothing(
    scheduling: SchedulingService,
    sw: Actor,
    dispatcher: Dispatcher,
    ports: tuple,
    factory: InMemoryUnitOfWorkFactory,
) -> None:
    outcome = await scheduling.submit(sw, request())
    await scheduling.cancel(sw, PEP)
    await dispatcher.drain()
    assert ports[0].calls == []
    assert factory.state.outbox[outcome.delivery_key].status is OutboxStatus.CANCELLED


async def test_virtual_school_officer_attends_once(
    scheduling: SchedulingService,
    sw: Actor,
    vso: Actor,
    dt: Actor,
    dispatcher: Dispatcher,
    ports: tuple,
) -> None:
    await scheduling.submit(sw, request())
    await dispatcher.drain()
    with pytest.raises(NotAllowed):
        await scheduling.attend(dt, PEP)
    meeting, added = await scheduling.attend(vso, PEP)
    assert added and VSO.id in meeting.virtual_school_attending
    _, again = await scheduling.attend(vso, PEP)
    assert not again
    await dispatcher.drain()
    emails = [a.email for a in ports[0].events["evt-1"]["attendees"]]
    assert emails.count(VSO.email) == 1


async def test_unscheduled_transition_cases_are_alerted_once(
    scheduling: SchedulingService, sw: Actor, clock: FixedClock, factory: InMemoryUnitOfWorkFactory
) -> None:
    clock.set_today(date(2026, 9, 4))  # 3 school days in: too early
    assert await alert_unscheduled(scheduling.service) == 0
    clock.set_today(date(2026, 9, 16))  # 11 school days in
    assert await alert_unscheduled(scheduling.service) == 1  # LCS100001 (Year 7) only
    assert await alert_unscheduled(scheduling.service) == 0  # once a term
    keys = [k for k in factory.state.outbox if k.startswith("vs-unscheduled:")]
    assert keys == ["vs-unscheduled:2026-autumn:LCS100001"]


async def test_a_scheduled_case_is_not_alerted(
    scheduling: SchedulingService, sw: Actor, clock: FixedClock
) -> None:
    clock.set_today(date(2026, 9, 16))
    outcome = await scheduling.submit(sw, request(day="2026-09-30"))
    assert outcome.done
    assert await alert_unscheduled(scheduling.service) == 0


def test_clock_fixture_is_in_term(clock: FixedClock) -> None:
    assert clock.now().time() == time(10, 0)
