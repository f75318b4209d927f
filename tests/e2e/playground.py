"""End-to-end harness around the Microsoft 365 Agents Playground (a Teams-like client, offline).

``Playground`` starts ``agentsplayground`` (npm ``@microsoft/m365agentsplayground``, installed
in ``tests/js``) against a bot endpoint on loopback, with a generated ``.m365agentsplayground.yml``
that fixes the tenant, bot, users and chats, and drives it

* over its HTTP API (``send_text``, ``invoke_action``, ``send_activity``) while collecting the bot's
  replies from the conversation websocket (``messages``, ``wait_for_message``) and every request /
  response between playground and bot from the log websocket (``traffic``, ``wait_for_traffic``);
* through its web UI with headless chromium (``run_browser_script``, which runs
  ``tests/js/playground_driver.mjs`` with playwright-core).

The playground sends no tokens: the bot under test must run with authentication off, on loopback.
Findings (payload shapes, selectors, quirks, timing) are in ``docs/playground.md``.

Usage::

    async with Playground("http://127.0.0.1:3978/api/messages", chat="group") as pg:
        await pg.send_text("start")
        msg = await pg.wait_for_message(lambda m: adaptive_card(m) is not None)
        answer = await pg.invoke_action(msg["messageId"], "pep.save", {"note": "x"})
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import os
import re
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

TESTS_JS = Path(__file__).resolve().parents[1] / "js"
AGENTSPLAYGROUND = TESTS_JS / "node_modules" / ".bin" / "agentsplayground"
PLAYWRIGHT_CORE = TESTS_JS / "node_modules" / "playwright-core"
DRIVER = TESTS_JS / "playground_driver.mjs"
CHROMIUM = os.environ.get("PLAYGROUND_CHROMIUM", "/usr/bin/chromium")

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
MEETING_START = "application/vnd.microsoft.meetingStart"
MEETING_END = "application/vnd.microsoft.meetingEnd"
PARTICIPANT_JOIN = "application/vnd.microsoft.meetingParticipantJoin"
PARTICIPANT_LEAVE = "application/vnd.microsoft.meetingParticipantLeave"

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_LISTENING = re.compile(r"Listening on (\d+)")


# --------------------------------------------------------------------------------------------------
# availability


def _missing(browser: bool = True) -> list[str]:
    missing = []
    if shutil.which("node") is None:
        missing.append("node (apt-get install -y nodejs)")
    if browser and not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        missing.append(f"chromium at {CHROMIUM} (apt-get install -y chromium)")
    if not AGENTSPLAYGROUND.exists():
        missing.append("tests/js/node_modules/.bin/agentsplayground (cd tests/js && npm ci)")
    if browser and not PLAYWRIGHT_CORE.exists():
        missing.append("playwright-core in tests/js/node_modules (cd tests/js && npm ci)")
    return missing


def playground_available() -> str | None:
    """None when node, chromium and the playground are installed; else what to install."""
    missing = _missing()
    return "Agents Playground e2e tests need: " + "; ".join(missing) if missing else None


# --------------------------------------------------------------------------------------------------
# fixed identities written into .m365agentsplayground.yml


@dataclass(frozen=True)
class PlaygroundUser:
    id: str
    name: str
    aad_object_id: str
    email: str

    def yaml_fields(self) -> dict[str, str]:
        given, _, surname = self.name.partition(" ")
        return {
            "id": self.id,
            "name": self.name,
            "userPrincipleName": self.email,  # sic: the playground's schema spells it this way
            "aadObjectId": self.aad_object_id,
            "givenName": given,
            "surname": surname or given,
            "email": self.email,
        }

    def account(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "aadObjectId": self.aad_object_id}


TENANT_ID = "7e2e0000-0000-4000-8000-00000000e2e0"
BOT_ID = "28:7e2e0000-0000-4000-8000-0000000000b0"
BOT_NAME = "PEP Companion"
PERSONAL_CHAT_ID = "a:e2e-personal-chat"
GROUP_CHAT_ID = "19:meeting_ZTJlLXBlcC1tZWV0aW5n@thread.v2"
GROUP_CHAT_NAME = "PEP meeting chat"
MEETING_ID = "MCMeeting-ZTJlLXBlcC1tZWV0aW5n"
TEAM_ID = "19:e2e-team@thread.tacv2"

CURRENT_USER = PlaygroundUser(
    "29:e2e-designated-teacher",
    "Dana Teacher",
    "7e2e0000-0000-4000-8000-0000000000a1",
    "dana.teacher@school.example",
)
# The playground's schema demands exactly five further users; they are the group chat's members.
OTHER_USERS: tuple[PlaygroundUser, ...] = (
    PlaygroundUser(
        "29:e2e-social-worker",
        "Sam Worker",
        "7e2e0000-0000-4000-8000-0000000000a2",
        "sam.worker@council.example",
    ),
    PlaygroundUser(
        "29:e2e-carer",
        "Casey Carer",
        "7e2e0000-0000-4000-8000-0000000000a3",
        "casey.carer@carers.example",
    ),
    PlaygroundUser(
        "29:e2e-virtual-school",
        "Vic School",
        "7e2e0000-0000-4000-8000-0000000000a4",
        "vic.school@council.example",
    ),
    PlaygroundUser(
        "29:e2e-iro",
        "Ira Reviewer",
        "7e2e0000-0000-4000-8000-0000000000a5",
        "ira.reviewer@council.example",
    ),
    PlaygroundUser(
        "29:e2e-young-person",
        "Jo Young",
        "7e2e0000-0000-4000-8000-0000000000a6",
        "jo.young@school.example",
    ),
)


@dataclass(frozen=True)
class PlaygroundConfig:
    tenant_id: str = TENANT_ID
    bot_id: str = BOT_ID
    bot_name: str = BOT_NAME
    current_user: PlaygroundUser = CURRENT_USER
    users: tuple[PlaygroundUser, ...] = OTHER_USERS
    personal_chat_id: str = PERSONAL_CHAT_ID
    group_chat_id: str = GROUP_CHAT_ID
    group_chat_name: str = GROUP_CHAT_NAME
    team_id: str = TEAM_ID
    team_name: str = "PEP team"
    team_aad_group_id: str = "7e2e0000-0000-4000-8000-0000000000c1"

    def to_yaml(self) -> str:
        """The config file. Scalars are JSON-quoted, which YAML accepts verbatim."""
        if len(self.users) != 5:
            raise ValueError("the playground's config schema requires exactly 5 users")
        q = json.dumps

        def user_block(u: PlaygroundUser, indent: str, first: str) -> list[str]:
            out = []
            for i, (k, v) in enumerate(u.yaml_fields().items()):
                out.append(f"{first if i == 0 else indent}{k}: {q(v)}")
            return out

        lines = [
            "# generated by tests/e2e/playground.py",
            'version: "0.1.1"',
            f"tenantId: {q(self.tenant_id)}",
            "bot:",
            f"  id: {q(self.bot_id)}",
            f"  name: {q(self.bot_name)}",
            "currentUser:",
            *user_block(self.current_user, "  ", "  "),
            "users:",
        ]
        for u in self.users:
            lines += user_block(u, "    ", "  - ")
        lines += [
            "personalChat:",
            f"  id: {q(self.personal_chat_id)}",
            "groupChat:",
            f"  id: {q(self.group_chat_id)}",
            f"  name: {q(self.group_chat_name)}",
            "team:",
            f"  id: {q(self.team_id)}",
            f"  name: {q(self.team_name)}",
            f"  aadGroupId: {q(self.team_aad_group_id)}",
            "  channels: []",
        ]
        return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------------
# message helpers


def adaptive_card(message: Mapping[str, Any]) -> dict[str, Any] | None:
    """The first Adaptive Card attached to a stream message (or activity), if any."""
    for att in message.get("attachments") or []:
        if att.get("contentType") == ADAPTIVE_CARD:
            content = att.get("content")
            return content if isinstance(content, dict) else None
    return None


def card_texts(card: Any) -> list[str]:
    """Every TextBlock / TextRun text, fact and action title in a card, in document order."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for n in node:
                walk(n)
        elif isinstance(node, dict):
            t = node.get("type")
            if t in ("TextBlock", "TextRun") and isinstance(node.get("text"), str):
                out.append(node["text"])
            elif t is None and "title" in node and "value" in node:  # Fact
                out.extend([str(node["title"]), str(node["value"])])
            elif (
                isinstance(t, str)
                and t.startswith("Action.")
                and isinstance(node.get("title"), str)
            ):
                out.append(node["title"])
            for k, v in node.items():
                if k not in ("text", "title"):
                    walk(v)

    walk(card)
    return out


def message_text(message: Mapping[str, Any]) -> str:
    """A message's text plus the texts of its Adaptive Card, newline-joined (for assertions)."""
    parts = [message["text"]] if message.get("text") else []
    card = adaptive_card(message)
    if card is not None:
        parts += card_texts(card)
    return "\n".join(parts)


def _deep_merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class PlaygroundError(RuntimeError):
    """The playground answered an API call with an error, or could not start."""


class BrowserScriptError(AssertionError):
    """A browser script step failed; ``results`` holds the per-step JSON results."""

    def __init__(self, message: str, results: list[dict[str, Any]], stderr: str) -> None:
        failed = [
            {k: v for k, v in r.items() if k not in ("body", "sent", "messages")}
            for r in results
            if not r.get("ok")
        ]
        super().__init__(
            f"{message}\nfailed: {json.dumps(failed)[:2000]}\n"
            f"results: {json.dumps(results, indent=1)[:4000]}\n"
            f"stderr (tail): {stderr[-2000:]}"
        )
        self.results = results
        self.stderr = stderr


@dataclass
class _Stream:
    """Bot replies from the conversation websocket, kept as the UI would show them."""

    events: list[dict[str, Any]] = field(default_factory=list)
    order: list[str] = field(default_factory=list)
    by_id: dict[str, dict[str, Any]] = field(default_factory=dict)

    def apply(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        msg = event.get("message")
        if event.get("action") not in ("createMessage", "updateMessage") or not isinstance(
            msg, dict
        ):
            return
        mid = str(msg.get("messageId"))
        msg = {**msg, "conversationId": event.get("actionConversationId")}
        if mid not in self.by_id:
            self.order.append(mid)
        self.by_id[mid] = msg


# --------------------------------------------------------------------------------------------------
# the harness


class Playground:
    """Runs the Agents Playground against ``bot_endpoint`` (loopback only) for one test.

    ``chat`` picks the default conversation of ``send_text`` / ``send_activity``: ``"personal"``
    (1:1 with the bot) or ``"group"`` (the configured group chat, standing in for a meeting chat;
    messages there reach the bot only when they @mention it, which ``send_text`` does for you).
    """

    def __init__(
        self,
        bot_endpoint: str,
        *,
        chat: str = "personal",
        config: PlaygroundConfig | None = None,
        port: int | None = None,
        startup_timeout: float = 45.0,
        keep_workdir: bool = False,
    ) -> None:
        host = urlsplit(bot_endpoint).hostname or ""
        if host not in _LOOPBACK:
            raise ValueError(f"bot endpoint must be on loopback, got {bot_endpoint!r}")
        if chat not in ("personal", "group"):
            raise ValueError("chat must be 'personal' or 'group'")
        self.bot_endpoint = bot_endpoint
        self.cfg = config or PlaygroundConfig()
        self.chat = chat
        self._requested_port = port
        self._startup_timeout = startup_timeout
        self._keep_workdir = keep_workdir
        self.port: int = 0
        self.workdir: Path | None = None
        self.startup_seconds: float = 0.0
        self._proc: asyncio.subprocess.Process | None = None
        self._output: list[str] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._session: aiohttp.ClientSession | None = None
        self._stream = _Stream()
        self._traffic: list[dict[str, Any]] = []
        self._changed = asyncio.Condition()
        self._listening: asyncio.Future[int] | None = None

    # ---- ids ---------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def service_url(self) -> str:
        return f"{self.base_url}/_connector"

    @property
    def personal_chat_id(self) -> str:
        return self.cfg.personal_chat_id

    @property
    def group_chat_id(self) -> str:
        return self.cfg.group_chat_id

    @property
    def conversation_id(self) -> str:
        """The default conversation (see ``chat``)."""
        return self.group_chat_id if self.chat == "group" else self.personal_chat_id

    @property
    def output(self) -> str:
        """The playground process's stdout/stderr so far."""
        return "".join(self._output)

    # ---- lifecycle ---------------------------------------------------------------------------
    async def __aenter__(self) -> Playground:
        missing = _missing(browser=False)  # the HTTP API needs no browser
        if missing:
            raise PlaygroundError("Agents Playground needs: " + "; ".join(missing))
        started = time.monotonic()
        self.workdir = Path(tempfile.mkdtemp(prefix="playground-e2e-"))
        (self.workdir / ".m365agentsplayground.yml").write_text(
            self.cfg.to_yaml(), encoding="utf-8"
        )
        try:
            for attempt in range(3):
                port = self._requested_port or _free_port()
                actual = await self._start_process(port)
                if actual == port:
                    break
                # the playground silently falls back to a random port when its port is taken;
                # the service URL we passed would then be wrong: start again
                await self._stop_process()
                if self._requested_port or attempt == 2:
                    raise PlaygroundError(f"port {port} was taken (playground moved to {actual})")
            self.port = port
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
            await self._wait_ready(started)
            # subscribe before anything is sent: the playground buffers stream items while no
            # client is connected and hands them to whichever client connects first
            await self._subscribe(
                "/_ws_conversation/v1/conversations/stream", self._on_conversation
            )
            await self._subscribe("/_ws/log/stream", self._on_log)
            await self.config()  # waits (<= 15 s, inside the playground) for the bot endpoint
        except BaseException:
            await self._shutdown()
            raise
        self.startup_seconds = time.monotonic() - started
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._shutdown()

    async def _start_process(self, port: int) -> int:
        assert self.workdir is not None
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(
                ("M365_AGENTS_PLAYGROUND_", "TEAMSAPPTESTER_", "TEAMS_APP_TEST_TOOL_")
            )
            and k not in ("BOT_ENDPOINT", "SEND_INSTALLATION_ACTIVITY")
        }
        env.update(
            {
                "TEAMSAPPTESTER_BROWSER": "none",
                "M365_AGENTS_PLAYGROUND_CONFIG_PATH": str(
                    self.workdir / ".m365agentsplayground.yml"
                ),
                "M365_AGENTS_PLAYGROUND_LOGFILE": str(self.workdir / "devTools" / "playground.log"),
            }
        )
        node = shutil.which("node") or "node"
        self._output.clear()
        self._listening = asyncio.get_running_loop().create_future()
        self._proc = await asyncio.create_subprocess_exec(
            node,
            str(AGENTSPLAYGROUND),
            "-e",
            self.bot_endpoint,
            "-c",
            "msteams",
            "-p",
            str(port),
            "--su",
            f"http://127.0.0.1:{port}/_connector",
            "--dt",
            cwd=str(self.workdir),
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        self._tasks.append(asyncio.create_task(self._pump_output(self._proc)))
        try:
            return await asyncio.wait_for(asyncio.shield(self._listening), self._startup_timeout)
        except TimeoutError:
            raise PlaygroundError(f"playground did not start:\n{self.output[-3000:]}") from None

    async def _pump_output(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        async for raw in proc.stdout:
            line = raw.decode("utf-8", "replace")
            self._output.append(line)
            m = _LISTENING.search(line)
            if m and self._listening is not None and not self._listening.done():
                self._listening.set_result(int(m.group(1)))
        if self._listening is not None and not self._listening.done():
            self._listening.set_exception(
                PlaygroundError(f"playground exited ({proc.returncode}):\n{self.output[-3000:]}")
            )

    async def _wait_ready(self, started: float) -> None:
        assert self._session is not None
        deadline = started + self._startup_timeout
        while True:
            with contextlib.suppress(aiohttp.ClientError):
                async with self._session.get(f"{self.base_url}/_debug/ping") as r:
                    if r.status == 200:
                        return
            if time.monotonic() > deadline:
                raise PlaygroundError(f"playground not ready:\n{self.output[-3000:]}")
            await asyncio.sleep(0.1)

    async def _subscribe(self, path: str, handler: Callable[[dict[str, Any]], None]) -> None:
        assert self._session is not None
        ws = await self._session.ws_connect(f"ws://127.0.0.1:{self.port}{path}", heartbeat=20)

        async def reader() -> None:
            try:
                async for msg in ws:
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        continue
                    try:
                        data = json.loads(msg.data)
                    except ValueError:
                        continue
                    if isinstance(data, dict):
                        handler(data)
                        async with self._changed:
                            self._changed.notify_all()
            finally:
                await ws.close()

        self._tasks.append(asyncio.create_task(reader()))

    def _on_conversation(self, event: dict[str, Any]) -> None:
        self._stream.apply(event)

    def _on_log(self, event: dict[str, Any]) -> None:
        log = event.get("log")
        if event.get("logAction") == "appendLog" and isinstance(log, dict):
            self._traffic.append(log)

    async def _stop_process(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 5)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()
        else:  # the leader is gone; make sure nothing it started survives
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)

    async def _shutdown(self) -> None:
        await self._stop_process()
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self.workdir is not None and not self._keep_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # ---- HTTP API ----------------------------------------------------------------------------
    async def _request(self, method: str, path: str, **kw: Any) -> Any:
        assert self._session is not None, "use 'async with Playground(...)'"
        async with self._session.request(method, self.base_url + path, **kw) as r:
            text = await r.text()
            if r.status >= 300:
                raise PlaygroundError(f"{method} {path} -> {r.status}: {text[:2000]}")
            return json.loads(text) if text else None

    async def config(self) -> dict[str, Any]:
        """GET /_internal/v1/config: {"config": {...ids...}, "internalConfig": {...}}."""
        result: dict[str, Any] = await self._request("GET", "/_internal/v1/config")
        return result

    async def send_text(
        self,
        text: str,
        *,
        conversation_id: str | None = None,
        mention_bot: bool | None = None,
    ) -> dict[str, Any]:
        """Post a message as the current user; returns {"messageId", "timestamp"} of it.

        In the group chat the bot is @mentioned unless ``mention_bot=False`` (the playground, like
        Teams, forwards group messages to the bot only when they mention it). The playground
        always delivers these as from the current user, whatever from.id says: to speak as
        another participant use ``send_text_as``.
        """
        conv = conversation_id or self.conversation_id
        if mention_bot is None:
            mention_bot = conv != self.personal_chat_id
        body: dict[str, Any] = {
            "from": {"id": self.cfg.current_user.id},
            "text": text,
            "textFormat": "plain",
        }
        if mention_bot:
            text, mentions = self._mention_bot(text)
            body["text"] = text
            # what the UI's @mention picker sends
            body["mentions"] = [{"mentioned": m["mentioned"], "text": m["text"]} for m in mentions]
        result: dict[str, Any] = await self._request(
            "POST", f"/_conversation/v1/conversations/{conv}/messages", json=body
        )
        return result

    def _mention_bot(self, text: str) -> tuple[str, list[dict[str, Any]]]:
        at = f"<at>{self.cfg.bot_name}</at>"
        mention = {
            "type": "mention",
            "mentioned": {"id": self.cfg.bot_id, "name": self.cfg.bot_name},
            "text": at,
        }
        return f"{at} {text}", [mention]

    async def send_text_as(
        self,
        user: PlaygroundUser,
        text: str,
        *,
        conversation_id: str | None = None,
        mention_bot: bool | None = None,
    ) -> dict[str, Any]:
        """A message from any configured user, sent as a custom activity shaped like the
        playground's own message activities. It does not appear in the playground's UI; the bot's
        replies do. Returns the activity sent."""
        conv = conversation_id or self.conversation_id
        if mention_bot is None:
            mention_bot = conv != self.personal_chat_id
        entities: list[dict[str, Any]] = []
        if mention_bot:
            text, entities = self._mention_bot(text)
        entities.append(
            {"type": "clientInfo", "locale": "en-US", "country": "US", "platform": "Web"}
        )
        return await self.send_activity(
            {
                "type": "message",
                "text": text,
                "textFormat": "plain",
                "from": user.account(),
                "entities": entities,
                "channelData": {"tenant": {"id": self.cfg.tenant_id}},
            },
            conversation_id=conv,
        )

    async def invoke_action(
        self,
        reply_to_id: str,
        verb: str,
        data: Mapping[str, Any] | None = None,
        *,
        conversation_id: str | None = None,
        from_id: str | None = None,
        title: str | None = None,
    ) -> dict[str, Any]:
        """Action.Execute on the card message ``reply_to_id``, as the UI does it.

        ``data`` must already hold the input values (the UI merges them into action.data; over
        the API you pass them). Returns the bot's invoke answer, e.g. {"type":
        "application/vnd.microsoft.card.adaptive", "value": {<card>}}. Like the playground server
        (which keeps the new card but does not broadcast it), the harness then replaces the card of
        that message in ``messages()``.
        """
        known = self._stream.by_id.get(str(reply_to_id))
        conv = conversation_id or (known or {}).get("conversationId") or self.conversation_id
        action: dict[str, Any] = {"type": "Action.Execute", "verb": verb, "data": dict(data or {})}
        if title is not None:
            action["title"] = title
        body = {
            "name": "adaptiveCard/action",
            "value": {"action": action, "trigger": "manual"},
            "from": {"id": from_id or self.cfg.current_user.id},
            "conversation": {"id": conv},
            "replyToId": str(reply_to_id),
        }
        answer: dict[str, Any] = await self._request("POST", "/_conversation/v1/invoke", json=body)
        if known is not None and answer and answer.get("type") == ADAPTIVE_CARD:
            atts = known.get("attachments") or []
            if len(atts) == 1:
                updated = {**known, "attachments": [{**atts[0], "content": answer.get("value")}]}
                self._stream.by_id[str(reply_to_id)] = updated
                async with self._changed:
                    self._changed.notify_all()
        return answer

    async def submit_action(
        self,
        reply_to_id: str,
        data: Mapping[str, Any],
        *,
        conversation_id: str | None = None,
        from_id: str | None = None,
    ) -> None:
        """Action.Submit on the card message ``reply_to_id`` (POST /_conversation/v1/submit): the
        bot gets a message activity whose ``value`` is ``data`` (inputs merged in by the caller)."""
        known = self._stream.by_id.get(str(reply_to_id))
        conv = conversation_id or (known or {}).get("conversationId") or self.conversation_id
        body = {
            "conversation": {"id": conv},
            "from": {"id": from_id or self.cfg.current_user.id},
            "replyToId": str(reply_to_id),
            "value": dict(data),
        }
        await self._request("POST", "/_conversation/v1/submit", json=body)

    async def activity_template(
        self, conversation_id: str | None = None, template: str | None = None
    ) -> dict[str, Any]:
        """GET /_internal/v1/customActivities/template: a base activity for the conversation
        (id, timestamp, channelId, serviceUrl, from, recipient, conversation). ``template`` may be
        install, uninstall, botAdded, userAdded, botRemoved, userRemoved, ... ."""
        params = {"conversationId": conversation_id or self.conversation_id}
        if template:
            params["type"] = template
        result: dict[str, Any] = await self._request(
            "GET", "/_internal/v1/customActivities/template", params=params
        )
        return result

    async def send_activity(
        self, activity: Mapping[str, Any], *, conversation_id: str | None = None
    ) -> dict[str, Any]:
        """POST /_internal/v1/customActivities: send any activity to the bot.

        The playground forwards the body verbatim (no defaults, no validation) and answers 200
        before the bot has it. The harness therefore deep-merges ``activity`` over the
        playground's template for the conversation (``conversation_id``, else
        ``activity["conversation"]["id"]``, else the default chat), adds channelData.tenant, and
        returns the activity actually sent. Bot replies to it show up in ``messages()``; the bot's
        HTTP status shows up in ``traffic()``.
        """
        if "type" not in activity:
            raise ValueError("activity needs a type")
        conv = (
            conversation_id
            or (activity.get("conversation") or {}).get("id")
            or self.conversation_id
        )
        base = await self.activity_template(conv)
        sent = _deep_merge(base, activity)
        sent.setdefault("channelData", {}).setdefault("tenant", {"id": self.cfg.tenant_id})
        sent.setdefault("locale", "en-US")
        await self._request("POST", "/_internal/v1/customActivities", json=sent)
        return sent

    # ---- meeting events (shapes as Teams sends them; the playground has no template) ------------
    def meeting_start_activity(
        self,
        *,
        meeting_id: str = MEETING_ID,
        title: str = "PEP meeting",
        join_url: str = "https://teams.microsoft.com/l/meetup-join/e2e",
        start_time: str | None = None,
    ) -> dict[str, Any]:
        return {
            "type": "event",
            "name": MEETING_START,
            "value": {
                "Id": meeting_id,
                "MeetingType": "Scheduled",
                "JoinUrl": join_url,
                "Title": title,
                "StartTime": start_time or _now_iso(),
            },
            "channelData": {
                "tenant": {"id": self.cfg.tenant_id},
                "source": None,
                "meeting": {"id": meeting_id},
            },
        }

    def meeting_end_activity(
        self,
        *,
        meeting_id: str = MEETING_ID,
        title: str = "PEP meeting",
        join_url: str = "https://teams.microsoft.com/l/meetup-join/e2e",
        end_time: str | None = None,
    ) -> dict[str, Any]:
        return {
            "type": "event",
            "name": MEETING_END,
            "value": {
                "Id": meeting_id,
                "MeetingType": "Scheduled",
                "JoinUrl": join_url,
                "Title": title,
                "EndTime": end_time or _now_iso(),
            },
            "channelData": {
                "tenant": {"id": self.cfg.tenant_id},
                "source": None,
                "meeting": {"id": meeting_id},
            },
        }

    def participants_activity(
        self,
        users: Iterable[PlaygroundUser],
        *,
        joined: bool = True,
        role: str = "Attendee",
        meeting_id: str = MEETING_ID,
    ) -> dict[str, Any]:
        members = [
            {
                "user": {
                    **u.account(),
                    "tenantId": self.cfg.tenant_id,
                    "objectId": u.aad_object_id,
                },
                "meeting": {"inMeeting": joined, "role": role},
            }
            for u in users
        ]
        return {
            "type": "event",
            "name": PARTICIPANT_JOIN if joined else PARTICIPANT_LEAVE,
            "value": {"members": members},
            "channelData": {
                "tenant": {"id": self.cfg.tenant_id},
                "source": None,
                "meeting": {"id": meeting_id},
            },
        }

    # ---- collected streams ------------------------------------------------------------------
    def messages(self, conversation_id: str | None = None) -> list[dict[str, Any]]:
        """Bot messages from the websocket, in arrival order, updates applied in place. Each is
        {"messageId", "timestamp", "from", "text"?, "textFormat"?, "attachments", "conversationId",
        ...}. The user's own messages are not streamed."""
        out = [copy.deepcopy(self._stream.by_id[m]) for m in self._stream.order]
        if conversation_id is not None:
            out = [m for m in out if m.get("conversationId") == conversation_id]
        return out

    def stream_events(self) -> list[dict[str, Any]]:
        """Raw conversation-stream items ({"action": createMessage|updateMessage|typing, ...})."""
        return copy.deepcopy(self._stream.events)

    def traffic(self) -> list[dict[str, Any]]:
        """Log-stream items. Those with "request" record one HTTP exchange: playground -> bot
        ({"from": "Microsoft 365 Agents Playground", "to": "User Application", "activityName",
        "request": {"body": <activity>}, "response": {"statusCode", "body"}}) or bot -> connector
        (from/to swapped). Others are plain text lines ({"displayText"})."""
        return copy.deepcopy(self._traffic)

    def activities_to_bot(self) -> list[dict[str, Any]]:
        """Activities the playground delivered to the bot, each with "_status" (bot's HTTP code)."""
        out = []
        for item in self._traffic:
            if item.get("to") == "User Application" and isinstance(item.get("request"), dict):
                act = copy.deepcopy(item["request"].get("body"))
                if isinstance(act, dict):
                    act["_status"] = (item.get("response") or {}).get("statusCode")
                    out.append(act)
        return out

    async def wait_for_delivery(
        self,
        predicate: Callable[[dict[str, Any]], bool],
        timeout: float = 10.0,
    ) -> dict[str, Any]:
        """The first activity delivered to the bot (see ``activities_to_bot``) satisfying
        ``predicate``. The log item is written when the bot's HTTP answer is back, i.e. after
        any replies the bot posted while handling it."""

        def probe() -> dict[str, Any] | None:
            for act in self.activities_to_bot():
                if predicate(act):
                    return act
            return None

        try:
            result: dict[str, Any] = await self._wait(probe, timeout, "")
            return result
        except TimeoutError:
            seen = [
                (a.get("type"), a.get("name"), a.get("_status")) for a in self.activities_to_bot()
            ]
            raise TimeoutError(f"no matching delivery in {timeout}s; seen: {seen[-30:]}") from None

    async def _wait(self, probe: Callable[[], Any], timeout: float, what: str) -> Any:
        deadline = asyncio.get_running_loop().time() + timeout
        async with self._changed:
            while True:
                found = probe()
                if found is not None:
                    return found
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0:
                    raise TimeoutError(what)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), remaining)

    async def wait_for_message(
        self,
        predicate: Callable[[dict[str, Any]], bool],
        timeout: float = 10.0,
        *,
        conversation_id: str | None = None,
    ) -> dict[str, Any]:
        """The newest collected bot message (updates applied) satisfying ``predicate``; waits for
        one to arrive. Raises TimeoutError listing what was seen."""

        def probe() -> dict[str, Any] | None:
            found: list[dict[str, Any]] = [
                m for m in self.messages(conversation_id) if predicate(m)
            ]
            return found[-1] if found else None

        try:
            result: dict[str, Any] = await self._wait(probe, timeout, "")
            return result
        except TimeoutError:
            seen = [message_text(m)[:200] for m in self.messages(conversation_id)]
            raise TimeoutError(f"no matching bot message in {timeout}s; seen: {seen}") from None

    async def wait_for_traffic(
        self,
        predicate: Callable[[dict[str, Any]], bool],
        timeout: float = 10.0,
    ) -> dict[str, Any]:
        """The first log-stream item satisfying ``predicate`` (see ``traffic``)."""

        def probe() -> dict[str, Any] | None:
            for item in self.traffic():
                if predicate(item):
                    return item
            return None

        try:
            result: dict[str, Any] = await self._wait(probe, timeout, "")
            return result
        except TimeoutError:
            seen = [(t.get("activityName"), t.get("displayText")) for t in self.traffic()]
            raise TimeoutError(f"no matching traffic in {timeout}s; seen: {seen[-30:]}") from None

    # ---- browser -----------------------------------------------------------------------------
    async def run_browser_script(
        self,
        steps: list[dict[str, Any]],
        *,
        timeout: float = 120.0,
        viewport: Mapping[str, int] | None = None,
        failure_screenshot: str | os.PathLike[str] | None = None,
        check: bool = True,
    ) -> list[dict[str, Any]]:
        """Run ``steps`` in headless chromium against this playground's UI (see
        tests/js/playground_driver.mjs for the step vocabulary). Returns one result dict per step
        that ran; raises BrowserScriptError on a failed step unless ``check=False``."""
        missing = _missing(browser=True)
        if missing:
            raise PlaygroundError("browser scripts need: " + "; ".join(missing))
        payload = {
            "baseUrl": self.base_url,
            "chromium": CHROMIUM,
            "steps": steps,
            "defaultTimeout": 15000,
            "viewport": dict(viewport or {"width": 1280, "height": 900}),
            "failureScreenshot": str(failure_screenshot) if failure_screenshot else None,
        }
        node = shutil.which("node") or "node"
        proc = await asyncio.create_subprocess_exec(
            node,
            str(DRIVER),
            cwd=str(TESTS_JS),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        try:
            out, err = await asyncio.wait_for(
                proc.communicate(json.dumps(payload).encode()), timeout
            )
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            out, err = await proc.communicate()
            results = _parse_results(out)
            raise BrowserScriptError(
                f"browser script timed out after {timeout}s",
                results,
                err.decode("utf-8", "replace"),
            ) from None
        finally:  # chromium runs in the driver's process group; leave nothing behind
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        results = _parse_results(out)
        stderr = err.decode("utf-8", "replace")
        if check and (
            proc.returncode != 0
            or not all(r.get("ok") for r in results)
            or len(results) < len(steps)
        ):
            raise BrowserScriptError(
                f"browser script failed (exit {proc.returncode})", results, stderr
            )
        return results


def _parse_results(out: bytes) -> list[dict[str, Any]]:
    results = []
    for line in out.decode("utf-8", "replace").splitlines():
        line = line.strip()
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                results.append(json.loads(line))
    return results
