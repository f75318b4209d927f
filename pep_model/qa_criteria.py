"""Quality assurance, step one: what the record shows.

Each criterion of docs/qa-and-pp-workflow.md judged from the PEP itself — the child's
voice, previous targets evaluated, SMART targets, PP+ linked with impact, attendance
explained, attendees and next date, the transition plan, the carer's input, attainment —
with a suggested grade per section for the coordinator to start from. Criteria ask
rules.py; nothing here restates a rule of the PEP itself. The coordinator's grades and
decision are in quality.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from pep_model.errors import FieldError
from pep_model.quality import DEFAULT_SCALE, Grade, GradeScale, QaPolicy
from pep_model.rules import (
    PepContext,
    attendance_needs_explanation,
    attendance_percentage,
    finish_problems,
    missing_fields,
    section_problems,
    smart_target_errors,
    target_refs,
    transition_reasons,
)
from pep_model.sections import SECTION_KEYS
from pep_model.terms import british_date

DEFAULT_POLICY = QaPolicy()


@dataclass(frozen=True)
class CriterionResult:
    key: str
    section: str
    title: str
    met: bool
    suggested: Grade | None  # None: does not apply to this PEP; leave the section ungraded
    explanation: str

    @property
    def applies(self) -> bool:
        return self.suggested is not None


def _rows(errors: Iterable[FieldError]) -> str:
    rows = sorted({e.row + 1 for e in errors if e.row is not None})
    return ", ".join(str(r) for r in rows)


def pre_assess(
    ctx: PepContext, policy: QaPolicy = DEFAULT_POLICY, *, as_of: date | None = None
) -> list[CriterionResult]:
    """The criteria, judged from the record, in the order of the PEP's sections.

    `as_of` is the day SMART target dates are judged against (pass the meeting day to
    judge the targets as they were set); default: ctx.today.
    """
    scale = policy.scale
    results: list[CriterionResult] = []

    def add(
        key: str, section: str, met: bool, severe: bool, explanation: str, applies: bool = True
    ) -> None:
        if not applies:
            suggested = None
        elif met:
            suggested = scale.met
        else:
            suggested = scale.red if severe else scale.amber
        results.append(CriterionResult(key, section, _TITLES[key], met, suggested, explanation))

    # attendance explained where needed
    attendance = ctx.content("attendance")
    pct = attendance_percentage(attendance)
    if pct is None:
        add(
            "attendance_explained",
            "attendance",
            False,
            False,
            "No attendance figures are recorded.",
        )
    elif attendance_needs_explanation(attendance, ctx.rules) and not attendance.get("explanation"):
        add(
            "attendance_explained",
            "attendance",
            False,
            False,
            f"Attendance is {pct}% or has unauthorised absence, and it is not explained.",
        )
    else:
        needed = attendance_needs_explanation(attendance, ctx.rules)
        add(
            "attendance_explained",
            "attendance",
            True,
            False,
            f"Attendance {pct}%" + (", explained." if needed else ", no explanation needed."),
        )

    # attainment recorded
    attainment_rows = ctx.content("attainment").get("rows") or []
    recorded = [r for r in attainment_rows if r.get("subject") and r.get("current")]
    if missing_fields(ctx, "attainment") or not recorded:
        add("attainment_recorded", "attainment", False, False, "No current attainment is recorded.")
    else:
        add(
            "attainment_recorded",
            "attainment",
            True,
            False,
            f"Attainment recorded for {len(recorded)} subject(s).",
        )

    # the child's voice, and substantial
    views = str(ctx.content("voice").get("views") or "")
    words = len(views.split())
    if not words:
        add("child_voice", "voice", False, True, "No child's voice is recorded (a red sign).")
    elif words < policy.voice_min_words:
        add(
            "child_voice",
            "voice",
            False,
            False,
            f"The child's voice is only {words} word(s): ask for their views in full.",
        )
    else:
        add("child_voice", "voice", True, False, f"The child's voice is recorded ({words} words).")

    # previous targets evaluated
    carried = ctx.content("previous_targets").get("rows") or []
    if not carried:
        add(
            "previous_targets_evaluated",
            "previous_targets",
            True,
            False,
            "No targets were carried from last term.",
            applies=False,
        )
    else:
        errors = section_problems(ctx, "previous_targets")
        if errors:
            add(
                "previous_targets_evaluated",
                "previous_targets",
                False,
                False,
                f"Previous target(s) {_rows(errors)} lack an outcome or evidence.",
            )
        else:
            add(
                "previous_targets_evaluated",
                "previous_targets",
                True,
                False,
                f"All {len(carried)} previous target(s) have an outcome and evidence.",
            )

    # SMART targets complete
    targets = ctx.content("targets").get("rows") or []
    day = as_of or ctx.today
    weak = [e for i, row in enumerate(targets) for e in smart_target_errors(row, day, i)]
    if not targets:
        add("smart_targets", "targets", False, True, "There are no current targets (a red sign).")
    elif weak:
        add(
            "smart_targets",
            "targets",
            False,
            True,
            f"Target(s) {_rows(weak)} lack an owner, a future date or a measure (weak targets, "
            "a red sign).",
        )
    else:
        add(
            "smart_targets",
            "targets",
            True,
            False,
            f"{len(targets)} target(s), each with an owner, a date and a measure.",
        )

    # PP+ linked to targets, with impact
    requests = ctx.content("pupil_premium").get("rows") or []
    if not requests:
        add(
            "pupil_premium_linked",
            "pupil_premium",
            True,
            False,
            "No Pupil Premium Plus is requested.",
            applies=False,
        )
    else:
        unlinked = [
            e
            for e in section_problems(ctx, "pupil_premium")
            if e.field in ("target", "impact", "purpose")
        ]
        if unlinked:
            known = ", ".join(target_refs(ctx.content("targets"))) or "none"
            add(
                "pupil_premium_linked",
                "pupil_premium",
                False,
                True,
                f"Request(s) {_rows(unlinked)} do not name a current target (targets: {known}) "
                "or the expected impact: no PP+ rationale (a red sign).",
            )
        else:
            add(
                "pupil_premium_linked",
                "pupil_premium",
                True,
                False,
                f"All {len(requests)} request(s) name a current target and the impact.",
            )

    # transition plan for transition cases
    reasons = transition_reasons(ctx.child, ctx.term, ctx.rules, ctx.today)
    if not reasons:
        add(
            "transition_plan",
            "transition",
            True,
            False,
            "Not a transition case this term.",
            applies=False,
        )
    elif not ctx.content("transition").get("plan"):
        add(
            "transition_plan",
            "transition",
            False,
            True,
            f"A transition case ({'; '.join(reasons)}) with no transition plan (a red sign).",
        )
    else:
        add(
            "transition_plan",
            "transition",
            True,
            False,
            f"Transition plan recorded ({'; '.join(reasons)}).",
        )

    # carer input
    if ctx.content("carer").get("views"):
        add("carer_input", "carer", True, False, "The carer's views are recorded.")
    else:
        add("carer_input", "carer", False, False, "The carer's views are not recorded.")

    # attendees and next PEP date: the meeting's own finishing rule
    finish = finish_problems(ctx)
    if any(e.section == "attendees" for e in finish):
        add(
            "attendees_recorded", "attendees", False, False, "Who attended is not recorded in full."
        )
    else:
        count = len(ctx.content("attendees").get("rows") or [])
        add("attendees_recorded", "attendees", True, False, f"{count} attendee(s) recorded.")
    nxt = ctx.content("next_pep")
    if any(e.section == "next_pep" for e in finish):
        add(
            "next_pep_recorded",
            "next_pep",
            False,
            False,
            "Next term's PEP date is not recorded (or not in next term), and no reason given.",
        )
    elif nxt.get("date"):
        when = british_date(date.fromisoformat(nxt["date"]))
        add("next_pep_recorded", "next_pep", True, False, f"Next PEP on {when}.")
    else:
        add(
            "next_pep_recorded",
            "next_pep",
            True,
            False,
            f"No date could be set; reason recorded: {nxt.get('reason')}",
        )

    order = {k: i for i, k in enumerate(SECTION_KEYS)}
    results.sort(key=lambda r: order[r.section])
    return results


_TITLES = {
    "attendance_explained": "Attendance explained where needed",
    "attainment_recorded": "Attainment recorded",
    "child_voice": "The child's voice, in substance",
    "previous_targets_evaluated": "Previous targets evaluated",
    "smart_targets": "SMART targets complete",
    "pupil_premium_linked": "PP+ linked to targets, with impact",
    "transition_plan": "Transition plan for a transition case",
    "carer_input": "Carer's input",
    "attendees_recorded": "Attendees recorded",
    "next_pep_recorded": "Next PEP date recorded (or why not)",
}


def suggested_grades(
    results: Iterable[CriterionResult], scale: GradeScale = DEFAULT_SCALE
) -> dict[str, Grade]:
    """Per section, the worst grade its applicable criteria suggest (a starting point)."""
    grades: dict[str, Grade] = {}
    for r in results:
        if r.suggested is None:
            continue
        held = grades.get(r.section)
        if held is None or scale.rank(r.suggested) > scale.rank(held):
            grades[r.section] = r.suggested
    return grades
