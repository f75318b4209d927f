"""Section saves through the real use case on SQLite (file) and PostgreSQL.

Each round does what the bot does for one card action: read the PEP (to learn its
current version), then PepService.record_section with that version. Sections
alternate so every save changes something and is written, audited and committed.

    python bench/bench_section_saves.py [--saves 1000] [--only sqlite|postgresql]

PostgreSQL: the server at PEP_TEST_POSTGRES_URL (default
postgresql+asyncpg://postgres@127.0.0.1:5432/postgres); a scratch database
pep_bench_<hex> is created and dropped. Skipped, with a note, when unreachable.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import UTC, date, datetime

from bench.databases import backends
from pep_model.access import Actor
from pep_model.child import Child, School, YearGroup
from pep_model.people import Assignment, Person, Role
from pep_model.rules import PepRules
from pep_model.services import PepService
from pep_model.terms import default_calendar
from store.database import make_engine
from store.migrate import upgrade
from store.unit_of_work import SqlUnitOfWorkFactory

WARM_UP = 20
TERM = "2026-autumn"
SCHOOL = School("900001", "Bench School")
CHILD = Child("LCSB1", "Bench", "Child", date(2014, 3, 9), YearGroup(7), SCHOOL.urn)
TEACHER = Person("dt@bench.example", "Bench Teacher")
ACTOR = Actor(TEACHER, (Assignment(TEACHER.id, Role.DESIGNATED_TEACHER, school_urn=SCHOOL.urn),))


class FixedClock:
    def now(self) -> datetime:
        return datetime(2026, 11, 16, 10, 30, tzinfo=UTC)

    def today(self) -> date:
        return date(2026, 11, 16)


async def run(url: str, saves: int) -> dict[str, float]:
    await upgrade(url)
    engine = make_engine(url)
    try:
        factory = SqlUnitOfWorkFactory(engine)
        async with factory() as uow:
            await uow.children.upsert_school(SCHOOL)
            await uow.children.upsert(CHILD)
            await uow.commit()
        service = PepService(factory, default_calendar(), PepRules(), FixedClock())
        pep_id = (await service.open_pep(CHILD.lcs_id, TERM)).id

        async def one(i: int) -> tuple[float, float]:
            started = time.perf_counter()
            version = (await service.get(pep_id, ACTOR)).pep.version
            read = time.perf_counter()
            if i % 2:
                values = {"views": f"Settled, week {i}", "role": "reads with her"}
                outcome = await service.record_section(pep_id, "carer", values, ACTOR, version)
            else:
                values = {"views": f"I like maths {i}", "how_gathered": "chat with DT"}
                outcome = await service.record_section(pep_id, "voice", values, ACTOR, version)
            done = time.perf_counter()
            assert outcome.saved and outcome.changed
            return done - started, done - read

        for i in range(WARM_UP):
            await one(-1 - 2 * i)  # negative: never equal to a measured round's values
        rounds, writes = [], []
        began = time.perf_counter()
        for i in range(saves):
            total, write = await one(i)
            rounds.append(total * 1000)
            writes.append(write * 1000)
        elapsed = time.perf_counter() - began
        final = (await service.get(pep_id, ACTOR)).pep.version
        assert final == WARM_UP + saves, final
    finally:
        await engine.dispose()
    q = statistics.quantiles(rounds, n=100, method="inclusive")
    return {
        "p50": q[49],
        "p99": q[98],
        "mean": statistics.fmean(rounds),
        "save_p50": statistics.median(writes),
        "per_s": saves / elapsed,
    }


def show(name: str, saves: int, r: dict[str, float]) -> None:
    print(
        f"{name:<11} {saves} saves: p50 {r['p50']:.2f} ms  p99 {r['p99']:.2f} ms  "
        f"mean {r['mean']:.2f} ms  {r['per_s']:.0f} saves/s  "
        f"(record_section alone p50 {r['save_p50']:.2f} ms)"
    )


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=1000)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    print("each round = read the PEP + record_section (validate, CAS update, audit, commit)")
    async for name, url in backends(args.only):
        show(name, args.saves, await run(url, args.saves))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
