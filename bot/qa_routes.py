"""After the meeting, in Teams: quality assurance here, with the one entry point the
rest of the bot talks to for everything after the meeting — Pupil Premium Plus
(bot/pupil_premium_routes.py) and the Virtual School's overview
(bot/overview_routes.py) included.

Card verbs (`verbs()`), personal-chat commands (`command`), the file offers for the
exports (`file_consent`), and the entry point for other parts of the bot:
`on_pep_returned(pep_id)` (a PEP was returned: into QA, cards to the coordinator and the
link advisor). The weekly digest is a job (bot/jobs_runner.py) whose Teams notice is
rendered on delivery (bot/notices.py). Every route returns a Reply; messages to other
people are Outgoing(to_user_id=<Entra object id>), posted in their personal chat with the
bot.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from bot import commands, overview_routes, pupil_premium_routes
from bot.after_meeting import (
    AfterMeeting,
    Reach,
    Upload,
    after_meeting_services,
    as_message,
)
from bot.card_data import BadRequest, data_str, whole_number
from bot.commands import Command, CommandRun
from bot.files import save_accepted, upload_address
from bot.overview_routes import OverviewRoutes
from bot.pupil_premium_routes import PupilPremiumRoutes
from bot.turn import CardHandler, Outgoing, Reply, Turn
from cards.messages import message_card
from cards.pupil_premium import pp_request_card
from cards.qa_check import check_chooser_card, pre_assessment_card, qa_queue_card
from cards.quality import (
    FEEDBACK,
    OVERRIDE_REASON,
    QA_ACCEPT_ALL,
    QA_APPROVE,
    QA_CALCULATE,
    QA_CHECK,
    QA_LIST,
    QA_OPEN,
    QA_RESUBMIT,
    QA_RETURN,
    already_decided_notice,
    amendment_card,
    error_key,
    finalised_card,
    grades_as_card_data,
    grades_from_card_data,
    override_from_card_data,
    qa_card,
    qa_decided_card,
    qa_text,
)
from pep_model.access import Actor, Capability
from pep_model.errors import NotFound
from pep_model.pep import pep_id_for
from pep_model.qa_service import QaAlreadyDecided
from pep_model.quality import QaDecision, QaInvalid

if TYPE_CHECKING:
    from bot.wiring import Container

log = logging.getLogger(__name__)


def build_qa_routes(
    c: Container, upload: Upload | None = None, reach: Reach | None = None
) -> QaRoutes:
    return QaRoutes(after_meeting_services(c, reach), upload)


class QaRoutes:
    # set by bot/server.py: after "Approve and finalise", the finalised record (the
    # version to file) to Business Support, the social worker and the designated teacher
    on_finalised: Callable[[str], Awaitable[object]] | None = None

    def __init__(self, services: AfterMeeting, upload: Upload | None = None) -> None:
        self.qa = services.qa
        self.reach = services.reach
        self.pupil_premium = PupilPremiumRoutes(services)
        self.overviews = OverviewRoutes(services)
        self.upload = upload

    def verbs(self) -> dict[str, CardHandler]:
        return {
            QA_OPEN: self.qa_open,
            QA_CALCULATE: self.qa_calculate,
            QA_APPROVE: self.qa_approve,
            QA_RETURN: self.qa_return,
            QA_RESUBMIT: self.qa_resubmit,
            QA_CHECK: self.qa_check,
            QA_LIST: self.qa_list,
            QA_ACCEPT_ALL: self.qa_accept_all,
            **self.pupil_premium.verbs(),
            **self.overviews.verbs(),
        }

    # ---- entry points for the rest of the bot ------------------------------------

    async def on_pep_returned(self, pep_id: str, returned_by: str | None = None) -> list[Outgoing]:
        """A PEP was returned (or resubmitted after amendment): it goes into QA; the QA
        card goes to the responsible coordinator(s) and a card per new or changed PP+
        request to the school's link education advisor(s). Calling it again for a PEP
        already in QA sends nothing new."""
        start = await self.qa.start(pep_id)
        out: list[Outgoing] = []
        if start.started:
            if not start.coordinators:
                log.warning("no PEP coordinator to quality-assure %s", pep_id)
            out += await self.reach.to_people(
                start.coordinators, qa_card(start.review), "QA card", pep_id, pep_id
            )
        receipt = await self.pupil_premium.pp.receive(pep_id, returned_by)
        if receipt.to_decide and not receipt.advisors:
            log.warning("no education advisor for the PP+ requests of %s", pep_id)
        for view in receipt.to_decide:
            advisors = [a for a in receipt.advisors if a.id != view.request.requested_by]
            out += await self.reach.to_people(
                advisors, pp_request_card(view), "PP+ card", view.request.id, pep_id
            )
        log.info(
            "PEP %s returned: QA %s, %d PP+ request(s) to decide, %d withdrawn",
            pep_id,
            "started" if start.started else "already open",
            len(receipt.to_decide),
            len(receipt.withdrawn),
        )
        return out

    # ---- personal-chat commands ------------------------------------------------------

    def commands(self) -> dict[Command, CommandRun]:
        return {
            commands.CHECK: self._check,
            commands.PP_SCHEDULE: self._pp_schedule,
            commands.OVERVIEW: self._overview,
            commands.QA: self._qa,
            commands.PP: self._pp,
        }

    async def _check(self, turn: Turn, actor: Actor, match: re.Match[str]) -> Reply:
        return await self._check_command(actor, match.group(1))

    async def _pp_schedule(self, turn: Turn, actor: Actor, match: re.Match[str]) -> Reply:
        term = match.group(1) or self.overviews.overview.term().id
        return await self.pupil_premium.pp_schedule(turn, actor, {"term_id": term})

    async def _overview(self, turn: Turn, actor: Actor, match: re.Match[str]) -> Reply:
        return as_message(
            await self.overviews.overview_open(turn, actor, {"term_id": match.group(1) or ""})
        )

    async def _qa(self, turn: Turn, actor: Actor, match: re.Match[str]) -> Reply:
        return as_message(await self.qa_list(turn, actor, {}))

    async def _pp(self, turn: Turn, actor: Actor, match: re.Match[str]) -> Reply:
        return as_message(await self.pupil_premium.pp_list(turn, actor, {}))

    async def _check_command(self, actor: Actor, lcs_id: str | None) -> Reply:
        term_id = self.overviews.overview.term().id
        if not lcs_id:
            async with self.qa.uow() as uow:
                children = actor.visible(await uow.children.list_all(), Capability.EDIT)
            entries = [(pep_id_for(c.lcs_id, term_id), c) for c in children]
            if len(entries) != 1:
                return Reply(messages=[Outgoing(card=check_chooser_card(entries))])
            lcs_id = entries[0][1].lcs_id
        child_id = lcs_id.upper()
        try:
            pre = await self.qa.check(pep_id_for(child_id, term_id), actor)
        except NotFound:
            return Reply(
                messages=[
                    Outgoing(
                        card=message_card(
                            "Not started yet",
                            f"There is no PEP for {child_id} this term yet. Type "
                            f"'open {child_id}' to start it, then check it again.",
                        )
                    )
                ]
            )
        return Reply(messages=[Outgoing(card=pre_assessment_card(pre))])

    # ---- quality assurance ---------------------------------------------------------

    async def qa_open(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        review = await self.qa.review(data_str(data, "pep_id"), actor)
        return Reply(invoke_card=qa_card(review))

    async def qa_calculate(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        review = await self.qa.review(data_str(data, "pep_id"), actor)
        try:
            assessment = review.preview(
                grades_from_card_data(data),
                override=override_from_card_data(data),
                override_reason=qa_text(data, OVERRIDE_REASON),
                feedback=qa_text(data, FEEDBACK),
            )
        except QaInvalid as exc:
            return Reply(
                invoke_card=qa_card(review, typed=data, errors={error_key(exc.field): exc.message})
            )
        label = review.policy.scale.label(assessment.overall)
        return Reply(
            invoke_card=qa_card(
                review, typed=data, assessment=assessment, notice=f"Overall grade: {label}"
            )
        )

    async def qa_approve(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        return await self._qa_decide(actor, data, QaDecision.APPROVE)

    async def qa_return(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        return await self._qa_decide(actor, data, QaDecision.RETURN)

    async def _qa_decide(
        self, actor: Actor, data: Mapping[str, Any], decision: QaDecision
    ) -> Reply:
        pep_id = data_str(data, "pep_id")
        try:
            outcome = await self.qa.decide(
                pep_id,
                actor,
                grades_from_card_data(data),
                decision,
                override=override_from_card_data(data),
                override_reason=qa_text(data, OVERRIDE_REASON),
                feedback=qa_text(data, FEEDBACK),
                expected_round=_int(data.get("round")),
            )
        except QaInvalid as exc:
            review = await self.qa.review(pep_id, actor)
            return Reply(
                invoke_card=qa_card(review, typed=data, errors={error_key(exc.field): exc.message})
            )
        except QaAlreadyDecided as done:
            log.info(
                "QA of %s: a card of round %d, already recorded; nothing sent",
                pep_id,
                done.decided.number,
            )
            return Reply(
                invoke_card=qa_card(
                    done.review, notice=already_decided_notice(done.review, done.decided, actor.id)
                )
            )
        r = outcome.round
        told = outcome.review
        for_school = (
            finalised_card(told, r) if r.decision is QaDecision.APPROVE else amendment_card(told, r)
        )
        messages = await self.reach.to_people(
            outcome.leads, for_school, f"QA {r.decision.value}", pep_id, pep_id
        )
        log.info("QA round %d of %s recorded: %s", r.number, pep_id, r.decision.value)
        if r.decision is QaDecision.APPROVE and self.on_finalised is not None:
            await self.on_finalised(pep_id)  # bot/finalised_record.py; once per version
        return Reply(invoke_card=qa_decided_card(told, r, messages.names), messages=messages)

    async def qa_accept_all(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        """'Accept all suggestions': the unconfirmed sections take the suggested grade
        (audited); the coordinator then approves or returns."""
        accepted = await self.qa.accept_suggestions(
            data_str(data, "pep_id"), actor, grades_from_card_data(data)
        )
        typed = {**data, **grades_as_card_data(accepted.choices)}
        n = len(accepted.filled)
        notice = (
            (
                f"Suggestions accepted for {n} section{'s' if n != 1 else ''}. Check "
                "them, then approve or return the PEP."
            )
            if n
            else "Every section already had a grade you chose."
        )
        return Reply(invoke_card=qa_card(accepted.review, typed=typed, notice=notice))

    async def qa_resubmit(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        pep_id = data_str(data, "pep_id")
        await self.qa.resubmit(pep_id, actor)
        messages = await self.on_pep_returned(pep_id, returned_by=actor.id)
        return Reply(
            invoke_card=message_card(
                "Sent back for quality assurance",
                "The PEP coordinator has the amended PEP. I'll tell you the outcome.",
                style="good",
            ),
            messages=messages,
        )

    async def qa_check(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        pre = await self.qa.check(data_str(data, "pep_id"), actor)
        return Reply(invoke_card=pre_assessment_card(pre))

    async def qa_list(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        return Reply(invoke_card=qa_queue_card(await self.qa.queue(actor)))

    # ---- the files, once accepted --------------------------------------------------------

    async def file_consent(self, turn: Turn, actor: Actor) -> Reply | None:
        """A fileConsent/invoke for one of the exports' files; None for any other."""
        value = turn.value if isinstance(turn.value, Mapping) else {}
        context = value.get("context") or {}
        report = context.get("report") if isinstance(context, Mapping) else None
        if report in pupil_premium_routes.REPORTS:
            part: PupilPremiumRoutes | OverviewRoutes = self.pupil_premium
        elif report in overview_routes.REPORTS:
            part = self.overviews
        else:
            return None
        term_id = context.get("term_id")
        if not isinstance(term_id, str) or not term_id:
            raise BadRequest("The file offer did not say which term.")
        if value.get("action") != "accept":
            return Reply(messages=[Outgoing(text="All right, I haven't saved the file.")])
        upload_address(value)  # no address: nothing to make
        if self.upload is None:
            raise BadRequest("Teams did not give an upload address.")
        name, content = await part.file(report, term_id, actor)
        return await save_accepted(self.upload, value, name, content)


def _int(value: Any) -> int | None:
    return None if value is None or value == "" else whole_number(value, "QA round")
