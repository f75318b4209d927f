"""What the bot does with each command, card verb and meeting event.

No botbuilder here: a Turn comes in, a Reply goes out, so every route is testable on
its own. bot/teams_bot.py adapts botbuilder's TurnContext to this.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from typing import Any

import cards
from bot.card_data import BadRequest, parse_action
from bot.files import FILE_DOWNLOAD
from bot.identity import IdentityResolver
from bot.meeting_routes import MeetingRoutes
from bot.personal_routes import PersonalRoutes
from bot.qa_routes import COMMANDS as QA_COMMANDS
from bot.qa_routes import QaRoutes
from bot.schedule_routes import COMMANDS as SCHEDULE_COMMANDS
from bot.schedule_routes import ScheduleRoutes
from bot.turn import CardHandler, Outgoing, Reply, Turn, command_text
from cards import lists, walkthrough
from pep_model.errors import IllegalTransition, NotAllowed, NotFound, StoreUnavailable

log = logging.getLogger(__name__)

BUSY = "PEP Companion could not reach the PEP records just now (they may be busy)."
BUSY_CARD = BUSY + " What you typed is still on the card: try again in a moment."
BUSY_MESSAGE = BUSY + " Please try again in a moment."


COMMANDS: tuple[tuple[str, str], ...] = (
    ("help", "What I can do"),
    ("my peps", "This term's PEPs for the children you work with, and what each still needs"),
    ("open LCS-ID", "Open a child's PEP to complete it section by section"),
    ("start pep", "In the meeting chat: begin the walkthrough of the child's PEP"),
    ("Word form", "Send me a completed PEP Word form as a file and I'll read it in"),
    *SCHEDULE_COMMANDS,
    *QA_COMMANDS,
)



class Router:
    def __init__(self, identity: IdentityResolver,
                 meeting: MeetingRoutes, personal: PersonalRoutes,
                 qa: QaRoutes | None = None,
                 schedule: ScheduleRoutes | None = None) -> None:
        self.identity = identity
        self.meeting = meeting
        self.personal = personal
        self.qa = qa
        self.schedule = schedule
        self._seen_invokes: OrderedDict[str, Reply] = OrderedDict()
        self.verbs: dict[str, CardHandler] = {
            walkthrough.SAVE: meeting.save_section,
            walkthrough.NAV: meeting.navigate,
            walkthrough.FINISH: meeting.finish,
            walkthrough.ADD_ATTENDEE: meeting.add_attendee,
            walkthrough.REFRESH: meeting.refresh,
            lists.START: meeting.start_from_chooser,
            lists.OPEN: personal.open_pep,
            lists.SECTION_OPEN: personal.open_section,
            lists.READINESS: personal.readiness,
            lists.LIST: personal.list_peps,
        }
        for extra in (qa, schedule):
            if extra is not None:
                self.verbs.update(extra.verbs())

    async def handle(self, turn: Turn) -> Reply:
        try:
            if turn.type == "message":
                return await self.on_message(turn)
            if turn.type == "invoke" and turn.name == "adaptiveCard/action":
                return await self.on_card_action(turn)
            if turn.type == "invoke" and turn.name == "fileConsent/invoke":
                actor = await self.identity.resolve(turn)
                if self.qa and (reply := await self.qa.file_consent(turn, actor)):
                    return reply
                return await self.personal.file_consent(turn, actor)
            if turn.type == "event":
                return await self.meeting.on_event(turn)
            if turn.type == "conversationUpdate":
                if self.schedule and (reply := await self.schedule.on_installed(turn)):
                    return reply
                return self.on_installed(turn)
            if turn.type == "invoke":
                return Reply(invoke_status=400, invoke_message=f"Unknown invoke {turn.name!r}.")
            return Reply()
        except NotAllowed as exc:
            log.info("refused %s for user %s: %s", turn.type, turn.aad_object_id, exc)
            return self._answer(turn, "Not available", str(exc))
        except (NotFound, IllegalTransition, BadRequest) as exc:
            return self._answer(turn, "Cannot do that", str(exc))
        except StoreUnavailable as exc:
            log.warning("store unavailable for %s %s: %s", turn.type, turn.activity_id,
                        exc.__cause__ or exc)
            if turn.type == "invoke":
                # an error answer: Teams shows it on the card and keeps the card, with
                # whatever was typed in it, as it is
                return Reply(invoke_status=503, invoke_message=BUSY_CARD)
            return Reply(messages=[Outgoing(card=cards.message_card(
                "Try again in a moment", BUSY_MESSAGE, style="attention"))])

    def _answer(self, turn: Turn, title: str, text: str) -> Reply:
        card = cards.message_card(title, text, style="attention")
        if turn.type == "invoke":
            return Reply(invoke_card=card)
        return Reply(messages=[Outgoing(card=card)])

    def on_installed(self, turn: Turn) -> Reply:
        if turn.bot_added:
            return Reply(messages=[Outgoing(card=cards.help_card(COMMANDS))])
        return Reply()

    async def on_message(self, turn: Turn) -> Reply:
        actor = await self.identity.resolve(turn)
        if turn.personal and _file_attachments(turn):
            return await self.personal.upload(turn, actor)
        command = command_text(turn.text)
        if command in ("", "help", "hi", "hello"):
            return Reply(messages=[Outgoing(card=cards.help_card(COMMANDS))])
        if actor.person is None:
            return Reply(messages=[Outgoing(card=cards.message_card(
                "Not available",
                "I can't find you in this authority's PEP records, so I can't show you "
                "any PEPs. Please ask the Virtual School to add you.", style="attention"))])
        if self.schedule and (reply := await self.schedule.command(turn, actor, turn.text)):
            return reply
        if command == "start pep":
            return await self.meeting.start_command(turn, actor)
        if command in ("my peps", "peps", "list"):
            return await self.personal.my_peps(turn, actor)
        match = re.fullmatch(r"open\s+(\S+)", command)
        if match:
            return await self.personal.open_child(turn, actor, match.group(1).upper())
        if self.qa and (reply := await self.qa.command(turn, actor, turn.text)):
            return reply
        return Reply(messages=[Outgoing(card=cards.message_card(
            "Sorry, I didn't understand", "Type 'help' to see what I can do."))])

    async def on_card_action(self, turn: Turn) -> Reply:
        verb, data = parse_action(turn.value)
        handler = self.verbs.get(verb)
        if handler is None:
            return Reply(invoke_status=400, invoke_message=f"Unknown action {verb!r}.")
        replay_key = f"{turn.conversation_id}|{turn.activity_id}" if turn.activity_id else ""
        if replay_key and replay_key in self._seen_invokes:
            log.info("replayed invoke %s answered from memory", turn.activity_id)
            return self._seen_invokes[replay_key]
        actor = await self.identity.resolve(turn)
        if actor.person is None and not actor.system:
            return self._answer(turn, "Not available",
                                "I can't find you in this authority's PEP records.")
        reply = await handler(turn, actor, data)
        if replay_key:
            self._seen_invokes[replay_key] = Reply(invoke_card=reply.invoke_card,
                                                   invoke_status=reply.invoke_status,
                                                   invoke_message=reply.invoke_message)
            while len(self._seen_invokes) > 2000:
                self._seen_invokes.popitem(last=False)
        return reply


def _file_attachments(turn: Turn) -> list[dict[str, Any]]:
    return [a for a in turn.attachments
            if a.get("contentType") == FILE_DOWNLOAD]

