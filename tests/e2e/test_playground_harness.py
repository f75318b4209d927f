"""Proves tests/e2e/playground.py against a throwaway aiohttp bot (auth off, loopback only).

Set PLAYGROUND_ARTIFACTS=/some/dir to keep the browser screenshots for a look.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.e2e.playground import (
    ADAPTIVE_CARD,
    MEETING_START,
    OTHER_USERS,
    PARTICIPANT_JOIN,
    Playground,
    adaptive_card,
    message_text,
    playground_available,
)

_UNAVAILABLE = playground_available()
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(_UNAVAILABLE is not None, reason=_UNAVAILABLE or ""),
]


# ---- the throwaway bot ------------------------------------------------------------------------


def demo_card(headline: str) -> dict[str, Any]:
    return {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.5",
        "body": [
            {"type": "TextBlock", "text": headline, "wrap": True},
            {"type": "Input.Text", "id": "note", "label": "Note"},
        ],
        "actions": [{"type": "Action.Execute", "title": "Save", "verb": "demo.save"}],
    }


class DemoBot:
    """Answers a message with a card, Action.Execute demo.save with the updated card, and
    meetingStart with a text message. Replies go to {serviceUrl}/v3/conversations/{id}/activities/
    {activity id}: the playground's connector."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.endpoint = ""
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/api/messages", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.endpoint = f"http://127.0.0.1:{port}/api/messages"
        self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def reply(self, activity: dict[str, Any], **fields: Any) -> None:
        assert self._client is not None
        url = (
            f"{activity['serviceUrl'].rstrip('/')}/v3/conversations/"
            f"{activity['conversation']['id']}/activities/{activity['id']}"
        )
        body = {
            "type": "message",
            "from": activity["recipient"],
            "recipient": activity["from"],
            "conversation": activity["conversation"],
            "replyToId": activity["id"],
            **fields,
        }
        async with self._client.post(url, json=body) as r:
            assert r.status in (200, 201), await r.text()

    async def handle(self, request: web.Request) -> web.Response:
        activity = await request.json()
        self.received.append(activity)
        self._changed.set()
        kind, name = activity.get("type"), activity.get("name")
        if kind == "message":
            await self.reply(
                activity,
                attachments=[
                    {"contentType": ADAPTIVE_CARD, "content": demo_card("Hello from the demo bot")}
                ],
            )
            return web.Response(status=200)
        if kind == "invoke" and name == "adaptiveCard/action":
            action = activity["value"]["action"]
            if action.get("verb") != "demo.save":
                return web.json_response(
                    {
                        "statusCode": 400,
                        "type": "application/vnd.microsoft.error",
                        "value": {"code": "BadRequest", "message": "verb"},
                    }
                )
            note = (action.get("data") or {}).get("note", "")
            return web.json_response(
                {"statusCode": 200, "type": ADAPTIVE_CARD, "value": demo_card(f"Saved: {note}")}
            )
        if kind == "event" and name == MEETING_START:
            await self.reply(activity, text=f"Meeting started: {activity['value']['Title']}")
        return web.Response(status=200)

    async def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10.0
    ) -> dict[str, Any]:
        async def loop() -> dict[str, Any]:
            while True:
                for a in self.received:
                    if predicate(a):
                        return a
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(loop(), timeout)


@pytest.fixture
async def demo_bot() -> AsyncIterator[DemoBot]:
    bot = DemoBot()
    await bot.start()
    try:
        yield bot
    finally:
        await bot.stop()


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    return Path(os.environ.get("PLAYGROUND_ARTIFACTS") or tmp_path)


def is_demo_card(headline: str) -> Callable[[dict[str, Any]], bool]:
    return lambda m: adaptive_card(m) is not None and headline in message_text(m)


# ---- (1) text over the HTTP API, card back over the websocket ----------------------------------


async def test_text_over_api_returns_card_on_stream(demo_bot: DemoBot) -> None:
    async with Playground(demo_bot.endpoint) as pg:
        cfg = (await pg.config())["config"]
        assert cfg["currentUser"]["id"] == pg.cfg.current_user.id
        assert cfg["tenantId"] == pg.cfg.tenant_id
        assert cfg["personalChat"]["id"] == pg.personal_chat_id
        assert cfg["groupChats"][0]["id"] == pg.group_chat_id

        sent = await pg.send_text("hello")
        msg = await pg.wait_for_message(is_demo_card("Hello from the demo bot"))

        card = adaptive_card(msg)
        assert card is not None and card["version"] == "1.5"
        assert msg["from"]["id"] == pg.cfg.bot_id
        assert msg["conversationId"] == pg.personal_chat_id
        assert int(msg["messageId"]) > int(sent["messageId"])  # ids are epoch milliseconds

        incoming = await demo_bot.wait_for(lambda a: a.get("type") == "message")
        assert incoming["text"] == "hello"
        assert incoming["from"] == pg.cfg.current_user.account()
        assert incoming["conversation"] == {
            "conversationType": "personal",
            "tenantId": pg.cfg.tenant_id,
            "id": pg.personal_chat_id,
        }
        assert incoming["recipient"] == {"id": pg.cfg.bot_id, "name": pg.cfg.bot_name}
        assert incoming["serviceUrl"] == pg.service_url
        assert incoming["channelData"] == {"tenant": {"id": pg.cfg.tenant_id}}

        # the log stream records the exchange, with the bot's HTTP status
        seen = await pg.wait_for_traffic(
            lambda t: t.get("activityName") == "message" and t.get("to") == "User Application"
        )
        assert seen["response"]["statusCode"] == 200


# ---- (2) Action.Execute over the HTTP API -------------------------------------------------------


async def test_invoke_returns_updated_card(demo_bot: DemoBot) -> None:
    async with Playground(demo_bot.endpoint) as pg:
        await pg.send_text("hello")
        msg = await pg.wait_for_message(is_demo_card("Hello from the demo bot"))

        answer = await pg.invoke_action(msg["messageId"], "demo.save", {"note": "typed over API"})
        assert answer["type"] == ADAPTIVE_CARD
        assert "Saved: typed over API" in message_text(
            {"attachments": [{"contentType": ADAPTIVE_CARD, "content": answer["value"]}]}
        )

        # the harness mirrors the playground: the card message is replaced in place
        updated = await pg.wait_for_message(is_demo_card("Saved: typed over API"))
        assert updated["messageId"] == msg["messageId"]
        assert len(pg.messages()) == 1

        invoke = await demo_bot.wait_for(lambda a: a.get("type") == "invoke")
        assert invoke["name"] == "adaptiveCard/action"
        assert invoke["replyToId"] == msg["messageId"]
        assert invoke["from"]["aadObjectId"] == pg.cfg.current_user.aad_object_id
        assert invoke["value"]["action"]["verb"] == "demo.save"
        assert invoke["channelData"]["source"] == {"name": "message"}


# ---- (3) the web UI in headless chromium --------------------------------------------------------


async def test_browser_card_round_trip(demo_bot: DemoBot, artifacts: Path) -> None:
    shot = artifacts / "playground-card-updated.png"
    async with Playground(demo_bot.endpoint) as pg:
        results = await pg.run_browser_script(
            [
                {"action": "goto"},
                {"action": "send", "text": "hello from the browser"},
                {"action": "wait_for_text", "text": "Hello from the demo bot"},
                {"action": "fill", "label": "Note", "value": "Typed in the browser"},
                {"action": "click", "title": "Save"},
                {"action": "wait_for_text", "text": "Saved: Typed in the browser", "inCard": True},
                {"action": "screenshot", "path": str(shot)},
                # the same input again, found by its card id through the card JSON the page received
                {"action": "fill", "id": "note", "value": "Second pass"},
                {"action": "click", "title": "Save", "card": "Saved: Typed in the browser"},
                {"action": "wait_for_text", "text": "Saved: Second pass", "inCard": True},
                {"action": "read_messages"},
            ],
            failure_screenshot=artifacts / "playground-failure.png",
        )

        assert [r["ok"] for r in results] == [True] * 11
        assert results[1]["sent"]["text"] == "hello from the browser"
        assert results[4]["actionType"] == "Action.Execute" and results[4]["status"] == 200
        assert results[4]["body"]["type"] == ADAPTIVE_CARD
        assert shot.stat().st_size > 10_000
        assert any("Saved: Second pass" in m for m in results[-1]["messages"])

        invokes = [a for a in demo_bot.received if a.get("type") == "invoke"]
        assert [i["value"]["action"]["data"] for i in invokes] == [
            {"note": "Typed in the browser"},
            {"note": "Second pass"},
        ]
        # the UI's own message and the bot's card also reached the harness's websocket
        assert any(is_demo_card("Hello from the demo bot")(m) for m in pg.messages())
        # loading the page installs the app: installationUpdate + conversationUpdate first
        kinds = [a["type"] for a in demo_bot.received]
        assert kinds[:2] == ["installationUpdate", "conversationUpdate"]


async def test_browser_group_chat_needs_mention(demo_bot: DemoBot, artifacts: Path) -> None:
    async with Playground(demo_bot.endpoint, chat="group") as pg:
        results = await pg.run_browser_script(
            [
                {"action": "goto", "chat": pg.cfg.group_chat_name},
                {"action": "send", "text": "nobody mentioned the bot"},
                {"action": "send", "text": "please start", "mention": pg.cfg.bot_name},
                {"action": "wait_for_text", "text": "Hello from the demo bot"},
                {"action": "screenshot", "path": str(artifacts / "playground-group-chat.png")},
            ]
        )
        mention = results[2]["sent"]
        assert mention["mentions"][0]["mentioned"]["id"] == pg.cfg.bot_id
        messages = [a for a in demo_bot.received if a.get("type") == "message"]
        assert len(messages) == 1, "only the message that @mentions the bot reaches it"
        assert messages[0]["conversation"]["conversationType"] == "groupChat"
        assert messages[0]["conversation"]["id"] == pg.group_chat_id
        assert "please start" in messages[0]["text"]


# ---- (4) meeting events through customActivities ------------------------------------------------


async def test_meeting_start_event_reaches_bot(demo_bot: DemoBot) -> None:
    async with Playground(demo_bot.endpoint, chat="group") as pg:
        sent = await pg.send_activity(pg.meeting_start_activity(title="PEP review for J"))

        event = await demo_bot.wait_for(lambda a: a.get("name") == MEETING_START)
        assert event["id"] == sent["id"]
        assert event["type"] == "event"
        assert event["value"]["Title"] == "PEP review for J"
        assert event["channelData"]["meeting"] == {"id": sent["value"]["Id"]}
        assert event["channelData"]["tenant"] == {"id": pg.cfg.tenant_id}
        assert event["conversation"]["id"] == pg.group_chat_id
        assert event["conversation"]["conversationType"] == "groupChat"
        assert event["serviceUrl"] == pg.service_url
        assert event["from"]["aadObjectId"] == pg.cfg.current_user.aad_object_id

        reply = await pg.wait_for_message(
            lambda m: m.get("text") == "Meeting started: PEP review for J"
        )
        assert reply["conversationId"] == pg.group_chat_id
        delivered = await pg.wait_for_delivery(lambda a: a.get("name") == MEETING_START)
        assert delivered["_status"] == 200 and delivered["id"] == sent["id"]

        # participant events take the same route
        await pg.send_activity(pg.participants_activity(OTHER_USERS[:2], joined=True))
        join = await demo_bot.wait_for(lambda a: a.get("name") == PARTICIPANT_JOIN)
        members = join["value"]["members"]
        assert [m["user"]["aadObjectId"] for m in members] == [
            u.aad_object_id for u in OTHER_USERS[:2]
        ]
        assert members[0]["meeting"] == {"inMeeting": True, "role": "Attendee"}

        # another participant speaks (the messages API would re-label them as the current user)
        carer = OTHER_USERS[1]
        said = await pg.send_text_as(carer, "I am the carer")
        heard = await demo_bot.wait_for(lambda a: a.get("id") == said["id"])
        assert heard["from"] == carer.account()
        assert heard["text"] == f"<at>{pg.cfg.bot_name}</at> I am the carer"
        await pg.wait_for_message(is_demo_card("Hello from the demo bot"))
