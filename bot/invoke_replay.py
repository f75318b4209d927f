"""A retried invoke is answered once, whichever instance of the bot it reaches.

Teams (or a load balancer in front of several instances) may deliver the same invoke
twice: same conversation, same activity id. The first to arrive claims it in the
database (`invoke_answers`, store/invokes.py) before it runs and records the answer —
invoke status, card, message — right after; a retry reaching any instance is given
that answer without running again, or, while the first is still running, waits for it
(a few seconds, then "still working on it, try again"). Claim and answer are units of
work of their own: the answer is the card drawn from the change once committed, and a
verb may take several units of work. If an instance dies between its change and the
answer, its claim expires (`lease`) and a retry runs again; the verbs are idempotent
by their data for that case (saving what is stored is "Saved", a second finish is
"already finished", a second "add attendee" is "already recorded"). Answers are kept a
day (`keep`), then swept. Automatic refreshes (Universal Actions) only read and are
answered afresh. Messages and card updates of the first answer are never sent again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from bot.card_data import BadRequest
from bot.turn import Reply, Turn
from pep_model.errors import StoreUnavailable
from pep_model.ports import Clock, InvokeAnswer, InvokeClaim
from store.unit_of_work import SqlUnitOfWorkFactory

log = logging.getLogger(__name__)

H = TypeVar("H", bound=Callable[..., Any])


def idempotent_by_data(handler: H) -> H:
    """Mark a card verb whose repeat is harmless by its data alone (saving what is
    stored is "Saved" and writes nothing; moving to the section on screen changes
    nothing): a retry of it runs again instead of claiming and recording — two commits
    fewer on the busiest request of a meeting (docs/benchmarks.md)."""
    handler.__pep_idempotent__ = True  # type: ignore[attr-defined]
    return handler


def needs_record(handler: Callable[..., Any]) -> bool:
    return not getattr(handler, "__pep_idempotent__", False)


STILL_WORKING = (
    "PEP Companion is still working on the first press of this button. Try again in a moment."
)
USED_BY_SOMEONE_ELSE = "This card action was sent by someone else."


class InvokeReplays:
    def __init__(
        self,
        uow: SqlUnitOfWorkFactory,
        clock: Clock,
        *,
        keep: timedelta = timedelta(hours=24),
        lease: timedelta = timedelta(minutes=2),
        wait_seconds: float = 10.0,
        sweep_every: timedelta = timedelta(hours=1),
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.keep = keep
        self.lease = lease
        self.wait_seconds = wait_seconds
        self.sweep_every = sweep_every
        self._last_sweep: datetime | None = None

    async def once(self, turn: Turn, run: Callable[[], Awaitable[Reply]]) -> Reply:
        """The answer to this invoke: run() for its first arrival, the recorded answer
        for a retry."""
        if not turn.activity_id or not turn.conversation_id or _automatic(turn):
            return await run()
        try:
            claim = await self._claim(turn)
        except StoreUnavailable:
            raise  # the handler could not reach the records either: "busy"
        except Exception as error:  # ids the database refuses: answer without the record
            log.warning(
                "invoke %s not claimed (%s): run without the record",
                turn.activity_id,
                type(error).__name__,
            )
            return await run()
        if claim.foreign:
            log.warning("invoke %s arrived again from another sender", turn.activity_id)
            raise BadRequest(USED_BY_SOMEONE_ELSE)
        if claim.answer is not None:
            log.info("replayed invoke %s answered from the record", turn.activity_id)
            return Reply(
                invoke_status=claim.answer.status,
                invoke_card=claim.answer.card,
                invoke_message=claim.answer.message,
            )
        if not claim.mine:
            log.info("replayed invoke %s: the first is still running", turn.activity_id)
            return Reply(invoke_status=503, invoke_message=STILL_WORKING)
        try:
            reply = await run()
        except Exception:
            await self._release(turn)
            raise
        await self._answer(turn, reply)
        return reply

    async def _claim(self, turn: Turn) -> InvokeClaim:
        """Claim the invoke; while another request holds it unanswered, look again
        (backing off) until it is answered, its lease runs out, or the wait is over."""
        deadline = time.monotonic() + self.wait_seconds
        delay = 0.05
        while True:
            now = self.clock.now()
            async with self.uow() as uow:
                claim = await uow.invokes.claim(
                    turn.conversation_id, turn.activity_id, _sender(turn), now, now + self.lease
                )
                await uow.commit()
            if not claim.running or time.monotonic() + delay > deadline:
                return claim
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)

    async def _answer(self, turn: Turn, reply: Reply) -> None:
        answer = InvokeAnswer(reply.invoke_status, reply.invoke_card, reply.invoke_message)
        try:
            async with self.uow() as uow:
                await uow.invokes.answer(turn.conversation_id, turn.activity_id, answer)
                await uow.commit()
            await self._sweep_now_and_then()
        except Exception as error:  # the change is made: answer it all the same
            log.warning(
                "invoke %s answered but not recorded (%s)", turn.activity_id, type(error).__name__
            )
            await self._release(turn)  # a retry runs again (the data rule answers it)

    async def _release(self, turn: Turn) -> None:
        try:
            async with self.uow() as uow:
                await uow.invokes.release(turn.conversation_id, turn.activity_id)
                await uow.commit()
        except Exception as error:  # its lease runs out instead
            log.warning(
                "invoke %s: claim not released (%s)", turn.activity_id, type(error).__name__
            )

    async def _sweep_now_and_then(self) -> None:
        now = self.clock.now()
        if self._last_sweep is not None and now - self._last_sweep < self.sweep_every:
            return
        self._last_sweep = now
        async with self.uow() as uow:
            swept = await uow.invokes.sweep(now - self.keep)
            await uow.commit()
        if swept:
            log.info("forgot %d invoke answers older than %s", swept, self.keep)


def _automatic(turn: Turn) -> bool:
    """A Universal Actions refresh Teams sent by itself: a read, answered afresh."""
    value: Any = turn.value
    return isinstance(value, dict) and value.get("trigger") == "automatic"


def _sender(turn: Turn) -> str:
    return turn.user_id or turn.aad_object_id
