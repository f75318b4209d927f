"""The job runner's leases (pep_model/jobs.py JobRepository): one row per job; a job is
taken with one conditional UPDATE, so among several instances exactly one runs it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, select, update

from store.connection import StoreConnection
from store.repositories import lease_free
from store.tables import jobs


def _free(now: datetime) -> ColumnElement[bool]:
    return lease_free(jobs.c.lease_until, now)


class SqlJobRepository:
    def __init__(self, db: StoreConnection) -> None:
        self.db = db

    async def ensure(self, name: str, next_run_at: datetime) -> None:
        await self.db.write(
            self.db.insert(jobs)
            .values(name=name, next_run_at=next_run_at, runs=0)
            .on_conflict_do_nothing(index_elements=["name"])
        )

    async def make_due(self, name: str, now: datetime) -> None:
        """Bring the next run forward to now (`jobs run-due --job NAME --force`)."""
        await self.ensure(name, now)
        await self.db.write(
            update(jobs)
            .where(jobs.c.name == name, jobs.c.next_run_at > now)
            .values(next_run_at=now)
        )

    async def due(self, now: datetime) -> list[str]:
        rows = await self.db.read(
            select(jobs.c.name)
            .where(jobs.c.next_run_at <= now, _free(now))
            .order_by(jobs.c.next_run_at, jobs.c.name)
        )
        return [r.name for r in rows]

    async def claim(self, name: str, owner: str, now: datetime, lease_until: datetime) -> bool:
        result = await self.db.write(
            update(jobs)
            .where(jobs.c.name == name, jobs.c.next_run_at <= now, _free(now))
            .values(lease_owner=owner, lease_until=lease_until, last_started_at=now)
        )
        return result.rowcount == 1

    async def finish(
        self, name: str, owner: str, now: datetime, next_run_at: datetime, outcome: str
    ) -> bool:
        result = await self.db.write(
            update(jobs)
            .where(jobs.c.name == name, jobs.c.lease_owner == owner)
            .values(
                lease_owner=None,
                lease_until=None,
                next_run_at=next_run_at,
                last_finished_at=now,
                last_outcome=outcome[:500],
                runs=jobs.c.runs + 1,
            )
        )
        return result.rowcount == 1

    async def all(self) -> list[dict[str, object]]:
        rows = await self.db.read(select(jobs).order_by(jobs.c.name))
        return [dict(r._mapping) for r in rows]
