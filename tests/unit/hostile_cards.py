"""Cards of every kind filled with text that tries every Markdown trick (no tests here).

Used by tests/unit/test_cards_escape.py (every TextBlock and Fact is inert Markdown) and
tests/integration/test_cards_escape_render.py (the official renderer with Markdown shows
the text literally)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from cards import (
    finished_card,
    form_import_card,
    help_card,
    message_card,
    my_peps_card,
    next_date_request_card,
    readiness_card,
    section_edit_card,
    walkthrough_card,
    walkthrough_shared_card,
)
from cards.full_text import full_text_card
from cards.pupil_premium import pp_decided_card, pp_outcome_card, pp_pending_card, pp_request_card
from cards.qa_check import pre_assessment_card
from cards.quality import (
    amendment_card,
    finalised_card,
    qa_card,
    qa_decided_card,
)
from cards.scheduling import meeting_scheduled_card
from pep_model.child import Child
from pep_model.errors import FieldError
from pep_model.form_import import Conflict, ImportOutcome
from pep_model.pupil_premium import DecisionKind
from pep_model.pupil_premium_service import PpOutcome
from pep_model.qa_service import QaReview
from pep_model.sections import SECTIONS, FieldKind
from pep_model.services import PepView
from pep_model.workflow import PepStatus
from tests.unit.qa_card_fixtures import LEAD, QA, SCHOOL, qa_round, record, request_view
from tests.unit.test_cards_fixtures import LEADS, SERVICE, make_child, make_pep

# what a person might type, one trick a line (as a child's voice could be pasted)
TRICKS = (
    "[link](http://evil.example)",
    "**x**",
    "# h",
    "- item",
    "1. x",
    "![img](http://evil.example/i.png)",
    "<b>",
    "_x_",
    "`code`",
    "<http://evil.example/auto>",
    "~~gone~~",
    "> quoted",
    "&amp;",
    "a\\b",
)
VOICE = "\n".join(TRICKS)
INLINE = "**Ada** [link](http://evil.example) _x_"
NAME = "[Ada](http://evil.example)"


def hostile_child() -> Child:
    return replace(make_child(), first_name=NAME, last_name="**Okafor**")


def hostile_view(section: str = "voice", *, status: PepStatus = PepStatus.IN_MEETING) -> PepView:
    """A PEP whose every text field holds every trick (one-line fields: INLINE)."""
    child = hostile_child()
    pep = make_pep(child, section=section, status=status)
    for spec in SECTIONS:
        content = dict(pep.section(spec.key))
        for f in spec.fields:
            if f.kind is FieldKind.LONG_TEXT:
                content[f.name] = VOICE
            elif f.kind is FieldKind.TEXT:
                content[f.name] = INLINE
        rows = [dict(r) for r in content.get("rows") or []]
        for row in rows:
            for f in spec.row_fields:
                if f.kind is FieldKind.LONG_TEXT:
                    row[f.name] = VOICE
                elif f.kind is FieldKind.TEXT and f.name not in ("ref", "target"):
                    row[f.name] = INLINE
        if spec.is_table:
            content["rows"] = rows
        pep.sections[spec.key] = content
    pep.sections["next_pep"] = {"date": None, "reason": VOICE}
    return SERVICE.view(pep, child)


def walkthrough_cards() -> list[tuple[str, dict[str, Any]]]:
    """The lead's and the viewer's meeting cards and the personal editor, every section."""
    out = []
    for spec in SECTIONS:
        view = hostile_view(spec.key)
        out += [
            (
                f"lead {spec.key}",
                walkthrough_card(view, lead=True, lead_user_ids=LEADS, notice=f"Added {INLINE}."),
            ),
            (f"viewer {spec.key}", walkthrough_card(view, lead=False, lead_user_ids=LEADS)),
            (f"editor {spec.key}", section_edit_card(view, spec.key)),
            (f"read only {spec.key}", section_edit_card(view, spec.key, read_only=True)),
            (f"in full {spec.key}", full_text_card(view, spec.key, personal=True)),
        ]
    return out


def list_cards() -> list[tuple[str, dict[str, Any]]]:
    view = hostile_view()
    errors = [FieldError("voice", "views", f"'{INLINE}' is not allowed")]
    return [
        ("my peps", my_peps_card([view, hostile_view("send")], "Autumn term 2026")),
        ("readiness", readiness_card(SERVICE.view(replace(view.pep, sections={}), view.child))),
        (
            "upload",
            form_import_card(
                ImportOutcome(
                    view.pep,
                    view.child,
                    SERVICE.calendar.get(view.pep.term_id),
                    SERVICE.calendar.get(view.pep.term_id),
                    saved=["voice"],
                    problems=errors,
                    conflicts=[
                        Conflict(
                            "voice", {"views": VOICE}, {"views": f"{INLINE} {VOICE}"}, None, INLINE
                        )
                    ],
                ),
                f"{INLINE}.docx",
            ),
        ),
        ("finished", finished_card(hostile_view(status=PepStatus.AWAITING_RETURN), "pep.docx")),
        ("next date", next_date_request_card(hostile_view("next_pep"))),
        ("message", message_card(f"Added {INLINE}", VOICE)),
        ("help", help_card([("open <LCS id>", f"Open {INLINE}")])),
        ("shared", walkthrough_shared_card(view, LEADS)),
        (
            "scheduled",
            meeting_scheduled_card(
                child_id=view.child.lcs_id,
                initials=view.child.initials,
                school=INLINE,
                starts_at=datetime(2026, 11, 20, 10, tzinfo=UTC),
                minutes=60,
                attendees=[INLINE, NAME],
                join_url="",
                sent=True,
            ),
        ),
    ]


def qa_and_pp_cards() -> list[tuple[str, dict[str, Any]]]:
    view = hostile_view(status=PepStatus.IN_QA)
    pre = QA.pre_assessment(
        replace(view.pep, meeting_held_on=datetime(2026, 10, 1).date()), view.child, SCHOOL
    )
    review_ = QaReview(pre, ())
    returned = replace(qa_round(), feedback=VOICE, override_reason=INLINE)
    rv = request_view()
    request = replace(rv.request, purpose=VOICE, impact=VOICE, school_name=INLINE)
    rv = replace(rv, stored=replace(rv.stored, request=request), child=view.child, target=VOICE)
    decided = replace(record(DecisionKind.DECLINE, 0, VOICE), school_name=INLINE, decided_by=INLINE)
    outcome = PpOutcome(
        replace(rv, stored=replace(rv.stored, decision=decided)), decided, None, (LEAD,)
    )
    return [
        ("qa", qa_card(review_, typed={"qa.feedback": VOICE})),
        ("qa decided", qa_decided_card(review_, returned, [INLINE])),
        ("amendment", amendment_card(review_, returned)),
        ("finalised", finalised_card(review_, returned)),
        ("check my pep", pre_assessment_card(pre)),
        ("pp request", pp_request_card(rv, typed={"pp.reason": VOICE})),
        ("pp decided", pp_decided_card(outcome, [INLINE])),
        ("pp outcome", pp_outcome_card(outcome)),
        ("pp pending", pp_pending_card([rv])),
    ]
