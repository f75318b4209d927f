"""The outbox, meetings, jobs and conversation references in the store, on SQLite and
PostgreSQL: idempotent adds, leases, sequences, and several dispatchers at once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from pep_model.child import Child, School, YearGroup
from pep_model.errors import StaleVersion
from pep_model.m365 import MailAttachment
from pep_model.meetings import MeetingAttendee, MeetingStatus, PepMeeting
from pep_model.outbox import OutboxKind, OutboxStatus, OutgoingMessage, mail
from pep_model.pep import Pep
from store.database import make_engine
from store.unit_of_work import SqlUnitOfWorkFactory

NOW = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)


@pytest.fixture
def uow(store_engine: AsyncEngine) -> SqlUnitOfWorkFactory:
    return SqlUnitOfWorkFactory(store_engine)


def message(key: str, **kw: object) -> OutgoingMessage:
    return OutgoingMessage(key, OutboxKind.MAIL, {"n": key}, **kw)  # type: ignore[arg-type]


async def add(
    uow: SqlUnitOfWorkFactory, *messages: OutgoingMessage, now: datetime = NOW
) -> list[bool]:
    async with uow() as work:
        added = [await work.outbox.add(m, now) for m in messages]
        await work.commit()
    return added


async def claim(
    uow: SqlUnitOfWorkFactory,
    owner: str,
    now: datetime = NOW,
    limit: int = 10,
    lease: float = 60,
    keys: list[str] | None = None,
) -> list[str]:
    async with uow() as work:
        got = await work.outbox.claim(owner, now, lease, limit, keys)
        await work.commit()
    return [e.key for e in got]


async def test_add_is_idempotent_and_keeps_attachments(uow: SqlUnitOfWorkFactory) -> None:
    pack = mail(
        "term-pack:1",
        sender="bs@example.org",
        to=["dt@example.org"],
        subject="PEP pack",
        body="Hello",
        attachments=[
            MailAttachment("a.docx", "application/x", b"\x00docx"),
            MailAttachment("b.pdf", "application/pdf", b"%PDF-1"),
        ],
    )
    assert await add(uow, pack, pack) == [True, False]
    async with uow() as work:
        assert await work.outbox.existing(["term-pack:1", "nope"]) == {"term-pack:1"}
        stored = await work.outbox.get("term-pack:1")
        assert stored is not None and stored.status is OutboxStatus.PENDING
        assert stored.attachments == ()  # only a claim loads them
        [claimed] = await work.outbox.claim("d1", NOW, 60, 5)
        await work.commit()
    assert [(a.name, a.content) for a in claimed.attachments] == [
        ("a.docx", b"\x00docx"),
        ("b.pdf", b"%PDF-1"),
    ]
    assert claimed.attempts == 1 and claimed.payload["subject"] == "PEP pack"
    async with uow() as work:
        assert await work.outbox.delivered(claimed.id, "d1", NOW, {"ok": True})
        await work.commit()
    async with uow() as work:
        done = await work.outbox.get("term-pack:1")
        assert done is not None and done.status is OutboxStatus.DELIVERED
        assert done.result == {"ok": True} and done.finished_at == NOW


async def test_leases_due_times_and_owners(uow: SqlUnitOfWorkFactory) -> None:
    await add(uow, message("a"), message("later", not_before=NOW + timedelta(minutes=5)))
    assert await claim(uow, "d1") == ["a"]
    assert await claim(uow, "d2") == [], "leased by d1, and 'later' is not due"
    async with uow() as work:
        entry = await work.outbox.get("a")
        assert entry is not None
        assert not await work.outbox.delivered(entry.id, "d2", NOW, None), "not d2's lease"
        assert not await work.outbox.cancel("a", NOW), "too late: someone is sending it"
        await work.commit()
    # d1 died: after the lease, d2 takes it over and d1 can no longer record anything
    after = NOW + timedelta(seconds=61)
    assert await claim(uow, "d2", after) == ["a"]
    async with uow() as work:
        assert not await work.outbox.failed(entry.id, "d1", after, 400, "late")
        assert await work.outbox.retry_later(
            entry.id, "d2", after, after + timedelta(seconds=30), 429, "slow down"
        )
        await work.commit()
    async with uow() as work:
        again = await work.outbox.get("a")
        assert again is not None and again.attempts == 2 and again.last_status == 429
        assert await work.outbox.next_due() == NOW + timedelta(seconds=91)
    assert await claim(uow, "d3", NOW + timedelta(minutes=6)) == ["a", "later"]


async def test_a_sequence_is_delivered_in_order(uow: SqlUnitOfWorkFactory) -> None:
    await add(
        uow,
        message("create", sequence="meeting:1"),
        message("other"),
        message("update", sequence="meeting:1"),
        message("cancel", sequence="meeting:1"),
    )
    assert await claim(uow, "d1") == ["create", "other"]
    async with uow() as work:
        created = await work.outbox.get("create")
        assert created is not None
        await work.outbox.failed(created.id, "d1", NOW, 400, "refused")
        await work.commit()
    # a failed (or delivered) predecessor no longer holds the next one back
    assert await claim(uow, "d1") == ["update"]
    assert await claim(uow, "d2", NOW + timedelta(seconds=30)) == [], "all leased"
    assert await claim(uow, "d2", NOW + timedelta(seconds=61)) == ["other", "update"]


async def test_cancel_find_and_counts(uow: SqlUnitOfWorkFactory) -> None:
    await add(uow, message("meeting:1:a"), message("meeting:1:b"), message("meeting:2:a"))
    async with uow() as work:
        assert await work.outbox.cancel("meeting:1:a", NOW)
        assert not await work.outbox.cancel("meeting:1:a", NOW)
        await work.commit()
    async with uow() as work:
        assert [e.key for e in await work.outbox.find(key_prefix="meeting:1:")] == [
            "meeting:1:a",
            "meeting:1:b",
        ]
        pending = await work.outbox.find(status=OutboxStatus.PENDING)
        assert [e.key for e in pending] == ["meeting:1:b", "meeting:2:a"]
        assert await work.outbox.counts() == {
            "pending": 2,
            "delivered": 0,
            "failed": 0,
            "cancelled": 1,
        }


async def test_rolled_back_work_leaves_no_message(uow: SqlUnitOfWorkFactory) -> None:
    async with uow() as work:
        await work.outbox.add(message("never"), NOW)  # no commit: the business change failed
    async with uow() as work:
        assert await work.outbox.get("never") is None


@pytest.mark.parametrize("dispatchers", [4])
async def test_concurrent_dispatchers_never_share_a_message(
    database_url: str, dispatchers: int
) -> None:
    """Separate engines (as separate processes would have), claiming at once."""
    engines = [make_engine(database_url) for _ in range(dispatchers)]
    try:
        factories = [SqlUnitOfWorkFactory(e) for e in engines]
        await add(factories[0], *(message(f"m{i:03d}") for i in range(200)))
        claimed: dict[str, list[str]] = {f"d{i}": [] for i in range(dispatchers)}

        async def worker(i: int) -> None:
            while True:
                got = await claim(factories[i], f"d{i}", limit=7)
                if not got:
                    return
                assert len(got) <= 7, "a claim takes at most its limit"
                claimed[f"d{i}"] += got
                await asyncio.sleep(0)

        await asyncio.gather(*(worker(i) for i in range(dispatchers)))
    finally:
        for engine in engines:
            await engine.dispose()
    everything = [k for keys in claimed.values() for k in keys]
    assert sorted(everything) == [f"m{i:03d}" for i in range(200)]  # each exactly once
    assert sum(1 for keys in claimed.values() if keys) >= 2, "the work was shared"


# ---- meetings, jobs, conversation references -----------------------------------------


async def _pep(uow: SqlUnitOfWorkFactory) -> str:
    async with uow() as work:
        await work.children.upsert_school(School("900001", "Fernhollow School"))
        await work.children.upsert(
            Child("LCS1", "Test", "Child", datetime(2015, 1, 1).date(), YearGroup(6), "900001")
        )
        pep = Pep("LCS1", "2026-autumn")
        await work.peps.add(pep)
        await work.commit()
    return pep.id


async def test_meetings_compare_and_swap_and_replace_after_cancel(
    uow: SqlUnitOfWorkFactory,
) -> None:
    pep_id = await _pep(uow)
    meeting = PepMeeting(
        pep_id,
        "LCS1",
        "2026-autumn",
        "sw@example.org",
        NOW,
        NOW + timedelta(hours=1),
        (MeetingAttendee("dt@example.org", "Dana", "designated_teacher"),),
    )
    async with uow() as work:
        assert await work.meetings.add(meeting)
        assert not await work.meetings.add(meeting), "one scheduled meeting per PEP"
        await work.commit()
    async with uow() as work:
        stored = await work.meetings.get(pep_id)
        assert stored == meeting
        stored.status = MeetingStatus.CANCELLED
        await work.meetings.save(stored, 0)
        with pytest.raises(StaleVersion):
            await work.meetings.save(stored, 0)
        await work.commit()
    async with uow() as work:
        new = PepMeeting(
            pep_id,
            "LCS1",
            "2026-autumn",
            "sw@example.org",
            NOW,
            NOW + timedelta(minutes=30),
            (),
            generation=2,
            virtual_school_attending=("vso@example.org",),
        )
        assert await work.meetings.add(new), "a cancelled meeting makes way"
        await work.commit()
    async with uow() as work:
        [found] = await work.meetings.find("2026-autumn")
        assert found.generation == 2 and found.version == 0 and found.minutes == 30
        assert found.virtual_school_attending == ("vso@example.org",)


async def test_jobs_are_claimed_once(database_url: str) -> None:
    engines = [make_engine(database_url) for _ in range(3)]
    try:
        factories = [SqlUnitOfWorkFactory(e) for e in engines]
        async with factories[0]() as work:
            await work.jobs.ensure("nightly", NOW)
            await work.jobs.ensure("nightly", NOW + timedelta(days=9))  # kept as it was
            await work.commit()

        async def take(i: int) -> bool:
            async with factories[i]() as work:
                got = await work.jobs.claim("nightly", f"r{i}", NOW, NOW + timedelta(hours=1))
                await work.commit()
            return got

        wins = await asyncio.gather(*(take(i) for i in range(3)))
        assert sum(wins) == 1
        winner = wins.index(True)
        async with factories[winner]() as work:
            assert await work.jobs.finish(
                "nightly", f"r{winner}", NOW, NOW + timedelta(days=1), "3 sent"
            )
            await work.commit()
        async with factories[0]() as work:
            assert await work.jobs.due(NOW) == []
            [row] = await work.jobs.all()
            assert row["runs"] == 1 and row["last_outcome"] == "3 sent"
    finally:
        for engine in engines:
            await engine.dispose()


async def test_conversation_references(uow: SqlUnitOfWorkFactory) -> None:
    ref = {
        "service_url": "https://smba.example/uk/",
        "conversation_id": "a:1",
        "tenant_id": "t",
        "bot_id": "28:bot",
    }
    async with uow() as work:
        assert await work.conversations.get("person:x") is None
        await work.conversations.remember("person:x", ref)
        await work.conversations.remember("person:x", {**ref, "conversation_id": "a:2"})
        await work.commit()
    async with uow() as work:
        assert (await work.conversations.get("person:x"))["conversation_id"] == "a:2"
        assert (await work.conversations.any()) is not None
