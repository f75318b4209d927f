"""Term-start benchmark.

1. Into the outbox: `pep-companion term-start` (the real CLI, in its own process) for
   1,300 children on SQLite — new-term Word form + last term's PDF per child, queued in
   the outbox, then written as .eml files to the offline outbox folder. Wall time and
   the process's peak RSS (targets: <= 30 s, <= 300 MB).
2. Through Graph: the same 1,300 packs queued, then delivered by the outbox dispatcher
   through the real msgraph-sdk to the local fake Graph answering 10% of requests with
   429 + Retry-After. Every message must arrive exactly once; the time is reported.

    .venv/bin/python bench/bench_term_start.py [--children 1300] [--retry-after 0.5]
                                               [--only outbox|graph]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graph.client import close_graph_client, make_graph_client  # noqa: E402
from graph.dispatch import Backoff, Dispatcher  # noqa: E402
from graph.msgraph_adapters import (  # noqa: E402
    IDEMPOTENCY_HEADER,
    GraphCalendar,
    GraphChatApp,
    GraphMailbox,
)
from pep_model.rules import PepRules  # noqa: E402
from pep_model.services import PepService  # noqa: E402
from pep_model.term_start import TermStart  # noqa: E402
from pep_model.terms import default_calendar  # noqa: E402
from store.database import make_engine  # noqa: E402
from store.migrate import upgrade  # noqa: E402
from store.unit_of_work import SqlUnitOfWorkFactory  # noqa: E402
from tests.support.fake_graph import FakeGraph, FixedTokenCredential  # noqa: E402
from tests.support.m365_seed import seed_authority  # noqa: E402
from tests.support.ticking_clock import TickingClock  # noqa: E402

TERM = "2026-autumn"
SENDER = "business.support@northvale.example"


async def seed(url: str, children: int) -> None:
    await upgrade(url)
    engine = make_engine(url)
    try:
        await seed_authority(SqlUnitOfWorkFactory(engine), children)
    finally:
        await engine.dispose()


def into_outbox(children: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="pep-bench-") as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/pep.sqlite3"
        asyncio.run(seed(url, children))
        env = {k: v for k, v in os.environ.items() if not k.startswith("PEP_")}
        env.update(
            PEP_DATABASE_URL=url,
            PEP_OUTBOX_DIR=f"{tmp}/outbox",
            PEP_LOG_LEVEL="WARNING",
            PYTHONPATH=str(ROOT),
        )
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli_m365", "term-start", "--term", TERM],
            cwd=tmp,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        output = process.stdout.read().decode() if process.stdout else ""
        mails = list(Path(tmp, "outbox", "mail").glob("*.eml"))
        size = sum(p.stat().st_size for p in mails)
        if os.waitstatus_to_exitcode(status) != 0 or len(mails) != children:
            raise SystemExit(f"term-start failed ({status}): {output} {len(mails)} mails")
        return {
            "seconds": elapsed,
            "peak_rss_mb": usage.ru_maxrss / 1024,
            "mails": len(mails),
            "mail_mb": size / 1048576,
        }


async def through_graph(
    children: int, retry_after: float, fault_rate: float = 0.1
) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="pep-bench-") as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/pep.sqlite3"
        await seed(url, children)
        engine = make_engine(url)
        uow = SqlUnitOfWorkFactory(engine)
        clock = TickingClock()
        service = PepService(uow, default_calendar(), PepRules(), clock)

        async def render(work: object, pep: object) -> tuple[str, bytes]:
            from bot.paperwork import form_data
            from forms.new_term import render_new_term_form

            data = await form_data(work, service, pep, "Northvale County Council")  # type: ignore[arg-type]
            return f"PEP-{pep.child_id}.docx", render_new_term_form(data)  # type: ignore[attr-defined]

        fake = FakeGraph(
            fault_rate=fault_rate, fault_status=429, fault_retry_after=retry_after, seed=11
        )
        try:
            async with fake:
                fake.add_user(SENDER, "Business Support")
                client = make_graph_client(FixedTokenCredential(fake.token), fake.base_url)
                try:
                    queued_at = time.perf_counter()
                    await TermStart(service, render, sender=SENDER).run(TERM)
                    queued = time.perf_counter() - queued_at
                    dispatcher = Dispatcher(
                        uow,
                        clock,
                        calendar=GraphCalendar(client),
                        mailbox=GraphMailbox(client),
                        chat_app=GraphChatApp(client, "x"),
                        backoff=Backoff(base_seconds=0.5, max_attempts=20),
                        concurrency=4,
                        batch_size=20,
                    )
                    started = time.perf_counter()
                    report = await dispatcher.drain(wait_seconds=600, poll_seconds=0.05)
                    elapsed = time.perf_counter() - started
                finally:
                    await close_graph_client(client)
            async with uow() as work:
                counts = await work.outbox.counts()
        finally:
            await engine.dispose()
        sent = Counter(
            h["value"]
            for m in fake.sent_mail
            for h in m["message"]["internetMessageHeaders"]
            if h["name"] == IDEMPOTENCY_HEADER
        )
        throttled = sum(1 for r in fake.requests if r.status == 429)
        if (
            len(sent) != children
            or set(sent.values()) != {1}
            or counts["pending"]
            or counts["failed"]
        ):
            raise SystemExit(f"not exactly once: {len(sent)} keys, {counts}")
        return {
            "queue_seconds": queued,
            "send_seconds": elapsed,
            "requests": len(fake.requests),
            "throttled": throttled,
            "delivered": report.delivered,
            "retries": report.retried,
            "exactly_once": 1.0,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--children", type=int, default=1300)
    parser.add_argument("--retry-after", type=float, default=0.5)
    parser.add_argument("--fault-rate", type=float, default=0.1)
    parser.add_argument("--only", choices=("outbox", "graph"))
    args = parser.parse_args(argv)
    print(
        f"machine: nproc {os.cpu_count()}, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}, load {os.getloadavg()[0]:.1f}"
    )
    if args.only in (None, "outbox"):
        r = into_outbox(args.children)
        print(
            f"term-start into the outbox folder, {args.children} children: "
            f"{r['seconds']:.1f} s end to end, peak RSS {r['peak_rss_mb']:.0f} MB, "
            f"{r['mails']:.0f} .eml ({r['mail_mb']:.1f} MB)"
        )
    if args.only in (None, "graph"):
        g = asyncio.run(through_graph(args.children, args.retry_after, args.fault_rate))
        print(
            f"through the fake Graph ({args.fault_rate:.0%} 429, Retry-After "
            f"{args.retry_after:g} s): "
            f"queued in {g['queue_seconds']:.1f} s, delivered {g['delivered']:.0f} in "
            f"{g['send_seconds']:.1f} s; {g['requests']:.0f} requests, "
            f"{g['throttled']:.0f} answered 429, {g['retries']:.0f} retries; "
            "every message exactly once"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"bench process peak RSS {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
