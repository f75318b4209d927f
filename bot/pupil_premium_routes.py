"""Pupil Premium Plus in Teams: the link education advisor's decisions on each request,
and the Virtual School Head's end-of-term payment schedule (shown, exported, offered
as files)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from bot.after_meeting import AfterMeeting
from bot.card_data import data_str
from bot.files import file_offer
from bot.turn import CardHandler, Outgoing, Reply, Turn
from cards.pupil_premium import (
    PP_APPROVE,
    PP_APPROVE_AMOUNT,
    PP_DECLINE,
    PP_EXPORT,
    PP_LIST,
    PP_OPEN,
    PP_SCHEDULE,
    decision_from_card_data,
    out_of_date_notice,
    pp_decided_card,
    pp_outcome_card,
    pp_pending_card,
    pp_request_card,
    same_decision_notice,
    schedule_card,
    version_from_card_data,
)
from pep_model.access import Actor
from pep_model.errors import NotAllowed, NotFound, ValidationFailed
from pep_model.pupil_premium_service import (
    DecisionOutOfDate,
    ScheduleRefused,
    can_export_schedule,
    schedule_csv_name,
)

log = logging.getLogger(__name__)

REPORT_SCHEDULE_CSV = "pp_schedule_csv"
REPORT_SCHEDULE_DOCX = "pp_schedule_docx"
REPORTS = (REPORT_SCHEDULE_CSV, REPORT_SCHEDULE_DOCX)


class PupilPremiumRoutes:
    def __init__(self, services: AfterMeeting) -> None:
        self.pp = services.pupil_premium
        self.overview = services.overview  # the term calendar's current term
        self.reach = services.reach

    def verbs(self) -> dict[str, CardHandler]:
        return {
            PP_OPEN: self.pp_open,
            PP_APPROVE: self.pp_approve,
            PP_APPROVE_AMOUNT: self.pp_approve_amount,
            PP_DECLINE: self.pp_decline,
            PP_LIST: self.pp_list,
            PP_SCHEDULE: self.pp_schedule,
            PP_EXPORT: self.pp_export,
        }

    # ---- the advisor's decisions ----------------------------------------------------

    async def pp_open(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        view = await self.pp.view(data_str(data, "request_id"), actor)
        return Reply(invoke_card=pp_request_card(view))

    async def pp_approve(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        return await self._decide(actor, data, PP_APPROVE)

    async def pp_approve_amount(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        return await self._decide(actor, data, PP_APPROVE_AMOUNT)

    async def pp_decline(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        return await self._decide(actor, data, PP_DECLINE)

    async def _decide(self, actor: Actor, data: Mapping[str, Any], verb: str) -> Reply:
        request_id = data_str(data, "request_id")
        view = await self.pp.view(request_id, actor)
        try:
            decision = decision_from_card_data(verb, data, view.request.index)
            outcome = await self.pp.decide(
                request_id, actor, decision, version=version_from_card_data(data, view)
            )
        except ValidationFailed as exc:
            return Reply(invoke_card=pp_request_card(view, errors=exc.errors, typed=data))
        except DecisionOutOfDate as stale:
            log.info("PP+ request %s: a card of an older version, nothing recorded", request_id)
            return Reply(
                invoke_card=pp_request_card(
                    stale.view, typed=data, notice=out_of_date_notice(stale.view, actor.id)
                )
            )
        if not outcome.changed:
            log.info("PP+ request %s: the same decision again, nothing sent", request_id)
            return Reply(
                invoke_card=pp_request_card(
                    outcome.view, notice=same_decision_notice(outcome.view, actor.id)
                )
            )
        messages = await self.reach.to_people(
            outcome.leads, pp_outcome_card(outcome), "PP+ outcome", request_id
        )
        log.info("PP+ request %s decided: %s", request_id, outcome.record.kind.value)
        return Reply(invoke_card=pp_decided_card(outcome, messages.names), messages=messages)

    async def pp_list(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        return Reply(invoke_card=pp_pending_card(await self.pp.pending(actor)))

    # ---- the payment schedule -------------------------------------------------------

    async def pp_schedule(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        term_id = str(data.get("term_id") or "") or self.overview.term().id
        view = await self.pp.schedule(term_id, actor)
        card = schedule_card(view, can_export=can_export_schedule(actor))
        if turn.type == "invoke":
            return Reply(invoke_card=card)
        return Reply(messages=[Outgoing(card=card)])

    async def pp_export(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        term_id = data_str(data, "term_id")
        try:
            export = await self.pp.export(term_id, actor)
        except ScheduleRefused as exc:
            view = await self.pp.schedule(term_id, actor)
            return Reply(invoke_card=schedule_card(view, can_export=True, notice=str(exc)))
        frozen = export.frozen
        view = await self.pp.schedule(term_id, actor)
        notice = (
            "Exported and frozen. " if export.newly_frozen else ""
        ) + "The CSV for finance and the document are offered to you below."
        context = {"term_id": export.term.id}
        to = "" if turn.personal else turn.user_id
        offers = [
            Outgoing(
                attachment=file_offer(
                    schedule_csv_name(export.term.id),
                    len(frozen.csv.encode("utf-8")),
                    {**context, "report": REPORT_SCHEDULE_CSV},
                    "PP+ payment schedule for finance (CSV)",
                ),
                to_user_id=to,
            ),
            Outgoing(
                attachment=file_offer(
                    frozen.document_name,
                    len(frozen.document),
                    {**context, "report": REPORT_SCHEDULE_DOCX},
                    "PP+ payment schedule (Word)",
                ),
                to_user_id=to,
            ),
        ]
        log.info(
            "PP+ schedule %s exported (newly frozen: %s, carried: %d)",
            export.term.id,
            export.newly_frozen,
            export.carried,
        )
        return Reply(
            invoke_card=schedule_card(view, can_export=True, notice=notice), messages=offers
        )

    async def file(self, report: str, term_id: str, actor: Actor) -> tuple[str, bytes]:
        """The exported schedule's file (one of REPORTS), when its offer is accepted."""
        frozen = await self.pp.schedule(term_id, actor)
        if frozen.frozen is None:
            raise NotFound("This term's payment schedule has not been exported.")
        if not can_export_schedule(actor):
            raise NotAllowed("Only the Virtual School Head can download the schedule.")
        if report == REPORT_SCHEDULE_CSV:
            return schedule_csv_name(term_id), frozen.frozen.csv.encode("utf-8")
        return frozen.frozen.document_name, frozen.frozen.document
