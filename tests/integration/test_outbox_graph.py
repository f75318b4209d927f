"""The outbox dispatcher delivering through the real msgraph-sdk to the local fake Graph,
with the store on SQLite and PostgreSQL: scheduling, mail, 429 Retry-After, 5xx,
refusals reported to a person, and 10% throttling with every message sent once."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from graph.client import close_graph_client, make_graph_client
from graph.dispatch import Backoff, Dispatcher
from graph.msgraph_adapters import (
    IDEMPOTENCY_HEADER,
    GraphCalendar,
    GraphChatApp,
    GraphMailbox,
)
from graph.permissions import MEETING_RSC_PERMISSIONS
from pep_model.access import Actor
from pep_model.child import Child, School, YearGroup
from pep_model.meetings import ScheduleRequest, attendee_key
from pep_model.outbox import VIRTUAL_SCHOOL_CHANNEL, OutboxStatus, mail
from pep_model.people import Assignment, Person, Role
from pep_model.rules import PepRules
from pep_model.scheduling import SchedulingService
from pep_model.services import PepService
from pep_model.terms import default_calendar
from store.unit_of_work import SqlUnitOfWorkFactory
from tests.support.fake_graph import FakeGraph, Fault, FixedTokenCredential
from tests.support.ticking_clock import TickingClock
from tests.unit.fake_m365_ports import RecordingNotices

APP_ID = "5b3c7a2e-6f1d-4c8e-9a0b-1d2e3f405162"
SENDER = "business.support@northvale.example"
SW = Person("rachel.donnelly@northvale.example", "Rachel Donnelly")
DT = Person("h.pemberton@fernhollow.sch.example", "Harriet Pemberton")
VSO = Person("bethan.carrow@northvale.example", "Bethan Carrow")
CHILD = Child("LCS100001", "Ada", "Fenwick", date(2015, 5, 1), YearGroup(7), "900001")
PEP_ID = "LCS100001-2026-autumn"


@dataclass
class World:
    uow: SqlUnitOfWorkFactory
    fake: FakeGraph
    scheduling: SchedulingService
    dispatcher: Dispatcher
    notices: RecordingNotices
    clock: TickingClock


async def _seed(uow: SqlUnitOfWorkFactory) -> None:
    async with uow() as work:
        await work.children.upsert_school(School("900001", "Fernhollow School"))
        await work.children.upsert(CHILD)
        for person in (SW, DT, VSO):
            await work.people.upsert(person)
        await work.people.assign(Assignment(SW.id, Role.SOCIAL_WORKER, child_id=CHILD.lcs_id))
        await work.people.assign(Assignment(DT.id, Role.DESIGNATED_TEACHER, school_urn="900001"))
        await work.people.assign(Assignment(VSO.id, Role.VIRTUAL_SCHOOL_OFFICER))
        await work.commit()


async def _world(store_engine: AsyncEngine, fake: FakeGraph) -> AsyncIterator[World]:
    uow = SqlUnitOfWorkFactory(store_engine)
    await _seed(uow)
    clock = TickingClock()
    service = PepService(uow, default_calendar(), PepRules(), clock)
    scheduling = SchedulingService(service)
    async with fake:
        fake.add_user(SW.email, SW.name)
        fake.add_user(SENDER, "Business Support")
        fake.add_catalog_app(APP_ID, MEETING_RSC_PERMISSIONS)
        client = make_graph_client(FixedTokenCredential(fake.token), fake.base_url)
        notices = RecordingNotices()
        dispatcher = Dispatcher(
            uow,
            clock,
            calendar=GraphCalendar(client),
            mailbox=GraphMailbox(client),
            chat_app=GraphChatApp(client, APP_ID),
            notices=notices,
            hooks=scheduling.hooks(),
            report_mailbox=SENDER,
            sender=SENDER,
            backoff=Backoff(base_seconds=0.05, jitter=0, max_attempts=12),
            concurrency=8,
        )
        try:
            yield World(uow, fake, scheduling, dispatcher, notices, clock)
        finally:
            await close_graph_client(client)


@pytest.fixture
async def world(store_engine: AsyncEngine) -> AsyncIterator[World]:
    async for w in _world(store_engine, FakeGraph()):
        yield w


def sw() -> Actor:
    return Actor(SW, (Assignment(SW.id, Role.SOCIAL_WORKER, child_id=CHILD.lcs_id),))


def schedule_request() -> ScheduleRequest:
    return ScheduleRequest(
        "LCS100001", "2026-11-24", "14:00", "60", frozenset({attendee_key(DT.email)})
    )


async def test_scheduling_creates_the_teams_meeting_and_links_the_pep(world: World) -> None:
    outcome = await world.scheduling.submit(sw(), schedule_request())
    statuses = await world.dispatcher.deliver_now([outcome.delivery_key], timeout=10)
    assert statuses[outcome.delivery_key] is OutboxStatus.DELIVERED
    event = world.fake.event_for_transaction(SW.email, outcome.delivery_key)
    assert event is not None and event["subject"] == "AF PEP"
    assert [a["emailAddress"]["address"] for a in event["attendees"]] == [DT.email]
    assert event["organizer"]["emailAddress"]["address"] == SW.email
    async with world.uow() as work:
        pep = await work.peps.get(PEP_ID)
        assert pep is not None and pep.meeting is not None
        assert pep.meeting.event_id == event["id"]
        assert pep.meeting.join_url == event["onlineMeeting"]["joinUrl"]
        assert pep.meeting.chat_id.startswith("19:meeting_")
        assert (await work.peps.by_chat(pep.meeting.chat_id)).id == PEP_ID  # type: ignore[union-attr]
    await world.dispatcher.drain()
    assert list(world.fake.installed_apps) == [pep.meeting.chat_id]
    assert world.notices.templates(VIRTUAL_SCHOOL_CHANNEL) == ["virtual_school_alert"]
    # move it, then cancel it: the same event is updated, then cancelled
    assert outcome.meeting is not None
    moved = await world.scheduling.submit(
        sw(),
        ScheduleRequest(
            "LCS100001", "2026-11-25", "09:30", "45", frozenset({attendee_key(DT.email)})
        ),
        reschedule_version=outcome.meeting.version,
    )
    assert moved.done
    await world.dispatcher.drain()
    assert world.fake.events[event["id"]].data["start"]["dateTime"].startswith("2026-11-25T09:30")
    await world.scheduling.cancel(sw(), PEP_ID, "Carer unwell")
    await world.dispatcher.drain()
    assert world.fake.cancelled[0]["event"]["id"] == event["id"]
    assert world.fake.cancelled[0]["comment"] == "Carer unwell"


async def test_429_retry_after_is_honoured_and_503_retried(world: World) -> None:
    world.fake.script(
        Fault(429, retry_after=0.4, method="POST", path_contains="/events"),
        Fault(503, method="POST", path_contains="/events"),
    )
    outcome = await world.scheduling.submit(sw(), schedule_request())
    started = time.monotonic()
    report = await world.dispatcher.drain(
        keys=[outcome.delivery_key], wait_seconds=10, poll_seconds=0.05
    )
    elapsed = time.monotonic() - started
    assert report.delivered == 1 and report.retried == 2
    assert elapsed >= 0.4, "waited for Retry-After"
    creates = world.fake.requests_to("POST", r"/events$")
    assert [r.status for r in creates] == [429, 503, 201]
    assert len(world.fake.events) == 1
    async with world.uow() as work:
        entry = await work.outbox.get(outcome.delivery_key)
    assert entry is not None and entry.attempts == 3


async def test_a_refusal_fails_at_once_and_is_reported(world: World) -> None:
    async with world.uow() as work:
        await work.outbox.add(
            mail(
                "pack:x",
                sender="nobody@northvale.example",
                to=[DT.email],
                subject="s",
                body="b",
                requested_by=SW.id,
            ),
            world.clock.now(),
        )
        await work.commit()
    report = await world.dispatcher.drain()
    assert report.failed == 1 and report.failures[0][1] == 404
    async with world.uow() as work:
        entry = await work.outbox.get("pack:x")
        assert entry is not None and entry.status is OutboxStatus.FAILED
        assert entry.attempts == 1
    # the person who asked is told in Teams; the report mailbox by mail (ids only)
    assert world.notices.templates(f"person:{SW.id}") == ["delivery_failed"]
    [report_mail] = world.fake.sent_mail
    assert report_mail["message"]["toRecipients"][0]["emailAddress"]["address"] == SENDER
    assert "pack:x" in report_mail["message"]["body"]["content"]


async def test_ten_percent_throttled_every_message_delivered_once(
    store_engine: AsyncEngine,
) -> None:
    fake = FakeGraph(fault_rate=0.1, fault_status=429, fault_retry_after=0.05, seed=3)
    async for world in _world(store_engine, fake):
        async with world.uow() as work:
            for n in range(60):
                await work.outbox.add(
                    mail(f"mail:{n}", sender=SENDER, to=[DT.email], subject=f"n{n}", body="b"),
                    world.clock.now(),
                )
            await work.commit()
        outcome = await world.scheduling.submit(sw(), schedule_request())
        keys = [f"mail:{n}" for n in range(60)] + [outcome.delivery_key]
        report = await world.dispatcher.drain(keys=keys, wait_seconds=30, poll_seconds=0.05)
        assert report.failed == 0
        async with world.uow() as work:
            statuses = {(await work.outbox.get(k)).status for k in keys}  # type: ignore[union-attr]
        assert statuses == {OutboxStatus.DELIVERED}
        sent = Counter(
            h["value"]
            for m in world.fake.sent_mail
            for h in m["message"]["internetMessageHeaders"]
            if h["name"] == IDEMPOTENCY_HEADER
        )
        assert sorted(sent) == sorted(f"mail:{n}" for n in range(60))
        assert set(sent.values()) == {1}
        assert len(world.fake.events) == 1
        assert any(r.status == 429 for r in world.fake.requests), "throttling happened"
