"""pep_model.ports.InvokeAnswerLog: invokes claimed before they run and answered after,
by (conversation id, activity id), so a retried invoke reaching any instance of the bot
is answered once (bot/invoke_replay.py; docs/store.md, "Invokes answered once")."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from pep_model.ports import InvokeAnswer, InvokeClaim
from store.connection import StoreConnection
from store.prepared import Prepared
from store.tables import invoke_answers

_T = invoke_answers.c
_KEY = (
    _T.conversation_id == bindparam("key_conversation"),
    _T.activity_id == bindparam("key_activity"),
)

# Every invoke claims and answers: statements compiled once (store/prepared.py), as the
# in-meeting save's are. The claim is one INSERT that does nothing when the key exists.
_CLAIM = {
    dialect: Prepared(
        insert(invoke_answers).on_conflict_do_nothing(
            index_elements=[_T.conversation_id, _T.activity_id]
        )
    )
    for dialect, insert in (("sqlite", sqlite.insert), ("postgresql", postgresql.insert))
}
_READ = Prepared(select(_T.user_id, _T.answer, _T.lease_until).where(*_KEY))
# updates executed with the new column values as parameters (the SET clause)
_TAKE_OVER = Prepared(
    update(invoke_answers).where(*_KEY, _T.answer.is_(None), _T.lease_until < bindparam("now"))
)
_ANSWER = Prepared(update(invoke_answers).where(*_KEY))


def _key(conversation_id: str, activity_id: str) -> dict[str, str]:
    return {"key_conversation": conversation_id, "key_activity": activity_id}


def _answer_from(stored: Any) -> InvokeAnswer:
    card = stored.get("card")
    return InvokeAnswer(
        status=int(stored.get("status") or 200),
        card=dict(card) if isinstance(card, dict) else None,
        message=str(stored.get("message") or ""),
    )


class SqlInvokeAnswers:
    def __init__(self, db: StoreConnection) -> None:
        self.db = db

    async def claim(
        self,
        conversation_id: str,
        activity_id: str,
        user_id: str,
        now: datetime,
        lease_until: datetime,
    ) -> InvokeClaim:
        """Insert the claim; the primary key decides between two requests claiming at
        once. A retry finds the row: its answer, or someone still working on it."""
        key = _key(conversation_id, activity_id)
        inserted = await self.db.change(
            _CLAIM["sqlite" if self.db.sqlite else "postgresql"],
            {
                "conversation_id": conversation_id,
                "activity_id": activity_id,
                "user_id": user_id,
                "answer": None,
                "lease_until": lease_until,
                "created_at": now,
            },
        )
        if inserted == 1:
            return InvokeClaim(mine=True)
        rows = await self.db.fetch(_READ, key)
        if not rows:  # claimed and released meanwhile: look again
            return InvokeClaim(running=True)
        row = rows[0]
        if row.user_id != user_id:
            return InvokeClaim(foreign=True)
        if row.answer is not None:
            return InvokeClaim(answer=_answer_from(row.answer))
        if row.lease_until is not None and row.lease_until >= now:
            return InvokeClaim(running=True)
        taken = await self.db.change(_TAKE_OVER, {**key, "now": now, "lease_until": lease_until})
        return InvokeClaim(mine=True) if taken == 1 else InvokeClaim(running=True)

    async def answer(self, conversation_id: str, activity_id: str, answer: InvokeAnswer) -> None:
        await self.db.change(
            _ANSWER,
            {
                **_key(conversation_id, activity_id),
                "answer": {"status": answer.status, "card": answer.card, "message": answer.message},
                "lease_until": None,
            },
        )

    async def release(self, conversation_id: str, activity_id: str) -> None:
        await self.db.write(
            delete(invoke_answers).where(
                _T.conversation_id == conversation_id,
                _T.activity_id == activity_id,
                _T.answer.is_(None),
            )
        )

    async def sweep(self, before: datetime) -> int:
        result = await self.db.write(delete(invoke_answers).where(_T.created_at < before))
        return int(result.rowcount or 0)
