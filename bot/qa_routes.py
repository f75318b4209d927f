"""After the meeting, in Teams: quality assurance, Pupil Premium Plus approval, the payment
schedule and the Virtual School's overview.

Card verbs (`verbs()`), personal-chat commands (`command`), the file offers for the
exports (`file_consent`), and two entry points for other parts of the bot:
`on_pep_returned(pep_id)` (a PEP was returned: into QA, cards to the coordinator and the
link advisor) and `weekly_digest()` (the overview for the Virtual School Head). Every
route returns a Reply; messages to other people are Outgoing(to_user_id=<Entra object
id>), posted in their personal chat with the bot.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from bot.card_data import BadRequest, data_str
from bot.turn import CardHandler, Outgoing, Reply, Turn, command_text
from cards.messages import message_card
from cards.overview import OVERVIEW, OVERVIEW_EXPORT, overview_card
from cards.pupil_premium import (
    PP_APPROVE,
    PP_APPROVE_AMOUNT,
    PP_DECLINE,
    PP_EXPORT,
    PP_LIST,
    PP_OPEN,
    PP_SCHEDULE,
    decision_from_card_data,
    pp_decided_card,
    pp_outcome_card,
    pp_pending_card,
    pp_request_card,
    schedule_card,
)
from cards.quality import (
    FEEDBACK,
    OVERRIDE_REASON,
    QA_APPROVE,
    QA_CALCULATE,
    QA_CHECK,
    QA_LIST,
    QA_OPEN,
    QA_RESUBMIT,
    QA_RETURN,
    amendment_card,
    check_chooser_card,
    error_key,
    finalised_card,
    grades_from_card_data,
    override_from_card_data,
    pre_assessment_card,
    qa_card,
    qa_decided_card,
    qa_queue_card,
    qa_text,
)
from forms.payment_schedule import render_payment_schedule
from pep_model.access import SYSTEM, Actor, Capability
from pep_model.errors import NotAllowed, NotFound, ValidationFailed
from pep_model.overview_service import OverviewService
from pep_model.people import Person
from pep_model.pep import pep_id_for
from pep_model.pupil_premium_service import (
    PupilPremiumService,
    ScheduleRefused,
    can_export_schedule,
    schedule_csv_name,
)
from pep_model.qa_service import QaService
from pep_model.quality import GradeScale, QaDecision, QaInvalid
from pep_model.rules import PepRules

if TYPE_CHECKING:
    from bot.settings import Settings
    from bot.wiring import Container

log = logging.getLogger(__name__)

Upload = Callable[[str, bytes], Awaitable[None]]

FILE_CONSENT = "application/vnd.microsoft.teams.card.file.consent"
FILE_INFO = "application/vnd.microsoft.teams.card.file.info"
CSV = "text/csv"
REPORT_SCHEDULE_CSV = "pp_schedule_csv"
REPORT_SCHEDULE_DOCX = "pp_schedule_docx"
REPORT_OVERVIEW_CSV = "overview_csv"

COMMANDS: tuple[tuple[str, str], ...] = (
    ("check my pep", "Designated teachers: the quality checks on your PEP before the meeting"),
    ("qa", "PEP coordinators: returned PEPs waiting for quality assurance"),
    ("pp+", "Education advisors: Pupil Premium Plus requests waiting for you"),
    ("overview", "Virtual School: this term's PEPs, QA grades and PP+ at a glance"),
    ("pp+ schedule", "Virtual School Head: the end-of-term PP+ payment schedule"),
)

_CHECK = re.compile(r"check(?: my)? peps?(?:\s+(\S+))?")
_SCHEDULE = re.compile(r"(?:pp\+?|pupil premium(?: plus)?|payment)\s+schedule(?:\s+(\S+))?")
_OVERVIEW = re.compile(r"overview(?:\s+(\S+))?")
_QA = {"qa", "my qa", "qa queue", "quality assurance"}
_PP = {"pp+", "pp", "my pp+", "pupil premium", "pupil premium plus", "pp+ requests"}


def with_qa_settings(rules: PepRules, settings: Settings) -> PepRules:
    """The authority's QA and PP+ settings on top of its PEP rules (checked: a bad grade
    scale stops the start-up with a message)."""
    grades = tuple(g.strip().lower() for g in settings.qa_grades)
    GradeScale(grades)  # raises ValueError naming the problem
    return replace(rules, qa_grades=grades,
                   qa_amber_blocks_approval=settings.qa_amber_blocks_approval,
                   qa_voice_min_words=settings.qa_voice_min_words,
                   payment_needs_finalised_pep=settings.pupil_premium_needs_finalised_pep)


@dataclass(frozen=True)
class AfterMeeting:
    """The three use-case services, built once from the container."""

    qa: QaService
    pupil_premium: PupilPremiumService
    overview: OverviewService


def after_meeting_services(c: Container) -> AfterMeeting:
    rules = with_qa_settings(c.rules, c.settings)
    return AfterMeeting(
        QaService(c.uow, c.calendar, rules, c.clock),
        PupilPremiumService(c.uow, c.calendar, rules, c.clock,
                            document=render_payment_schedule,
                            authority_name=c.settings.authority_name),
        OverviewService(c.uow, c.calendar, rules, c.clock))


def build_qa_routes(c: Container, upload: Upload | None = None) -> QaRoutes:
    return QaRoutes(after_meeting_services(c), upload)


def _to(people: list[Person] | tuple[Person, ...], card: dict[str, Any],
        what: str, pep_id: str) -> list[Outgoing]:
    out = [Outgoing(card=card, to_user_id=p.entra_object_id) for p in people
           if p.entra_object_id]
    if len(out) < len(people):
        log.warning("%s for %s: %d of %d recipients have no Teams id", what, pep_id,
                    len(people) - len(out), len(people))
    return out


def _names(people: list[Person] | tuple[Person, ...]) -> list[str]:
    return [p.name for p in people if p.entra_object_id]


def _consent(name: str, size: int, context: dict[str, str], description: str
             ) -> dict[str, Any]:
    """A file offered in personal chat; written to the user's OneDrive only on accept."""
    return {"contentType": FILE_CONSENT, "name": name,
            "content": {"description": description, "sizeInBytes": size,
                        "acceptContext": context, "declineContext": context}}


def _personal_only() -> Reply:
    return Reply(messages=[Outgoing(card=message_card(
        "Ask me in a personal chat",
        "This shows children's details, so I only show it in a one-to-one chat with you."))])


class QaRoutes:
    def __init__(self, services: AfterMeeting, upload: Upload | None = None) -> None:
        self.qa = services.qa
        self.pp = services.pupil_premium
        self.overview = services.overview
        self.upload = upload

    def verbs(self) -> dict[str, CardHandler]:
        return {
            QA_OPEN: self.qa_open, QA_CALCULATE: self.qa_calculate,
            QA_APPROVE: self.qa_approve, QA_RETURN: self.qa_return,
            QA_RESUBMIT: self.qa_resubmit, QA_CHECK: self.qa_check, QA_LIST: self.qa_list,
            PP_OPEN: self.pp_open, PP_APPROVE: self.pp_approve,
            PP_APPROVE_AMOUNT: self.pp_approve_amount, PP_DECLINE: self.pp_decline,
            PP_LIST: self.pp_list, PP_SCHEDULE: self.pp_schedule, PP_EXPORT: self.pp_export,
            OVERVIEW: self.overview_open, OVERVIEW_EXPORT: self.overview_export,
        }

    # ---- entry points for the rest of the bot ------------------------------------

    async def on_pep_returned(self, pep_id: str, returned_by: str | None = None
                              ) -> list[Outgoing]:
        """A PEP was returned (or resubmitted after amendment): it goes into QA; the QA
        card goes to the responsible coordinator(s) and a card per new or changed PP+
        request to the school's link education advisor(s). Calling it again for a PEP
        already in QA sends nothing new."""
        start = await self.qa.start(pep_id)
        out: list[Outgoing] = []
        if start.started:
            if not start.coordinators:
                log.warning("no PEP coordinator to quality-assure %s", pep_id)
            out += _to(start.coordinators, qa_card(start.review), "QA card", pep_id)
        receipt = await self.pp.receive(pep_id, returned_by)
        if receipt.to_decide and not receipt.advisors:
            log.warning("no education advisor for the PP+ requests of %s", pep_id)
        for view in receipt.to_decide:
            advisors = [a for a in receipt.advisors if a.id != view.request.requested_by]
            out += _to(advisors, pp_request_card(view), "PP+ card", view.request.id)
        log.info("PEP %s returned: QA %s, %d PP+ request(s) to decide, %d withdrawn",
                 pep_id, "started" if start.started else "already open",
                 len(receipt.to_decide), len(receipt.withdrawn))
        return out

    async def digest_card(self) -> dict[str, Any]:
        """This term's overview, as the weekly digest shows it."""
        overview = await self.overview.overview(SYSTEM)
        term = self.overview.term(overview.term_id)
        return overview_card(overview, term.label, self.overview.scale, digest=True)

    async def weekly_digest(self) -> list[Outgoing]:
        """This term's overview for each Virtual School Head, in this turn's chats."""
        card = await self.digest_card()
        heads = await self.overview.digest_recipients()
        if not heads:
            log.warning("weekly digest: no Virtual School Head on record")
        return _to(heads, card, "weekly digest", "this term")

    # ---- personal-chat commands ------------------------------------------------------

    async def command(self, turn: Turn, actor: Actor, text: str) -> Reply | None:
        """The commands this part answers; None for any other text."""
        command = command_text(text)
        check = _CHECK.fullmatch(command)
        schedule = _SCHEDULE.fullmatch(command)
        overview = _OVERVIEW.fullmatch(command)
        if not (check or schedule or overview or command in _QA or command in _PP):
            return None
        if not turn.personal:
            return _personal_only()
        if check:
            return await self._check_command(actor, check.group(1))
        if schedule:
            term = schedule.group(1) or self.overview.term().id
            return await self.pp_schedule(turn, actor, {"term_id": term})
        if overview:
            return _as_message(await self.overview_open(turn, actor,
                                                        {"term_id": overview.group(1) or ""}))
        if command in _QA:
            return _as_message(await self.qa_list(turn, actor, {}))
        return _as_message(await self.pp_list(turn, actor, {}))

    async def _check_command(self, actor: Actor, lcs_id: str | None) -> Reply:
        term_id = self.overview.term().id
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
            return Reply(messages=[Outgoing(card=message_card(
                "Not started yet", f"There is no PEP for {child_id} this term yet. Type "
                f"'open {child_id}' to start it, then check it again."))])
        return Reply(messages=[Outgoing(card=pre_assessment_card(pre))])

    # ---- quality assurance ---------------------------------------------------------

    async def qa_open(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        review = await self.qa.review(data_str(data, "pep_id"), actor)
        return Reply(invoke_card=qa_card(review))

    async def qa_calculate(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        review = await self.qa.review(data_str(data, "pep_id"), actor)
        try:
            assessment = review.preview(
                grades_from_card_data(data), override=override_from_card_data(data),
                override_reason=qa_text(data, OVERRIDE_REASON),
                feedback=qa_text(data, FEEDBACK))
        except QaInvalid as exc:
            return Reply(invoke_card=qa_card(review, typed=data,
                                             errors={error_key(exc.field): exc.message}))
        label = review.policy.scale.label(assessment.overall)
        return Reply(invoke_card=qa_card(review, typed=data, assessment=assessment,
                                         notice=f"Overall grade: {label}"))

    async def qa_approve(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        return await self._qa_decide(actor, data, QaDecision.APPROVE)

    async def qa_return(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        return await self._qa_decide(actor, data, QaDecision.RETURN)

    async def _qa_decide(self, actor: Actor, data: Mapping[str, Any],
                         decision: QaDecision) -> Reply:
        pep_id = data_str(data, "pep_id")
        try:
            outcome = await self.qa.decide(
                pep_id, actor, grades_from_card_data(data), decision,
                override=override_from_card_data(data),
                override_reason=qa_text(data, OVERRIDE_REASON),
                feedback=qa_text(data, FEEDBACK), expected_round=_int(data.get("round")))
        except QaInvalid as exc:
            review = await self.qa.review(pep_id, actor)
            return Reply(invoke_card=qa_card(review, typed=data,
                                             errors={error_key(exc.field): exc.message}))
        r = outcome.round
        told = outcome.review
        for_school = finalised_card(told, r) if r.decision is QaDecision.APPROVE \
            else amendment_card(told, r)
        messages = _to(outcome.leads, for_school, f"QA {r.decision.value}", pep_id)
        log.info("QA round %d of %s recorded: %s", r.number, pep_id, r.decision.value)
        return Reply(invoke_card=qa_decided_card(told, r, _names(outcome.leads)),
                     messages=messages)

    async def qa_resubmit(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        pep_id = data_str(data, "pep_id")
        await self.qa.resubmit(pep_id, actor)
        messages = await self.on_pep_returned(pep_id, returned_by=actor.id)
        return Reply(invoke_card=message_card(
            "Sent back for quality assurance",
            "The PEP coordinator has the amended PEP. I'll tell you the outcome.",
            style="good"), messages=messages)

    async def qa_check(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        pre = await self.qa.check(data_str(data, "pep_id"), actor)
        return Reply(invoke_card=pre_assessment_card(pre))

    async def qa_list(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        return Reply(invoke_card=qa_queue_card(await self.qa.queue(actor)))

    # ---- Pupil Premium Plus ---------------------------------------------------------

    async def pp_open(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        view = await self.pp.view(data_str(data, "request_id"), actor)
        return Reply(invoke_card=pp_request_card(view))

    async def pp_approve(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        return await self._pp_decide(actor, data, PP_APPROVE)

    async def pp_approve_amount(self, turn: Turn, actor: Actor,
                                data: Mapping[str, Any]) -> Reply:
        return await self._pp_decide(actor, data, PP_APPROVE_AMOUNT)

    async def pp_decline(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        return await self._pp_decide(actor, data, PP_DECLINE)

    async def _pp_decide(self, actor: Actor, data: Mapping[str, Any], verb: str) -> Reply:
        request_id = data_str(data, "request_id")
        view = await self.pp.view(request_id, actor)
        try:
            decision = decision_from_card_data(verb, data, view.request.index)
            outcome = await self.pp.decide(request_id, actor, decision)
        except ValidationFailed as exc:
            return Reply(invoke_card=pp_request_card(view, errors=exc.errors, typed=data))
        messages = _to(outcome.leads, pp_outcome_card(outcome), "PP+ outcome", request_id)
        log.info("PP+ request %s decided: %s", request_id, outcome.record.kind.value)
        return Reply(invoke_card=pp_decided_card(outcome, _names(outcome.leads)),
                     messages=messages)

    async def pp_list(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        return Reply(invoke_card=pp_pending_card(await self.pp.pending(actor)))

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
        notice = ("Exported and frozen. " if export.newly_frozen else "") + \
            "The CSV for finance and the document are offered to you below."
        context = {"term_id": export.term.id}
        to = "" if turn.personal else turn.user_id
        offers = [
            Outgoing(attachment=_consent(schedule_csv_name(export.term.id),
                                         len(frozen.csv.encode("utf-8")),
                                         {**context, "report": REPORT_SCHEDULE_CSV},
                                         "PP+ payment schedule for finance (CSV)"),
                     to_user_id=to),
            Outgoing(attachment=_consent(frozen.document_name, len(frozen.document),
                                         {**context, "report": REPORT_SCHEDULE_DOCX},
                                         "PP+ payment schedule (Word)"), to_user_id=to)]
        log.info("PP+ schedule %s exported (newly frozen: %s, carried: %d)", export.term.id,
                 export.newly_frozen, export.carried)
        return Reply(invoke_card=schedule_card(view, can_export=True, notice=notice),
                     messages=offers)

    # ---- the overview ---------------------------------------------------------------

    async def overview_open(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        term_id = str(data.get("term_id") or "") or None
        overview = await self.overview.overview(actor, term_id)
        term = self.overview.term(overview.term_id)
        return Reply(invoke_card=overview_card(overview, term.label, self.overview.scale))

    async def overview_export(self, turn: Turn, actor: Actor,
                              data: Mapping[str, Any]) -> Reply:
        term_id = data_str(data, "term_id")
        content = (await self.overview.report_csv(term_id, actor)).encode("utf-8")
        to = "" if turn.personal else turn.user_id
        offer = Outgoing(attachment=_consent(
            f"pep-overview-{term_id}.csv", len(content),
            {"term_id": term_id, "report": REPORT_OVERVIEW_CSV}, "PEP overview (CSV)"),
            to_user_id=to)
        return Reply(invoke_card=message_card("Overview CSV",
                                              "The file is offered to you below."),
                     messages=[offer])

    # ---- the files, once accepted --------------------------------------------------------

    async def file_consent(self, turn: Turn, actor: Actor) -> Reply | None:
        """A fileConsent/invoke for one of this part's files; None for any other."""
        value = turn.value if isinstance(turn.value, Mapping) else {}
        context = value.get("context") or {}
        report = context.get("report") if isinstance(context, Mapping) else None
        if report not in (REPORT_SCHEDULE_CSV, REPORT_SCHEDULE_DOCX, REPORT_OVERVIEW_CSV):
            return None
        term_id = context.get("term_id")
        if not isinstance(term_id, str) or not term_id:
            raise BadRequest("The file offer did not say which term.")
        if value.get("action") != "accept":
            return Reply(messages=[Outgoing(text="All right, I haven't saved the file.")])
        info = value.get("uploadInfo") or {}
        upload_url = info.get("uploadUrl") if isinstance(info, Mapping) else None
        if not isinstance(upload_url, str) or self.upload is None:
            raise BadRequest("Teams did not give an upload address.")
        name, content = await self._file(report, term_id, actor)
        await self.upload(upload_url, content)
        attachment = {"contentType": FILE_INFO, "contentUrl": info.get("contentUrl", ""),
                      "name": info.get("name") or name,
                      "content": {"uniqueId": info.get("uniqueId", ""),
                                  "fileType": info.get("fileType") or name.rsplit(".")[-1]}}
        return Reply(messages=[Outgoing(attachment=attachment)])

    async def _file(self, report: str, term_id: str, actor: Actor) -> tuple[str, bytes]:
        if report == REPORT_OVERVIEW_CSV:
            return (f"pep-overview-{term_id}.csv",
                    (await self.overview.report_csv(term_id, actor)).encode("utf-8"))
        frozen = await self.pp.schedule(term_id, actor)
        if frozen.frozen is None:
            raise NotFound("This term's payment schedule has not been exported.")
        if not can_export_schedule(actor):
            raise NotAllowed("Only the Virtual School Head can download the schedule.")
        if report == REPORT_SCHEDULE_CSV:
            return schedule_csv_name(term_id), frozen.frozen.csv.encode("utf-8")
        return frozen.frozen.document_name, frozen.frozen.document


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _as_message(reply: Reply) -> Reply:
    """A handler's invoke answer, posted as a message (for a typed command)."""
    if reply.invoke_card is None:
        return reply
    return Reply(messages=[Outgoing(card=reply.invoke_card), *reply.messages])
