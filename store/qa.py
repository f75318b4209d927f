"""QA rounds and the authority-wide staff lookup, in SQLAlchemy Core."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from pep_model.errors import StaleVersion
from pep_model.people import Assignment, Person, Role
from pep_model.quality import QaRound
from pep_model.workflow import PepStatus
from store.connection import StoreConnection
from store.repositories import people_in_scope
from store.tables import peps, qa_rounds


def _round_from(row: Any) -> QaRound:
    return QaRound.from_dict(
        {
            "number": row.number,
            "coordinator_id": row.coordinator_id,
            "grades": row.grades or {},
            "overall": row.overall,
            "computed": row.computed,
            "override_reason": row.override_reason,
            "feedback": row.feedback,
            "decision": row.decision,
            "at": row.at.isoformat(),
        }
    )


class SqlQaRepository:
    def __init__(self, db: StoreConnection) -> None:
        self.db = db

    async def rounds(self, pep_id: str) -> list[QaRound]:
        rows = await self.db.read(
            select(qa_rounds).where(qa_rounds.c.pep_id == pep_id).order_by(qa_rounds.c.number)
        )
        return [_round_from(row) for row in rows]

    async def add_round(self, pep_id: str, term_id: str, qa_round: QaRound) -> None:
        result = await self.db.write(
            self.db.insert(qa_rounds)
            .values(
                pep_id=pep_id,
                term_id=term_id,
                number=qa_round.number,
                coordinator_id=qa_round.coordinator_id,
                grades=dict(qa_round.grades),
                overall=qa_round.overall,
                computed=qa_round.computed,
                override_reason=qa_round.override_reason,
                feedback=qa_round.feedback,
                decision=qa_round.decision.value,
                at=qa_round.at,
            )
            .on_conflict_do_nothing(index_elements=["pep_id", "number"])
        )
        if result.rowcount != 1:
            raise StaleVersion(f"QA round {qa_round.number} of {pep_id} is already recorded")

    async def with_status(self, statuses: Sequence[PepStatus]) -> list[tuple[str, str, PepStatus]]:
        rows = await self.db.read(
            select(peps.c.id, peps.c.child_id, peps.c.status)
            .where(peps.c.status.in_([s.value for s in statuses]))
            .order_by(peps.c.id)
        )
        return [(row.id, row.child_id, PepStatus(row.status)) for row in rows]


class SqlStaffDirectory:
    def __init__(self, db: StoreConnection) -> None:
        self.db = db

    async def authority_wide(self, role: Role) -> list[Person]:
        return await people_in_scope(self.db, Assignment("", role))
