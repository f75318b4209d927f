"""Posting what the routes produced: new messages, personal-chat messages, and in-place
updates of the shared walkthrough card (coalesced: only the newest card is sent)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp

from bot.connector import Connector, ConnectorError
from bot.turn import CardUpdate, Outgoing, Turn

log = logging.getLogger(__name__)

UPDATE_REFUSED = (
    "The PEP card above could not be updated by Teams. Press 'Show the PEP' "
    "or type '@PEP Companion start pep' to see the latest."
)


def card_activity(card: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
        ],
    }


def outgoing_activity(message: Outgoing) -> dict[str, Any]:
    if message.card is not None:
        return card_activity(message.card)
    if message.attachment is not None:
        return {"type": "message", "attachments": [message.attachment]}
    return {"type": "message", "text": message.text, "textFormat": "plain"}


class Delivery:
    def __init__(self, connector: Connector, coalesce_seconds: float = 0.0) -> None:
        self.connector = connector
        # an update waits this long for newer ones, so a burst of saves on one PEP
        # sends one card to Teams, not one per save
        self.coalesce_seconds = coalesce_seconds
        self._pending: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
        self._workers: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._personal_chats: dict[str, str] = {}
        # messages whose update Teams refused and whose chat has been told (see _drain)
        self._refused: set[tuple[str, str]] = set()

    async def send(self, turn: Turn, message: Outgoing) -> str:
        conversation = turn.conversation_id
        if message.to_user_id:
            conversation = await self.personal_chat(turn, message.to_user_id)
        new_id = await self.connector.send(
            turn.service_url, conversation, outgoing_activity(message)
        )
        if message.on_sent is not None and new_id:
            await message.on_sent(new_id)
        return new_id

    async def personal_chat(self, turn: Turn, user_id: str) -> str:
        if user_id == turn.user_id and turn.personal:
            return turn.conversation_id
        known = self._personal_chats.get(user_id)
        if known:
            return known
        conversation = await self.connector.create_personal_chat(
            turn.service_url, bot_id=turn.bot_id, user_id=user_id, tenant_id=turn.tenant_id
        )
        self._personal_chats[user_id] = conversation
        return conversation

    def schedule_update(self, service_url: str, update: CardUpdate) -> None:
        """Queue an in-place update; a burst of saves sends only the newest card."""
        key = (update.conversation_id, update.activity_id)
        self._pending[key] = (service_url, update.card)
        worker = self._workers.get(key)
        if worker is None or worker.done():
            self._workers[key] = asyncio.create_task(self._drain(key))

    async def _drain(self, key: tuple[str, str]) -> None:
        if self.coalesce_seconds:
            await asyncio.sleep(self.coalesce_seconds)
        while key in self._pending:
            service_url, card = self._pending.pop(key)
            try:
                await self.connector.update(service_url, key[0], key[1], card_activity(card))
            except ConnectorError as exc:
                log.warning(
                    "Teams refused the update of card %s in %s: HTTP %s", key[1], key[0], exc.status
                )
                if 400 <= exc.status < 500:
                    await self._tell_refused(service_url, key)
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                log.warning(
                    "could not update card %s in %s: %s", key[1], key[0], type(exc).__name__
                )
            else:
                self._refused.discard(key)
        self._workers.pop(key, None)

    async def _tell_refused(self, service_url: str, key: tuple[str, str]) -> None:
        """Teams would not take the card (too large, or refused): the people in the chat
        are told once, until an update of that message goes through again."""
        if key in self._refused:
            return
        self._refused.add(key)
        notice = {"type": "message", "text": UPDATE_REFUSED, "textFormat": "plain"}
        try:
            await self.connector.send(service_url, key[0], notice)
        except ConnectorError as exc:
            log.warning("could not tell chat %s about card %s: HTTP %s", key[0], key[1], exc.status)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.warning(
                "could not tell chat %s about card %s: %s", key[0], key[1], type(exc).__name__
            )

    async def idle(self) -> None:
        """Wait for queued updates (tests, shutdown)."""
        while self._workers:
            await asyncio.gather(*list(self._workers.values()), return_exceptions=True)
