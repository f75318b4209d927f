"""The outbox dispatcher's decisions, on the in-memory store and recording ports:
retry with backoff and Retry-After, refusals failed and reported, ordering, leases."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from graph.dispatch import Backoff, Dispatcher
from pep_model.m365 import DeliveryError, Invitee, MailAttachment, MeetingInvite
from pep_model.outbox import (
    FAILURE_PREFIX,
    OutboxKind,
    OutboxStatus,
    OutgoingMessage,
    failure_reports,
    invite_from,
    invite_payload,
    mail,
    mail_from,
    notice,
)
from tests.unit.fake_m365_ports import (
    RecordingCalendar,
    RecordingChatApp,
    RecordingMailbox,
    RecordingNotices,
)
from tests.unit.fakes import FixedClock, InMemoryUnitOfWorkFactory

SW = "rachel.donnelly@northvale.example"


@pytest.fixture
def factory() -> InMemoryUnitOfWorkFactory:
    return InMemoryUnitOfWorkFactory()


@pytest.fixture
def mailbox() -> RecordingMailbox:
    return RecordingMailbox()


@pytest.fixture
def notices() -> RecordingNotices:
    return RecordingNotices()


@pytest.fixture
def dispatcher(
    factory: InMemoryUnitOfWorkFactory,
    clock: FixedClock,
    mailbox: RecordingMailbox,
    notices: RecordingNotices,
) -> Dispatcher:
    return Dispatcher(
        factory,
        clock,
        calendar=RecordingCalendar(),
        mailbox=mailbox,
        chat_app=RecordingChatApp(),
        notices=notices,
        report_mailbox="ops@northvale.example",
        sender="bs@northvale.example",
        owner="me",
        backoff=Backoff(base_seconds=10, jitter=0, max_attempts=3),
    )


async def queue(
    factory: InMemoryUnitOfWorkFactory, clock: FixedClock, *messages: OutgoingMessage
) -> None:
    async with factory() as uow:
        for m in messages:
            await uow.outbox.add(m, clock.now())
        await uow.commit()


def a_mail(key: str = "m1", **kw: object) -> OutgoingMessage:
    return mail(
        key,
        sender="bs@northvale.example",
        to=["dt@school.sch.example"],
        subject="Pack",
        body="Hello",
        attachments=[MailAttachment("f.docx", "application/x", b"x")],
        **kw,
    )  # type: ignore[arg-type]


def test_backoff_grows_caps_and_honours_retry_after() -> None:
    b = Backoff(base_seconds=2, cap_seconds=60, jitter=0)
    assert [b.delay(n, None) for n in (1, 2, 3, 7, 8)] == [2, 4, 8, 60, 60]
    assert b.delay(1, 30) == 30
    jittered = Backoff(base_seconds=10, jitter=0.2)
    assert all(8 <= jittered.delay(1, None, random.Random(i)) <= 12 for i in range(50))


def test_payloads_round_trip() -> None:
    start = datetime(2026, 11, 24, 14, tzinfo=UTC)
    invite = MeetingInvite(
        "k",
        SW,
        "AF PEP",
        "<p>x</p>",
        start,
        start + timedelta(hours=1),
        (Invitee("dt@s.example", "Dana", False),),
    )
    assert invite_from("k", invite_payload(invite)) == invite


async def test_delivered_once_with_attachments(
    dispatcher: Dispatcher,
    mailbox: RecordingMailbox,
    factory: InMemoryUnitOfWorkFactory,
    clock: FixedClock,
) -> None:
    await queue(factory, clock, a_mail())
    report = await dispatcher.drain()
    assert report.delivered == 1 and mailbox.calls == 1
    assert mailbox.sent["m1"].attachments[0].content == b"x"
    entry = factory.state.outbox["m1"]
    assert entry.status is OutboxStatus.DELIVERED and entry.attachments == ()
    assert (await dispatcher.drain()).handled == 0


async def test_throttled_is_retried_after_retry_after(
    dispatcher: Dispatcher,
    mailbox: RecordingMailbox,
    factory: InMemoryUnitOfWorkFactory,
    clock: FixedClock,
) -> None:
    mailbox.script.errors.append(
        DeliveryError("slow down", status=429, retryable=True, retry_after=0.01)
    )
    mailbox.script.errors.append(DeliveryError("busy", status=503, retryable=True))
    await queue(factory, clock, a_mail())
    first = await dispatcher.dispatch_once()
    assert first.retried == 1
    entry = factory.state.outbox["m1"]
    assert entry.available_at == clock.now() + timedelta(seconds=10)  # max(backoff, 0.01)
    assert entry.last_status == 429
    clock.advance(seconds=10)
    assert (await dispatcher.dispatch_once()).retried == 1
    assert factory.state.outbox["m1"].available_at == clock.now() + timedelta(seconds=20)
    clock.advance(seconds=20)
    assert (await dispatcher.dispatch_once()).delivered == 1
    assert factory.state.outbox["m1"].attempts == 3


async def test_a_long_retry_after_wins_over_the_backoff(
    dispatcher: Dispatcher,
    mailbox: RecordingMailbox,
    factory: InMemoryUnitOfWorkFactory,
    clock: FixedClock,
) -> None:
    mailbox.script.errors.append(
        DeliveryError("slow down", status=429, retryable=True, retry_after=120)
    )
    await queue(factory, clock, a_mail())
    await dispatcher.dispatch_once()
    assert factory.state.outbox["m1"].available_at == clock.now() + timedelta(seconds=120)


async def test_refused_fails_at_once_and_is_reported(
    dispatcher: Dispatcher,
    mailbox: RecordingMailbox,
    notices: RecordingNotices,
    factory: InMemoryUnitOfWorkFactory,
    clock: FixedClock,
) -> None:
    mailbox.script.errors.append(
        DeliveryError("no such mailbox", status=404, retryable=False, code="ErrorInvalidUser")
    )
    await queue(factory, clock, a_mail(requested_by=SW, pep_id="LCS1-2026-autumn"))
    report = await dispatcher.drain()
    assert report.failed == 1 and report.failures == [("m1", 404, "no such mailbox")]
    assert factory.state.outbox["m1"].status is OutboxStatus.FAILED
    assert notices.posted[0][:2] == (f"person:{SW}", "delivery_failed")
    [report_mail] = [m for k, m in mailbox.sent.items() if k.startswith(FAILURE_PREFIX)]
    assert report_mail.to == ("ops@northvale.example",)
    assert "m1" in report_mail.body_text and "Pack" not in report_mail.body_text


async def test_out_of_attempts_fails(
    dispatcher: Dispatcher,
    mailbox: RecordingMailbox,
    factory: InMemoryUnitOfWorkFactory,
    clock: FixedClock,
) -> None:
    mailbox.script.errors += [DeliveryError("down", status=503, retryable=True)] * 3
    await queue(factory, clock, a_mail())
    for _ in range(3):
        await dispatcher.dispatch_once()
        clock.advance(hours=1)
    assert factory.state.outbox["m1"].status is OutboxStatus.FAILED


def test_a_failure_report_is_never_reported() -> None:
    entry_key = FAILURE_PREFIX + "m1:mail"
    from pep_model.outbox import OutboxEntry

    entry = OutboxEntry(
        1,
        entry_key,
        OutboxKind.MAIL,
        OutboxStatus.PENDING,
        {},
        SW,
        None,
        None,
        1,
        datetime.now(UTC),
        datetime.now(UTC),
    )
    assert (
        failure_reports(entry, 403, "no", report_mailbox="o@x.example", sender="s@x.example") == []
    )


async def test_an_adapter_bug_is_retried_not_lost(
    dispatcher: Dispatcher,
    mailbox: RecordingMailbox,
    factory: InMemoryUnitOfWorkFactory,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken(message: object) -> None:
        raise KeyError("oops")

    monkeypatch.setattr(mailbox, "send", broken)
    await queue(factory, clock, a_mail())
    report = await dispatcher.dispatch_once()
    assert report.retried == 1
    assert factory.state.outbox["m1"].last_error == "internal error (KeyError)"


async def test_a_message_after_another_waits_then_goes(
    dispatcher: Dispatcher,
    notices: RecordingNotices,
    mailbox: RecordingMailbox,
    factory: InMemoryUnitOfWorkFactory,
    clock: FixedClock,
) -> None:
    mailbox.script.errors.append(DeliveryError("busy", status=503, retryable=True))
    await queue(factory, clock, a_mail(), notice("n1", "person:x", "term_pack", {}, after="m1"))
    await dispatcher.dispatch_once()
    assert notices.posted == [] and factory.state.outbox["n1"].status is OutboxStatus.PENDING
    clock.advance(minutes=1)
    await dispatcher.drain()
    assert [p[3] for p in notices.posted] == ["n1"]


async def test_a_message_after_a_failed_one_is_dropped(
    dispatcher: Dispatcher,
    notices: RecordingNotices,
    mailbox: RecordingMailbox,
    factory: InMemoryUnitOfWorkFactory,
    clock: FixedClock,
) -> None:
    mailbox.script.errors.append(DeliveryError("nope", status=400, retryable=False))
    await queue(factory, clock, a_mail(), notice("n1", "person:x", "term_pack", {}, after="m1"))
    await dispatcher.drain()
    entry = factory.state.outbox["n1"]
    assert entry.status is OutboxStatus.DELIVERED and entry.result["posted"] is False  # type: ignore[index]
    assert "n1" not in [p[3] for p in notices.posted]


async def test_a_lost_lease_records_nothing(
    dispatcher: Dispatcher, factory: InMemoryUnitOfWorkFactory, clock: FixedClock
) -> None:
    await queue(factory, clock, a_mail())
    async with factory() as uow:
        [entry] = await uow.outbox.claim("someone-else", clock.now(), 60, 5)
        await uow.commit()
    report = await dispatcher.drain()
    assert report.handled == 0, "leased by another dispatcher"
    clock.advance(seconds=61)
    assert (await dispatcher.drain()).delivered == 1
    async with factory() as uow:
        assert not await uow.outbox.delivered(entry.id, "someone-else", clock.now(), None)


async def test_a_failing_follow_up_keeps_the_delivery(
    factory: InMemoryUnitOfWorkFactory, clock: FixedClock, mailbox: RecordingMailbox
) -> None:
    async def hook(uow: object, entry: object, result: object) -> None:
        raise RuntimeError("bug in a hook")

    dispatcher = Dispatcher(
        factory,
        clock,
        calendar=RecordingCalendar(),
        mailbox=mailbox,
        chat_app=RecordingChatApp(),
        hooks={OutboxKind.MAIL: hook},
    )
    await queue(factory, clock, a_mail())
    assert (await dispatcher.drain()).delivered == 1
    assert factory.state.outbox["m1"].status is OutboxStatus.DELIVERED
    assert mailbox.calls == 1


async def test_notices_without_teams_are_recorded_not_posted(
    factory: InMemoryUnitOfWorkFactory, clock: FixedClock
) -> None:
    dispatcher = Dispatcher(
        factory,
        clock,
        calendar=RecordingCalendar(),
        mailbox=RecordingMailbox(),
        chat_app=RecordingChatApp(),
    )
    await queue(factory, clock, notice("n1", "person:x", "term_pack", {}))
    await dispatcher.drain()
    assert factory.state.outbox["n1"].result == {
        "posted": False,
        "reason": "Teams is not connected here",
    }


async def test_mail_from_entry_carries_everything(
    factory: InMemoryUnitOfWorkFactory, clock: FixedClock
) -> None:
    await queue(factory, clock, a_mail(cc=["cc@x.example"]))
    async with factory() as uow:
        [entry] = await uow.outbox.claim("me", clock.now(), 60, 1)
    message = mail_from(entry)
    assert (message.idempotency_key, message.to, message.cc, message.subject) == (
        "m1",
        ("dt@school.sch.example",),
        ("cc@x.example",),
        "Pack",
    )
    assert message.attachments == (MailAttachment("f.docx", "application/x", b"x"),)
