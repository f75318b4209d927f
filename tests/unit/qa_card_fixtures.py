"""Every QA, PP+ and overview card variant, built without a store (no tests in here).
Used by tests/unit/test_cards_qa.py (schema, size) and
tests/integration/test_cards_render_qa.py (the official renderer)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType
from typing import Any

from cards.overview import overview_card
from cards.pupil_premium import (
    pp_decided_card,
    pp_outcome_card,
    pp_pending_card,
    pp_request_card,
    schedule_card,
)
from cards.qa_check import check_chooser_card, pre_assessment_card, qa_queue_card
from cards.quality import (
    amendment_card,
    finalised_card,
    qa_card,
    qa_decided_card,
)
from pep_model.child import School
from pep_model.errors import FieldError
from pep_model.overview import OverviewRow, build_overview
from pep_model.people import Person
from pep_model.pep import Pep
from pep_model.pupil_premium import (
    ApprovalRecord,
    DecisionKind,
    PupilPremiumPolicy,
    PupilPremiumRequest,
    build_schedule,
)
from pep_model.pupil_premium_service import (
    FrozenSchedule,
    PpOutcome,
    RequestView,
    ScheduleView,
    StoredRequest,
)
from pep_model.qa_service import QaReview, QaService, QueueItem
from pep_model.quality import QaDecision, QaRound
from pep_model.rules import PepRules
from pep_model.sections import SECTIONS, FieldKind
from pep_model.terms import default_calendar
from pep_model.workflow import PepStatus
from tests.unit.test_cards_fixtures import FixedClock, make_child, make_pep

CALENDAR = default_calendar()
QA = QaService(
    uow=None,
    calendar=CALENDAR,
    rules=PepRules(),  # type: ignore[arg-type]
    clock=FixedClock(),
)
SCHOOL = School("100001", "Northvale Academy")
AT = datetime(2026, 10, 8, 14, 0, tzinfo=UTC)
LEAD = Person("h.pemberton@northvale.sch.example", "Harriet Pemberton", "aad-h")


def huge_pep() -> Pep:
    """Every text field at its maximum length, every table at its most rows."""
    pep = make_pep(make_child(), status=PepStatus.IN_QA)
    for spec in SECTIONS:
        content = dict(pep.section(spec.key))
        for f in spec.fields:
            if f.kind in (FieldKind.TEXT, FieldKind.LONG_TEXT):
                content[f.name] = ("word " * f.max_length)[: f.max_length]
        if spec.is_table and content.get("rows"):
            row = dict(content["rows"][0])
            for f in spec.row_fields:
                if f.kind in (FieldKind.TEXT, FieldKind.LONG_TEXT) and f.name != "ref":
                    row[f.name] = ("word " * f.max_length)[: f.max_length]
            content["rows"] = [dict(row) for _ in range(spec.max_rows)]
        pep.sections[spec.key] = content
    return pep


def qa_round(
    number: int = 1, decision: QaDecision = QaDecision.RETURN, overall: str = "amber"
) -> QaRound:
    grades = {"voice": "amber", "targets": "amber", "attendance": "green", "carer": "gold"}
    return QaRound(
        number,
        "lucy.harrowby@northvale.example",
        MappingProxyType(grades),
        overall,
        "amber",
        "" if overall == "amber" else "Strong voice work",
        "Please add the child's own words and a measure for T2.",
        decision,
        AT + timedelta(days=number),
    )


def review(
    *,
    full: bool = True,
    status: PepStatus = PepStatus.IN_QA,
    history: tuple[QaRound, ...] = (),
    pep: Pep | None = None,
) -> QaReview:
    child = make_child()
    pep = pep or make_pep(child, full=full, status=status)
    pep = replace(pep, status=status, meeting_held_on=date(2026, 10, 1))
    return QaReview(QA.pre_assessment(pep, child, SCHOOL), history)


def request_view(
    *,
    decided: ApprovalRecord | None = None,
    paid: bool = False,
    bands: tuple[int, ...] = (),
    status: PepStatus = PepStatus.IN_QA,
    index: int = 0,
) -> RequestView:
    child = make_child()
    request = PupilPremiumRequest(
        f"{child.lcs_id}-2026-autumn",
        child.lcs_id,
        "2026-autumn",
        SCHOOL.urn,
        SCHOOL.name,
        index,
        30_000,
        "Reading tutor, 10 sessions",
        "T1",
        "Reading age up by 6 months",
        LEAD.id,
    )
    policy = PupilPremiumPolicy(150_000 if bands else 55_000, bands)
    return RequestView(
        StoredRequest(request, AT, False, decided),
        child,
        status,
        "Read aloud 10 minutes daily with her carer.",
        12_000,
        paid,
        policy,
        2,
    )


def record(
    kind: DecisionKind = DecisionKind.APPROVE_AMOUNT,
    approved: int = 25_000,
    reason: str = "The tutor's rate is lower",
) -> ApprovalRecord:
    view = request_view()
    r = view.request
    return ApprovalRecord(
        r.id,
        r.pep_id,
        r.child_id,
        r.term_id,
        r.school_urn,
        r.school_name,
        r.amount_pence,
        approved,
        kind,
        reason,
        r.requested_by,
        "gwen.talbot-price@northvale.example",
        AT,
        "2026-autumn",
    )


def schedule_view(*, schools: int = 3, per_school: int = 4, frozen: bool = False) -> ScheduleView:
    records = []
    for s in range(schools):
        for c in range(per_school):
            child = f"LCS2{s:02d}{c:03d}"
            records.append(
                ApprovalRecord(
                    f"{child}-2026-autumn-pp1",
                    f"{child}-2026-autumn",
                    child,
                    "2026-autumn",
                    f"10{s:04d}",
                    f"School number {s}",
                    30_000,
                    10_000 + 137 * c,
                    DecisionKind.APPROVE,
                    "",
                    LEAD.id,
                    "a@x.example",
                    AT,
                    "2026-autumn",
                )
            )
    finalised = {r.pep_id for i, r in enumerate(records) if i % 5}
    frozen_at = AT + timedelta(days=70) if frozen else None
    schedule = build_schedule("2026-autumn", records, finalised, frozen_at)
    stored = (
        FrozenSchedule(
            "2026-autumn",
            frozen_at,
            "imogen@x.example",
            "csv",
            b"PK",
            "x.docx",
            schedule.total_pence,
            schedule.held_pence,
        )
        if frozen_at
        else None
    )
    return ScheduleView(CALENDAR.get("2026-autumn"), schedule, stored)


def overview(n: int = 60) -> Any:
    rows = []
    statuses = list(PepStatus)
    for i in range(n):
        status = statuses[i % len(statuses)] if i % 7 else None
        rows.append(
            OverviewRow(
                f"LCS3{i:05d}",
                "2026-autumn",
                f"10{i % 9:04d}",
                i % 14,
                status,
                transition=i % 4 == 0,
                complex_case=i % 11 == 0,
                meeting_starts_at=AT if i % 3 == 0 else None,
                return_due=date(2026, 9, 20) if status is PepStatus.AWAITING_RETURN else None,
                qa_overall=("gold", "green", "amber", "red")[i % 4] if i % 2 else None,
                pp_requested_pence=30_000 * (i % 2),
                pp_approved_pence=25_000 * (i % 2),
                pp_paid_pence=25_000 * (i % 4 == 1),
                virtual_school_attending=i % 8 == 0,
            )
        )
    return build_overview(rows, date(2026, 11, 16), CALENDAR.get("2026-autumn"))


def all_variants() -> list[tuple[str, dict[str, Any]]]:
    scale = QA.policy.scale
    returned = qa_round()
    approved = qa_round(2, QaDecision.APPROVE, "green")
    with_history = review(history=(returned,))
    typed = {"g.voice": "red", "g.send": "-", "qa.override": "gold", "qa.feedback": "typed"}
    errors = {
        "qa.override_reason": "give a reason",
        "g.voice": "not a grade",
        "decision": "This PEP cannot be approved",
    }
    outcome = PpOutcome(request_view(decided=record()), record(), None, (LEAD,))
    declined = PpOutcome(
        request_view(decided=record(DecisionKind.DECLINE, 0, "Funded")),
        record(DecisionKind.DECLINE, 0, "Funded"),
        record(),
        (LEAD,),
    )
    pp_errors = [
        FieldError("pupil_premium", "amount", "enter an amount in pounds", 0),
        FieldError("pupil_premium", "reason", "give a reason for declining", 0),
        FieldError("pupil_premium", "decision", "cannot change", 0),
    ]
    return [
        ("qa full", qa_card(review())),
        ("qa empty", qa_card(review(full=False))),
        ("qa huge", qa_card(review(pep=huge_pep()))),
        (
            "qa with history, typing and errors",
            qa_card(with_history, typed=typed, errors=errors, notice="Worked out"),
        ),
        (
            "qa preview",
            qa_card(
                with_history, assessment=with_history.preview({"voice": "red", "send": "gold"})
            ),
        ),
        ("qa finalised", qa_card(review(status=PepStatus.FINALISED, history=(returned, approved)))),
        ("qa decided returned", qa_decided_card(with_history, returned, ["Harriet P"])),
        ("qa decided approved", qa_decided_card(with_history, approved, [])),
        ("amendment", amendment_card(with_history, returned)),
        ("finalised", finalised_card(with_history, approved)),
        ("check full", pre_assessment_card(review(status=PepStatus.IN_MEETING).assessment)),
        ("check empty", pre_assessment_card(review(full=False, status=PepStatus.DRAFT).assessment)),
        (
            "check chooser",
            check_chooser_card([(f"LCS1{i:05d}-2026-autumn", make_child(i)) for i in range(5)]),
        ),
        ("check chooser empty", check_chooser_card([])),
        (
            "qa queue",
            qa_queue_card(
                [
                    QueueItem(f"LCS1{i:05d}-2026-autumn", make_child(i), PepStatus.IN_QA)
                    for i in range(30)
                ]
            ),
        ),
        ("qa queue empty", qa_queue_card([])),
        ("pp request", pp_request_card(request_view())),
        ("pp request bands", pp_request_card(request_view(bands=(30_000, 80_000)))),
        (
            "pp request errors",
            pp_request_card(
                request_view(),
                errors=pp_errors,
                typed={"pp.amount": "lots", "pp.reason": "x"},
                notice="Check the amount",
            ),
        ),
        ("pp request decided", pp_request_card(request_view(decided=record()))),
        (
            "pp request paid",
            pp_request_card(request_view(decided=record(), paid=True, status=PepStatus.FINALISED)),
        ),
        ("pp decided", pp_decided_card(outcome, ["Harriet Pemberton"])),
        ("pp declined", pp_decided_card(declined, [])),
        ("pp outcome approved", pp_outcome_card(outcome)),
        ("pp outcome declined", pp_outcome_card(declined)),
        ("pp pending", pp_pending_card([request_view(index=i) for i in range(30)])),
        ("pp pending empty", pp_pending_card([])),
        ("schedule preview", schedule_card(schedule_view(), can_export=True)),
        (
            "schedule frozen",
            schedule_card(schedule_view(frozen=True), can_export=True, notice="Exported"),
        ),
        ("schedule officer", schedule_card(schedule_view(), can_export=False)),
        (
            "schedule large",
            schedule_card(schedule_view(schools=120, per_school=40), can_export=True),
        ),
        ("schedule empty", schedule_card(schedule_view(schools=0), can_export=True)),
        ("overview", overview_card(overview(), "Autumn term 2026", scale)),
        ("overview digest", overview_card(overview(400), "Autumn term 2026", scale, digest=True)),
        ("overview empty", overview_card(overview(0), "Autumn term 2026", scale)),
    ]
