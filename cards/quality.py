"""Quality assurance cards: the coordinator's QA card, the decision, what the school is
told, `check my pep` (the pre-assessment on a draft) and the coordinator's queue.

The criteria, the suggested grades and the overall grade come from pep_model.quality;
the cards only show them. Children are named by initials and LCS id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from adaptive_cards import card as ac

from cards.elements import (
    COMPACT,
    DISPLAY_LIMITS,
    Action,
    Element,
    Shortening,
    action_set,
    british,
    bullets,
    card,
    container,
    error_line,
    execute,
    facts,
    fitted,
    heading,
    notice_block,
    pep_data,
    shortened,
    sub_card,
    text,
)
from cards.fields import section_display
from cards.lists import SECTION_OPEN
from pep_model.child import Child
from pep_model.m365 import LONDON
from pep_model.qa_criteria import CriterionResult
from pep_model.qa_service import QaReview
from pep_model.quality import (
    DOES_NOT_APPLY,
    GradeScale,
    QaAssessment,
    QaDecision,
    QaInvalid,
    QaRound,
    approval_problems,
    graded,
    unconfirmed_sections,
)
from pep_model.sections import SECTIONS, SectionSpec, section_spec

QA_OPEN = "pep.qa.open"
QA_CALCULATE = "pep.qa.calculate"
QA_APPROVE = "pep.qa.approve"
QA_RETURN = "pep.qa.return"
QA_RESUBMIT = "pep.qa.resubmit"
QA_CHECK = "pep.qa.check"
QA_LIST = "pep.qa.list"
QA_ACCEPT_ALL = "pep.qa.accept_suggestions"

GRADE_PREFIX = "g."
OVERRIDE = "qa.override"
OVERRIDE_REASON = "qa.override_reason"
FEEDBACK = "qa.feedback"
NOT_GRADED = "-"  # the choice for 'does not apply' / 'use the worked-out grade'
FEEDBACK_SHOWN = 600
QUEUE_SHOWN = 25


# ---- reading what the card sent ----------------------------------------------------


def grades_from_card_data(data: Mapping[str, Any]) -> dict[str, str]:
    """{section: choice} for every `g.<section>` input: a grade name, DOES_NOT_APPLY,
    or blank (nothing chosen yet: not confirmed)."""
    out = {}
    for key, value in data.items():
        if key.startswith(GRADE_PREFIX):
            text = value.strip() if isinstance(value, str) else ""
            out[key[len(GRADE_PREFIX) :]] = DOES_NOT_APPLY if text == NOT_GRADED else text
    return out


def grades_as_card_data(choices: Mapping[str, str]) -> dict[str, str]:
    """The inverse: choices to the card's input values."""
    return {GRADE_PREFIX + k: NOT_GRADED if v == DOES_NOT_APPLY else v for k, v in choices.items()}


def _choice(value: Any) -> str:
    text = value.strip() if isinstance(value, str) else ""
    return "" if text == NOT_GRADED else text


def qa_text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return value.strip() if isinstance(value, str) else ""


def override_from_card_data(data: Mapping[str, Any]) -> str | None:
    """The overall grade chosen instead of the worked-out one, if any."""
    return _choice(data.get(OVERRIDE)) or None


# ---- words ---------------------------------------------------------------------------


def child_line(child: Child, extra: Sequence[str] = ()) -> str:
    return " · ".join(
        [f"{child.initials} ({child.lcs_id})", child.year_group.label, *[e for e in extra if e]]
    )


def grade_color(scale: GradeScale, grade: str) -> str:
    if grade == scale.red:
        return "attention"
    if grade == scale.amber:
        return "warning"
    return "good"


def criterion(result: CriterionResult) -> Element:
    if not result.applies:
        mark, color = "–", None
    elif result.met:
        mark, color = "✓", "good"
    else:
        mark, color = "✗", "attention"
    return text(
        f"{mark} {result.title}: {result.explanation}", color=color, size="small", spacing="none"
    )


def _grade_choices(scale: GradeScale, blank: str) -> list[Any]:
    return [
        ac.InputChoice(title=blank, value=NOT_GRADED),
        *[
            ac.InputChoice(title=label, value=grade)
            for grade, label in zip(scale.grades, scale.all_labels, strict=True)
        ],
    ]


def _round_block(scale: GradeScale, r: QaRound) -> Element:
    outcome = (
        "approved, PEP finalised" if r.decision is QaDecision.APPROVE else "returned for amendment"
    )
    overall = scale.display_label(r.overall)
    if r.overall != r.computed:
        overall += f" (worked out {scale.display_label(r.computed)}; {r.override_reason})"
    items = [
        text(
            f"Round {r.number} · {british(r.at.date())} · {outcome}", weight="bolder", size="small"
        ),
        text(
            f"Overall: {overall}", size="small", spacing="none", color=grade_color(scale, r.overall)
        ),
    ]
    if r.feedback:
        items.append(text(shortened(r.feedback, FEEDBACK_SHOWN), size="small", spacing="none"))
    return container(items, spacing="small")


def _history(scale: GradeScale, history: Sequence[QaRound]) -> list[Element]:
    if not history:
        return []
    return [
        text("Earlier rounds", weight="bolder", spacing="medium"),
        *[_round_block(scale, r) for r in history],
    ]


# ---- the coordinator's QA card ---------------------------------------------------------


def _section_block(
    review: QaReview,
    spec: SectionSpec,
    position: int,
    typed: Mapping[str, Any] | None,
    errors: Mapping[str, str],
    limit: Shortening,
) -> Element:
    scale = review.policy.scale
    results = [r for r in review.assessment.results if r.section == spec.key]
    suggested = review.assessment.suggested.get(spec.key)
    items: list[Element] = [text(f"{position}. {spec.title}", weight="bolder")]
    items += [criterion(r) for r in results]
    if suggested:
        items.append(
            text(
                f"Suggested from the record: {scale.display_label(suggested)}",
                size="small",
                subtle=True,
                spacing="none",
            )
        )
    elif results:
        items.append(
            text(
                "Suggested: does not apply to this PEP.", size="small", subtle=True, spacing="none"
            )
        )
    if review.open:
        input_id = GRADE_PREFIX + spec.key
        value = str((typed or {}).get(input_id) or "").strip()
        if not value:
            items.append(
                text(
                    "Not confirmed yet: choose a grade, or accept the suggestions.",
                    size="small",
                    color="warning",
                    spacing="none",
                )
            )
        items.append(
            ac.InputChoiceSet(
                id=input_id,
                label=f"Grade for {spec.title}",
                style=COMPACT,
                value=value or None,
                placeholder="Choose a grade",
                choices=_grade_choices(scale, "Does not apply"),
            )
        )
        if input_id in errors:
            items.append(error_line(errors[input_id]))
    elif spec.key in (review.history[-1].grades if review.history else {}):
        grade = review.history[-1].grades[spec.key]
        items.append(
            text(
                f"Graded {scale.display_label(grade)}",
                color=grade_color(scale, grade),
                size="small",
            )
        )
    if limit.chars != 0:
        shown = section_display(spec, review.pep.section(spec.key), limit=limit)
        items.append(
            action_set([ac.ActionShowCard(title="What the school wrote", card=sub_card(shown))])
        )
    return container(items, separator=True, spacing="medium")


def _overall_block(
    review: QaReview,
    typed: Mapping[str, Any] | None,
    assessment: QaAssessment | None,
    errors: Mapping[str, str],
) -> list[Element]:
    policy = review.policy
    scale = policy.scale
    if assessment is None:
        typed_grades = graded(grades_from_card_data(typed or {}))
        try:
            assessment = review.preview(typed_grades or review.assessment.suggested)
        except QaInvalid:  # nothing graded yet, or a grade off the scale: no figure
            assessment = None
    items: list[Element] = [text("Overall grade", weight="bolder", size="medium")]
    if assessment is not None:
        items.append(
            text(
                f"Worked out from the section grades: {scale.display_label(assessment.computed)}",
                weight="bolder",
                color=grade_color(scale, assessment.computed),
            )
        )
        items.append(
            text(
                "Any red section gives red; two or more amber give amber; "
                "otherwise the best grade that 7 in 8 graded sections reach. "
                "Press 'Work out' after changing grades.",
                size="small",
                subtle=True,
                spacing="none",
            )
        )
        problems = approval_problems(assessment, policy)
        if problems:
            items.append(
                container(
                    [
                        text("Cannot be approved as graded", weight="bolder", color="attention"),
                        *bullets(problems),
                    ],
                    style="attention",
                )
            )
    typed = typed or {}
    items.append(
        ac.InputChoiceSet(
            id=OVERRIDE,
            label="Overall grade you give (if different)",
            style=COMPACT,
            value=str(typed.get(OVERRIDE) or NOT_GRADED),
            choices=_grade_choices(scale, "Use the worked-out grade"),
        )
    )
    if OVERRIDE in errors:
        items.append(error_line(errors[OVERRIDE]))
    items.append(
        ac.InputText(
            id=OVERRIDE_REASON,
            label="Reason for a different overall grade",
            value=str(typed.get(OVERRIDE_REASON) or "") or None,
            max_length=1000,
        )
    )
    if OVERRIDE_REASON in errors:
        items.append(error_line(errors[OVERRIDE_REASON]))
    items.append(
        ac.InputText(
            id=FEEDBACK,
            label="Feedback for the school",
            is_multiline=True,
            value=str(typed.get(FEEDBACK) or "") or None,
            max_length=4000,
            placeholder="What is good, and what to amend (needed to return the PEP)",
        )
    )
    if FEEDBACK in errors:
        items.append(error_line(errors[FEEDBACK]))
    return [container(items, separator=True, spacing="large", style="emphasis")]


def _qa_body(
    review: QaReview,
    typed: Mapping[str, Any] | None,
    assessment: QaAssessment | None,
    errors: Mapping[str, str],
    notice: str,
    limit: Shortening,
) -> dict[str, Any]:
    pre = review.assessment
    pep = review.pep
    held = f"meeting {british(pep.meeting_held_on)}" if pep.meeting_held_on else ""
    body: list[Element] = [
        heading(f"Quality assurance — {pre.term.label}"),
        text(child_line(review.child, (pre.school.name, held)), subtle=True, spacing="none"),
    ]
    body += notice_block(notice)
    if limit.chars == 0:
        body.append(
            text(
                "This PEP is too long to show what the school wrote on this card: "
                "read it in the PEP record (Word). The checks and grades are all "
                "here.",
                color="warning",
                size="small",
            )
        )
    if errors.get("decision"):
        body.append(
            container(
                [text(errors["decision"], weight="bolder", color="attention")], style="attention"
            )
        )
    if not review.open:
        body.append(
            container(
                [
                    text(
                        f"This PEP is '{pep.status.label}': there is nothing to decide now.",
                        weight="bolder",
                    )
                ],
                style="warning",
            )
        )
    unmet = pre.unmet
    applicable = [r for r in pre.results if r.applies]
    body.append(
        text(
            f"Pre-assessment: the record meets {len(applicable) - len(unmet)} of "
            f"{len(applicable)} criteria. Each section shows the grade the record "
            "suggests; only you can give the best grade.",
            spacing="medium",
        )
    )
    if review.open:
        body += _unconfirmed_block(typed, pep_data(pep, round=review.next_round))
    body += [
        _section_block(review, spec, i, typed, errors, limit)
        for i, spec in enumerate(SECTIONS, start=1)
    ]
    actions: list[Action] = []
    if review.open:
        body += _overall_block(review, typed, assessment, errors)
        data = pep_data(pep, round=review.next_round)
        actions = [
            execute("Work out overall", QA_CALCULATE, data),
            execute("Approve and finalise", QA_APPROVE, data, style="positive"),
            execute("Return for amendment", QA_RETURN, data, style="destructive"),
        ]
    body += _history(review.policy.scale, review.history)
    return card(body, actions)


def _unconfirmed_block(typed: Mapping[str, Any] | None, data: dict[str, Any]) -> list[Element]:
    """Which sections have no grade the coordinator confirmed, and the one deliberate
    click that accepts every suggestion for them."""
    missing = unconfirmed_sections(grades_from_card_data(typed or {}))
    if not missing:
        return [text("Every section has a grade you confirmed.", size="small", color="good")]
    names = ", ".join(section_spec(k).title for k in missing)
    return [
        container(
            [
                text(
                    f"{len(missing)} of {len(SECTIONS)} sections have no grade you confirmed: "
                    f"{names}. Approval needs a confirmed grade (or 'Does not apply') for each.",
                    size="small",
                ),
                action_set([execute("Accept all suggestions", QA_ACCEPT_ALL, data)]),
            ],
            style="warning",
            spacing="medium",
        )
    ]


def qa_card(
    review: QaReview,
    *,
    typed: Mapping[str, Any] | None = None,
    assessment: QaAssessment | None = None,
    errors: Mapping[str, str] | None = None,
    notice: str = "",
) -> dict[str, Any]:
    """The coordinator's card: the pre-assessment section by section with a grade each,
    the overall grade (worked out, or overridden with a reason), feedback, and the
    decision. `typed`: the card data as sent (kept in the inputs); `errors`: input id (or
    "decision") -> message."""
    # last resort: without the school's text (0 characters), the grades still fit
    *tries, last = DISPLAY_LIMITS
    return fitted(
        lambda limit: _qa_body(review, typed, assessment, errors or {}, notice, limit), tries, last
    )


def error_key(field: str) -> str:
    """A QaInvalid field -> the input id its message is shown beside."""
    return {
        "override_reason": OVERRIDE_REASON,
        "feedback": FEEDBACK,
        "override": OVERRIDE,
        "grade": OVERRIDE,
        "grades": "decision",
    }.get(field, "decision")


# ---- after the decision ------------------------------------------------------------------


def already_decided_notice(review: QaReview, r: QaRound, actor_id: str) -> str:
    """A card of a round already recorded (a double click, an older card)."""
    local = r.at.astimezone(ZoneInfo(LONDON))
    who = "you" if r.coordinator_id == actor_id else r.coordinator_id
    outcome = (
        "approved and finalised" if r.decision is QaDecision.APPROVE else "returned for amendment"
    )
    text_ = (
        f"Already decided by {who} at {local.strftime('%H:%M')} on "
        f"{british(local.date())}: round {r.number}, {outcome} "
        f"({review.policy.scale.display_label(r.overall)} overall). Your card was "
        "for that round, so nothing more was recorded or sent."
    )
    if review.open:
        text_ += f" The PEP is back for round {review.next_round}: decide it below."
    return text_


def _grades_facts(scale: GradeScale, r: QaRound) -> Element:
    return facts([(section_spec(k).title, scale.display_label(g)) for k, g in r.grades.items()])


def qa_decided_card(review: QaReview, r: QaRound, told: Sequence[str]) -> dict[str, Any]:
    """What the coordinator sees once the round is recorded."""
    scale = review.policy.scale
    approved = r.decision is QaDecision.APPROVE
    title = "Approved: the PEP is finalised" if approved else "Returned for amendment"
    body: list[Element] = [
        heading(title),
        text(
            child_line(review.child, (review.assessment.term.label, f"round {r.number}")),
            subtle=True,
            spacing="none",
        ),
        text(
            f"Overall: {scale.display_label(r.overall)}",
            weight="bolder",
            color=grade_color(scale, r.overall),
        ),
        _grades_facts(scale, r),
    ]
    if r.feedback:
        body += [text("Feedback", weight="bolder"), text(r.feedback)]
    body.append(
        text(
            ("The school has been told: " + ", ".join(told))
            if told
            else "Nobody in school could be told in Teams: let them know another way.",
            size="small",
            subtle=True,
        )
    )
    return card(body, [execute("My QA list", QA_LIST, {})])


def amendment_card(review: QaReview, r: QaRound) -> dict[str, Any]:
    """To the school: what to amend, then send it back to QA."""
    scale = review.policy.scale
    pep = review.pep
    body: list[Element] = [
        heading("PEP returned for amendment"),
        text(
            child_line(review.child, (review.assessment.term.label,)), subtle=True, spacing="none"
        ),
        text(
            f"The PEP coordinator graded it {scale.display_label(r.overall)} overall "
            f"(QA round {r.number}).",
            color=grade_color(scale, r.overall),
        ),
        text("Feedback", weight="bolder"),
        text(r.feedback or "(none)"),
    ]
    weak = [(k, g) for k, g in r.grades.items() if g in (scale.red, scale.amber)]
    for key, grade in weak:
        body.append(
            container(
                [
                    text(
                        f"{section_spec(key).title}: {scale.display_label(grade)}",
                        weight="bolder",
                        color=grade_color(scale, grade),
                    ),
                    action_set(
                        [execute("Open this section", SECTION_OPEN, pep_data(pep, section=key))]
                    ),
                ],
                separator=True,
            )
        )
    body.append(
        text(
            "When the amendments are made, send the PEP back for quality assurance.",
            spacing="medium",
        )
    )
    return card(
        body, [execute("Send back for QA", QA_RESUBMIT, {"pep_id": pep.id}, style="positive")]
    )


def finalised_card(review: QaReview, r: QaRound) -> dict[str, Any]:
    """To the school: the PEP passed QA."""
    scale = review.policy.scale
    body: list[Element] = [
        heading("PEP approved and finalised"),
        text(
            child_line(review.child, (review.assessment.term.label,)), subtle=True, spacing="none"
        ),
        text(
            f"Quality assurance grade: {scale.display_label(r.overall)}",
            weight="bolder",
            color=grade_color(scale, r.overall),
        ),
    ]
    if r.feedback:
        body += [text("Feedback", weight="bolder"), text(r.feedback)]
    return card(body)
