"""The job runner on SQLite and PostgreSQL: several instances, each due run once."""

from __future__ import annotations

import asyncio
from datetime import time, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.jobs_runner import JobRunner
from pep_model.jobs import JobSpec
from store.database import make_engine
from store.unit_of_work import SqlUnitOfWorkFactory
from tests.support.ticking_clock import TickingClock

SPECS = (JobSpec("daily", "d", at=time(8, 0)), JobSpec("often", "o", every=timedelta(hours=1)))


async def test_several_runners_run_each_due_job_once(database_url: str) -> None:
    clock = TickingClock()
    runs: list[str] = []

    async def daily() -> str:
        runs.append("daily")
        await asyncio.sleep(0.05)  # overlap with the other instances
        return "done"

    async def often() -> str:
        runs.append("often")
        return "done"

    engines = [make_engine(database_url) for _ in range(3)]
    try:
        runners = [
            JobRunner(
                SqlUnitOfWorkFactory(e),
                clock,
                {"daily": daily, "often": often},
                SPECS,
                owner=f"r{i}",
            )
            for i, e in enumerate(engines)
        ]
        await runners[0].ensure()
        assert sum(len(r) for r in await asyncio.gather(*(x.run_due() for x in runners))) == 0
        clock.advance(days=1)  # both are due now
        ran = await asyncio.gather(*(x.run_due() for x in runners))
        assert sorted(name for r in ran for name, _ in r) == ["daily", "often"]
        assert sorted(runs) == ["daily", "often"]
        status = {row["name"]: row for row in await runners[1].status()}
        assert status["daily"]["runs"] == 1 and status["daily"]["last_outcome"] == "done"
        assert status["daily"]["lease_owner"] is None
        # forced: runs now even though not due, once
        forced = await asyncio.gather(*(x.run_due(only=["often"], force=True) for x in runners))
        assert sum(len(r) for r in forced) >= 1 and runs.count("often") >= 2
    finally:
        for engine in engines:
            await engine.dispose()


async def test_a_failing_job_is_tried_again_soon(store_engine: AsyncEngine) -> None:
    clock = TickingClock()

    async def broken() -> str:
        raise RuntimeError("the database went away")

    runner = JobRunner(
        SqlUnitOfWorkFactory(store_engine), clock, {"daily": broken}, SPECS[:1], owner="r"
    )
    await runner.ensure()
    clock.advance(days=1)
    [(_, outcome)] = await runner.run_due()
    assert outcome == "failed: RuntimeError"
    [row] = await runner.status()
    assert row["next_run_at"] <= clock.now() + timedelta(minutes=5)
