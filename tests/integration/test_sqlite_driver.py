"""store/sqlite_driver.py on a real SQLite file: the writer lock held by another
connection (another process: the cron job runner, a CLI import) never blocks the
event loop, a save waits for it and then lands, and gives up with SQLite's own error
after the configured timeout without changing anything; short statements make no
trip to the driver thread."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import aiosqlite
import pytest
from sqlalchemy.exc import OperationalError

from pep_model.access import Actor
from pep_model.child import Child, School, YearGroup
from pep_model.errors import StoreUnavailable
from pep_model.people import Assignment, Person, Role
from pep_model.rules import PepRules
from pep_model.services import PepService
from pep_model.terms import default_calendar
from store.database import make_engine
from store.migrate import upgrade
from store.unit_of_work import SqlUnitOfWorkFactory

TERM = "2026-autumn"
SCHOOL = School("900001", "Fernhollow Academy")
CHILD = Child("LCS1", "Test", "Child", date(2014, 3, 9), YearGroup(7), SCHOOL.urn)
DT = Person("dt.one@fernhollow.sch.example", "Teacher One")
ACTOR = Actor(DT, (Assignment(DT.id, Role.DESIGNATED_TEACHER, school_urn=SCHOOL.urn),))


class FixedClock:
    def now(self) -> datetime:
        return datetime(2026, 11, 16, 10, 30, tzinfo=UTC)

    def today(self) -> date:
        return date(2026, 11, 16)


async def _service(url: str) -> tuple[PepService, SqlUnitOfWorkFactory, str]:
    factory = SqlUnitOfWorkFactory(make_engine(url))
    async with factory() as uow:
        await uow.children.upsert_school(SCHOOL)
        await uow.children.upsert(CHILD)
        await uow.commit()
    service = PepService(factory, default_calendar(), PepRules(), FixedClock())
    pep = await service.open_pep(CHILD.lcs_id, TERM)
    return service, factory, pep.id


@pytest.fixture
async def sqlite_file(tmp_path: Path) -> AsyncIterator[Path]:
    path = tmp_path / "pep.sqlite3"
    await upgrade(f"sqlite+aiosqlite:///{path}")
    yield path


@contextmanager
def writer_lock_held_elsewhere(path: Path) -> Iterator[sqlite3.Connection]:
    """Another connection (as another process would) holding SQLite's writer lock."""
    other = sqlite3.connect(path, isolation_level=None, timeout=0)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield other
    finally:
        if other.in_transaction:
            other.rollback()
        other.close()


async def test_a_save_waits_for_another_writer_without_blocking_the_loop(sqlite_file: Path) -> None:
    service, factory, pep_id = await _service(f"sqlite+aiosqlite:///{sqlite_file}")
    try:
        with writer_lock_held_elsewhere(sqlite_file) as other:
            save = asyncio.create_task(
                service.record_section(pep_id, "voice", {"views": "I like maths"}, ACTOR, 0)
            )
            ticks = 0
            for _ in range(30):  # 0.3 s: the loop keeps running while the save waits
                await asyncio.sleep(0.01)
                ticks += 1
            assert not save.done()
            other.rollback()  # the other process finishes
            outcome = await asyncio.wait_for(save, 5)
        assert ticks == 30 and outcome.saved and outcome.changed
        async with factory() as uow:
            stored = await uow.peps.get(pep_id)
        assert stored is not None and stored.sections["voice"]["views"] == "I like maths"
    finally:
        await factory.engine.dispose()


async def test_a_save_gives_up_after_the_timeout_and_changes_nothing(sqlite_file: Path) -> None:
    service, factory, pep_id = await _service(f"sqlite+aiosqlite:///{sqlite_file}?timeout=0.3")
    try:
        with writer_lock_held_elsewhere(sqlite_file):
            started = time.monotonic()
            with pytest.raises(StoreUnavailable) as refused:
                await service.record_section(pep_id, "voice", {"views": "lost?"}, ACTOR, 0)
            assert isinstance(refused.value.__cause__, OperationalError)
            assert "database is locked" in str(refused.value.__cause__)
            waited = time.monotonic() - started
        assert waited >= 0.3
        async with factory() as uow:
            stored = await uow.peps.get(pep_id)
        assert stored is not None and "voice" not in stored.sections and stored.version == 0
        # the lock is free again: the same save now lands
        outcome = await service.record_section(pep_id, "voice", {"views": "kept"}, ACTOR, 0)
        assert outcome.saved and outcome.pep.version == 1
    finally:
        await factory.engine.dispose()


async def test_a_save_makes_one_trip_to_the_driver_thread_and_a_list_makes_one(
    sqlite_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service, factory, pep_id = await _service(f"sqlite+aiosqlite:///{sqlite_file}")
    trips: list[str] = []
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        trips.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args, **kwargs)

    try:
        await service.record_section(pep_id, "voice", {"views": "warm-up"}, ACTOR, 0)
        monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
        # read the PEP and its child, the version-checked UPDATE, the audit row: in this
        # thread; only COMMIT (its fsync) goes to the driver thread
        outcome = await service.record_section(pep_id, "voice", {"views": "again"}, ACTOR, 1)
        assert outcome.saved and outcome.changed
        assert trips == ["commit"]
        trips.clear()
        async with factory() as uow:
            listed = await uow.children.list_all()  # a scan: off the event loop
        assert [c.lcs_id for c in listed] == [CHILD.lcs_id] and trips == ["_run"]
    finally:
        await factory.engine.dispose()
