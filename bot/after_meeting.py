"""After the meeting: the use-case services behind the QA, PP+ and overview routes, and
what those routes share — messages to other people, typed commands answered as
messages (file offers: bot/files.py); telling people: bot/reach.py.

bot/qa_routes.py (quality assurance, and the one entry point the bot talks to),
bot/pupil_premium_routes.py (PP+ decisions, the payment schedule) and
bot/overview_routes.py (the Virtual School's overview, the weekly digest) build on it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from bot.reach import Reach, Told, offline_reach, reach_for, unposted_notice_hooks
from bot.turn import Outgoing, Reply
from forms.payment_schedule import render_payment_schedule
from pep_model.overview_service import OverviewService
from pep_model.people import Person
from pep_model.pupil_premium_service import PupilPremiumService
from pep_model.qa_service import QaService
from pep_model.quality import GradeScale
from pep_model.rules import PepRules

if TYPE_CHECKING:
    from bot.settings import Settings
    from bot.wiring import Container

log = logging.getLogger(__name__)

Upload = Callable[[str, bytes], Awaitable[None]]

# telling people lives in bot/reach.py; these names are used from here by the routes
__all__ = [
    "AfterMeeting",
    "Reach",
    "Told",
    "Upload",
    "after_meeting_services",
    "as_message",
    "offline_reach",
    "reach_for",
    "reachable_names",
    "to_people",
    "unposted_notice_hooks",
    "with_qa_settings",
]


def with_qa_settings(rules: PepRules, settings: Settings) -> PepRules:
    """The authority's QA and PP+ settings on top of its PEP rules (checked: a bad grade
    scale stops the start-up with a message)."""
    grades = tuple(g.strip().lower() for g in settings.qa_grades)
    GradeScale(grades)  # raises ValueError naming the problem
    return replace(
        rules,
        qa_grades=grades,
        qa_amber_blocks_approval=settings.qa_amber_blocks_approval,
        qa_voice_min_words=settings.qa_voice_min_words,
        payment_needs_finalised_pep=settings.pupil_premium_needs_finalised_pep,
    )


@dataclass(frozen=True)
class AfterMeeting:
    """The three use-case services, built once from the container, and how people
    are told (reach)."""

    qa: QaService
    pupil_premium: PupilPremiumService
    overview: OverviewService
    reach: Reach = field(repr=False, kw_only=True)


def after_meeting_services(c: Container, reach: Reach | None = None) -> AfterMeeting:
    """reach: how people are told (reach_for(runtime) in `serve`); by default, Teams
    for people with an id and e-mail through the outbox for everyone else."""
    rules = with_qa_settings(c.rules, c.settings)
    return AfterMeeting(
        QaService(c.uow, c.calendar, rules, c.clock),
        PupilPremiumService(
            c.uow,
            c.calendar,
            rules,
            c.clock,
            document=render_payment_schedule,
            authority_name=c.settings.authority_name,
        ),
        OverviewService(c.uow, c.calendar, rules, c.clock),
        reach=reach or offline_reach(c),
    )


def to_people(
    people: list[Person] | tuple[Person, ...], card: dict[str, Any], what: str, ref: str
) -> list[Outgoing]:
    """Teams only, for people with a Teams id (no outbox at hand); prefer
    Reach.to_people, which reaches everyone else by e-mail."""
    out = [Outgoing(card=card, to_user_id=p.entra_object_id) for p in people if p.entra_object_id]
    if len(out) < len(people):
        log.warning(
            "%s for %s: %d of %d recipients have no Teams id",
            what,
            ref,
            len(people) - len(out),
            len(people),
        )
    return out


def reachable_names(people: list[Person] | tuple[Person, ...]) -> list[str]:
    """The names of the people to_people() reaches (Reach.to_people: Told.names)."""
    return [p.name for p in people if p.entra_object_id]


def as_message(reply: Reply) -> Reply:
    """A handler's invoke answer, posted as a message (for a typed command)."""
    if reply.invoke_card is None:
        return reply
    return Reply(messages=[Outgoing(card=reply.invoke_card), *reply.messages])
