"""Quality assurance of a returned PEP.

What the record shows (a pre-assessment the coordinator starts from), the
coordinator's section grades, the overall grade by the St Helens rule generalised, an
override with its reason, and the decision: finalise, or return for amendment.
Criteria ask rules.py; nothing here restates a rule of the PEP itself.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from pep_model.access import Actor, Capability
from pep_model.child import Child
from pep_model.errors import FieldError, NotAllowed, PepError
from pep_model.rules import (
    PepContext,
    PepRules,
    attendance_needs_explanation,
    attendance_percentage,
    check_section,
    finish_problems,
    missing_fields,
    smart_target_errors,
    target_refs,
    transition_reasons,
)
from pep_model.sections import SECTION_KEYS, section_spec
from pep_model.terms import british_date
from pep_model.workflow import PepStatus

Grade = str  # a grade's name on the authority's scale, lower case ("gold")


class QaInvalid(PepError):
    """A QA input that cannot be recorded as given. `field` names the input."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(message)


# ---- the scale --------------------------------------------------------------------

@dataclass(frozen=True)
class GradeScale:
    """Grade names, best first. The last is 'red' (must be fixed), the one before it
    'amber' (a concern); the rest are good grades, best first."""

    grades: tuple[str, ...] = ("gold", "green", "amber", "red")
    labels: tuple[str, ...] = ()  # for people; default: the name capitalised

    def __post_init__(self) -> None:
        names = tuple(g.strip().lower() for g in self.grades)
        if len(names) < 3 or len(set(names)) != len(names) or not all(names):
            raise ValueError("a grade scale needs three or more different grade names")
        if self.labels and len(self.labels) != len(names):
            raise ValueError("give one label per grade, or none")
        object.__setattr__(self, "grades", names)

    @property
    def best(self) -> Grade:
        return self.grades[0]

    @property
    def red(self) -> Grade:
        return self.grades[-1]

    @property
    def amber(self) -> Grade:
        return self.grades[-2]

    @property
    def met(self) -> Grade:
        """What a check the record passes suggests: the lowest good grade. Only a
        coordinator can judge a section better than complete."""
        return self.grades[-3]

    def rank(self, grade: Grade) -> int:
        """0 for the best grade."""
        try:
            return self.grades.index(grade)
        except ValueError:
            raise QaInvalid("grade", f"'{grade}' is not a grade "
                                     f"(use {', '.join(self.all_labels)})") from None

    @property
    def all_labels(self) -> tuple[str, ...]:
        return self.labels or tuple(g.capitalize() for g in self.grades)

    def label(self, grade: Grade) -> str:
        return self.all_labels[self.rank(grade)]

    def parse(self, text: str) -> Grade:
        """A grade's name or label, any case."""
        wanted = text.strip().lower()
        for name, label in zip(self.grades, self.all_labels, strict=True):
            if wanted in (name, label.lower()):
                return name
        return self.grades[self.rank(wanted)]  # raises with the allowed grades


DEFAULT_SCALE = GradeScale()
RAG_SCALE = GradeScale(("green", "amber", "red"))


@dataclass(frozen=True)
class QaPolicy:
    """An authority's QA practice; defaults from St Helens (domain.md)."""

    scale: GradeScale = DEFAULT_SCALE
    share_needed: tuple[int, int] = (7, 8)  # of graded sections, for a good overall grade
    amber_limit: int = 2                    # this many amber sections: amber overall
    amber_blocks_approval: bool = False     # red always blocks; amber only if set
    voice_min_words: int = 3                # a shorter child's voice is not substantial

    @classmethod
    def from_rules(cls, rules: PepRules) -> QaPolicy:
        """The authority's configured scale and settings; the 7/8 share and the amber
        limit stay the St Helens rule."""
        return cls(scale=GradeScale(tuple(rules.qa_grades)),
                   amber_blocks_approval=rules.qa_amber_blocks_approval,
                   voice_min_words=rules.qa_voice_min_words)


# ---- the overall grade ------------------------------------------------------------

def overall_grade(grades: Mapping[str, Grade], policy: QaPolicy = QaPolicy()) -> Grade:
    """Red if any section is red; else amber if `amber_limit` or more are amber; else
    the best grade that at least 7/8 of the graded sections reach or beat; else amber.
    """
    scale = policy.scale
    if not grades:
        raise QaInvalid("grades", "grade at least one section")
    counts = Counter(grades.values())
    for grade in counts:
        scale.rank(grade)
    if counts[scale.red]:
        return scale.red
    if counts[scale.amber] >= policy.amber_limit:
        return scale.amber
    needed, out_of = policy.share_needed
    total = len(grades)
    reached = 0
    for grade in scale.grades[:-2]:
        reached += counts[grade]
        if reached * out_of >= needed * total:
            return grade
    return scale.amber


# ---- pre-assessment from the record -----------------------------------------------

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


def pre_assess(ctx: PepContext, policy: QaPolicy = QaPolicy(), *,
               as_of: date | None = None) -> list[CriterionResult]:
    """The criteria, judged from the record, in the order of the PEP's sections.

    `as_of` is the day SMART target dates are judged against (pass the meeting day to
    judge the targets as they were set); default: ctx.today.
    """
    scale = policy.scale
    results: list[CriterionResult] = []

    def add(key: str, section: str, met: bool, severe: bool, explanation: str,
            applies: bool = True) -> None:
        if not applies:
            suggested = None
        elif met:
            suggested = scale.met
        else:
            suggested = scale.red if severe else scale.amber
        results.append(CriterionResult(key, section, _TITLES[key], met, suggested,
                                       explanation))

    # attendance explained where needed
    attendance = ctx.content("attendance")
    pct = attendance_percentage(attendance)
    if pct is None:
        add("attendance_explained", "attendance", False, False,
            "No attendance figures are recorded.")
    elif attendance_needs_explanation(attendance, ctx.rules) and \
            not attendance.get("explanation"):
        add("attendance_explained", "attendance", False, False,
            f"Attendance is {pct}% or has unauthorised absence, and it is not explained.")
    else:
        needed = attendance_needs_explanation(attendance, ctx.rules)
        add("attendance_explained", "attendance", True, False,
            f"Attendance {pct}%" + (", explained." if needed else ", no explanation needed."))

    # attainment recorded
    attainment_rows = ctx.content("attainment").get("rows") or []
    recorded = [r for r in attainment_rows if r.get("subject") and r.get("current")]
    if missing_fields(ctx, "attainment") or not recorded:
        add("attainment_recorded", "attainment", False, False,
            "No current attainment is recorded.")
    else:
        add("attainment_recorded", "attainment", True, False,
            f"Attainment recorded for {len(recorded)} subject(s).")

    # the child's voice, and substantial
    views = str(ctx.content("voice").get("views") or "")
    words = len(views.split())
    if not words:
        add("child_voice", "voice", False, True, "No child's voice is recorded (a red sign).")
    elif words < policy.voice_min_words:
        add("child_voice", "voice", False, False,
            f"The child's voice is only {words} word(s): ask for their views in full.")
    else:
        add("child_voice", "voice", True, False, f"The child's voice is recorded ({words} words).")

    # previous targets evaluated
    carried = ctx.content("previous_targets").get("rows") or []
    if not carried:
        add("previous_targets_evaluated", "previous_targets", True, False,
            "No targets were carried from last term.", applies=False)
    else:
        errors = check_section(ctx, "previous_targets", ctx.content("previous_targets"))
        if errors:
            add("previous_targets_evaluated", "previous_targets", False, False,
                f"Previous target(s) {_rows(errors)} lack an outcome or evidence.")
        else:
            add("previous_targets_evaluated", "previous_targets", True, False,
                f"All {len(carried)} previous target(s) have an outcome and evidence.")

    # SMART targets complete
    targets = ctx.content("targets").get("rows") or []
    day = as_of or ctx.today
    weak = [e for i, row in enumerate(targets) for e in smart_target_errors(row, day, i)]
    if not targets:
        add("smart_targets", "targets", False, True, "There are no current targets (a red sign).")
    elif weak:
        add("smart_targets", "targets", False, True,
            f"Target(s) {_rows(weak)} lack an owner, a future date or a measure (weak targets, "
            "a red sign).")
    else:
        add("smart_targets", "targets", True, False,
            f"{len(targets)} target(s), each with an owner, a date and a measure.")

    # PP+ linked to targets, with impact
    requests = ctx.content("pupil_premium").get("rows") or []
    if not requests:
        add("pupil_premium_linked", "pupil_premium", True, False,
            "No Pupil Premium Plus is requested.", applies=False)
    else:
        unlinked = [e for e in check_section(ctx, "pupil_premium", ctx.content("pupil_premium"))
                    if e.field in ("target", "impact", "purpose")]
        if unlinked:
            known = ", ".join(target_refs(ctx.content("targets"))) or "none"
            add("pupil_premium_linked", "pupil_premium", False, True,
                f"Request(s) {_rows(unlinked)} do not name a current target (targets: {known}) "
                "or the expected impact: no PP+ rationale (a red sign).")
        else:
            add("pupil_premium_linked", "pupil_premium", True, False,
                f"All {len(requests)} request(s) name a current target and the impact.")

    # transition plan for transition cases
    reasons = transition_reasons(ctx.child, ctx.term, ctx.rules, ctx.today)
    if not reasons:
        add("transition_plan", "transition", True, False,
            "Not a transition case this term.", applies=False)
    elif not ctx.content("transition").get("plan"):
        add("transition_plan", "transition", False, True,
            f"A transition case ({'; '.join(reasons)}) with no transition plan (a red sign).")
    else:
        add("transition_plan", "transition", True, False,
            f"Transition plan recorded ({'; '.join(reasons)}).")

    # carer input
    if ctx.content("carer").get("views"):
        add("carer_input", "carer", True, False, "The carer's views are recorded.")
    else:
        add("carer_input", "carer", False, False, "The carer's views are not recorded.")

    # attendees and next PEP date: the meeting's own finishing rule
    finish = finish_problems(ctx)
    if any(e.section == "attendees" for e in finish):
        add("attendees_recorded", "attendees", False, False,
            "Who attended is not recorded in full.")
    else:
        count = len(ctx.content("attendees").get("rows") or [])
        add("attendees_recorded", "attendees", True, False, f"{count} attendee(s) recorded.")
    nxt = ctx.content("next_pep")
    if any(e.section == "next_pep" for e in finish):
        add("next_pep_recorded", "next_pep", False, False,
            "Next term's PEP date is not recorded (or not in next term), and no reason given.")
    elif nxt.get("date"):
        when = british_date(date.fromisoformat(nxt["date"]))
        add("next_pep_recorded", "next_pep", True, False, f"Next PEP on {when}.")
    else:
        add("next_pep_recorded", "next_pep", True, False,
            f"No date could be set; reason recorded: {nxt.get('reason')}")

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


def suggested_grades(results: Iterable[CriterionResult],
                     scale: GradeScale = DEFAULT_SCALE) -> dict[str, Grade]:
    """Per section, the worst grade its applicable criteria suggest (a starting point)."""
    grades: dict[str, Grade] = {}
    for r in results:
        if r.suggested is None:
            continue
        held = grades.get(r.section)
        if held is None or scale.rank(r.suggested) > scale.rank(held):
            grades[r.section] = r.suggested
    return grades


# ---- the coordinator's assessment and decision ------------------------------------

@dataclass(frozen=True)
class QaAssessment:
    grades: Mapping[str, Grade]          # section key -> grade, in section order
    computed: Grade                      # by the overall rule
    override: Grade | None = None
    override_reason: str = ""
    feedback: str = ""
    blocking_sections: tuple[str, ...] = ()  # sections that stop approval

    @property
    def overall(self) -> Grade:
        return self.override or self.computed

    @property
    def overridden(self) -> bool:
        return self.override is not None and self.override != self.computed


def _blocking(policy: QaPolicy) -> set[Grade]:
    scale = policy.scale
    return {scale.red, scale.amber} if policy.amber_blocks_approval else {scale.red}


def assess(grades: Mapping[str, str], policy: QaPolicy = QaPolicy(), *,
           override: str | None = None, override_reason: str = "",
           feedback: str = "") -> QaAssessment:
    """The coordinator's grades (names or labels) to an assessment. Sections that do not
    apply are left out, and do not count towards the 7/8."""
    scale = policy.scale
    parsed: dict[str, Grade] = {}
    for key, text in grades.items():
        try:
            section_spec(key)
        except KeyError:
            raise QaInvalid("grades", f"'{key}' is not a PEP section") from None
        parsed[key] = scale.parse(text)
    ordered = {k: parsed[k] for k in SECTION_KEYS if k in parsed}
    computed = overall_grade(ordered, policy)
    chosen: Grade | None = None
    if override is not None and override.strip():
        chosen = scale.parse(override)
        if chosen != computed and not override_reason.strip():
            raise QaInvalid("override_reason",
                            f"give a reason for grading {scale.label(chosen)} overall "
                            f"instead of {scale.label(computed)}")
    block = _blocking(policy)
    blocking = tuple(k for k, g in ordered.items() if g in block)
    return QaAssessment(MappingProxyType(ordered), computed, chosen,
                        override_reason.strip(), feedback.strip(), blocking)


class QaDecision(StrEnum):
    APPROVE = "approve"
    RETURN = "return"  # for amendment

    @property
    def target_status(self) -> PepStatus:
        return PepStatus.FINALISED if self is QaDecision.APPROVE \
            else PepStatus.AMENDMENTS_REQUESTED


def approval_problems(assessment: QaAssessment, policy: QaPolicy = QaPolicy()) -> list[str]:
    """Why this PEP cannot be finalised as graded (empty: it can)."""
    scale = policy.scale
    problems = []
    if assessment.blocking_sections:
        names = ", ".join(f"{section_spec(k).title} ({scale.label(assessment.grades[k])})"
                          for k in assessment.blocking_sections)
        problems.append(f"fix before the PEP is finalised: {names}")
    elif assessment.overall in _blocking(policy):
        problems.append(f"the overall grade is {scale.label(assessment.overall)}")
    return problems


def check_decision(assessment: QaAssessment, decision: QaDecision,
                   policy: QaPolicy = QaPolicy()) -> PepStatus:
    """The status the PEP moves to, or QaInvalid saying why not."""
    if decision is QaDecision.APPROVE:
        problems = approval_problems(assessment, policy)
        if problems:
            raise QaInvalid("decision", "This PEP cannot be approved: " + "; ".join(problems)
                            + ". Return it for amendment.")
    elif not assessment.feedback:
        raise QaInvalid("feedback", "say what the school should amend")
    return decision.target_status


def can_grade(actor: Actor, child: Child) -> bool:
    return actor.can(Capability.QA, child)


@dataclass(frozen=True)
class QaRound:
    """One coordinator's pass over a returned PEP; the history is the list of rounds."""

    number: int
    coordinator_id: str
    grades: Mapping[str, Grade]
    overall: Grade
    computed: Grade
    override_reason: str
    feedback: str
    decision: QaDecision
    at: datetime

    def as_dict(self) -> dict[str, Any]:
        """JSON-native, for the store."""
        return {"number": self.number, "coordinator_id": self.coordinator_id,
                "grades": dict(self.grades), "overall": self.overall,
                "computed": self.computed, "override_reason": self.override_reason,
                "feedback": self.feedback, "decision": self.decision.value,
                "at": self.at.isoformat()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QaRound:
        return cls(int(data["number"]), str(data["coordinator_id"]),
                   MappingProxyType(dict(data["grades"])), str(data["overall"]),
                   str(data["computed"]), str(data.get("override_reason") or ""),
                   str(data.get("feedback") or ""), QaDecision(data["decision"]),
                   datetime.fromisoformat(str(data["at"])))


def record_round(history: Sequence[QaRound], coordinator: Actor, child: Child,
                 assessment: QaAssessment, decision: QaDecision, at: datetime,
                 policy: QaPolicy = QaPolicy()) -> QaRound:
    """The next round, once the coordinator may grade and the decision is allowed."""
    if not can_grade(coordinator, child):
        raise NotAllowed("Only a PEP coordinator for this child's school can grade this PEP.")
    if history and history[-1].decision is QaDecision.APPROVE:
        raise QaInvalid("decision", "this PEP is already approved and finalised")
    check_decision(assessment, decision, policy)
    number = history[-1].number + 1 if history else 1
    return QaRound(number, coordinator.id, assessment.grades, assessment.overall,
                   assessment.computed, assessment.override_reason, assessment.feedback,
                   decision, at)
