"""Crash and resume: `term-start` (and `outbox dispatch`) killed with SIGKILL mid-run,
then run again — every pack is written to the outbox folder exactly once."""

from __future__ import annotations

import email
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from email import policy
from pathlib import Path

from pep_model.outbox import mail
from store.database import make_engine
from store.migrate import upgrade
from store.unit_of_work import SqlUnitOfWorkFactory
from tests.support.m365_seed import seed_authority

ROOT = Path(__file__).resolve().parents[2]
CHILDREN = 400
TERM = "2026-autumn"


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEP_")}
    env.update(
        PEP_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'pep.sqlite3'}",
        PEP_OUTBOX_DIR=str(tmp_path / "outbox"),
        PEP_LOG_LEVEL="WARNING",
        PEP_OUTBOX_CONCURRENCY="2",
        PEP_OUTBOX_LEASE_SECONDS="3",
        PYTHONPATH=str(ROOT),
    )
    return env


def _outbox_rows(tmp_path: Path, where: str = "1=1") -> int:
    try:
        with sqlite3.connect(
            f"file:{tmp_path / 'pep.sqlite3'}?mode=ro", uri=True, timeout=0.2
        ) as db:
            return int(db.execute(f"SELECT count(*) FROM outbox WHERE {where}").fetchone()[0])
    except sqlite3.Error:
        return 0


def _mails(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "outbox" / "mail"
    return sorted(folder.glob("*.eml")) if folder.is_dir() else []


def _run_until(
    tmp_path: Path, args: list[str], ready: Callable[[], bool], timeout: float = 60
) -> bool:
    """Start the command; SIGKILL it as soon as ready() holds. True if it was killed
    mid-run (False: it finished first)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli_m365", *args],
        cwd=tmp_path,
        env=_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + timeout
    try:
        while process.poll() is None and time.monotonic() < deadline:
            if ready():
                process.send_signal(signal.SIGKILL)
                process.wait(10)
                return True
            time.sleep(0.005)
        return False
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def _run(tmp_path: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli_m365", *args],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )


def _keys(paths: list[Path]) -> Counter[str]:
    found: Counter[str] = Counter()
    for path in paths:
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        found[str(message["X-PEP-Idempotency-Key"])] += 1
    return found


async def _prepare(tmp_path: Path) -> list[str]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'pep.sqlite3'}"
    await upgrade(url)
    engine = make_engine(url)
    try:
        return await seed_authority(
            SqlUnitOfWorkFactory(engine), CHILDREN, pdf_every=1, teacherless_every=10
        )
    finally:
        await engine.dispose()


async def test_term_start_killed_twice_sends_every_pack_once(tmp_path: Path) -> None:
    children = await _prepare(tmp_path)
    args = ["term-start", "--term", TERM]
    # killed while queueing (some batches committed, none sent yet)
    assert _run_until(tmp_path, args, lambda: _outbox_rows(tmp_path) >= 100), (
        "the run ended before it could be killed"
    )
    queued = _outbox_rows(tmp_path, "key LIKE 'term-pack:%'")
    assert 0 < queued < CHILDREN
    # killed while sending
    assert _run_until(tmp_path, args, lambda: len(_mails(tmp_path)) >= 120)
    sent_before = len(_mails(tmp_path))
    assert sent_before < _outbox_rows(tmp_path, "key LIKE 'term-pack:%'")
    # and to the end
    finished = _run(tmp_path, args)
    assert finished.returncode == 1, finished.stderr  # the teacherless schools are listed
    packs = _keys(_mails(tmp_path))
    expected = {
        f"term-pack:{c}-{TERM}" for i, c in enumerate(children) if (i % (CHILDREN // 8)) % 10
    }  # schools 0, 10, 20… have no teacher
    assert set(packs) == expected
    assert set(packs.values()) == {1}, "nobody was sent a pack twice"
    assert "no designated teacher email" in finished.stderr
    assert f"sent: {len(expected)};" in finished.stdout
    assert _outbox_rows(tmp_path, "status = 'pending'") == 0


async def test_outbox_dispatch_killed_midway_delivers_each_message_once(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'pep.sqlite3'}"
    await upgrade(url)
    engine = make_engine(url)
    try:
        uow = SqlUnitOfWorkFactory(engine)
        async with uow() as work:
            from datetime import UTC, datetime

            for n in range(300):
                await work.outbox.add(
                    mail(
                        f"m:{n}",
                        sender="bs@northvale.example",
                        to=[f"dt{n}@school.sch.example"],
                        subject="s",
                        body="b",
                    ),
                    datetime.now(UTC),
                )
            await work.commit()
    finally:
        await engine.dispose()
    assert _run_until(tmp_path, ["outbox", "dispatch"], lambda: len(_mails(tmp_path)) >= 60)
    assert len(_mails(tmp_path)) < 300
    done = _run(tmp_path, ["outbox", "dispatch", "--wait", "5"])
    assert done.returncode == 0, done.stderr
    keys = _keys(_mails(tmp_path))
    assert sorted(keys) == sorted(f"m:{n}" for n in range(300))
    assert set(keys.values()) == {1}
