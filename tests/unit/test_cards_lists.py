"""My PEPs, the child chooser, readiness, the end of the meeting, messages and uploads."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cards import (
    child_chooser_card,
    finished_card,
    help_card,
    message_card,
    my_peps_card,
    next_date_request_card,
    readiness_card,
)
from cards.form_upload import form_import_card
from pep_model.errors import FieldError
from pep_model.form_import import ImportOutcome
from pep_model.workflow import PepStatus
from tests.support.card_check import MAX_CARD_BYTES, card_size, schema_errors
from tests.unit.test_cards_fixtures import (
    actions,
    find_action,
    inputs,
    make_child,
    make_view,
    submit,
)


def texts(card: dict[str, Any]) -> str:
    return json.dumps(card, ensure_ascii=False)


def assert_ok(card: dict[str, Any]) -> None:
    assert schema_errors(card) == []
    assert card_size(card) < MAX_CARD_BYTES


def caseload(n: int = 60) -> list[Any]:
    return [make_view(i=i, full=i % 3 == 0, transition=i % 7 == 0) for i in range(n)]


# ---- my PEPs ------------------------------------------------------------------------


def test_my_peps_of_sixty_children_are_paginated_and_small() -> None:
    views = caseload()
    pages = [my_peps_card(views, "Autumn term 2026", page=p) for p in (1, 2, 3, 4)]
    seen: list[str] = []
    for number, card in enumerate(pages, start=1):
        assert_ok(card)
        opens = [a for a in actions(card) if a["verb"] == "pep.open"]
        assert len(opens) == 15
        seen.extend(a["data"]["pep_id"] for a in opens)
        more = [a for a in actions(card) if a["verb"] == "pep.list"]
        datas = [a["data"] for a in more]
        assert ({"page": number + 1} in datas) == (number < 4)
        assert ({"page": number - 1} in datas) == (number > 1)
    assert seen == [v.pep.id for v in views]
    assert card_size(pages[0]) < 40 * 1024


def test_my_peps_entry() -> None:
    views = caseload(15)
    card = my_peps_card(views, "Autumn term 2026")
    body = texts(card)
    assert "My PEPs — Autumn term 2026" in body
    ready, missing = views[0], views[1]
    assert not ready.problems and missing.problems
    assert ready.child.full_name in body and ready.child.lcs_id in body
    assert "Year 7" in body and PepStatus.IN_MEETING.label in body
    assert "Ready" in body
    assert f"{len(missing.problems)} things missing" in body
    first = missing.problems[0]
    assert f"{first.where()}: {first.message}" in body
    assert "Transition PEP: flagged as a transition case" in body
    assert find_action(card, "pep.open")["data"] == {
        "pep_id": ready.pep.id,
        "version": 7,
        "child_id": ready.child.lcs_id,
    }
    assert "pep.list" not in {a["verb"] for a in actions(card)}


def test_my_peps_out_of_range_and_empty() -> None:
    views = caseload(20)
    assert texts(my_peps_card(views, "T", page=99)) == texts(my_peps_card(views, "T", page=2))
    empty = my_peps_card([], "Autumn term 2026")
    assert_ok(empty)
    assert "no PEPs" in texts(empty)


# ---- choosing a child ---------------------------------------------------------------


def test_child_chooser() -> None:
    children = [make_child(i) for i in range(5)]
    card = child_chooser_card(children)
    assert_ok(card)
    choice = inputs(card)["child_id"]
    assert [c["value"] for c in choice["choices"]] == [c.lcs_id for c in children]
    assert choice["isRequired"] is True
    assert children[1].last_name not in texts(card)  # initials in a shared chat
    assert find_action(card, "pep.start")["title"] == "Start walkthrough"
    data = submit(card, "pep.start", {"child_id": children[2].lcs_id})
    assert data == {"child_id": children[2].lcs_id}
    named = child_chooser_card(children, full_names=True)
    assert children[1].full_name in texts(named)
    assert_ok(child_chooser_card([]))


# ---- readiness ----------------------------------------------------------------------


def test_readiness_lists_what_is_missing_per_section() -> None:
    view = make_view(full=False)
    card = readiness_card(view)
    assert_ok(card)
    body = texts(card)
    assert view.problems
    for p in view.problems:
        assert p.message in body
    opens = [a["data"]["section"] for a in actions(card) if a["verb"] == "pep.section.open"]
    assert opens == list(dict.fromkeys(p.section for p in view.problems))
    assert view.child.last_name not in body


def test_readiness_when_ready() -> None:
    view = make_view(full=True)
    assert not view.problems
    card = readiness_card(view)
    assert_ok(card)
    assert "Ready for the meeting" in texts(card)


# ---- end of the meeting -------------------------------------------------------------


def test_finished_card() -> None:
    view = make_view(status=PepStatus.AWAITING_RETURN)
    card = finished_card(view, "PEP LCS100001 Autumn 2026.docx")
    assert_ok(card)
    body = texts(card)
    assert "06/10/2026" in body and "03/02/2027" in body
    assert "PEP LCS100001 Autumn 2026.docx" in body
    assert [a["verb"] for a in actions(card)] == ["pep.return.open"]
    assert find_action(card, "pep.return.open")["data"] == {"pep_id": view.pep.id}


def test_finished_card_without_a_date() -> None:
    view = make_view(status=PepStatus.AWAITING_RETURN)
    view.pep.sections["next_pep"] = {"date": None, "reason": "School closes for building"}
    assert "Not set: School closes for building" in texts(finished_card(view, "r.docx"))


def test_next_date_request_card() -> None:
    view = make_view(full=False, section="next_pep")
    card = next_date_request_card(view)
    assert_ok(card)
    shown = inputs(card)
    assert shown["f.date"]["type"] == "Input.Date"
    assert shown["f.reason"]["type"] == "Input.Text" and shown["f.reason"]["isMultiline"]
    save = find_action(card, "pep.section.save")
    assert save["data"] == {
        "pep_id": view.pep.id,
        "version": 7,
        "section": "next_pep",
        "current": "next_pep",
    }
    # Finish saves what is typed first (the card says which section it shows)
    assert find_action(card, "pep.finish")["data"] == {
        "pep_id": view.pep.id,
        "version": 7,
        "current": "next_pep",
    }
    assert view.child.last_name not in texts(card)


# ---- messages, help and uploads -----------------------------------------------------


@pytest.mark.parametrize("style", ["default", "attention", "good"])
def test_message_card(style: str) -> None:
    card = message_card("Not allowed", "You do not have access to this child's PEP.", style=style)  # type: ignore[arg-type]
    assert_ok(card)
    assert card["body"][0]["style"] == style
    assert "You do not have access" in texts(card)


def test_help_card() -> None:
    card = help_card([("my peps", "Your PEPs this term"), ("start", "Start a walkthrough")])
    assert_ok(card)
    assert "my peps" in texts(card) and "Start a walkthrough" in texts(card)


def test_upload_result_card() -> None:
    errors = [
        FieldError("attendance", "possible_sessions", "enter a whole number, 0 or more"),
        FieldError("targets", "due", "the date must be in the future", 1),
    ]
    view = make_view()
    term = view.context.term

    def answer(saved: list[str], problems: list[FieldError]) -> dict[str, Any]:
        return form_import_card(
            ImportOutcome(view.pep, view.child, term, term, saved=saved, problems=problems),
            "PEP.docx",
        )

    card = answer(["send", "voice"], errors)
    assert_ok(card)
    body = texts(card)
    assert "SEND needs" in body and "The child's voice" in body and term.label in body
    for e in errors:
        assert f"{e.where()}: {e.message}" in body
    clean = answer([], [])
    assert "Nothing was changed" in texts(clean)
    many = answer(["send"], errors * 200)
    assert_ok(many)
