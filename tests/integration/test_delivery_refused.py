"""When Teams refuses to update the shared card (413: too large, or any 4xx), the people
in the chat are told — once, not for every update that follows, until an update goes
through again — and the log names the status and the ids, never what the card said.
Against the local Bot Connector, which refuses messages over Teams' size as Teams does."""

from __future__ import annotations

import logging

import aiohttp
import pytest

from bot.connector import Connector, NoToken
from bot.delivery import UPDATE_REFUSED, Delivery
from bot.turn import CardUpdate
from cards import message_card
from cards.elements import TEAMS_MESSAGE_LIMIT
from tests.support.stub_connector import StubConnector

CHAT = "19:meeting_refused@thread.v2"
CARD_MESSAGE = "msg-card"
SECRET = "Ada Fenwick's voice"


def too_large(n: int) -> CardUpdate:
    """A card Teams refuses: over 100 KB counted in UTF-16."""
    return CardUpdate(CHAT, CARD_MESSAGE, message_card(f"{SECRET} {n}", "😀" * 30_000))


def fitting(n: int) -> CardUpdate:
    return CardUpdate(CHAT, CARD_MESSAGE, message_card(f"Now discussing section {n}", ""))


def told(stub: StubConnector) -> list[str]:
    return [
        p.body.get("text", "")
        for p in stub.posted
        if p.method == "POST" and p.conversation_id == CHAT
    ]


async def test_a_refused_update_is_told_to_the_chat_once_until_one_goes_through(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async with (
        StubConnector(message_limit=TEAMS_MESSAGE_LIMIT) as stub,
        aiohttp.ClientSession() as session,
    ):
        delivery = Delivery(Connector(session, NoToken()))

        async def update(card: CardUpdate) -> None:
            delivery.schedule_update(stub.base_url, card)
            await delivery.idle()

        await update(too_large(1))
        assert [p.method for p in stub.refused] == ["PUT"]
        assert told(stub) == [UPDATE_REFUSED]
        await update(too_large(2))  # still refused: the chat has been told already
        assert len(stub.refused) == 2 and told(stub) == [UPDATE_REFUSED]
        await update(fitting(3))  # goes through
        assert [p.method for p in stub.posted] == ["POST", "PUT"]
        await update(too_large(4))  # refused again, after one went through: told again
        assert told(stub) == [UPDATE_REFUSED, UPDATE_REFUSED]

    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "413" in logged and CARD_MESSAGE in logged and CHAT in logged
    assert "Ada" not in logged and "😀" not in logged


async def test_a_burst_of_refused_updates_tells_the_chat_once() -> None:
    async with (
        StubConnector(message_limit=TEAMS_MESSAGE_LIMIT) as stub,
        aiohttp.ClientSession() as session,
    ):
        delivery = Delivery(Connector(session, NoToken()), coalesce_seconds=0.05)
        for n in range(5):  # coalesced: only the newest is sent
            delivery.schedule_update(stub.base_url, too_large(n))
        await delivery.idle()
        for n in range(5, 8):
            delivery.schedule_update(stub.base_url, too_large(n))
            await delivery.idle()
        assert len(stub.refused) == 4
        assert told(stub) == [UPDATE_REFUSED]
        assert "Ada" not in UPDATE_REFUSED


async def test_a_card_of_the_bot_is_never_refused_for_its_size() -> None:
    """The other half: what the bot itself sends stays under the limit (see
    tests/unit/test_card_size.py for every card at its limits)."""
    async with StubConnector(message_limit=40 * 1024) as stub, aiohttp.ClientSession() as session:
        delivery = Delivery(Connector(session, NoToken()))
        delivery.schedule_update(stub.base_url, fitting(1))
        await delivery.idle()
        assert stub.refused == [] and told(stub) == []
