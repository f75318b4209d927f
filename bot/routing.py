"""What the bot does with each command, card verb and meeting event.

No botbuilder here: a Turn comes in, a Reply goes out, so every route is testable on
its own. bot/teams_bot.py adapts botbuilder's TurnContext to this.
"""

from __future__ import annotations

import logging
from typing import Any

import cards
from bot import commands
from bot.card_data import BadRequest, parse_action
from bot.commands import Command, CommandRun, allowed_in, where_of
from bot.files import FILE_DOWNLOAD
from bot.identity import IdentityResolver
from bot.invoke_replay import InvokeReplays, needs_record
from bot.meeting_routes import MeetingRoutes
from bot.personal_routes import PersonalRoutes
from bot.qa_routes import QaRoutes
from bot.schedule_routes import ScheduleRoutes
from bot.text_routes import TextRoutes
from bot.turn import CardHandler, Outgoing, Reply, Turn, command_text
from bot.upload_limits import MAX_FORMS_PER_MESSAGE, too_many_forms_card
from cards import lists, meeting_start, walkthrough
from pep_model.access import Actor
from pep_model.errors import (
    CardOutOfStep,
    ConflictError,
    IllegalTransition,
    NotAllowed,
    NotFound,
    StoreUnavailable,
)

log = logging.getLogger(__name__)

BUSY = "PEP Companion could not reach the PEP records just now (they may be busy)."
BUSY_CARD = BUSY + " What you typed is still on the card: try again in a moment."
BUSY_MESSAGE = BUSY + " Please try again in a moment."
CHANGED = "Someone changed this PEP at the same moment, so nothing was saved."
CHANGED_CARD = CHANGED + " What you typed is still on the card: press the button again."
CHANGED_MESSAGE = CHANGED + " Please try again."


class Router:
    def __init__(
        self,
        identity: IdentityResolver,
        meeting: MeetingRoutes,
        personal: PersonalRoutes,
        qa: QaRoutes | None = None,
        schedule: ScheduleRoutes | None = None,
        *,
        replays: InvokeReplays | None = None,
    ) -> None:
        self.identity = identity
        self.meeting = meeting
        self.personal = personal
        self.qa = qa
        self.schedule = schedule
        self.replays = replays
        self.verbs: dict[str, CardHandler] = {
            walkthrough.SAVE: meeting.save_section,
            walkthrough.NAV: meeting.navigate,
            walkthrough.FINISH: meeting.finish,
            walkthrough.ADD_ATTENDEE: meeting.add_attendee,
            walkthrough.REFRESH: meeting.refresh,
            lists.START: meeting.start_from_chooser,
            meeting_start.CHOOSE: meeting.choose,
            meeting_start.MOVE: meeting.move_here,
            lists.OPEN: personal.open_pep,
            lists.SECTION_OPEN: personal.open_section,
            lists.READINESS: personal.readiness,
            lists.LIST: personal.list_peps,
            **personal.verbs(),  # the answer to an uploaded Word form
            **TextRoutes(meeting.service, meeting).verbs(),  # "Show all"
        }
        self.commands: dict[Command, CommandRun] = {
            commands.MY_PEPS: personal.my_peps_command,
            commands.OPEN: personal.open_command,
            commands.START: meeting.start_command,
        }
        for extra in (qa, schedule):
            if extra is not None:
                self.verbs.update(extra.verbs())
                self.commands.update(extra.commands())

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
        except (NotFound, IllegalTransition, BadRequest, CardOutOfStep) as exc:
            return self._answer(turn, "Cannot do that", str(exc))
        except StoreUnavailable as exc:
            log.warning(
                "store unavailable for %s %s: %s", turn.type, turn.activity_id, exc.__cause__ or exc
            )
            if turn.type == "invoke":
                # an error answer: Teams shows it on the card and keeps the card, with
                # whatever was typed in it, as it is
                return Reply(invoke_status=503, invoke_message=BUSY_CARD)
            return Reply(
                messages=[
                    Outgoing(
                        card=cards.message_card(
                            "Try again in a moment", BUSY_MESSAGE, style="attention"
                        )
                    )
                ]
            )
        except ConflictError:
            # a change that raced another and was not retried where it happened: nothing
            # was saved; the card (and what was typed in it) stays as it is
            log.info("conflict for %s %s", turn.type, turn.activity_id)
            if turn.type == "invoke":
                return Reply(invoke_status=409, invoke_message=CHANGED_CARD)
            return Reply(
                messages=[
                    Outgoing(
                        card=cards.message_card("Try again", CHANGED_MESSAGE, style="attention")
                    )
                ]
            )

    def _answer(self, turn: Turn, title: str, text: str) -> Reply:
        card = cards.message_card(title, text, style="attention")
        if turn.type == "invoke":
            return Reply(invoke_card=card)
        return Reply(messages=[Outgoing(card=card)])

    def on_installed(self, turn: Turn) -> Reply:
        if turn.bot_added:
            return Reply(messages=[Outgoing(card=self._help(turn, None))])
        return Reply()

    def _help(self, turn: Turn, actor: Actor | None) -> dict[str, Any]:
        return cards.help_card(commands.help_lines(turn, actor or NOBODY))

    async def on_message(self, turn: Turn) -> Reply:
        if not turn.personal and not turn.mentions_bot:
            return Reply()  # a conversation among people in a shared chat: not for us
        actor = await self.identity.resolve(turn)
        if turn.personal and (files := _file_attachments(turn)):
            if actor.person is None:  # nothing is downloaded for someone not on record
                return commands.say("Not available", NOT_ON_RECORD, style="attention")
            if len(files) > MAX_FORMS_PER_MESSAGE:  # nothing downloaded either
                return Reply(messages=[Outgoing(card=too_many_forms_card(len(files)))])
            return await self.personal.upload(turn, actor)
        words = command_text(turn.text)
        if commands.HELP.pattern.fullmatch(words):
            return Reply(messages=[Outgoing(card=self._help(turn, actor))])
        if actor.person is None:
            return commands.say("Not available", NOT_ON_RECORD, style="attention")
        if self.schedule is not None:
            await self.schedule.remember(turn, actor)
        return await commands.dispatch(self.commands, turn, actor, words)

    async def on_card_action(self, turn: Turn) -> Reply:
        verb, data = parse_action(turn.value)
        handler = self.verbs.get(verb)
        if handler is None:
            return Reply(invoke_status=400, invoke_message=f"Unknown action {verb!r}.")
        if not allowed_in(where_of(handler), turn):
            return Reply(invoke_card=commands.personal_only_card())

        async def run() -> Reply:
            actor = await self.identity.resolve(turn)
            if actor.person is None and not actor.system:
                return self._answer(
                    turn, "Not available", "I can't find you in this authority's PEP records."
                )
            return await handler(turn, actor, data)

        # a retried invoke (same activity id), on this instance or another, is answered
        # from the database without running again (bot/invoke_replay.py)
        if self.replays is None or not needs_record(handler):
            return await run()
        return await self.replays.once(turn, run)


NOT_ON_RECORD = (
    "I can't find you in this authority's PEP records, so I can't show you any "
    "PEPs. Please ask the Virtual School to add you."
)
NOBODY = Actor(person=None)


def _file_attachments(turn: Turn) -> list[dict[str, Any]]:
    return [a for a in turn.attachments if a.get("contentType") == FILE_DOWNLOAD]
