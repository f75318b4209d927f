"""Reaching a person with a notice ("a PEP is waiting for QA", "a PP+ request is
waiting", "When is next term's PEP?"): the route, and the outbox rows it needs.

The rule, stated once:

* a person with a Teams id (their Entra object id, learnt when they wrote to the bot
  or looked up before) gets the card in their personal chat with the bot — TEAMS;
* without one, when a tenant is configured, their id is looked up from their e-mail
  address and the app installed for them, then the card goes to Teams —
  RESOLVE_THEN_TEAMS; if the lookup finds nobody (outside the tenant) or the install
  is refused, the notice goes by e-mail instead (`after_lookup`);
* without a tenant (the outbox folder), the notice goes by e-mail — EMAIL;
* without a usable address either, nobody can be told: Business Support gets a mail
  naming the person and the notice — NOBODY. A notice is never dropped silently.

Keys are derived from the notice's key and the person, so the same notice queued twice
(a double click, a replayed card) writes nothing the second time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from pep_model.outbox import OutgoingMessage, mail
from pep_model.people import Person

REACH_PREFIX = "reach:"
UNREACHED_PREFIX = "unreached:"

_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

EMAIL_FOOTER = (
    "You are getting this by e-mail because PEP Companion could not reach you "
    "in Microsoft Teams. Open PEP Companion in Teams to act on it, or reply "
    "to Business Support."
)


class Route(StrEnum):
    TEAMS = "teams"
    RESOLVE_THEN_TEAMS = "resolve_then_teams"
    EMAIL = "email"
    NOBODY = "nobody"

    @property
    def label(self) -> str:
        return ROUTE_LABELS[self]


ROUTE_LABELS: dict[Route, str] = {
    Route.TEAMS: "in Teams",
    Route.RESOLVE_THEN_TEAMS: "in Teams",
    Route.EMAIL: "by e-mail",
    Route.NOBODY: "not reached",
}


@dataclass(frozen=True)
class Notice:
    """What to tell people. key: stable for this notice (the same notice twice has the
    same key); subject and body: the e-mail version, plain text (they may name a child:
    never log them)."""

    key: str
    subject: str
    body: str
    pep_id: str | None = None

    def __post_init__(self) -> None:
        if not self.key:
            raise ValueError("a notice needs a key")


def usable_address(email: str) -> bool:
    """An address a mail can be sent to (one @, a dotted domain, no spaces)."""
    return bool(_ADDRESS.fullmatch(email.strip()))


def route(person: Person, *, tenant: bool) -> Route:
    """How to reach this person before anything is looked up."""
    if person.entra_object_id:
        return Route.TEAMS
    if not usable_address(person.email):
        return Route.NOBODY
    return Route.RESOLVE_THEN_TEAMS if tenant else Route.EMAIL


def after_lookup(person: Person, object_id: str | None, *, installed: bool) -> Route:
    """The route once the directory answered: Teams when the person was found and the
    app is installed for them; otherwise e-mail (or nobody, without an address)."""
    if object_id and installed:
        return Route.TEAMS
    return Route.EMAIL if usable_address(person.email) else Route.NOBODY


def mail_key(notice: Notice, person: Person) -> str:
    return f"{REACH_PREFIX}{notice.key}:{person.id}"


def unreached_key(notice: Notice, person: Person) -> str:
    return f"{UNREACHED_PREFIX}{notice.key}:{person.id or person.name}"


def outbox_rows(
    person: Person, notice: Notice, final: Route, *, sender: str, business_support: Sequence[str]
) -> list[OutgoingMessage]:
    """The outbox rows for a person on their final route: the notice by e-mail (EMAIL),
    a mail to Business Support saying who was not told and what (NOBODY), nothing for
    Teams (the card goes to their personal chat). Without a sender or a Business
    Support address there is nothing to write: the caller says so in its reply."""
    if final is Route.EMAIL and sender:
        return [
            mail(
                mail_key(notice, person),
                sender=sender,
                to=[person.email.strip()],
                subject=notice.subject,
                body=f"{notice.body}\n\n{EMAIL_FOOTER}",
                pep_id=notice.pep_id,
            )
        ]
    if final is Route.NOBODY and sender and business_support:
        who = person.name or "someone"
        address = person.email.strip() or "no address"
        body = (
            f"PEP Companion could not tell {who} ({address}): they are not known in "
            f"Teams and have no e-mail address a message can be sent to.\n\n"
            f"The notice was: {notice.subject}\n\n{notice.body}\n\n"
            "Please pass it on, and correct their address in the staff file."
        )
        return [
            mail(
                unreached_key(notice, person),
                sender=sender,
                to=list(business_support),
                subject=f"PEP Companion: a notice reached nobody — {notice.subject}",
                body=body,
                pep_id=notice.pep_id,
            )
        ]
    return []


# ---- a Teams notice from a job that found no chat to post to --------------------------

# What the notice poster answers when there is nowhere to post (bot/notices.py,
# graph/dispatch.py): the person never opened a chat with the bot, or Teams is not
# connected in this process (the command line).
NO_CHAT_REASONS = frozenset({"no conversation with the bot", "Teams is not connected here"})

# The e-mail for each notice template that has no e-mail copy of its own (the return
# reminder, the term pack and the meeting invitation are mailed anyway): subject, body.
UNPOSTED_MAIL: dict[str, tuple[str, str]] = {
    "next_date_request": (
        "PEP Companion: when is next term's PEP?",
        "The PEP meeting for {pep} has no date for next term's PEP yet, so the meeting "
        "record cannot be finished. Please give the date (or the reason there is none "
        "yet) in PEP Companion in Microsoft Teams, or reply to this e-mail with it.",
    ),
}


def unposted_rows(
    key: str,
    payload: dict[str, object],
    result: dict[str, object],
    *,
    sender: str,
    business_support: Sequence[str],
    pep_id: str | None = None,
) -> list[OutgoingMessage]:
    """A Teams notice to a person that was not posted because there is no chat with
    them: the same notice by e-mail (its key follows the notice's, so once). Notices to
    a channel, notices posted, withdrawn ("nothing to say any more") or with an e-mail
    of their own write nothing."""
    target = str(payload.get("target") or "")
    words = UNPOSTED_MAIL.get(str(payload.get("template") or ""))
    if (
        result.get("posted") is not False
        or str(result.get("reason")) not in NO_CHAT_REASONS
        or not target.startswith("person:")
        or words is None
    ):
        return []
    email = target.removeprefix("person:")
    person = Person(email, email)
    subject, body = words
    notice = Notice(key, subject, body.format(pep=pep_id or "this child"), pep_id)
    final = Route.EMAIL if usable_address(email) else Route.NOBODY
    return outbox_rows(person, notice, final, sender=sender, business_support=business_support)
