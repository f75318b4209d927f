"""The outbox port (pep_model/outbox.py) on SQLite and PostgreSQL.

Claiming is one UPDATE … WHERE id IN (SELECT … LIMIT n) … RETURNING that sets the lease
columns only where no live lease is held: on PostgreSQL the inner SELECT takes its rows
FOR UPDATE SKIP LOCKED, so concurrent dispatchers pass over each other's rows instead of
waiting; on SQLite the statement runs under the single writer lock (BEGIN IMMEDIATE),
and the lease condition in the UPDATE decides. Every later change (delivered, retry,
failed) is conditional on the lease owner, so a dispatcher whose lease ran out cannot
overwrite the work of the one that took the message over.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, literal, select, type_coerce, update

from pep_model.m365 import MailAttachment
from pep_model.outbox import Json, OutboxEntry, OutboxKind, OutboxStatus, OutgoingMessage
from store.connection import StoreConnection
from store.repositories import IN_CHUNK, in_chunks, lease_free
from store.tables import UtcDateTime, outbox, outbox_attachments

PENDING = OutboxStatus.PENDING.value


def _entry(row: Any, attachments: tuple[MailAttachment, ...] = ()) -> OutboxEntry:
    return OutboxEntry(
        id=row.id,
        key=row.key,
        kind=OutboxKind(row.kind),
        status=OutboxStatus(row.status),
        payload=dict(row.payload or {}),
        requested_by=row.requested_by,
        pep_id=row.pep_id,
        sequence=row.sequence,
        attempts=row.attempts,
        available_at=row.available_at,
        created_at=row.created_at,
        last_status=row.last_status,
        last_error=row.last_error,
        result=dict(row.result) if row.result is not None else None,
        finished_at=row.finished_at,
        attachments=attachments,
    )


def _free(now: datetime) -> Any:
    return lease_free(outbox.c.lease_until, now)


class SqlOutboxRepository:
    def __init__(self, db: StoreConnection) -> None:
        self.db = db

    async def add(self, message: OutgoingMessage, now: datetime) -> bool:
        inserted = (
            await self.db.write(
                self.db.insert(outbox)
                .values(
                    key=message.key,
                    kind=message.kind.value,
                    payload=message.payload,
                    pep_id=message.pep_id,
                    sequence=message.sequence,
                    requested_by=message.requested_by,
                    status=PENDING,
                    attempts=0,
                    available_at=message.not_before or now,
                    created_at=now,
                )
                .on_conflict_do_nothing(index_elements=["key"])
                .returning(outbox.c.id)
            )
        ).first()
        if inserted is None:
            return False
        if message.attachments:
            await self.db.write(
                outbox_attachments.insert().values(
                    [
                        {
                            "message_id": inserted.id,
                            "position": i,
                            "name": a.name,
                            "media_type": a.media_type,
                            "content": a.content,
                        }
                        for i, a in enumerate(message.attachments)
                    ]
                )
            )
        return True

    async def get(self, key: str) -> OutboxEntry | None:
        row = (await self.db.read(select(outbox).where(outbox.c.key == key), point=True)).first()
        return _entry(row) if row else None

    async def existing(self, keys: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for chunk in in_chunks(keys):
            rows = await self.db.read(select(outbox.c.key).where(outbox.c.key.in_(chunk)))
            found.update(r.key for r in rows)
        return found

    async def cancel(self, key: str, now: datetime) -> bool:
        result = await self.db.write(
            update(outbox)
            .where(outbox.c.key == key, outbox.c.status == PENDING, _free(now))
            .values(status=OutboxStatus.CANCELLED.value, finished_at=now)
        )
        return result.rowcount == 1

    async def claim(
        self,
        owner: str,
        now: datetime,
        lease_seconds: float,
        limit: int,
        keys: Sequence[str] | None = None,
    ) -> list[OutboxEntry]:
        earlier = outbox.alias("earlier")
        blocked = (
            select(literal(1))
            .where(
                earlier.c.sequence == outbox.c.sequence,
                earlier.c.id < outbox.c.id,
                earlier.c.status == PENDING,
            )
            .exists()
        )
        conditions = [
            outbox.c.status == PENDING,
            outbox.c.available_at <= now,
            _free(now),
            ~blocked,
        ]
        if keys is not None:
            conditions.append(outbox.c.key.in_(sorted(set(keys))[:IN_CHUNK]))
        candidates = select(outbox.c.id).where(*conditions).order_by(outbox.c.id).limit(limit)
        claim = update(outbox).values(
            lease_owner=owner,
            lease_until=now + timedelta(seconds=lease_seconds),
            attempts=outbox.c.attempts + 1,
        )
        if self.db.sqlite:
            claim = claim.where(
                outbox.c.id.in_(candidates.scalar_subquery()),
                outbox.c.status == PENDING,
                _free(now),
            )
        else:
            # A CTE runs once (a subquery in IN (...) may be re-run by the planner, each
            # run locking LIMIT more rows); FOR UPDATE SKIP LOCKED passes over the rows
            # another dispatcher is claiming instead of waiting for them.
            chosen = candidates.with_for_update(skip_locked=True, of=outbox).cte("chosen")
            claim = claim.where(outbox.c.id == chosen.c.id)
        rows = (await self.db.write(claim.returning(*outbox.c))).all()
        if not rows:
            return []
        ids = [r.id for r in rows]
        files: dict[int, list[MailAttachment]] = {}
        for row in await self.db.read(
            select(outbox_attachments)
            .where(outbox_attachments.c.message_id.in_(ids))
            .order_by(outbox_attachments.c.message_id, outbox_attachments.c.position)
        ):
            files.setdefault(row.message_id, []).append(
                MailAttachment(row.name, row.media_type, bytes(row.content))
            )
        return sorted((_entry(r, tuple(files.get(r.id, ()))) for r in rows), key=lambda e: e.id)

    async def _finish(self, entry_id: int, owner: str, values: dict[str, Any]) -> bool:
        result = await self.db.write(
            update(outbox)
            .where(
                outbox.c.id == entry_id, outbox.c.lease_owner == owner, outbox.c.status == PENDING
            )
            .values(lease_owner=None, lease_until=None, **values)
        )
        return result.rowcount == 1

    async def delivered(
        self, entry_id: int, owner: str, now: datetime, result: Json | None
    ) -> bool:
        done = await self._finish(
            entry_id,
            owner,
            {
                "status": OutboxStatus.DELIVERED.value,
                "result": result,
                "finished_at": now,
                "last_error": None,
            },
        )
        if done:  # the attachments have gone; keep the record of what was sent
            await self.db.write(
                outbox_attachments.delete().where(outbox_attachments.c.message_id == entry_id)
            )
        return done

    async def retry_later(
        self,
        entry_id: int,
        owner: str,
        now: datetime,
        available_at: datetime,
        status: int,
        error: str,
    ) -> bool:
        return await self._finish(
            entry_id,
            owner,
            {"available_at": available_at, "last_status": status, "last_error": error[:500]},
        )

    async def failed(
        self, entry_id: int, owner: str, now: datetime, status: int, error: str
    ) -> bool:
        return await self._finish(
            entry_id,
            owner,
            {
                "status": OutboxStatus.FAILED.value,
                "last_status": status,
                "last_error": error[:500],
                "finished_at": now,
            },
        )

    async def find(
        self,
        *,
        status: OutboxStatus | None = None,
        key_prefix: str | None = None,
        limit: int | None = None,
    ) -> list[OutboxEntry]:
        conditions = []
        if status is not None:
            conditions.append(outbox.c.status == status.value)
        if key_prefix:
            conditions.append(
                and_(outbox.c.key >= key_prefix, outbox.c.key < key_prefix + "\U0010ffff")
            )
        query = select(outbox).where(*conditions).order_by(outbox.c.id)
        if limit is not None:
            query = query.limit(limit)
        return [_entry(r) for r in await self.db.read(query)]

    async def counts(self) -> dict[str, int]:
        counts = dict.fromkeys((s.value for s in OutboxStatus), 0)
        for row in await self.db.read(
            select(outbox.c.status, func.count().label("n")).group_by(outbox.c.status)
        ):
            counts[str(row.status)] = int(row.n)
        return counts

    async def next_due(self) -> datetime | None:
        later = case(
            (
                and_(
                    outbox.c.lease_until.is_not(None), outbox.c.lease_until > outbox.c.available_at
                ),
                outbox.c.lease_until,
            ),
            else_=outbox.c.available_at,
        )
        due: datetime | None = (
            await self.db.read(
                select(type_coerce(func.min(later), UtcDateTime())).where(
                    outbox.c.status == PENDING
                )
            )
        ).scalar()
        return due
