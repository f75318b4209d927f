"""Teams notices from the outbox (pep_model.outbox.TeamsNoticePort): a card rendered
when it is sent — so it shows the meeting as it is then — and posted proactively to a
person's personal chat with the bot or to the Virtual School's channel, using the
conversation references the bot stored when it was spoken to or installed there.

Someone who never used the bot has no personal chat: the notice is recorded as not
posted (their mail still reaches them)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date
from typing import Any

import aiohttp

import cards
from bot.after_meeting import after_meeting_services
from bot.connector import Connector, ConnectorError
from bot.delivery import card_activity
from bot.overview_routes import OverviewRoutes
from bot.turn import Turn
from bot.wiring import Container
from cards import scheduling as scheduling_cards
from pep_model.access import SYSTEM
from pep_model.errors import NotFound
from pep_model.m365 import DeliveryError
from pep_model.outbox import Json
from pep_model.overview import OverdueReturn
from pep_model.returns import not_returnable_yet
from pep_model.scheduling import SchedulingService
from pep_model.workflow import PepStatus

log = logging.getLogger(__name__)

Card = dict[str, Any]


def reference_of(turn: Turn) -> dict[str, str]:
    """What a proactive message needs: ids and the service URL, nothing personal."""
    return {
        "service_url": turn.service_url,
        "conversation_id": base_conversation(turn),
        "tenant_id": turn.tenant_id,
        "bot_id": turn.bot_id,
    }


def base_conversation(turn: Turn) -> str:
    """A channel thread's id without ';messageid=…' (the channel itself)."""
    return turn.conversation_id.split(";", 1)[0]


class TeamsNotices:
    def __init__(
        self, container: Container, connector: Connector, scheduling: SchedulingService
    ) -> None:
        self.c = container
        self.connector = connector
        self.scheduling = scheduling
        self._templates: dict[str, Callable[[Mapping[str, Any]], Awaitable[Card | None]]] = {
            "meeting_scheduled": self._meeting_scheduled,
            "virtual_school_alert": self._virtual_school_alert,
            "virtual_school_unscheduled": self._unscheduled,
            "overdue_returns": self._overdue,
            "return_reminder": self._return_reminder,
            "term_pack": self._term_pack,
            "next_date_request": self._next_date,
            "delivery_failed": self._failed,
            "weekly_digest": self._weekly_digest,
        }

    async def post(self, target: str, template: str, data: Mapping[str, Any], key: str) -> Json:
        render = self._templates.get(template)
        if render is None:
            raise DeliveryError(
                f"unknown notice template {template!r}", status=400, retryable=False
            )
        async with self.c.uow() as uow:
            reference = await uow.conversations.get(target)
        if reference is None:
            return {"posted": False, "reason": "no conversation with the bot"}
        try:
            card = await render(data)
        except NotFound as exc:
            return {"posted": False, "reason": str(exc)}
        if card is None:
            return {"posted": False, "reason": "nothing to say any more"}
        try:
            activity_id = await self.connector.send(
                reference["service_url"], reference["conversation_id"], card_activity(card)
            )
        except ConnectorError as error:
            retryable = error.status >= 500 or error.status in (0, 408, 429)
            raise DeliveryError(
                f"Teams answered {error.status}", status=error.status, retryable=retryable
            ) from error
        except (aiohttp.ClientError, TimeoutError) as error:
            raise DeliveryError(
                f"could not reach Teams ({type(error).__name__})", status=0, retryable=True
            ) from error
        log.info("teams notice %s posted: key=%s activity=%s", template, key, activity_id)
        return {"posted": True, "activity_id": activity_id}

    # ---- the cards ------------------------------------------------------------------

    @functools.cached_property
    def _overviews(self) -> OverviewRoutes:
        # built on first use, once: a bad QA grade scale in the settings fails here, as
        # it does for the routes, not when an unrelated CLI command makes the notices
        return OverviewRoutes(after_meeting_services(self.c))

    async def _weekly_digest(self, data: Mapping[str, Any]) -> Card | None:
        """The overview as it is when the digest is delivered."""
        return await self._overviews.digest_card()

    async def _meeting_scheduled(self, data: Mapping[str, Any]) -> Card | None:
        pep_id = str(data["pep_id"])
        async with self.c.uow() as uow:
            meeting = await uow.meetings.get(pep_id)
            pep = await uow.peps.get(pep_id)
            if (
                meeting is None
                or pep is None
                or not meeting.live
                or meeting.generation != data.get("generation")
            ):
                return None
            child = await uow.children.get(meeting.child_id)
            school = await uow.children.get_school(child.school_urn) if child else None
        if child is None:
            return None
        return scheduling_cards.meeting_scheduled_card(
            child_id=child.lcs_id,
            initials=child.initials,
            school=school.name if school else child.school_urn,
            starts_at=meeting.starts_at,
            minutes=meeting.minutes,
            attendees=[a.name for a in meeting.attendees],
            join_url=pep.meeting.join_url if pep.meeting else "",
            sent=True,
            rescheduled=bool(data.get("rescheduled")),
        )

    async def virtual_school_card(self, pep_id: str, notice: str = "") -> Card:
        async with self.c.uow() as uow:
            meeting = await uow.meetings.get(pep_id)
            pep = await uow.peps.get(pep_id)
            if meeting is None or pep is None:
                raise NotFound("This PEP meeting is no longer scheduled.")
            child = await uow.children.get(meeting.child_id)
            if child is None:
                raise NotFound("This PEP meeting is no longer scheduled.")
            school = await uow.children.get_school(child.school_urn)
            names = []
            for person_id in meeting.virtual_school_attending:
                person = await uow.people.get(person_id)
                names.append(person.name if person else person_id)
        term = self.c.calendar.get(meeting.term_id)
        return scheduling_cards.virtual_school_alert_card(
            pep_id=pep_id,
            child_id=child.lcs_id,
            school=school.name if school else child.school_urn,
            starts_at=meeting.starts_at,
            minutes=meeting.minutes,
            reasons=self.scheduling.reasons(child, term) or ["a Virtual School case"],
            join_url=pep.meeting.join_url if pep.meeting else "",
            attending=names,
            notice=notice if meeting.live else "This meeting has been cancelled.",
        )

    async def _virtual_school_alert(self, data: Mapping[str, Any]) -> Card | None:
        return await self.virtual_school_card(str(data["pep_id"]))

    async def _unscheduled(self, data: Mapping[str, Any]) -> Card | None:
        async with self.c.uow() as uow:
            child = await uow.children.get(str(data["child_id"]))
            school = await uow.children.get_school(child.school_urn) if child else None
        if child is None:
            return None
        term = self.c.calendar.get(str(data["term_id"]))
        return scheduling_cards.virtual_school_unscheduled_card(
            child_id=child.lcs_id,
            school=school.name if school else child.school_urn,
            term_label=term.label,
            school_days=int(data.get("school_days") or 0),
            reasons=self.scheduling.reasons(child, term),
        )

    async def _overdue(self, data: Mapping[str, Any]) -> Card | None:
        rows = [
            OverdueReturn(
                str(r["child_id"]),
                str(r["school_urn"]),
                date.fromisoformat(str(r["return_due"])),
                int(r["days_overdue"]),
            )
            for r in data.get("rows") or []
        ]
        return await self.overdue_card(rows, date.fromisoformat(str(data["as_of"])))

    async def overdue_card(self, rows: Sequence[OverdueReturn], as_of: date) -> Card:
        async with self.c.uow() as uow:
            schools = {s.urn: s.name for s in await uow.children.list_schools()}
        return scheduling_cards.overdue_returns_card(rows, as_of, schools)

    async def return_card(
        self, pep_id: str, *, reminder_day: int | None = None, notice: str = "", problem: str = ""
    ) -> Card:
        view = await self.c.service.get(pep_id, SYSTEM)
        pep, child = view.pep, view.child
        term_label = self.c.calendar.get(pep.term_id).label
        if (why := not_returnable_yet(pep)) is not None:
            return cards.message_card(
                f"Not ready to return: {child.initials} ({child.lcs_id}), {term_label}",
                why,
                style="attention",
            )
        returned = pep.status in (PepStatus.RETURNED, PepStatus.IN_QA, PepStatus.FINALISED)
        return scheduling_cards.return_card(
            pep_id=pep.id,
            version=pep.version,
            initials=child.initials,
            child_id=child.lcs_id,
            term_label=term_label,
            held_on=pep.meeting_held_on,
            due=pep.return_due,
            status_label=pep.status.label,
            returned=returned,
            reminder_day=reminder_day,
            notice=notice,
            problem=problem,
        )

    async def _return_reminder(self, data: Mapping[str, Any]) -> Card | None:
        view = await self.c.service.get(str(data["pep_id"]), SYSTEM)
        if view.pep.status is not PepStatus.AWAITING_RETURN:
            return None  # returned since the reminder was queued
        return await self.return_card(view.pep.id, reminder_day=int(data.get("day") or 0))

    async def _term_pack(self, data: Mapping[str, Any]) -> Card | None:
        term = self.c.calendar.get(str(data["term_id"]))
        return scheduling_cards.term_pack_card(term.label, str(data.get("mailbox") or ""))

    async def _next_date(self, data: Mapping[str, Any]) -> Card | None:
        view = await self.c.service.get(str(data["pep_id"]), SYSTEM)
        if view.pep.status is not PepStatus.IN_MEETING:
            return None
        return cards.next_date_request_card(view)

    async def _failed(self, data: Mapping[str, Any]) -> Card | None:
        return scheduling_cards.delivery_failed_card(
            str(data.get("what") or "a message"),
            str(data.get("key") or ""),
            int(data.get("status") or 0),
            str(data.get("error") or ""),
        )
