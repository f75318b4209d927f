"""Where the bot may answer, and the typed commands — declared once, checked in one place.

Every typed command and every card verb declares *where* its answer may appear:

- ``PERSONAL`` — it shows a child's details (names, lists, PEP content), so it answers
  only in a one-to-one chat with the person. This is the default: a verb nobody
  thought about is private.
- ``SHARED`` — it belongs in a group or meeting chat (``start pep``).
- ``CHANNEL`` — it belongs in a Teams channel (``virtual school alerts here``).
- ``ANYWHERE`` — its answer carries no child data for others: help, and the card verbs
  whose answers Teams shows only to the person who pressed the button (an
  ``adaptiveCard/action`` answer replaces the card for that person alone) and whose
  updates to the shared message carry no child data.

The Router (bot/routing.py) asks :func:`allowed_in` before it runs anything; the Teams
command menu in the app manifest (bot/app_package.py) is built from the same table.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

import cards
from bot.turn import Outgoing, Reply, Turn
from cards.messages import MessageStyle
from pep_model.access import Actor
from pep_model.people import Role


class Where(StrEnum):
    PERSONAL = "personal"
    SHARED = "shared"
    CHANNEL = "channel"
    ANYWHERE = "anywhere"


def where_turn_is(turn: Turn) -> Where:
    """The kind of conversation an activity came from."""
    if turn.personal:
        return Where.PERSONAL
    return Where.CHANNEL if turn.conversation_type == "channel" else Where.SHARED


def allowed_in(where: Where, turn: Turn) -> bool:
    if where is Where.ANYWHERE:
        return True
    here = where_turn_is(turn)
    if where is Where.SHARED:  # a channel is shared too
        return here is not Where.PERSONAL
    return here is where


H = TypeVar("H", bound=Callable[..., Any])


def answers(where: Where) -> Callable[[H], H]:
    """Declare where a card verb's handler may answer (default: PERSONAL)."""

    def mark(handler: H) -> H:
        handler.__pep_where__ = where  # type: ignore[attr-defined]
        return handler

    return mark


def where_of(handler: Callable[..., Any]) -> Where:
    where = getattr(handler, "__pep_where__", None)
    return where if isinstance(where, Where) else Where.PERSONAL


CommandRun = Callable[[Turn, Actor, "re.Match[str]"], Awaitable[Reply]]


@dataclass(frozen=True)
class Command:
    """One typed command: what people type (``pattern``, matched against the
    lower-cased, single-spaced text), where it may answer, and who it is for."""

    usage: str  # as shown in help and the Teams command menu
    description: str
    pattern: re.Pattern[str]
    where: Where = Where.PERSONAL
    roles: frozenset[Role] = field(default_factory=frozenset)  # empty: everyone on record
    audience: str = ""  # "PEP coordinators": who the command is for, in words
    needs_person: bool = True  # only for people in the authority's records
    in_menu: bool = True  # offered in Teams' command menu

    def is_for(self, actor: Actor) -> bool:
        return actor.system or not self.roles or bool(self.roles & actor.roles)


def _command(
    usage: str,
    description: str,
    pattern: str,
    *,
    where: Where = Where.PERSONAL,
    roles: Iterable[Role] = (),
    audience: str = "",
    needs_person: bool = True,
    in_menu: bool = True,
) -> Command:
    return Command(
        usage,
        description,
        re.compile(pattern),
        where,
        frozenset(roles),
        audience,
        needs_person,
        in_menu,
    )


_LEADS = (Role.DESIGNATED_TEACHER, Role.PEP_LEAD, Role.SOCIAL_WORKER)
_VIRTUAL_SCHOOL = (Role.VIRTUAL_SCHOOL_OFFICER, Role.VIRTUAL_SCHOOL_HEAD)

# ---- the catalogue: every command the bot understands, in the order help shows them --

HELP = _command(
    "help",
    "What I can do",
    r"(?:help(?: me| please)?|hi|hello|\?|)",
    where=Where.ANYWHERE,
    needs_person=False,
)
MY_PEPS = _command(
    "my peps",
    "This term's PEPs for the children you work with, and what each still needs",
    r"(?:my )?peps?|list|my pep list",
)
OPEN = _command(
    "open LCS-ID",
    "Open a child's PEP to complete it section by section",
    r"open(?: pep)?(?: (\S+))?",
    in_menu=False,
)  # 'my peps' has Open buttons
START = _command(
    "start pep",
    "In the PEP meeting's chat: walk everyone through the PEP",
    r"start(?: the)?(?: pep)?(?: meeting)?",
    where=Where.SHARED,
    roles=_LEADS,
    audience="designated teachers, PEP leads and social workers",
)
SCHEDULE = _command(
    "schedule pep",
    "Social workers: schedule, move or cancel a child's PEP meeting",
    r"schedule(?: (?:a )?pep(?: meeting)?)?(?: (\S+))?",
    roles=(Role.SOCIAL_WORKER,),
    audience="social workers",
)
RETURN = _command(
    "return pep LCS-ID",
    "PEP leads: send the final PEP to Business Support",
    r"return(?: pep)?(?: (\S+))?",
    roles=_LEADS,
    audience="designated teachers, PEP leads and social workers",
)
CHECK = _command(
    "check my pep",
    "Designated teachers: the quality checks on your PEP before the meeting",
    r"check(?: my)? peps?(?: (\S+))?",
    roles=_LEADS,
    audience="designated teachers, PEP leads and social workers",
)
QA = _command(
    "qa",
    "PEP coordinators: returned PEPs waiting for quality assurance",
    r"qa|my qa|qa queue|quality assurance",
    roles=(Role.PEP_COORDINATOR,),
    audience="PEP coordinators",
)
PP_SCHEDULE = _command(
    "pp+ schedule",
    "Virtual School: the end-of-term Pupil Premium Plus payment schedule",
    r"(?:pp\+?|pupil premium(?: plus)?|payment)\s+schedule(?:\s+(\S+))?",
    roles=_VIRTUAL_SCHOOL,
    audience="the Virtual School",
)
PP = _command(
    "pp+",
    "Education advisors: Pupil Premium Plus requests waiting for you",
    r"pp\+?|my pp\+|pupil premium(?: plus)?|pp\+ requests",
    roles=(Role.EDUCATION_ADVISOR,),
    audience="education advisors",
)
OVERVIEW = _command(
    "overview",
    "Virtual School: this term's PEPs, QA grades and PP+ at a glance",
    r"overview(?:\s+(\S+))?",
    roles=_VIRTUAL_SCHOOL,
    audience="the Virtual School",
)
OVERDUE = _command(
    "overdue returns",
    "Virtual School and Business Support: PEPs not returned within the deadline",
    r"overdue(?: returns)?",
    roles=(*_VIRTUAL_SCHOOL, Role.BUSINESS_SUPPORT),
    audience="the Virtual School and Business Support",
)
ALERTS_HERE = _command(
    "virtual school alerts here",
    "In the Virtual School's channel: post PEP alerts here",
    r"virtual school alerts here",
    where=Where.CHANNEL,
    roles=_VIRTUAL_SCHOOL,
    audience="the Virtual School",
)

CATALOGUE: tuple[Command, ...] = (
    HELP,
    MY_PEPS,
    OPEN,
    START,
    SCHEDULE,
    RETURN,
    CHECK,
    QA,
    PP_SCHEDULE,
    PP,
    OVERVIEW,
    OVERDUE,
    ALERTS_HERE,
)
# not a command, but what people need to know in their personal chat
WORD_FORM_HELP = ("Word form", "Send me a completed PEP Word form as a file and I'll read it in")


def find(words: str) -> tuple[Command, re.Match[str]] | None:
    for c in CATALOGUE:
        match = c.pattern.fullmatch(words)
        if match:
            return c, match
    return None


def near_miss(words: str) -> Command | None:
    """The command someone probably meant by the same first word ('my pep foo',
    'schedule the thing'); None when nothing is close."""
    first = words.split(" ", 1)[0]
    for c in CATALOGUE:
        if c is not HELP and first == c.usage.split(" ", 1)[0]:
            return c
    return None


def help_lines(turn: Turn, actor: Actor) -> list[tuple[str, str]]:
    """(usage, description) of the commands this person can use in this conversation."""
    lines = [
        (c.usage, c.description)
        for c in CATALOGUE
        if c is not HELP and allowed_in(c.where, turn) and (actor.person is None or c.is_for(actor))
    ]
    if turn.personal:
        lines.append(WORD_FORM_HELP)
    return lines


def menu(scope: Where, limit: int = 10) -> list[dict[str, str]]:
    """The Teams command menu for one scope (Teams lists at most 10 a scope)."""
    items = [
        {"title": c.usage, "description": c.description[:128]}
        for c in CATALOGUE
        if c.in_menu and c.where in (scope, Where.ANYWHERE)
    ]
    return items[:limit]


# ---- running a command --------------------------------------------------------------

PERSONAL_ONLY_TEXT = (
    "This shows children's details, so I only show it in a one-to-one chat with you."
)


def personal_only_card() -> dict[str, Any]:
    return cards.message_card("Ask me in a personal chat", PERSONAL_ONLY_TEXT, style="attention")


def say(title: str, text: str, *, style: MessageStyle = "default") -> Reply:
    return Reply(messages=[Outgoing(card=cards.message_card(title, text, style=style))])


async def dispatch(
    table: Mapping[Command, CommandRun], turn: Turn, actor: Actor, words: str
) -> Reply:
    """Run the command the words name, if it may answer here and is this person's;
    otherwise say why not (or what they probably meant)."""
    found = find(words)
    if found is None or found[0] not in table:
        meant = near_miss(words)
        if meant is not None and meant in table:
            return say(
                "Did you mean …?",
                f"Type '{meant.usage}': {meant.description}. "
                "Type 'help' to see everything I can do.",
            )
        return say("Sorry, I didn't understand", "Type 'help' to see what I can do.")
    command, match = found
    if not allowed_in(command.where, turn):
        return _wrong_place(command, turn)
    if not command.is_for(actor):
        return say(
            "Not one of your commands",
            f"'{command.usage}' is for {command.audience}. Type 'help' to see what you can do.",
        )
    return await table[command](turn, actor, match)


def _wrong_place(command: Command, turn: Turn) -> Reply:
    if command.where is Where.PERSONAL:
        return Reply(messages=[Outgoing(card=personal_only_card())])
    if command.where is Where.SHARED:
        return say(
            "Start in the meeting",
            f"Type '{command.usage}' in the PEP meeting's "
            "chat, mentioning me, to begin the walkthrough there.",
        )
    return say(
        "In a channel, please",
        f"Type '{command.usage}' in the Virtual School's Teams channel, mentioning me.",
    )
