"""The in-meeting walkthrough: start, navigate, save, attendees, finish, meeting events."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import cards
from bot.card_data import data_section, data_str, data_version
from bot.commands import Where, answers
from bot.identity import IdentityResolver
from bot.invoke_replay import idempotent_by_data
from bot.turn import CardUpdate, Outgoing, Reply, Turn
from cards import meeting_start
from pep_model.access import SYSTEM, Actor, Capability
from pep_model.child import Child
from pep_model.errors import AlreadyDone, ConflictError, NotAllowed, NotFound, NotInThisChat
from pep_model.people import Role
from pep_model.pep import Pep, document_name
from pep_model.services import PepService, PepView
from pep_model.workflow import PepStatus, is_before_meeting

log = logging.getLogger(__name__)

EVENT_MEETING_START = "application/vnd.microsoft.meetingStart"
EVENT_MEETING_END = "application/vnd.microsoft.meetingEnd"
EVENT_PARTICIPANT_JOIN = "application/vnd.microsoft.meetingParticipantJoin"

# Role for this child -> how the attendee is recorded
ATTENDEE_ROLE = {
    Role.DESIGNATED_TEACHER: "designated_teacher",
    Role.PEP_LEAD: "pep_lead",
    Role.SOCIAL_WORKER: "social_worker",
    Role.CARER: "carer",
    Role.CHILD: "child",
    Role.VIRTUAL_SCHOOL_OFFICER: "virtual_school_officer",
}

RecordDelivery = Callable[[PepView, Turn], Awaitable[list[Outgoing]]]
Notify = Callable[[PepView], Awaitable[list[Outgoing]]]


def attendee_role(actor: Actor, child: Child) -> str:
    for role in sorted(actor.roles_for(child)):
        if role in ATTENDEE_ROLE:
            return ATTENDEE_ROLE[role]
    return "other"


class MeetingRoutes:
    def __init__(
        self,
        service: PepService,
        identity: IdentityResolver,
        deliver_record: RecordDelivery,
        ask_for_next_date: Notify,
    ) -> None:
        self.service = service
        self.identity = identity
        self.deliver_record = deliver_record
        self.ask_for_next_date = ask_for_next_date

    # ---- cards -----------------------------------------------------------------

    def shared_card(self, view: PepView) -> dict[str, Any]:
        """The message everyone in the chat has: no child data in it; each permitted
        person's Teams refreshes it into their own view."""
        return cards.walkthrough_shared_card(view, _audience(view))

    def card_for(self, view: PepView, actor: Actor, **extra: Any) -> dict[str, Any]:
        if actor.can(Capability.LEAD_MEETING, view.child):
            return cards.walkthrough_card(view, lead=True, lead_user_ids=_audience(view), **extra)
        if actor.can(Capability.VIEW_MEETING, view.child):
            return cards.walkthrough_card(view, lead=False, lead_user_ids=_audience(view))
        return cards.message_card(
            "PEP meeting", "This PEP is shown only to the people working with the child."
        )

    def _update_shared(self, view: PepView) -> list[CardUpdate]:
        meeting = view.pep.meeting
        if meeting is None or not meeting.card_message_id or not meeting.chat_id:
            return []
        return [CardUpdate(meeting.chat_id, meeting.card_message_id, self.shared_card(view))]

    async def _post_walkthrough(self, turn: Turn, view: PepView) -> Outgoing:
        pep_id = view.pep.id

        async def remember(message_id: str) -> None:
            await self.service.set_card_message(pep_id, turn.conversation_id, message_id)

        return Outgoing(card=self.shared_card(view), on_sent=remember)

    # ---- starting ----------------------------------------------------------------

    async def start_command(self, turn: Turn, actor: Actor, match: Any = None) -> Reply:
        """'start pep' in a group or meeting chat (the Router has checked where)."""
        pep = await self._linked_pep(turn)
        if pep is not None:
            return await self._start(turn, actor, pep.id)
        await self._children_to_lead(actor)
        # the chat sees nobody's name: the choices are the asker's own view (refresh)
        return Reply(messages=[Outgoing(card=meeting_start.choosing_card(turn.user_id))])

    async def _children_to_lead(self, actor: Actor) -> list[Child]:
        async with self.service.uow() as uow:
            children = actor.visible(await uow.children.list_all(), Capability.LEAD_MEETING)
        if not children:
            raise NotAllowed(
                "Only the child's designated teacher, PEP lead or social "
                "worker can start the PEP walkthrough."
            )
        return children

    @answers(Where.ANYWHERE)
    async def choose(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        """The chooser, as a view only the person who asks for it sees."""
        children = await self._children_to_lead(actor)
        return Reply(
            invoke_card=meeting_start.with_choice_refresh(
                cards.child_chooser_card(children), turn.user_id
            )
        )

    @answers(Where.ANYWHERE)
    async def start_from_chooser(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        child_id = data_str(data, "child_id")
        async with self.service.uow() as uow:
            child = await uow.children.get(child_id)
        if child is None or not actor.can(Capability.LEAD_MEETING, child):
            raise NotAllowed("You cannot lead this child's PEP meeting.")
        pep = await self.service.open_pep(child_id, self.service.current_term_id())
        if _running_elsewhere(pep, turn):
            return Reply(
                invoke_card=meeting_start.running_elsewhere_card(self.service.view(pep, child))
            )
        reply = await self._start(turn, actor, pep.id)
        reply.invoke_card = meeting_start.started_card()
        if turn.reply_to_id and not turn.personal:  # the choosing message, for everyone
            reply.updates.append(
                CardUpdate(turn.conversation_id, turn.reply_to_id, meeting_start.started_card())
            )
        return reply

    @answers(Where.SHARED)
    async def move_here(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        """Move a running walkthrough to this chat; the old chat's card says it moved."""
        view = await self.service.get(data_str(data, "pep_id"), actor, Capability.LEAD_MEETING)
        old = view.pep.meeting
        if view.pep.status is not PepStatus.IN_MEETING:
            raise NotAllowed("This PEP's walkthrough is not running any more.")
        updates = []
        if (
            old is not None
            and old.chat_id
            and old.chat_id != turn.conversation_id
            and old.card_message_id
        ):
            updates.append(
                CardUpdate(old.chat_id, old.card_message_id, meeting_start.moved_away_card())
            )
        await self.service.link_chat(view.pep.id, turn.conversation_id, turn.meeting_id)
        if turn.user_id:
            await self.service.join_audience(view.pep.id, turn.user_id)
        view = await self.service.get(view.pep.id, SYSTEM)
        log.info("walkthrough of %s moved to another chat", view.pep.id)
        return Reply(
            invoke_card=meeting_start.started_card(),
            updates=updates,
            messages=[await self._post_walkthrough(turn, view)],
        )

    async def _linked_pep(self, turn: Turn) -> Any:
        async with self.service.uow() as uow:
            return await uow.peps.by_chat(turn.conversation_id)

    async def _start(self, turn: Turn, actor: Actor, pep_id: str) -> Reply:
        before = await self.service.get(pep_id, SYSTEM)
        starting = before.pep.status is not PepStatus.IN_MEETING
        await self.service.start_meeting(pep_id, actor, chat_id=turn.conversation_id)
        if turn.meeting_id:
            await self.service.link_chat(pep_id, turn.conversation_id, turn.meeting_id)
        if turn.user_id and not actor.system:
            await self.service.join_audience(pep_id, turn.user_id)
        if starting and actor.person is not None:
            # the lead who starts it is there; they can remove themselves from the list
            await self.service.record_attendee(
                pep_id, actor.person.name, attendee_role(actor, before.child), "teams", SYSTEM
            )
        view = await self.service.get(pep_id, SYSTEM)
        return Reply(messages=[await self._post_walkthrough(turn, view)])

    # ---- card verbs ------------------------------------------------------------

    @answers(Where.ANYWHERE)
    async def refresh(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        try:
            view = await self.service.get(data_str(data, "pep_id"), SYSTEM)
        except NotFound:  # names no PEP id: the card may be in a shared chat
            return Reply(invoke_card=_no_walkthrough_card())
        if not _live_here(view, turn):  # only a running walkthrough, in its own chat
            return Reply(invoke_card=self._not_running(view, actor, turn))
        if (
            actor.can(Capability.VIEW_MEETING, view.child)
            and turn.user_id
            and view.pep.meeting
            and turn.user_id not in view.pep.meeting.audience_ids()
        ):
            await self.service.join_audience(view.pep.id, turn.user_id)
        return Reply(invoke_card=self.card_for(view, actor))

    @answers(Where.ANYWHERE)
    @idempotent_by_data
    async def save_section(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        return (await self._record(turn, actor, data, data_section(data)))[1]

    async def _not_live(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply | None:
        """A card in a group chat acts only on the walkthrough running in that chat: an
        old card, or one left behind in a chat the walkthrough moved from, changes
        nothing and says why. (A personal chat is the person's own.)"""
        if turn.personal:
            return None
        view = await self.service.get(data_str(data, "pep_id"), SYSTEM)
        return (
            None
            if _live_here(view, turn)
            else Reply(invoke_card=self._not_running(view, actor, turn))
        )

    def _not_running(self, view: PepView, actor: Actor, turn: Turn) -> dict[str, Any]:
        """A meeting card whose walkthrough is not running in this chat. The lead, in the
        chat where the meeting was held and finished, keeps the finished card (with
        'Send to Business Support'); everyone else sees no child data."""
        meeting = view.pep.meeting
        if (
            meeting is not None
            and meeting.chat_id == turn.conversation_id
            and view.pep.meeting_held_on is not None
            and view.pep.status is not PepStatus.IN_MEETING
            and actor.can(Capability.LEAD_MEETING, view.child)
        ):
            return cards.finished_card(
                view,
                record_filename=document_name(view.child.lcs_id, view.pep.term_id),
                notice="This PEP meeting is already finished.",
            )
        return _not_running_card(view.pep)

    async def _record(
        self, turn: Turn, actor: Actor, data: Mapping[str, Any], key: str
    ) -> tuple[bool, Reply]:
        """Save one section from card data: (saved, the reply showing the outcome)."""
        pep_id = data_str(data, "pep_id")
        version = data_version(data)
        raw = cards.raw_from_card_data(key, data)
        try:
            outcome = await self.service.record_section(
                pep_id,
                key,
                raw,
                actor,
                version,
                in_chat=None if turn.personal else turn.conversation_id,
            )
        except NotInThisChat as stale:  # an old card, or one the walkthrough moved from
            return False, Reply(invoke_card=_not_running_card(stale.current))
        except ConflictError as conflict:
            view = self.service.view(
                conflict.current, (await self.service.get(pep_id, actor, Capability.EDIT)).child
            )
            notice = (
                "Someone else changed this section while you were typing. "
                "Their version is saved; your typing is kept in the boxes — "
                "press Save to replace theirs."
            )
            return False, Reply(
                invoke_card=self._edit_card(turn, view, actor, key, typed=data, notice=notice)
            )
        view = self.service.view(outcome.pep, outcome.child)
        if not outcome.saved:
            return False, Reply(
                invoke_card=self._edit_card(
                    turn, view, actor, key, errors=outcome.errors, typed=data
                )
            )
        notice = "Saved."  # also when it was stored as typed already (a double click)
        reply = Reply(invoke_card=self._edit_card(turn, view, actor, key, notice=notice))
        if not turn.personal:
            reply.updates = self._update_shared(view)
        return True, reply

    def _edit_card(
        self, turn: Turn, view: PepView, actor: Actor, key: str, **extra: Any
    ) -> dict[str, Any]:
        if turn.personal and key == "next_pep" and view.pep.status is PepStatus.IN_MEETING:
            return cards.next_date_request_card(view, **extra)  # it keeps its Finish
        if turn.personal:
            return cards.section_edit_card(view, key, **extra)
        return self.card_for(view, actor, **extra)

    async def save_typed(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply | None:
        """Moving on (Previous, Next, Go, Finish) saves what was typed in the section on
        screen first; if it cannot be saved the card stays, errors shown, typing kept."""
        if not data.get("current") or not any(str(k).startswith(("f.", "r.")) for k in data):
            return None
        saved, reply = await self._record(turn, actor, data, data_section(data, "current"))
        return None if saved else reply

    @answers(Where.ANYWHERE)
    @idempotent_by_data
    async def navigate(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        pep_id = data_str(data, "pep_id")
        key = data_section(data, "section" if data.get("section") else "nav.section")
        refused = await self._not_live(turn, actor, data) or await self.save_typed(
            turn, actor, data
        )
        if refused is not None:
            return refused
        await self.service.navigate(pep_id, key, actor)
        view = await self.service.get(pep_id, actor)  # the PEP as everyone now sees it
        return Reply(invoke_card=self.card_for(view, actor), updates=self._update_shared(view))

    @answers(Where.ANYWHERE)
    async def add_attendee(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        pep_id = data_str(data, "pep_id")
        if (refused := await self._not_live(turn, actor, data)) is not None:
            return refused
        name, role, attended = cards.attendee_from_card_data(data)
        outcome = await self.service.record_attendee(
            pep_id, name, role, attended, actor, by_hand=True
        )
        view = self.service.view(outcome.pep, outcome.child)
        if not outcome.saved:
            return Reply(invoke_card=self.card_for(view, actor, errors=outcome.errors, typed=data))
        # "Added …", "… is already recorded as attending …", or what was updated
        return Reply(
            invoke_card=self.card_for(view, actor, notice=outcome.notice),
            updates=self._update_shared(view) if outcome.changed else [],
        )

    @answers(Where.ANYWHERE)
    async def finish(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        pep_id = data_str(data, "pep_id")
        refused = await self._not_live(turn, actor, data) or await self.save_typed(
            turn, actor, data
        )
        if refused is not None:
            return refused
        try:
            pep, problems = await self.service.finish_meeting(pep_id, actor)
        except AlreadyDone as done:  # pressed twice: finished once, the record offered once
            view = await self.service.get(pep_id, actor)
            return Reply(
                invoke_card=cards.finished_card(
                    view,
                    record_filename=document_name(view.child.lcs_id, view.pep.term_id),
                    notice=str(done),
                )
            )
        view = await self.service.get(pep_id, actor)
        if problems and turn.personal:  # the after-meeting request for next term's date
            return Reply(invoke_card=cards.next_date_request_card(view, errors=problems))
        if problems:
            if pep.current_section != "next_pep" and any(p.section == "next_pep" for p in problems):
                pep = await self.service.navigate(pep_id, "next_pep", actor)
                view = self.service.view(pep, view.child)
            return Reply(
                invoke_card=self.card_for(view, actor, finish_problems=problems),
                updates=self._update_shared(view),
            )
        record = await self.deliver_record(view, turn)
        card = cards.finished_card(
            view, record_filename=document_name(view.child.lcs_id, view.pep.term_id)
        )
        updates = []
        if view.pep.meeting and view.pep.meeting.card_message_id:
            updates = [
                CardUpdate(
                    view.pep.meeting.chat_id,
                    view.pep.meeting.card_message_id,
                    cards.finished_shared_card(view, _audience(view)),
                )
            ]
        return Reply(invoke_card=card, updates=updates, messages=record)

    # ---- meeting events ---------------------------------------------------------

    async def on_event(self, turn: Turn) -> Reply:
        if turn.name not in (EVENT_MEETING_START, EVENT_MEETING_END, EVENT_PARTICIPANT_JOIN):
            return Reply()
        pep = await self._linked_pep(turn)
        if turn.name == EVENT_MEETING_START:
            if pep is None:
                return Reply(
                    messages=[
                        Outgoing(
                            card=cards.message_card(
                                "PEP Companion is here",
                                "When you are ready, mention me with 'start pep' to walk through "
                                "the PEP.",
                            )
                        )
                    ]
                )
            if not is_before_meeting(pep.status):  # running, or held and finished already
                return Reply()
            return await self._start(turn, SYSTEM, pep.id)
        if pep is None:
            return Reply()
        if turn.name == EVENT_PARTICIPANT_JOIN:
            await self._participants_joined(turn, pep.id)
            return Reply()
        view = await self.service.get(pep.id, SYSTEM)
        if view.pep.status is PepStatus.IN_MEETING and any(
            p.section == "next_pep" for p in self.service.finish_problems(view.pep, view.child)
        ):
            return Reply(messages=await self.ask_for_next_date(view))
        return Reply()

    async def _participants_joined(self, turn: Turn, pep_id: str) -> None:
        value = turn.value if isinstance(turn.value, Mapping) else {}
        members = value.get("members") or []
        view = await self.service.get(pep_id, SYSTEM)
        for member in members if isinstance(members, list) else []:
            user = member.get("user") if isinstance(member, Mapping) else None
            if not isinstance(user, Mapping):
                continue
            who = Turn(
                type="event",
                user_id=str(user.get("id") or ""),
                aad_object_id=str(user.get("aadObjectId") or ""),
                user_name=str(user.get("name") or ""),
                conversation_id=turn.conversation_id,
                tenant_id=turn.tenant_id,
                service_url=turn.service_url,
            )
            actor = await self.identity.resolve(who)
            if actor.person is None or not actor.can(Capability.VIEW_MEETING, view.child):
                log.info(
                    "participant %s joined PEP %s meeting: not on record",
                    who.aad_object_id or "unknown",
                    pep_id,
                )
                continue
            await self.service.join_audience(pep_id, who.user_id)
            if view.pep.status is PepStatus.IN_MEETING:
                await self.service.record_attendee(
                    pep_id, actor.person.name, attendee_role(actor, view.child), "teams", SYSTEM
                )


def _live_here(view: PepView, turn: Turn) -> bool:
    """The PEP's walkthrough is running, in the conversation this turn came from."""
    return view.pep.walkthrough_in(turn.conversation_id)


def _running_elsewhere(pep: Pep, turn: Turn) -> bool:
    meeting = pep.meeting
    return (
        pep.status is PepStatus.IN_MEETING
        and meeting is not None
        and bool(meeting.chat_id)
        and meeting.chat_id != turn.conversation_id
    )


def _not_running_card(pep: Pep) -> dict[str, Any]:
    """What a card from a walkthrough that is over, or runs elsewhere, shows: no child
    data."""
    if pep.status is PepStatus.IN_MEETING:
        return meeting_start.moved_away_card()
    if is_before_meeting(pep.status):
        return _no_walkthrough_card()
    return cards.finished_shared_card()


def _no_walkthrough_card() -> dict[str, Any]:
    return cards.message_card("PEP meeting", "No PEP walkthrough is running in this chat.")


def _audience(view: PepView) -> list[str]:
    """Whose Teams refresh the shared card into their own view."""
    return view.pep.meeting.audience_ids() if view.pep.meeting else []
