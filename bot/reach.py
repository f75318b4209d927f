"""Telling people (the rule: pep_model/reach.py): Teams for those with a Teams id;
with a tenant, their id looked up from their e-mail and the app installed for them
first; otherwise the same notice by e-mail through the outbox; Business Support told
about anyone nobody could reach. Also the dispatcher hook that e-mails a job's Teams
notice nobody could be shown. See "Reaching people" in docs/m365.md."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from bot.turn import Outgoing
from pep_model.m365 import DeliveryError, DirectoryPort, PersonalAppPort
from pep_model.outbox import AfterDelivery, Json, OutboxEntry, OutboxKind
from pep_model.people import Person, Role
from pep_model.ports import Clock, UnitOfWork, UnitOfWorkFactory
from pep_model.reach import (
    Notice,
    Route,
    after_lookup,
    outbox_rows,
    route,
    unposted_rows,
)

if TYPE_CHECKING:
    from bot.m365_runtime import M365Runtime
    from bot.wiring import Container

log = logging.getLogger(__name__)


def offline_reach(c: Container) -> Reach:
    """Without Microsoft 365 at hand: e-mail (the outbox) for people Teams does not
    know. The sender and Business Support are chosen as the runtime chooses them."""
    from bot.m365_runtime import OFFLINE_SENDER  # here: m365_runtime imports this module

    sender = c.settings.mail_sender or OFFLINE_SENDER
    support = c.settings.business_support_email
    return Reach(c.uow, c.clock, sender, (support,) if support else ())


def reach_for(c: Container, runtime: M365Runtime) -> Reach:
    """How people are told in a running bot: with a tenant (and PEP_TEAMS_APP_ID), their
    Teams id looked up and the app installed for them; e-mail otherwise."""
    m365 = runtime.m365
    apps = m365.chat_app
    online = m365.online and bool(c.settings.teams_app_id) and hasattr(apps, "install_for_user")
    support = c.settings.business_support_email
    return Reach(
        c.uow,
        c.clock,
        runtime.sender,
        (support,) if support else (),
        directory=m365.directory if online else None,
        apps=apps if online else None,  # type: ignore[arg-type]
        wake=runtime.dispatcher.wake,
    )


class Told(list[Outgoing]):
    """The Teams cards to post (a list of Outgoing), with who was told and how: names
    for the deciding person's card ("told: …")."""

    def __init__(self) -> None:
        super().__init__()
        self.in_teams: list[str] = []
        self.by_email: list[str] = []
        self.nobody: list[str] = []

    @property
    def names(self) -> list[str]:
        return [*self.in_teams, *(f"{n} (by e-mail)" for n in self.by_email)]


@dataclass
class Reach:
    """Telling people, by the rule in pep_model/reach.py: Teams when they have an id;
    with a tenant (directory and apps given), their id looked up from their e-mail and
    the app installed for them first; otherwise the same notice by e-mail through the
    outbox; Business Support told about anyone nobody could reach."""

    uow: UnitOfWorkFactory
    clock: Clock
    sender: str
    business_support: tuple[str, ...] = ()
    directory: DirectoryPort | None = None
    apps: PersonalAppPort | None = None
    wake: Callable[[], None] | None = None
    lookup_seconds: float = 5.0

    @property
    def tenant(self) -> bool:
        return self.directory is not None and self.apps is not None

    async def to_people(
        self,
        people: Sequence[Person],
        card: dict[str, Any],
        what: str,
        ref: str,
        pep_id: str | None = None,
    ) -> Told:
        """The card for each person, by the route that reaches them; the e-mails and
        Business Support's notes are queued in the outbox in one commit."""
        notice = notice_for(card, what, ref, pep_id)
        told = Told()
        by_mail: list[tuple[Person, Route]] = []
        # look up everyone who needs it at once: the wait is one lookup, not one each
        routed = await asyncio.gather(
            *(
                self._resolve(p)
                if route(p, tenant=self.tenant) is Route.RESOLVE_THEN_TEAMS
                else _as_is(p, route(p, tenant=self.tenant))
                for p in people
            )
        )
        for person, way in routed:
            if way is Route.TEAMS and person.entra_object_id:
                told.append(Outgoing(card=card, to_user_id=person.entra_object_id))
                told.in_teams.append(person.name)
            else:
                by_mail.append((person, way))
        if by_mail:
            async with self.uow() as uow:
                support = await self.support(uow)
                for person, way in by_mail:
                    rows = outbox_rows(
                        person, notice, way, sender=self.sender, business_support=support
                    )
                    for row in rows:
                        await uow.outbox.add(row, self.clock.now())
                    (told.by_email if way is Route.EMAIL and rows else told.nobody).append(
                        person.name
                    )
                    if way is Route.NOBODY and not rows:
                        log.error(
                            "%s for %s: a recipient reached nobody and Business "
                            "Support could not be told (no mailbox)",
                            what,
                            ref,
                        )
                await uow.commit()
            if self.wake is not None:
                self.wake()
        log.info(
            "%s for %s: %d in Teams, %d by e-mail, %d reached nobody",
            what,
            ref,
            len(told.in_teams),
            len(told.by_email),
            len(told.nobody),
        )
        return told

    async def support(self, uow: UnitOfWork) -> tuple[str, ...]:
        """Business Support's address(es): the configured one, else the staff file's
        Business Support people, else the mailbox mail is sent from."""
        if self.business_support:
            return self.business_support
        staff = await uow.staff.authority_wide(Role.BUSINESS_SUPPORT)
        return tuple(sorted({p.email for p in staff if p.email})) or (
            (self.sender,) if self.sender else ()
        )

    async def after_notice(self, uow: UnitOfWork, entry: OutboxEntry, result: Json) -> None:
        """After-delivery hook for Teams notices: one that could not be posted (the
        person has no chat with the bot) goes by e-mail, when nothing else of it does."""
        support = await self.support(uow)
        for row in unposted_rows(
            entry.key,
            entry.payload,
            result,
            sender=self.sender,
            business_support=support,
            pep_id=entry.pep_id,
        ):
            await uow.outbox.add(row, self.clock.now())

    async def _resolve(self, person: Person) -> tuple[Person, Route]:
        """Look the person up in the directory and install the app for them; the id is
        kept on the person so this happens once."""
        assert self.directory is not None and self.apps is not None
        object_id: str | None = None
        installed = False
        try:
            async with asyncio.timeout(self.lookup_seconds):
                object_id = await self.directory.object_id_for(person.email)
                if object_id is not None:
                    await self.apps.install_for_user(object_id)
                    installed = True
        except (DeliveryError, TimeoutError) as error:
            log.warning(
                "could not reach %s in Teams (%s): sending by e-mail instead",
                object_id or "a person without a Teams id",
                str(error) or "timed out",
            )
        way = after_lookup(person, object_id, installed=installed)
        if way is not Route.TEAMS:
            return person, way
        found = replace(person, entra_object_id=object_id)
        try:
            async with self.uow() as uow:
                await uow.people.upsert(found)
                await uow.commit()
        except Exception as error:  # e.g. the id is held by another row: still post
            log.warning("could not keep the Teams id %s: %s", object_id, type(error).__name__)
        return found, way


async def _as_is(person: Person, way: Route) -> tuple[Person, Route]:
    return person, way


def unposted_notice_hooks(c: Container, sender: str) -> dict[OutboxKind, AfterDelivery]:
    """The dispatcher hook that e-mails a Teams notice nobody could be shown."""
    support = c.settings.business_support_email
    fallback = Reach(c.uow, c.clock, sender, (support,) if support else ())
    return {OutboxKind.TEAMS_NOTICE: fallback.after_notice}


def notice_for(card: dict[str, Any], what: str, ref: str, pep_id: str | None) -> Notice:
    """The e-mail version of a card: its words (text and facts, no inputs or buttons),
    keyed by what it is, what it is about and its content — the same card twice is the
    same notice."""
    digest = hashlib.sha256(json.dumps(card, sort_keys=True).encode()).hexdigest()[:16]
    subject = f"PEP Companion: {SUBJECTS.get(what, what)}"
    body = "\n".join(card_words(card)) or subject
    return Notice(f"{what}:{ref}:{digest}", subject, body, pep_id)


SUBJECTS = {
    "QA card": "a PEP is waiting for your quality check",
    "PP+ card": "a Pupil Premium Plus request is waiting for your decision",
    "PP+ outcome": "a Pupil Premium Plus request has been decided",
    "QA approve": "the PEP has been approved and finalised",
    "QA return": "the PEP has been returned for amendment",
    "next date": "when is next term's PEP?",
}


def card_words(element: Any) -> list[str]:
    """The text a person reads on an Adaptive Card, in order: TextBlocks, RichText runs
    and facts; inputs and actions (which need Teams) are left out."""
    if isinstance(element, list):
        return [line for item in element for line in card_words(item)]
    if not isinstance(element, dict):
        return []
    kind = str(element.get("type") or "")
    if kind.startswith("Input.") or kind.startswith("Action."):
        return []
    if kind == "TextBlock":
        return [str(element.get("text") or "")]
    if kind == "RichTextBlock":
        return [
            "".join(
                str(r.get("text") or "")
                for r in element.get("inlines") or []
                if isinstance(r, dict)
            )
        ]
    if kind == "FactSet":
        return [
            f"{f.get('title', '')}: {f.get('value', '')}"
            for f in element.get("facts") or []
            if isinstance(f, dict)
        ]
    lines: list[str] = []
    for name in ("body", "items", "columns"):
        lines += card_words(element.get(name))
    return lines
