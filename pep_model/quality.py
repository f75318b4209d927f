"""Quality assurance of a returned PEP: the grade scale and policy, the coordinator's
section grades, the overall grade by the St Helens rule generalised, an override with
its reason, and the decision — finalise, or return for amendment — kept round by round.
What the record itself shows, the pre-assessment the coordinator starts from, is in
qa_criteria.py.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from pep_model.access import Actor, Capability
from pep_model.child import Child
from pep_model.errors import NotAllowed, PepError
from pep_model.rules import (
    PepRules,
)
from pep_model.sections import SECTION_KEYS, section_spec
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
            raise QaInvalid(
                "grade", f"'{grade}' is not a grade (use {', '.join(self.all_labels)})"
            ) from None

    @property
    def all_labels(self) -> tuple[str, ...]:
        return self.labels or tuple(g.capitalize() for g in self.grades)

    def label(self, grade: Grade) -> str:
        return self.all_labels[self.rank(grade)]

    def display_label(self, grade: Grade) -> str:
        """label(), or the name capitalised for a grade off this scale (one recorded
        before the authority changed its scale)."""
        try:
            return self.label(grade)
        except QaInvalid:
            return grade.capitalize()

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
    amber_limit: int = 2  # this many amber sections: amber overall
    amber_blocks_approval: bool = False  # red always blocks; amber only if set
    voice_min_words: int = 3  # a shorter child's voice is not substantial

    @classmethod
    def from_rules(cls, rules: PepRules) -> QaPolicy:
        """The authority's configured scale and settings; the 7/8 share and the amber
        limit stay the St Helens rule."""
        return cls(
            scale=GradeScale(tuple(rules.qa_grades)),
            amber_blocks_approval=rules.qa_amber_blocks_approval,
            voice_min_words=rules.qa_voice_min_words,
        )


# ---- what the coordinator confirmed ----------------------------------------------

DOES_NOT_APPLY = "n/a"  # a choice: the coordinator judged that the section does not apply


def graded(choices: Mapping[str, str]) -> dict[str, str]:
    """The grades among the coordinator's choices: 'does not apply' and blank (not
    chosen yet) are left out."""
    return {
        k: v
        for k, v in choices.items()
        if isinstance(v, str) and v.strip() and v.strip() != DOES_NOT_APPLY
    }


def unconfirmed_sections(choices: Mapping[str, str]) -> tuple[str, ...]:
    """Sections, in PEP order, with no choice the coordinator made (a grade, or 'does not
    apply'). A suggestion from the record is not a choice until it is accepted."""
    return tuple(
        k for k in SECTION_KEYS if not (isinstance(choices.get(k), str) and str(choices[k]).strip())
    )


def accept_suggestions(
    choices: Mapping[str, str], suggested: Mapping[str, Grade]
) -> tuple[dict[str, str], tuple[str, ...]]:
    """'Accept all suggestions': every section not chosen yet takes the suggested grade,
    or 'does not apply' where the record suggests none. Choices already made stay.
    Returns the choices and the sections that were filled in."""
    filled = unconfirmed_sections(choices)
    out = {k: str(v).strip() for k, v in choices.items() if isinstance(v, str)}
    for key in filled:
        out[key] = suggested.get(key) or DOES_NOT_APPLY
    return {k: out[k] for k in SECTION_KEYS if k in out}, filled


def require_confirmed(choices: Mapping[str, str]) -> None:
    """Approval needs a confirmed choice for every section; QaInvalid names them."""
    missing = unconfirmed_sections(choices)
    if missing:
        names = ", ".join(section_spec(k).title for k in missing)
        raise QaInvalid(
            "grades",
            f"{len(missing)} of {len(SECTION_KEYS)} sections have "
            f"no grade you confirmed: {names}. Choose a grade (or "
            "'Does not apply') for each, or press 'Accept all "
            "suggestions'.",
        )


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


# ---- the coordinator's assessment and decision ------------------------------------


@dataclass(frozen=True)
class QaAssessment:
    grades: Mapping[str, Grade]  # section key -> grade, in section order
    computed: Grade  # by the overall rule
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


def assess(
    grades: Mapping[str, str],
    policy: QaPolicy = QaPolicy(),
    *,
    override: str | None = None,
    override_reason: str = "",
    feedback: str = "",
) -> QaAssessment:
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
            raise QaInvalid(
                "override_reason",
                f"give a reason for grading {scale.label(chosen)} overall "
                f"instead of {scale.label(computed)}",
            )
    block = _blocking(policy)
    blocking = tuple(k for k, g in ordered.items() if g in block)
    return QaAssessment(
        MappingProxyType(ordered),
        computed,
        chosen,
        override_reason.strip(),
        feedback.strip(),
        blocking,
    )


class QaDecision(StrEnum):
    APPROVE = "approve"
    RETURN = "return"  # for amendment

    @property
    def target_status(self) -> PepStatus:
        return PepStatus.FINALISED if self is QaDecision.APPROVE else PepStatus.AMENDMENTS_REQUESTED


def approval_problems(assessment: QaAssessment, policy: QaPolicy = QaPolicy()) -> list[str]:
    """Why this PEP cannot be finalised as graded (empty: it can)."""
    scale = policy.scale
    problems = []
    if assessment.blocking_sections:
        names = ", ".join(
            f"{section_spec(k).title} ({scale.label(assessment.grades[k])})"
            for k in assessment.blocking_sections
        )
        problems.append(f"fix before the PEP is finalised: {names}")
    elif assessment.overall in _blocking(policy):
        problems.append(f"the overall grade is {scale.label(assessment.overall)}")
    return problems


def check_decision(
    assessment: QaAssessment, decision: QaDecision, policy: QaPolicy = QaPolicy()
) -> PepStatus:
    """The status the PEP moves to, or QaInvalid saying why not."""
    if decision is QaDecision.APPROVE:
        problems = approval_problems(assessment, policy)
        if problems:
            raise QaInvalid(
                "decision",
                "This PEP cannot be approved: "
                + "; ".join(problems)
                + ". Return it for amendment.",
            )
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
        return {
            "number": self.number,
            "coordinator_id": self.coordinator_id,
            "grades": dict(self.grades),
            "overall": self.overall,
            "computed": self.computed,
            "override_reason": self.override_reason,
            "feedback": self.feedback,
            "decision": self.decision.value,
            "at": self.at.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QaRound:
        return cls(
            int(data["number"]),
            str(data["coordinator_id"]),
            MappingProxyType(dict(data["grades"])),
            str(data["overall"]),
            str(data["computed"]),
            str(data.get("override_reason") or ""),
            str(data.get("feedback") or ""),
            QaDecision(data["decision"]),
            datetime.fromisoformat(str(data["at"])),
        )


def next_round_number(history: Sequence[QaRound]) -> int:
    return history[-1].number + 1 if history else 1


def record_round(
    history: Sequence[QaRound],
    coordinator: Actor,
    child: Child,
    assessment: QaAssessment,
    decision: QaDecision,
    at: datetime,
    policy: QaPolicy = QaPolicy(),
) -> QaRound:
    """The next round, once the coordinator may grade and the decision is allowed."""
    if not can_grade(coordinator, child):
        raise NotAllowed("Only a PEP coordinator for this child's school can grade this PEP.")
    if history and history[-1].decision is QaDecision.APPROVE:
        raise QaInvalid("decision", "this PEP is already approved and finalised")
    check_decision(assessment, decision, policy)
    return QaRound(
        next_round_number(history),
        coordinator.id,
        assessment.grades,
        assessment.overall,
        assessment.computed,
        assessment.override_reason,
        assessment.feedback,
        decision,
        at,
    )
