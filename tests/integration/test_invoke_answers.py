"""store/invokes.py and bot/invoke_replay.py on SQLite and PostgreSQL: an invoke is
claimed by exactly one request, answered once, given again to its retries (only to its
sender), taken over when its instance died, forgotten when it failed, and swept after
a day."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.card_data import BadRequest
from bot.invoke_replay import STILL_WORKING, InvokeReplays
from bot.turn import Outgoing, Reply, Turn
from pep_model.ports import InvokeAnswer, InvokeClaim
from store.unit_of_work import SqlUnitOfWorkFactory

NOW = datetime(2026, 11, 16, 10, 30, tzinfo=UTC)
LEASE = timedelta(minutes=2)
CHAT = "19:meeting_abc@thread.v2"
CARD = {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock", "text": "Saved."}]}


@pytest.fixture
def uow(store_engine: AsyncEngine) -> SqlUnitOfWorkFactory:
    return SqlUnitOfWorkFactory(store_engine)


async def claim(
    uow: SqlUnitOfWorkFactory, activity: str = "act-1", user: str = "29:h", now: datetime = NOW
) -> InvokeClaim:
    async with uow() as work:
        got = await work.invokes.claim(CHAT, activity, user, now, now + LEASE)
        await work.commit()
    return got


async def answer(uow: SqlUnitOfWorkFactory, given: InvokeAnswer, activity: str = "act-1") -> None:
    async with uow() as work:
        await work.invokes.answer(CHAT, activity, given)
        await work.commit()


async def test_the_first_claims_a_retry_waits_then_gets_the_same_answer(
    uow: SqlUnitOfWorkFactory,
) -> None:
    assert await claim(uow) == InvokeClaim(mine=True)
    assert await claim(uow) == InvokeClaim(running=True)
    await answer(uow, InvokeAnswer(200, CARD, ""))
    again = await claim(uow)
    assert again.answer == InvokeAnswer(200, CARD, "") and not again.mine
    assert await claim(uow, "act-2") == InvokeClaim(mine=True)  # another activity


async def test_an_error_answer_is_given_again_as_it_was(uow: SqlUnitOfWorkFactory) -> None:
    await claim(uow)
    await answer(uow, InvokeAnswer(503, None, "try again in a moment"))
    assert (await claim(uow)).answer == InvokeAnswer(503, None, "try again in a moment")


async def test_only_the_sender_is_given_the_answer(uow: SqlUnitOfWorkFactory) -> None:
    await claim(uow, user="29:harriet")
    await answer(uow, InvokeAnswer(200, CARD, ""))
    assert await claim(uow, user="29:someone-else") == InvokeClaim(foreign=True)


async def test_a_claim_whose_instance_died_is_taken_over_after_its_lease(
    uow: SqlUnitOfWorkFactory,
) -> None:
    await claim(uow)
    assert await claim(uow, now=NOW + LEASE) == InvokeClaim(running=True)
    later = NOW + LEASE + timedelta(seconds=1)
    assert await claim(uow, now=later) == InvokeClaim(mine=True)
    assert await claim(uow, now=later) == InvokeClaim(running=True)  # the new lease holds


async def test_a_failed_invoke_is_released_and_runs_again(uow: SqlUnitOfWorkFactory) -> None:
    await claim(uow)
    async with uow() as work:
        await work.invokes.release(CHAT, "act-1")
        await work.commit()
    assert await claim(uow) == InvokeClaim(mine=True)


async def test_an_answered_invoke_is_never_released(uow: SqlUnitOfWorkFactory) -> None:
    await claim(uow)
    await answer(uow, InvokeAnswer(200, CARD, ""))
    async with uow() as work:
        await work.invokes.release(CHAT, "act-1")
        await work.commit()
    assert (await claim(uow)).answer is not None


async def test_claims_at_the_same_moment_have_one_winner(uow: SqlUnitOfWorkFactory) -> None:
    async with asyncio.timeout(30):
        claims = await asyncio.gather(*(claim(uow) for _ in range(6)))
    assert claims.count(InvokeClaim(mine=True)) == 1
    assert claims.count(InvokeClaim(running=True)) == 5


async def test_answers_older_than_a_day_are_swept(uow: SqlUnitOfWorkFactory) -> None:
    for activity, age in (("old", 25), ("new", 1)):
        await claim(uow, activity, now=NOW - timedelta(hours=age))
        await answer(uow, InvokeAnswer(200, CARD, ""), activity)
    async with uow() as work:
        swept = await work.invokes.sweep(NOW - timedelta(hours=24))
        await work.commit()
    assert swept == 1
    assert await claim(uow, "old") == InvokeClaim(mine=True)  # forgotten: a new claim
    assert (await claim(uow, "new")).answer == InvokeAnswer(200, CARD, "")


async def test_nothing_is_kept_when_the_claim_is_not_committed(uow: SqlUnitOfWorkFactory) -> None:
    async with uow() as work:
        assert await work.invokes.claim(CHAT, "act-1", "29:h", NOW, NOW + LEASE) == InvokeClaim(
            mine=True
        )
    assert await claim(uow) == InvokeClaim(mine=True)


# ---- bot/invoke_replay.py over the real store --------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.at = NOW

    def now(self) -> datetime:
        return self.at

    def today(self) -> Any:
        return self.at.date()


def _turn(activity: str = "act-1", user: str = "29:h", trigger: str = "manual") -> Turn:
    return Turn(
        type="invoke",
        name="adaptiveCard/action",
        activity_id=activity,
        user_id=user,
        conversation_id=CHAT,
        conversation_type="groupChat",
        value={"action": {"verb": "pep.section.save"}, "trigger": trigger},
    )


class _Handler:
    """A verb that counts its runs and answers with the run's number."""

    def __init__(self) -> None:
        self.runs = 0
        self.fail = False

    async def __call__(self) -> Reply:
        self.runs += 1
        if self.fail:
            raise RuntimeError("the verb failed")
        return Reply(
            invoke_card={"type": "AdaptiveCard", "run": self.runs},
            messages=[Outgoing(text="sent once")],
        )


async def test_a_retry_gets_the_first_answer_without_its_messages(
    uow: SqlUnitOfWorkFactory,
) -> None:
    replays, verb = InvokeReplays(uow, _Clock()), _Handler()
    first = await replays.once(_turn(), verb)
    again = await replays.once(_turn(), verb)
    assert verb.runs == 1
    assert again.invoke_card == first.invoke_card == {"type": "AdaptiveCard", "run": 1}
    assert first.messages and not again.messages


async def test_a_failed_invoke_runs_again_when_retried(uow: SqlUnitOfWorkFactory) -> None:
    replays, verb = InvokeReplays(uow, _Clock()), _Handler()
    verb.fail = True
    with pytest.raises(RuntimeError):
        await replays.once(_turn(), verb)
    verb.fail = False
    answer = await replays.once(_turn(), verb)
    assert verb.runs == 2 and answer.invoke_card == {"type": "AdaptiveCard", "run": 2}


async def test_automatic_refreshes_run_every_time(uow: SqlUnitOfWorkFactory) -> None:
    replays, verb = InvokeReplays(uow, _Clock()), _Handler()
    for _ in range(2):
        await replays.once(_turn(trigger="automatic"), verb)
    assert verb.runs == 2


async def test_another_sender_with_the_same_activity_is_refused(uow: SqlUnitOfWorkFactory) -> None:
    replays, verb = InvokeReplays(uow, _Clock()), _Handler()
    await replays.once(_turn(user="29:harriet"), verb)
    with pytest.raises(BadRequest):
        await replays.once(_turn(user="29:someone-else"), verb)
    assert verb.runs == 1


async def test_a_retry_while_the_first_still_runs_waits_for_its_answer(
    uow: SqlUnitOfWorkFactory,
) -> None:
    replays = InvokeReplays(uow, _Clock(), wait_seconds=10)
    release = asyncio.Event()
    runs = []

    async def slow() -> Reply:
        runs.append(1)
        await release.wait()
        return Reply(invoke_card={"type": "AdaptiveCard", "slow": True})

    first = asyncio.create_task(replays.once(_turn(), slow))
    while not runs:
        await asyncio.sleep(0.01)
    retry = asyncio.create_task(replays.once(_turn(), slow))
    await asyncio.sleep(0.3)
    assert not retry.done()
    release.set()
    async with asyncio.timeout(15):
        answers = await asyncio.gather(first, retry)
    assert len(runs) == 1
    assert answers[0].invoke_card == answers[1].invoke_card


async def test_a_retry_that_waits_too_long_is_told_to_try_again(uow: SqlUnitOfWorkFactory) -> None:
    replays = InvokeReplays(uow, _Clock(), wait_seconds=0.2)
    await claim(uow)  # another instance is working on it
    answer = await replays.once(_turn(), _Handler())
    assert answer.invoke_status == 503 and answer.invoke_message == STILL_WORKING


async def test_old_answers_are_swept_by_the_instance_answering(uow: SqlUnitOfWorkFactory) -> None:
    clock = _Clock()
    replays, verb = InvokeReplays(uow, clock), _Handler()
    await replays.once(_turn("old"), verb)
    clock.at = NOW + timedelta(hours=25)
    await replays.once(_turn("new"), verb)  # answering it sweeps the day-old answer
    await replays.once(_turn("old"), verb)
    assert verb.runs == 3
