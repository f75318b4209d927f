"""Every card variant through the official Adaptive Cards renderer (Teams host config).

All cards go through one browser launch. Screenshots land in $PEP_CARD_SCREENSHOTS when
set (card-00.png: the lead's walkthrough of "targets", card-01.png: the viewer's), so a
person can look at them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from cards import (
    child_chooser_card,
    finished_card,
    finished_shared_card,
    help_card,
    message_card,
    my_peps_card,
    next_date_request_card,
    readiness_card,
    section_edit_card,
    walkthrough_card,
    walkthrough_shared_card,
)
from cards.form_upload import form_import_card
from pep_model.errors import FieldError
from pep_model.form_import import Conflict, ImportOutcome
from pep_model.form_merge import Clearing
from pep_model.sections import SECTION_KEYS
from pep_model.workflow import PepStatus
from tests.support.card_check import render_available, render_errors, schema_errors
from tests.support.tools import needs
from tests.unit.test_cards_fixtures import (
    LEADS,
    SERVICE,
    inputs,
    make_child,
    make_pep,
    make_view,
    sample_errors,
)

pytestmark = pytest.mark.browser


def _typed(card: dict[str, Any]) -> dict[str, Any]:
    typed: dict[str, Any] = {}
    for input_id, element in inputs(card).items():
        if input_id.startswith(("f.", "r.")) and element["type"] == "Input.Text":
            typed[input_id] = f"typed {input_id}"
    return typed


def all_variants() -> list[tuple[str, dict[str, Any]]]:
    child = make_child()
    finish = SERVICE.finish_problems(make_pep(child, full=False), child)
    targets = make_view(section="targets")
    out: list[tuple[str, dict[str, Any]]] = [
        (
            "walkthrough lead targets",
            walkthrough_card(
                targets,
                lead=True,
                lead_user_ids=LEADS,
                errors=sample_errors("targets"),
                notice="Saved",
            ),
        ),
        ("walkthrough viewer targets", walkthrough_card(targets, lead=False, lead_user_ids=LEADS)),
    ]
    for full in (True, False):
        for key in SECTION_KEYS:
            view = make_view(full=full, section=key)
            name = f"{key} {'full' if full else 'empty'}"
            lead = walkthrough_card(view, lead=True, lead_user_ids=LEADS)
            out += [
                (f"viewer {name}", walkthrough_card(view, lead=False, lead_user_ids=LEADS)),
                (f"lead {name}", lead),
                (
                    f"lead with errors {name}",
                    walkthrough_card(
                        view,
                        lead=True,
                        lead_user_ids=LEADS,
                        errors=sample_errors(key),
                        typed=_typed(lead),
                        notice="Someone else changed this section",
                        finish_problems=finish,
                    ),
                ),
                (f"edit {name}", section_edit_card(view, key)),
                (
                    f"edit with errors {name}",
                    section_edit_card(
                        view, key, errors=sample_errors(key), typed=_typed(lead), notice="Saved"
                    ),
                ),
            ]
    views = [make_view(i=i, full=i % 2 == 0, transition=i % 5 == 0) for i in range(60)]
    upload_errors = [
        FieldError("attendance", "possible_sessions", "enter a whole number"),
        FieldError("targets", "due", "the date must be in the future", 1),
    ]
    out += [
        ("my peps page 1", my_peps_card(views, "Autumn term 2026")),
        ("my peps page 4", my_peps_card(views, "Autumn term 2026", page=4)),
        ("my peps empty", my_peps_card([], "Autumn term 2026")),
        ("chooser", child_chooser_card([make_child(i) for i in range(6)])),
        ("chooser named", child_chooser_card([make_child(1)], full_names=True)),
        ("chooser empty", child_chooser_card([])),
        ("readiness missing", readiness_card(make_view(full=False, transition=True))),
        ("readiness ready", readiness_card(make_view())),
        ("finished", finished_card(make_view(status=PepStatus.AWAITING_RETURN), "pep.docx")),
        ("next date", next_date_request_card(make_view(full=False, section="next_pep"))),
        ("message", message_card("Hello", "Text")),
        ("message attention", message_card("Not allowed", "No access.", style="attention")),
        ("message good", message_card("Saved", "All good.", style="good")),
        ("help", help_card([("my peps", "Your PEPs"), ("help", "This list")])),
        ("upload", _upload(["send", "voice"], upload_errors)),
        ("upload nothing", _upload([], [])),
        ("shared walkthrough", walkthrough_shared_card(targets, LEADS)),
        ("shared finished", finished_shared_card()),
    ]
    return out


def test_every_card_renders_without_errors() -> None:
    needs(render_available())
    variants = all_variants()
    names = [name for name, _ in variants]
    results = render_errors([card for _, card in variants])  # one browser launch
    problems = {name: messages for name, messages in zip(names, results, strict=True) if messages}
    assert problems == {}


def test_screenshots_of_the_walkthrough(tmp_path: Path) -> None:
    needs(render_available())
    cards = [card for _, card in all_variants()[:2]]
    assert [schema_errors(c) for c in cards] == [[], []]
    shots = Path(os.environ.get("PEP_CARD_SCREENSHOTS") or tmp_path / "shots")
    assert render_errors(cards, screenshot_dir=shots) == [[], []]
    assert (shots / "card-00.png").stat().st_size > 10_000
    assert (shots / "card-01.png").stat().st_size > 5_000


def _upload(saved: list[str], problems: list[FieldError]) -> dict[str, Any]:
    """The answer to an uploaded form, with every part it can have."""
    view = make_view()
    term = view.context.term
    return form_import_card(
        ImportOutcome(
            view.pep,
            view.child,
            term,
            term,
            saved=saved,
            problems=problems,
            conflicts=[
                Conflict(
                    "voice", {"views": "In Teams"}, {"views": "In the form"}, None, "H. Pemberton"
                )
            ],
            kept_newer=["carer"],
            meeting_kept=["summary"],
            outside=["attendance"],
            clearings=[Clearing("voice", "how_gathered")],
            clear_versions={"voice": 3},
        ),
        "PEP.docx",
    )
