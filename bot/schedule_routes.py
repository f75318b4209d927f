"""Teams routes for Microsoft 365 work: scheduling (the social worker), the Virtual
School's "I'll attend", the return to Business Support (the PEP lead), and the
commands that open them. Handlers have the Router's shape: (turn, actor, data) -> Reply.

Personal-chat commands: "schedule pep [LCS-ID]", "return pep LCS-ID", "overdue returns";
in a Teams channel: "virtual school alerts here" (Virtual School staff) makes it the
channel the alerts go to.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import cards
from bot import commands
from bot.card_data import data_str, data_version
from bot.commands import Command, CommandRun, Where, answers
from bot.notices import TeamsNotices, base_conversation, reference_of
from bot.turn import CardHandler, Outgoing, Reply, Turn
from cards import scheduling as sc
from graph.dispatch import Dispatcher
from pep_model.access import Actor, Capability
from pep_model.errors import ConflictError, NotAllowed
from pep_model.meetings import ScheduleRequest, attendee_key
from pep_model.outbox import VIRTUAL_SCHOOL_CHANNEL, OutboxStatus, person_target
from pep_model.pep import pep_id_for
from pep_model.returns import NotReturnableYet, ReturnService, not_returnable_yet
from pep_model.scheduling import ScheduleOutcome, SchedulingService
from pep_model.services import PepService

log = logging.getLogger(__name__)

OnReturned = Callable[[str, str], Awaitable[list[Outgoing]]]  # (pep id, actor id)

FinalRecord = Callable[[str], Awaitable[tuple[str, bytes]]]


def request_from(data: Mapping[str, Any]) -> ScheduleRequest:
    """The card's inputs as typed (Teams sends every input's value with the action)."""
    invited = frozenset(
        k[len(sc.INVITE) :]
        for k, v in data.items()
        if k.startswith(sc.INVITE) and str(v).lower() == "true"
    )
    return ScheduleRequest(
        child_id=data_str(data, sc.CHILD),
        day=str(data.get(sc.DATE) or ""),
        at=str(data.get(sc.TIME) or ""),
        minutes=str(data.get(sc.DURATION) or ""),
        invited=invited,
        extra=str(data.get(sc.EXTRA) or ""),
        accept_out_of_hours=str(data.get("accept") or "").lower() == "true",
    )


def _version(data: Mapping[str, Any]) -> int | None:
    """The version a reschedule card showed; None on a first scheduling card."""
    return None if data.get("version") in (None, "") else data_version(data)


class ScheduleRoutes:
    def __init__(
        self,
        service: PepService,
        scheduling: SchedulingService,
        returns: ReturnService,
        dispatcher: Dispatcher | None,
        notices: TeamsNotices,
        final_record: FinalRecord,
        *,
        wait_seconds: float = 3.0,
        virtual_school_channel_id: str = "",
        on_returned: OnReturned | None = None,
    ) -> None:
        self.on_returned = on_returned  # e.g. quality assurance picks the PEP up
        self.service = service
        self.scheduling = scheduling
        self.returns = returns
        self.dispatcher = dispatcher
        self.notices = notices
        self.final_record = final_record
        self.wait_seconds = wait_seconds
        self.channel_id = virtual_school_channel_id

    def verbs(self) -> dict[str, CardHandler]:
        return {
            sc.SCHEDULE_FORM: self.form,
            sc.SCHEDULE_SUBMIT: self.submit,
            sc.SCHEDULE_CANCEL: self.cancel,
            sc.VS_ATTEND: self.attend,
            sc.RETURN_OPEN: self.open_return,
            sc.RETURN_SEND: self.send_return,
        }

    # ---- conversations the bot may post to later ------------------------------------

    async def remember(self, turn: Turn, actor: Actor) -> None:
        """Keep the person's personal chat (for notices) — ids and a URL only."""
        if not turn.personal or actor.person is None or not turn.service_url:
            return
        await self._store(person_target(actor.person.id), turn)

    async def _store(self, ref_id: str, turn: Turn) -> None:
        async with self.service.uow() as uow:
            if await uow.conversations.get(ref_id) != reference_of(turn):
                await uow.conversations.remember(ref_id, reference_of(turn))
                await uow.commit()

    async def on_installed(self, turn: Turn) -> Reply | None:
        """conversationUpdate: the bot added to the configured Virtual School channel."""
        added = turn.bot_added
        if (
            not added
            or turn.conversation_type != "channel"
            or not self.channel_id
            or base_conversation(turn) != self.channel_id
        ):
            return None
        await self._store(VIRTUAL_SCHOOL_CHANNEL, turn)
        log.info("virtual school channel reference stored")
        return Reply(
            messages=[
                Outgoing(
                    card=cards.message_card(
                        "Virtual School alerts",
                        "I'll post transition and complex-case PEP meetings, "
                        "and overdue returns, in this channel.",
                        style="good",
                    )
                )
            ]
        )

    # ---- commands -------------------------------------------------------------------

    def commands(self) -> dict[Command, CommandRun]:
        return {
            commands.SCHEDULE: self._schedule,
            commands.RETURN: self._return,
            commands.OVERDUE: self._overdue,
            commands.ALERTS_HERE: self._alerts,
        }

    async def _schedule(self, turn: Turn, actor: Actor, match: re.Match[str]) -> Reply:
        return Reply(
            messages=[
                Outgoing(card=await self._form_card(actor, (match.group(1) or "").upper() or None))
            ]
        )

    async def _return(self, turn: Turn, actor: Actor, match: re.Match[str]) -> Reply:
        if not match.group(1):
            return Reply(
                messages=[
                    Outgoing(
                        card=cards.message_card(
                            "Which child?",
                            "Type 'return pep' and the child's LCS id, e.g. "
                            "'return pep LCS100001', or press 'Send to Business Support' on the "
                            "finished meeting card.",
                        )
                    )
                ]
            )
        pep_id = pep_id_for(match.group(1).upper(), self.service.current_term_id())
        await self.service.get(pep_id, actor, Capability.LEAD_MEETING)
        return Reply(messages=[Outgoing(card=await self.notices.return_card(pep_id))])

    async def _overdue(self, turn: Turn, actor: Actor, match: re.Match[str]) -> Reply:
        if not (actor.has_overview() or commands.OVERDUE.is_for(actor)):
            raise NotAllowed("The overdue list is for the Virtual School and Business Support.")
        card = await self.notices.overdue_card(
            await self.returns.overdue(), self.service.clock.today()
        )
        return Reply(messages=[Outgoing(card=card)])

    async def _alerts(self, turn: Turn, actor: Actor, match: re.Match[str]) -> Reply:
        """'virtual school alerts here' (the Router has checked: a channel, Virtual
        School staff)."""
        await self._store(VIRTUAL_SCHOOL_CHANNEL, turn)
        return Reply(
            messages=[
                Outgoing(
                    card=cards.message_card(
                        "Virtual School alerts",
                        "From now on I'll post transition and complex-case PEP "
                        "meetings, and overdue returns, in this channel.",
                        style="good",
                    )
                )
            ]
        )

    async def _form_card(self, actor: Actor, child_id: str | None) -> dict[str, Any]:
        if child_id is None:
            children = await self.scheduling.caseload(actor)
            if len(children) != 1:
                return sc.schedule_chooser_card(children)
            child_id = children[0].lcs_id
        plan = await self.scheduling.plan(actor, child_id)
        rules = self.service.rules
        return sc.schedule_form_card(
            plan,
            minutes_choices=rules.meeting_minutes,
            default_minutes=rules.default_meeting_minutes,
        )

    # ---- card verbs -------------------------------------------------------------------

    async def form(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        child_id = data.get(sc.CHILD)
        return Reply(invoke_card=await self._form_card(actor, str(child_id) if child_id else None))

    async def submit(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        await self.remember(turn, actor)
        request = request_from(data)
        outcome = await self.scheduling.submit(actor, request, _version(data))
        if not outcome.done:
            rules = self.service.rules
            return Reply(
                invoke_card=sc.schedule_form_card(
                    outcome.plan,
                    typed=request,
                    errors=outcome.errors,
                    warnings=outcome.warnings,
                    minutes_choices=rules.meeting_minutes,
                    default_minutes=rules.default_meeting_minutes,
                )
            )
        sent = await self._deliver(outcome.delivery_key)
        if sent:
            async with self.service.uow() as uow:  # shown here: no second confirmation
                await uow.outbox.cancel(outcome.confirm_key, self.service.clock.now())
                await uow.commit()
        return Reply(invoke_card=await self._confirmation(outcome, sent))

    async def _deliver(self, key: str) -> bool:
        if self.dispatcher is None:
            return False
        statuses = await self.dispatcher.deliver_now([key], self.wait_seconds)
        return statuses.get(key) is OutboxStatus.DELIVERED

    async def _confirmation(self, outcome: ScheduleOutcome, sent: bool) -> dict[str, Any]:
        meeting = outcome.meeting
        assert meeting is not None
        async with self.service.uow() as uow:
            pep = await uow.peps.get(meeting.pep_id)
        plan = outcome.plan
        return sc.meeting_scheduled_card(
            child_id=plan.child.lcs_id,
            initials=plan.child.initials,
            school=plan.school_name,
            starts_at=meeting.starts_at,
            minutes=meeting.minutes,
            attendees=[a.name for a in meeting.attendees],
            join_url=pep.meeting.join_url if pep and pep.meeting else "",
            sent=sent,
            rescheduled=outcome.delivery_key.endswith(":update"),
        )

    async def cancel(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        pep_id = data_str(data, "pep_id")
        meeting = await self.scheduling.cancel(actor, pep_id, str(data.get(sc.REASON) or ""))
        if self.dispatcher is not None:
            self.dispatcher.wake()
        async with self.service.uow() as uow:
            child = await uow.children.get(meeting.child_id)
        initials = child.initials if child else ""
        return Reply(
            invoke_card=sc.meeting_cancelled_card(
                child_id=meeting.child_id, initials=initials, starts_at=meeting.starts_at
            )
        )

    @answers(Where.ANYWHERE)
    async def attend(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        pep_id = data_str(data, "pep_id")
        meeting, added = await self.scheduling.attend(actor, pep_id)
        name = actor.person.name if actor.person else "You"
        if added and actor.person is not None and self.dispatcher is not None:
            key = meeting.key(f"attend:{attendee_key(actor.person.email)}")
            await self.dispatcher.deliver_now([key], self.wait_seconds)
        notice = (
            f"{name} will attend: the invitation is on its way."
            if added
            else f"{name} is already invited."
        )
        return Reply(invoke_card=await self.notices.virtual_school_card(pep_id, notice))

    @answers(Where.ANYWHERE)
    async def open_return(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        pep_id = data_str(data, "pep_id")
        await self.service.get(pep_id, actor, Capability.LEAD_MEETING)
        return Reply(invoke_card=await self.notices.return_card(pep_id))

    @answers(Where.ANYWHERE)
    async def send_return(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        pep_id = data_str(data, "pep_id")
        view = await self.service.get(pep_id, actor, Capability.LEAD_MEETING)
        if not_returnable_yet(view.pep) is not None:  # nothing rendered, nothing sent
            return Reply(invoke_card=await self.notices.return_card(pep_id))
        name, content = await self.final_record(pep_id)
        try:
            outcome = await self.returns.send_to_business_support(pep_id, actor, name, content)
        except NotReturnableYet:  # the card says why (the meeting has not happened)
            return Reply(invoke_card=await self.notices.return_card(pep_id))
        except ConflictError:
            return Reply(
                invoke_card=await self.notices.return_card(
                    pep_id,
                    problem="The PEP changed while you were sending it. Please press Send again.",
                )
            )
        if not outcome.sent:
            return Reply(
                invoke_card=await self.notices.return_card(
                    pep_id, notice="Already returned: Business Support has it."
                )
            )
        sent = await self._deliver(outcome.key)
        notice = (
            "Sent to Business Support."
            if sent
            else "Returned: the email to Business Support is on its way."
        )
        reply = Reply(invoke_card=await self.notices.return_card(pep_id, notice=notice))
        if self.on_returned is not None:
            reply.messages.extend(await self.on_returned(pep_id, actor.id))
        return reply


def build_schedule_routes(runtime: Any, on_returned: OnReturned | None = None) -> ScheduleRoutes:
    """The routes on an open bot.m365_runtime.M365Runtime (whose notices need the Bot
    Connector: open it with a connector)."""
    if runtime.notices is None:
        raise ValueError(
            "the scheduling routes need Teams notices: open the runtime with a connector"
        )
    settings = runtime.container.settings
    return ScheduleRoutes(
        runtime.container.service,
        runtime.scheduling,
        runtime.returns,
        runtime.dispatcher,
        runtime.notices,
        runtime.final_record,
        wait_seconds=settings.schedule_wait_seconds,
        virtual_school_channel_id=settings.virtual_school_channel_id,
        on_returned=on_returned,
    )
