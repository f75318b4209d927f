"""The world of the stateful meeting test: the real bot over HTTP with the fictional
sample authority, the people around Ada's PEP meeting, and what each of them receives.

    world = World(template, folder, authority)   # template: build_template(folder)
    await world.open()
    outcome = await world.message(HARRIET, MEETING_CHATS[0].id, "start pep")
    for seen in outcome.seen:       # who received which card, where, and how
        ...
    await world.close()

Everything real except Teams itself: the aiohttp app from bot.server.create_app,
activities signed by a local token authority, the local Bot Connector of
tests/support/stub_connector.py, SQLite migrated with store.migrate.upgrade.
Who may see which child, and which child's details a card shows:
tests/support/child_details.py; the machine itself:
tests/integration/test_meeting_state_machine.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from bot.demo import DEMO_USER_AAD_ID, load_demo_data
from bot.paperwork import form_renderer
from bot.server import DELIVERY, create_app
from bot.settings import Settings
from bot.wiring import Container, build_container
from pep_model.access import Actor
from pep_model.outbox import OutboxEntry
from pep_model.people import Assignment, Person, Role
from pep_model.pep import Pep
from pep_model.pupil_premium import ApprovalRecord
from store.migrate import upgrade
from tests.support.bot_auth import APP_ID, ISSUER, TokenAuthority
from tests.support.stub_connector import StubConnector
from tests.support.teams import BOT_ID, TENANT, activity
from tests.support.ticking_clock import TickingClock

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
MEETING_CHILD = "LCS100001"  # Ada Fenwick-Lowe, Nursery, Little Acorns (school 999101)
CARD = "application/vnd.microsoft.card.adaptive"
PERSONAL = "a:personal-"
TERM = "2026-autumn"  # the stub connector's personal chats: a:personal-<user id>


@dataclass(frozen=True)
class Member:
    """Someone in Teams: their ids, and the email the Bot Connector gives for them."""

    key: str
    name: str
    role: str
    user_id: str
    aad_id: str
    email: str

    @property
    def personal_chat(self) -> str:
        return f"{PERSONAL}{self.user_id}"


HARRIET = Member(
    "harriet",
    "Harriet Pemberton",
    "designated teacher",
    "29:harriet",
    DEMO_USER_AAD_ID,
    "h.pemberton@littleacorns.sch.example",
)
RACHEL = Member(
    "rachel",
    "Rachel Donnelly",
    "social worker",
    "29:rachel",
    "aad-rachel",
    "rachel.donnelly@northvale.example",
)
MAUREEN = Member(
    "maureen",
    "Maureen Ashdown",
    "carer",
    "29:maureen",
    "aad-maureen",
    "maureen.ashdown@carers.example",
)
ADA = Member(
    "ada", "Ada Fenwick-Lowe", "child", "29:ada", "aad-ada", "ada.fenwick-lowe@pupils.example"
)
BETHAN = Member(
    "bethan",
    "Bethan Carrow",
    "Virtual School officer",
    "29:bethan",
    "aad-bethan",
    "bethan.carrow@northvale.example",
)
SUPPORT = Member(
    "support",
    "Social Care Business Support",
    "Business Support",
    "29:support",
    "aad-support",
    "business.support@northvale.example",
)
STRANGER = Member(
    "stranger",
    "Sam Elsewhere",
    "unknown person",
    "29:stranger",
    "aad-stranger",
    "someone@elsewhere.example",
)
# after the meeting (examples/staff.csv): Ada's school's PEP coordinator and advisor
LUCY = Member(
    "lucy",
    "Lucy Harrowby",
    "PEP coordinator",
    "29:lucy",
    "aad-lucy",
    "lucy.harrowby@northvale.example",
)
GWEN = Member(
    "gwen",
    "Gwen Talbot-Price",
    "education advisor",
    "29:gwen",
    "aad-gwen",
    "gwen.talbot-price@northvale.example",
)
MEMBERS: tuple[Member, ...] = (HARRIET, RACHEL, MAUREEN, ADA, BETHAN, SUPPORT, STRANGER, LUCY, GWEN)


@dataclass(frozen=True)
class MeetingChat:
    """A Teams meeting's group chat; everyone in MEMBERS is in it."""

    id: str
    meeting_id: str


MEETING_CHATS = (
    MeetingChat("19:meeting_one@thread.v2", "meeting-one"),
    MeetingChat("19:meeting_two@thread.v2", "meeting-two"),
)
CHAT_IDS = frozenset(c.id for c in MEETING_CHATS)


@dataclass(frozen=True)
class Seen:
    """One thing a person's Teams shows them: a card, another attachment or a text.

    how: "posted" (a new message), "updated" (a message changed in place) or "answer"
    (the card Teams shows, to the person who pressed a button, in place of that card).
    shared: it is in a group chat, in front of everyone there."""

    member: Member | None  # None: a conversation of nobody in MEMBERS
    conversation: str
    message_id: str
    payload: dict[str, Any]
    how: str
    shared: bool


@dataclass
class Outcome:
    """What one activity caused."""

    status: int  # the HTTP status of /api/messages
    answer: dict[str, Any] | None  # the invoke answer's body, for an invoke
    seen: list[Seen] = field(default_factory=list)
    tracebacks: list[str] = field(default_factory=list)  # ERROR logs with an exception

    @property
    def card(self) -> dict[str, Any] | None:
        """The card the invoke answered with, if it answered with one."""
        if self.answer and self.answer.get("type") == CARD:
            value = self.answer.get("value")
            return value if isinstance(value, dict) else None
        return None

    @property
    def answer_status(self) -> int:
        return int((self.answer or {}).get("statusCode") or 200)


async def build_template(folder: Path) -> Path:
    """The sample authority in a SQLite file, copied for each run of the machine; Ada
    herself is a person on record (the roster holds no children's emails)."""
    database = folder / "template.sqlite3"
    settings = _settings(database, "http://127.0.0.1:9/unused", folder)
    await upgrade(settings.database_url)
    container = build_container(settings, clock=TickingClock())
    await load_demo_data(container, EXAMPLES)
    async with container.uow() as uow:
        await uow.people.upsert(Person(email=ADA.email, name=ADA.name))
        await uow.people.assign(Assignment(ADA.email, Role.CHILD, child_id=MEETING_CHILD))
        await uow.commit()
    await container.close()
    return database


def _settings(database: Path, authority_url: str, folder: Path) -> Settings:
    return Settings(
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{database}?timeout=1.0",
        app_id=APP_ID,
        openid_metadata_url=authority_url,
        token_issuer=ISSUER,
        allowed_tenants=[TENANT],
        forms_dir=folder / "forms",
        outbox_dir=folder / "outbox",
        jobs_enabled=False,
        card_update_coalesce_seconds=0,
    )


class World:
    """One run of the machine: a fresh copy of the database, the bot, its connector."""

    def __init__(self, template: Path, folder: Path, authority: TokenAuthority) -> None:
        self.template = template
        self.folder = folder
        self.authority = authority  # started by the caller: its keys take a while to make
        self.connector = StubConnector()
        self._logs = _TracebackLog()

    async def open(self) -> None:
        await self.connector.__aenter__()
        self.connector.members.update(
            {m.user_id: {"id": m.user_id, "email": m.email, "name": m.name} for m in MEMBERS}
        )
        # everyone is in the call: the participant API says so for the lead
        self.connector.participants.update(
            {m.aad_id: {"meeting": {"inMeeting": True}} for m in MEMBERS}
        )
        self.folder.mkdir(parents=True, exist_ok=True)
        database = self.folder / "pep.sqlite3"
        shutil.copyfile(self.template, database)
        settings = _settings(database, self.authority.metadata_url, self.folder).model_copy(
            update={"download_hosts": [self.connector.base_url.split("//", 1)[1]]}
        )
        self.container: Container = build_container(settings, clock=TickingClock())
        self.server = TestServer(create_app(settings, self.container), host="127.0.0.1")
        await self.server.start_server()
        self.http = aiohttp.ClientSession()
        self.url = str(self.server.make_url("/api/messages"))
        self.headers = {
            "Content-Type": "application/json",
            **self.authority.header(self.connector.base_url),
        }
        logging.getLogger().addHandler(self._logs)

    async def close(self) -> None:
        logging.getLogger().removeHandler(self._logs)
        await self.http.close()
        await self.server.close()
        await self.container.close()
        await self.connector.__aexit__(None, None, None)

    # ---- what people do ---------------------------------------------------------

    async def message(
        self, member: Member, conversation: str, text: str, *, mention: bool = True
    ) -> Outcome:
        """Typed text; in a group chat, @mentioning the bot unless mention=False."""
        if conversation in CHAT_IDS and mention:
            tag = "<at>PEP Companion</at>"
            return await self.send(
                member,
                conversation,
                text=f"{tag} {text}",
                entities=[
                    {
                        "type": "mention",
                        "text": tag,
                        "mentioned": {"id": BOT_ID, "name": "PEP Companion"},
                    }
                ],
            )
        return await self.send(member, conversation, text=text)

    async def invoke(
        self, member: Member, conversation: str, message_id: str, value: dict[str, Any]
    ) -> Outcome:
        """A card button pressed (or a card refreshed) on message `message_id`."""
        return await self.send(
            member,
            conversation,
            type="invoke",
            name="adaptiveCard/action",
            value=value,
            replyToId=message_id,
        )

    async def upload(self, member: Member, name: str, content: bytes) -> Outcome:
        """A file sent to the bot in the member's personal chat."""
        return await self.send(
            member,
            member.personal_chat,
            attachments=[self.connector.file_attachment(name, content)],
        )

    async def meeting_event(
        self, chat: MeetingChat, name: str, value: dict[str, Any] | None = None
    ) -> Outcome:
        """An event Teams sends about the meeting (start, end, participants joining)."""
        return await self.send(HARRIET, chat.id, type="event", name=name, value=value or {})

    async def send(self, member: Member, conversation: str, **kw: Any) -> Outcome:
        """Any activity from the member, signed; waits for every post and update it
        caused to reach the connector."""
        chat = next((c for c in MEETING_CHATS if c.id == conversation), None)
        body = activity(
            self.connector.base_url,
            conversation,
            member.user_id,
            member.aad_id,
            user_name=member.name,
            conversation_type="groupChat" if chat else "personal",
            meeting_id=chat.meeting_id if chat else "",
            **kw,
        )
        posted_before = len(self.connector.posted)
        with self._logs.collect() as tracebacks:
            async with self.http.post(
                self.url, data=json.dumps(body), headers=self.headers
            ) as response:
                status, text = response.status, await response.text()
            await self.server.app[DELIVERY].idle()
            await asyncio.sleep(0)
        answer = _json(text) if body["type"] == "invoke" else None
        outcome = Outcome(
            status, answer if isinstance(answer, dict) else None, tracebacks=list(tracebacks)
        )
        if outcome.answer is not None:
            outcome.seen.append(
                Seen(
                    member,
                    conversation,
                    str(kw.get("replyToId", "")),
                    _answer_payload(outcome.answer),
                    "answer",
                    shared=False,
                )
            )
        for posted in self.connector.posted[posted_before:]:
            outcome.seen.extend(
                _deliveries(posted.conversation_id, posted.activity_id, posted.body, posted.method)
            )
        return outcome

    # ---- reading the store --------------------------------------------------------

    async def stored(self, pep_id: str) -> Pep | None:
        async with self.container.uow() as uow:
            return await uow.peps.get(pep_id)

    async def audit_actions(self, pep_id: str) -> list[str]:
        async with self.container.uow() as uow:
            return [e.action for e in await uow.audit.for_pep(pep_id)]

    async def pp_decisions(self, pep_id: str) -> dict[str, ApprovalRecord]:
        """Each decided PP+ request of the PEP, as the store holds its decision."""
        async with self.container.uow() as uow:
            return {
                s.request.id: s.decision
                for s in await uow.pupil_premium.for_pep(pep_id)
                if s.decision is not None
            }

    async def qa_rounds(self, pep_id: str) -> int:
        async with self.container.uow() as uow:
            return len(await uow.qa.rounds(pep_id))

    async def outbox(self) -> list[OutboxEntry]:
        """Every message the bot queued to send by e-mail."""
        async with self.container.uow() as uow:
            return list(await uow.outbox.find())

    async def meeting_held(
        self, child_id: str, raw: dict[str, dict[str, Any]], meeting: dict[str, dict[str, Any]]
    ) -> None:
        """Ada's PEP written and its meeting held and finished by Harriet through the
        PEP service (what many steps of the machine would do): it awaits its return."""
        service = self.container.service
        async with self.container.uow() as uow:
            person = await uow.people.get(HARRIET.email)
            assert person is not None
            lead = Actor(person=person, assignments=tuple(await uow.people.assignments(person.id)))
        pep = await service.open_pep(child_id, TERM)
        for values in (raw, None, meeting):
            if values is None:
                await service.start_meeting(pep.id, lead)
                continue
            for key, section in values.items():
                version = (await service.get(pep.id, lead)).pep.version
                saved = await service.record_section(pep.id, key, section, lead, version)
                assert saved.saved, (key, saved.errors)
        _, problems = await service.finish_meeting(pep.id, lead)
        assert not problems, problems

    async def word_form(self, pep_id: str) -> tuple[str, bytes] | None:
        """The PEP's Word form as the school would be sent it today (None: no PEP)."""
        render = form_renderer(self.container.service, self.container.settings.authority_name)
        async with self.container.uow() as uow:
            pep = await uow.peps.get(pep_id)
            return None if pep is None else await render(uow, pep)


def member_of(conversation_member: str) -> Member | None:
    """The member a personal chat belongs to (the bot opens it by Teams or Entra id)."""
    return next((m for m in MEMBERS if conversation_member in (m.user_id, m.aad_id)), None)


def _deliveries(
    conversation: str, message_id: str, body: dict[str, Any], method: str
) -> Iterator[Seen]:
    payloads = [
        a.get("content") if a.get("contentType") == CARD else a
        for a in body.get("attachments") or []
    ]
    if body.get("text"):
        payloads.append({"text": body["text"]})
    how = "posted" if method == "POST" else "updated"
    if conversation.startswith(PERSONAL):
        owners: tuple[Member | None, ...] = (member_of(conversation[len(PERSONAL) :]),)
    elif conversation in CHAT_IDS:
        owners = MEMBERS
    else:
        owners = (None,)
    for payload in payloads:
        for owner in owners:
            yield Seen(
                owner,
                conversation,
                message_id,
                payload or {},
                how,
                shared=not conversation.startswith(PERSONAL),
            )


def _answer_payload(answer: dict[str, Any]) -> dict[str, Any]:
    value = answer.get("value")
    if answer.get("type") == CARD and isinstance(value, dict):
        return value
    if isinstance(value, dict):
        return {"text": str(value.get("message", ""))}
    return {"text": str(value or "")}


def _json(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


class _TracebackLog(logging.Handler):
    """ERROR log records carrying an exception: something escaped a handler."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self._sink: list[str] | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self._sink is not None and record.exc_info:
            self._sink.append(
                f"{record.name}: {record.getMessage()} "
                f"({record.exc_info[0].__name__ if record.exc_info[0] else ''})"
            )

    @contextmanager
    def collect(self) -> Iterator[list[str]]:
        self._sink = []
        try:
            yield self._sink
        finally:
            self._sink = None
