"""Kill -9 mid-dispatch through the real msgraph-sdk to the local fake Graph: every mail
reaches Graph exactly once. Each delivery is committed as it happens, and a mail whose
attempt was cut off after Graph took it is found in Sent Items, not sent again."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from graph import msgraph_adapters
from graph.client import close_graph_client, make_graph_client
from graph.dispatch import Dispatcher
from graph.msgraph_adapters import IDEMPOTENCY_HEADER
from pep_model.m365 import DeliveryError, MailMessage
from pep_model.outbox import mail
from store.database import make_engine
from store.migrate import upgrade
from store.unit_of_work import SqlUnitOfWorkFactory
from tests.support.fake_graph import FakeGraph, FixedTokenCredential
from tests.support.ticking_clock import TickingClock
from tests.unit.fake_m365_ports import RecordingCalendar, RecordingChatApp, RecordingMailbox

ROOT = Path(__file__).resolve().parents[2]
SENDER = "business.support@northvale.example"
MAILS = 120

# The dispatcher as `pep-companion serve` runs it, pointed at the fake Graph.
CHILD = """
import asyncio, sys
from graph.client import make_graph_client
from graph.dispatch import Backoff, Dispatcher
from graph.msgraph_adapters import GraphCalendar, GraphChatApp, GraphMailbox
from bot.clock import SystemClock
from store.database import make_engine
from store.unit_of_work import SqlUnitOfWorkFactory
from tests.support.fake_graph import FixedTokenCredential

async def main(url, base, token):
    engine = make_engine(url)
    client = make_graph_client(FixedTokenCredential(token), base)
    d = Dispatcher(SqlUnitOfWorkFactory(engine), SystemClock(),
                   calendar=GraphCalendar(client), mailbox=GraphMailbox(client),
                   chat_app=GraphChatApp(client, "app"), lease_seconds=1.0,
                   batch_size=20, concurrency=4,
                   backoff=Backoff(base_seconds=0.05, jitter=0))
    await d.drain(wait_seconds=15, poll_seconds=0.1)
    await engine.dispose()

asyncio.run(main(*sys.argv[1:4]))
"""


def _rows(db: Path, where: str) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.2) as conn:
            return int(conn.execute(f"SELECT count(*) FROM outbox WHERE {where}").fetchone()[0])
    except sqlite3.Error:
        return 0


async def _dispatch(url: str, fake: FakeGraph, *, kill_after_mails: int | None) -> bool:
    """Run the dispatcher in a child process; SIGKILL it once Graph has taken
    `kill_after_mails` mails. True if it was killed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEP_")}
    env["PYTHONPATH"] = str(ROOT)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CHILD,
        url,
        fake.base_url,
        fake.token,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        while process.returncode is None:
            if kill_after_mails is not None and len(fake.sent_mail) >= kill_after_mails:
                process.send_signal(signal.SIGKILL)
                await process.wait()
                return True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), 0.005)
        return False
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def _keys(fake: FakeGraph) -> Counter[str]:
    found: Counter[str] = Counter()
    for record in fake.sent_mail:
        for header in record["message"].get("internetMessageHeaders") or []:
            if header["name"].lower() == IDEMPOTENCY_HEADER:
                found[header["value"]] += 1
    return found


async def test_dispatch_killed_mid_batch_sends_every_mail_exactly_once(tmp_path: Path) -> None:
    db = tmp_path / "pep.sqlite3"
    url = f"sqlite+aiosqlite:///{db}"
    await upgrade(url)
    engine = make_engine(url)
    try:
        uow = SqlUnitOfWorkFactory(engine)
        async with uow() as work:
            for n in range(MAILS):
                await work.outbox.add(
                    mail(
                        f"m:{n}",
                        sender=SENDER,
                        to=[f"dt{n}@school.sch.example"],
                        subject="PEP",
                        body="b",
                    ),
                    datetime.now(UTC),
                )
            await work.commit()
    finally:
        await engine.dispose()
    async with FakeGraph() as fake:
        fake.add_user(SENDER, "Business Support")
        # Graph takes each mail, then answers 202 a little later: a kill lands while
        # several mails are sent but their outcome is not yet known to the dispatcher.
        fake.mail_answer_delay = 0.3
        assert await _dispatch(url, fake, kill_after_mails=30), "it finished first"
        taken = len(fake.sent_mail)
        recorded = _rows(db, "status = 'delivered'")
        # recorded as each delivery happened: not a batch of 20 lost at once
        assert recorded >= taken - 4, (recorded, taken)
        assert recorded < taken, "the kill should cut off mails Graph already took"
        fake.mail_answer_delay = 0.0
        assert not await _dispatch(url, fake, kill_after_mails=None)
        keys = _keys(fake)
        assert sorted(keys) == sorted(f"m:{n}" for n in range(MAILS))
        assert set(keys.values()) == {1}, [k for k, n in keys.items() if n > 1]
        assert _rows(db, "status = 'delivered'") == MAILS
        looked = fake.requests_to("GET", r"/mailFolders/sentitems/messages")
        assert looked, "the retry looked in Sent Items before sending again"


async def test_sent_items_are_searched_page_by_page_for_the_header(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(msgraph_adapters, "SENT_ITEMS_PAGE", 2)
    since = datetime.now(UTC) - timedelta(seconds=1)
    async with FakeGraph() as fake:
        fake.add_user(SENDER, "Business Support")
        client = make_graph_client(FixedTokenCredential(fake.token), fake.base_url)
        try:
            mailbox = msgraph_adapters.GraphMailbox(client)
            messages = [
                MailMessage(
                    idempotency_key=f"k:{n}",
                    sender=SENDER,
                    to=("dt@school.sch.example",),
                    subject="PEP",
                    body_text="b",
                )
                for n in range(5)
            ]
            for message in messages[:4]:
                await mailbox.send(message)
            # the oldest is on the last page: found by following @odata.nextLink
            assert await mailbox.already_sent(messages[0], since)
            assert not await mailbox.already_sent(messages[4], since)
            assert not await mailbox.already_sent(messages[0], since + timedelta(hours=1))
        finally:
            await close_graph_client(client)
    pages = fake.requests_to("GET", r"/mailFolders/sentitems/messages")
    assert all(r.query.get("$select") == "internetMessageHeaders" for r in pages)
    assert any("$skip" in r.query for r in pages)


class SentItemsMailbox(RecordingMailbox):
    """A mailbox that can look in Sent Items: `found` keys are there; `refuse` answers
    the lookup with that status."""

    def __init__(self, found: set[str], refuse: int | None = None) -> None:
        super().__init__()
        self.found = found
        self.refuse = refuse
        self.looked: list[str] = []

    async def already_sent(self, message: MailMessage, since: datetime) -> bool:
        self.looked.append(message.idempotency_key)
        if self.refuse is not None:
            raise DeliveryError(
                "Access is denied.", status=self.refuse, retryable=False, code="ErrorAccessDenied"
            )
        return message.idempotency_key in self.found


@pytest.mark.parametrize("refuse", [None, 403])
async def test_a_retry_looks_in_sent_items_first(
    store_engine: AsyncEngine, refuse: int | None
) -> None:
    """First attempts never look; a retry that finds its mail records it as delivered
    without sending; a lookup Graph refuses (no Mail.Read) does not stop the mail."""
    uow = SqlUnitOfWorkFactory(store_engine)
    clock = TickingClock()
    async with uow() as work:
        for key in ("fresh", "retried-sent", "retried-lost"):
            await work.outbox.add(
                mail(key, sender=SENDER, to=["dt@school.sch.example"], subject="PEP", body="b"),
                clock.now(),
            )
        await work.commit()
    async with uow() as work:  # a dispatcher that took two of them, then died
        await work.outbox.claim("dead", clock.now(), 0.001, 10, ["retried-sent", "retried-lost"])
        await work.commit()
    mailbox = SentItemsMailbox({"retried-sent"}, refuse)
    dispatcher = Dispatcher(
        uow,
        clock,
        calendar=RecordingCalendar(),
        mailbox=mailbox,
        chat_app=RecordingChatApp(),
        lease_seconds=5,
    )
    clock.advance(seconds=1)
    report = await dispatcher.drain()
    assert report.delivered == 3
    assert sorted(mailbox.looked) == ["retried-lost", "retried-sent"]
    sent = sorted(mailbox.sent)
    assert mailbox.calls == len(sent)
    if refuse is None:
        assert sent == ["fresh", "retried-lost"]
        async with uow() as work:
            found = await work.outbox.get("retried-sent")
        assert found is not None and (found.result or {}).get("found_in_sent_items")
    else:
        assert sent == ["fresh", "retried-lost", "retried-sent"]
