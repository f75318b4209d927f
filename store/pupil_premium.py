"""Pupil Premium Plus requests, their decisions and the frozen payment schedules, in
SQLAlchemy Core.

A request and its decision share a row (`pp_requests`): the decision columns are NULL
while it is open. `version` goes up by one on every change (received again, withdrawn,
decided); a decision is saved only at the version its card was made from.
`pp_schedules` has a row per term as soon as anything is decided for it; the row is
the lock that puts decisions and the freeze of one term in order (SELECT ... FOR
UPDATE on PostgreSQL; on SQLite the first write already holds the database's single
writer lock).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import and_, bindparam, or_, select, update

from pep_model.pupil_premium import ApprovalRecord, DecisionKind, PupilPremiumRequest
from pep_model.pupil_premium_service import FrozenSchedule, StoredRequest
from pep_model.workflow import PepStatus
from store.connection import StoreConnection
from store.tables import peps, pp_requests, pp_schedules

_DECISION_COLUMNS = (
    "decision",
    "approved_pence",
    "reason",
    "decided_by",
    "decided_at",
    "pays_in_term_id",
)


def held_text(term_ids: Sequence[str]) -> str:
    """(a, b) -> ',a,b,' so one term is found with LIKE '%,a,%' on both backends."""
    return f",{','.join(term_ids)}," if term_ids else ""


def _held(text: str | None) -> tuple[str, ...]:
    return tuple(t for t in (text or "").split(",") if t)


def _request_from(row: Any) -> PupilPremiumRequest:
    return PupilPremiumRequest(
        row.pep_id,
        row.child_id,
        row.term_id,
        row.school_urn,
        row.school_name,
        row.row_index,
        row.amount_pence,
        row.purpose,
        row.target_ref,
        row.impact,
        row.requested_by,
    )


def _record_from(row: Any) -> ApprovalRecord:
    return ApprovalRecord(
        row.id,
        row.pep_id,
        row.child_id,
        row.term_id,
        row.school_urn,
        row.school_name,
        row.amount_pence,
        row.approved_pence,
        DecisionKind(row.decision),
        row.reason or "",
        row.requested_by,
        row.decided_by,
        row.decided_at,
        row.pays_in_term_id,
        _held(row.held_in_term_ids),
    )


def _stored_from(row: Any) -> StoredRequest:
    decision = _record_from(row) if row.decision is not None else None
    return StoredRequest(
        _request_from(row), row.received_at, bool(row.withdrawn), decision, row.version
    )


def _open_values() -> dict[str, Any]:
    return {**dict.fromkeys(_DECISION_COLUMNS), "held_in_term_ids": "", "withdrawn": False}


class SqlPupilPremiumRepository:
    def __init__(self, db: StoreConnection) -> None:
        self.db = db

    async def get(self, request_id: str) -> StoredRequest | None:
        row = (
            await self.db.read(select(pp_requests).where(pp_requests.c.id == request_id))
        ).first()
        return _stored_from(row) if row else None

    async def for_pep(self, pep_id: str) -> list[StoredRequest]:
        rows = await self.db.read(
            select(pp_requests)
            .where(pp_requests.c.pep_id == pep_id)
            .order_by(pp_requests.c.row_index)
        )
        return [_stored_from(row) for row in rows]

    async def put(self, request: PupilPremiumRequest, received_at: datetime) -> None:
        values = {
            "pep_id": request.pep_id,
            "child_id": request.child_id,
            "term_id": request.term_id,
            "school_urn": request.school_urn,
            "school_name": request.school_name,
            "row_index": request.index,
            "amount_pence": request.amount_pence,
            "purpose": request.purpose,
            "target_ref": request.target_ref,
            "impact": request.impact,
            "requested_by": request.requested_by,
            "received_at": received_at,
            **_open_values(),
        }
        insert = self.db.insert(pp_requests).values(id=request.id, version=1, **values)
        await self.db.write(
            insert.on_conflict_do_update(
                index_elements=["id"], set_={**values, "version": pp_requests.c.version + 1}
            )
        )

    async def withdraw(self, request_id: str) -> None:
        await self.db.write(
            update(pp_requests)
            .where(pp_requests.c.id == request_id)
            .values(**{**_open_values(), "withdrawn": True, "version": pp_requests.c.version + 1})
        )

    async def open_requests(self) -> list[StoredRequest]:
        rows = await self.db.read(
            select(pp_requests)
            .where(pp_requests.c.withdrawn.is_(False), pp_requests.c.decision.is_(None))
            .order_by(pp_requests.c.id)
        )
        return [_stored_from(row) for row in rows]

    async def decisions(self, child_id: str, term_id: str) -> list[ApprovalRecord]:
        rows = await self.db.read(
            select(pp_requests)
            .where(
                pp_requests.c.child_id == child_id,
                pp_requests.c.term_id == term_id,
                pp_requests.c.withdrawn.is_(False),
                pp_requests.c.decision.is_not(None),
            )
            .order_by(pp_requests.c.id)
        )
        return [_record_from(row) for row in rows]

    async def save_decision(self, record: ApprovalRecord, version: int) -> bool:
        result = await self.db.write(
            update(pp_requests)
            .where(pp_requests.c.id == record.request_id, pp_requests.c.version == version)
            .values(
                decision=record.kind.value,
                approved_pence=record.approved_pence,
                reason=record.reason,
                decided_by=record.decided_by,
                decided_at=record.decided_at,
                pays_in_term_id=record.pays_in_term_id,
                held_in_term_ids=held_text(record.held_in_term_ids),
                version=version + 1,
            )
        )
        return result.rowcount == 1

    # ---- the schedule -----------------------------------------------------------

    async def lock_term(self, term_id: str) -> datetime | None:
        await self.db.write(
            self.db.insert(pp_schedules)
            .values(term_id=term_id)
            .on_conflict_do_nothing(index_elements=["term_id"])
        )
        row = (
            await self.db.read(
                select(pp_schedules.c.frozen_at)
                .where(pp_schedules.c.term_id == term_id)
                .with_for_update()
            )
        ).first()
        return row.frozen_at if row else None

    async def frozen_at(self, term_id: str) -> datetime | None:
        row = (
            await self.db.read(
                select(pp_schedules.c.frozen_at).where(pp_schedules.c.term_id == term_id)
            )
        ).first()
        return row.frozen_at if row else None

    async def for_schedule(self, term_id: str) -> tuple[list[ApprovalRecord], set[str]]:
        rows = await self.db.read(
            select(pp_requests, peps.c.status.label("pep_status"))
            .join(peps, peps.c.id == pp_requests.c.pep_id)
            .where(
                pp_requests.c.withdrawn.is_(False),
                pp_requests.c.decision.is_not(None),
                pp_requests.c.approved_pence > 0,
                or_(
                    pp_requests.c.pays_in_term_id == term_id,
                    pp_requests.c.held_in_term_ids.like(f"%,{term_id},%"),
                ),
            )
        )
        records: list[ApprovalRecord] = []
        finalised: set[str] = set()
        for row in rows:
            records.append(_record_from(row))
            if row.pep_status == PepStatus.FINALISED.value:
                finalised.add(row.pep_id)
        return records, finalised

    async def move(self, records: Sequence[ApprovalRecord]) -> None:
        if not records:
            return
        statement = (
            update(pp_requests)
            .where(pp_requests.c.id == bindparam("b_id"))
            .values(pays_in_term_id=bindparam("b_pays"), held_in_term_ids=bindparam("b_held"))
        )
        params = [
            {
                "b_id": r.request_id,
                "b_pays": r.pays_in_term_id,
                "b_held": held_text(r.held_in_term_ids),
            }
            for r in records
        ]
        await self.db.write(statement, cast(Any, params))  # one executemany

    async def freeze(self, frozen: FrozenSchedule) -> None:
        values = {
            "frozen_at": frozen.frozen_at,
            "frozen_by": frozen.frozen_by,
            "csv": frozen.csv,
            "document": frozen.document,
            "document_name": frozen.document_name,
            "total_pence": frozen.total_pence,
            "held_pence": frozen.held_pence,
        }
        insert = self.db.insert(pp_schedules).values(term_id=frozen.term_id, **values)
        await self.db.write(
            insert.on_conflict_do_update(
                index_elements=["term_id"],
                set_=values,
                where=and_(pp_schedules.c.frozen_at.is_(None)),
            )
        )

    async def frozen(self, term_id: str) -> FrozenSchedule | None:
        row = (
            await self.db.read(
                select(pp_schedules).where(
                    pp_schedules.c.term_id == term_id, pp_schedules.c.frozen_at.is_not(None)
                )
            )
        ).first()
        if row is None:
            return None
        return FrozenSchedule(
            row.term_id,
            row.frozen_at,
            row.frozen_by or "",
            row.csv or "",
            bytes(row.document or b""),
            row.document_name or "",
            row.total_pence or 0,
            row.held_pence or 0,
        )
