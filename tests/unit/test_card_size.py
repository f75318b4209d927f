"""Every card fits in a Teams message, counted as Teams counts it (UTF-16: 2 bytes a
character, 4 an emoji), with every section filled to its limits: every text field at its
maximum length, every table at its most rows. Long answers are shortened with "Show all",
whose card shows the answer in full (in parts if need be), each part fitting too."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest

from cards import (
    finished_card,
    my_peps_card,
    next_date_request_card,
    readiness_card,
    section_edit_card,
    walkthrough_card,
    walkthrough_shared_card,
)
from cards.elements import CARD_BUDGET, MESSAGE_BUDGET, SHOW_TEXT, card_bytes
from cards.full_text import full_text_card
from pep_model.errors import FieldError
from pep_model.sections import SECTIONS, FieldKind, FieldSpec, SectionSpec, display_value
from pep_model.services import PepView
from pep_model.workflow import PepStatus
from tests.support.card_check import card_size, schema_errors
from tests.unit.test_cards_fixtures import LEADS, SERVICE, actions, make_child, make_pep

# what fills every text field: emoji (4 bytes each in UTF-16), and characters that are
# escaped for Markdown and again for JSON (a backslash becomes 4 characters)
PATTERNS = {"emoji": "😀🧒🏽", "escaped": '\\*"<_ '}


def longest(f: FieldSpec, pattern: str) -> Any:
    if f.kind is FieldKind.MONEY:
        return 99_999_999
    if f.kind is FieldKind.INTEGER:
        return 999_999
    if f.kind is FieldKind.DATE:
        return "2026-12-01"
    if f.kind is FieldKind.CHOICE:
        return f.choices[-1][0]
    if f.kind is FieldKind.FLAG:
        return True
    return (pattern * f.max_length)[: f.max_length]


def at_limits(spec: SectionSpec, pattern: str) -> dict[str, Any]:
    content: dict[str, Any] = {f.name: longest(f, pattern) for f in spec.fields}
    if spec.is_table:
        content["rows"] = [
            {f.name: longest(f, pattern) for f in spec.row_fields} for _ in range(spec.max_rows)
        ]
    return content


def full_pep(
    section: str, pattern: str, *, status: PepStatus = PepStatus.IN_MEETING, name: str = ""
) -> PepView:
    """Every section of the PEP at its limits, `section` on screen."""
    child = make_child()
    if name:
        child = replace(child, first_name=name, last_name=name)
    pep = make_pep(child, section=section, status=status)
    for spec in SECTIONS:
        pep.sections[spec.key] = at_limits(spec, pattern)
    return SERVICE.view(pep, child)


def typed_over(spec: SectionSpec) -> dict[str, Any]:
    """Card data with different text in every box: the saved versions show too."""
    typed: dict[str, Any] = {
        f"f.{f.name}": "😀" * f.max_length
        for f in spec.fields
        if f.kind in (FieldKind.TEXT, FieldKind.LONG_TEXT)
    }
    for i in range(spec.max_rows):
        typed.update(
            {
                f"r.{i}.{f.name}": "😀" * f.max_length
                for f in spec.row_fields
                if f.kind in (FieldKind.TEXT, FieldKind.LONG_TEXT)
            }
        )
    return typed


def assert_fits(card: dict[str, Any], *, schema: bool = True) -> None:
    """Under the budget as Teams counts it; and (unless told not to: the schema check
    takes a third of a second on a card this size) valid Adaptive Card 1.5."""
    assert card_bytes(card) <= CARD_BUDGET
    assert card_size(card) <= MESSAGE_BUDGET == 40 * 1024
    if schema:
        assert schema_errors(card) == []


CASES = [(spec.key, pattern) for spec in SECTIONS for pattern in PATTERNS]


@pytest.mark.parametrize(("key", "pattern"), CASES)
def test_every_walkthrough_and_editor_card_fits(key: str, pattern: str) -> None:
    spec = next(s for s in SECTIONS if s.key == key)
    view = full_pep(key, PATTERNS[pattern])
    errors = [FieldError(key, f.name, "😀" * 200) for f in spec.fields] + [
        FieldError(key, f.name, "😀" * 200, i)
        for i in range(spec.max_rows)
        for f in spec.row_fields
    ]
    cards = [  # (card, schema-checked: the emoji PEP's cards of each kind)
        (walkthrough_card(view, lead=True, lead_user_ids=LEADS), pattern == "emoji"),
        (
            walkthrough_card(
                view,
                lead=True,
                lead_user_ids=LEADS,
                typed=typed_over(spec),
                errors=errors,
                notice="Someone else changed this section",
                finish_problems=errors[:5],
            ),
            pattern == "emoji",
        ),
        (
            walkthrough_card(view, lead=False, lead_user_ids=[f"29:{i}" for i in range(60)]),
            pattern == "emoji",
        ),
        (section_edit_card(view, key), False),
        (section_edit_card(view, key, typed=typed_over(spec), errors=errors), False),
        (section_edit_card(view, key, read_only=True), pattern == "emoji"),
    ]
    for card, schema in cards:
        assert_fits(card, schema=schema)


def shown(card: dict[str, Any]) -> str:
    """The words the card shows, escapes taken out, paragraphs joined."""
    texts = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "TextBlock":
                texts.append(re.sub(r"\\(.)", r"\1", node["text"]))
            for k, v in node.items():
                if k != "data":
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(card)
    return "".join(texts)


def answer(part: dict[str, Any]) -> str:
    """The words of the answer(s) on a "Show all" card: no title, heading, part line or
    labels (bold)."""
    blocks = [
        b
        for b in part["body"][2:]
        if b.get("type") == "TextBlock"
        and b.get("weight") != "bolder"
        and not b["text"].startswith("Part ")
    ]
    return "".join(shown(b) for b in blocks)


def all_parts(view: PepView, data: dict[str, Any], personal: bool) -> list[dict[str, Any]]:
    """What pressing "Show all", then "Next part" until there is none, shows."""
    where = {k: v for k, v in data.items() if k in ("field", "row", "part")}
    parts = [full_text_card(view, data["section"], personal=personal, **where)]
    while nexts := [a for a in actions(parts[-1]) if a["title"] == "Next part ▶"]:
        where = {k: v for k, v in nexts[0]["data"].items() if k in ("field", "row", "part")}
        parts.append(full_text_card(view, data["section"], personal=personal, **where))
        assert len(parts) < 30
    return parts


@pytest.mark.parametrize(("key", "pattern"), CASES)
def test_show_all_shows_each_answer_in_full_in_cards_that_fit(key: str, pattern: str) -> None:
    view = full_pep(key, PATTERNS[pattern])
    spec = next(s for s in SECTIONS if s.key == key)
    viewer = walkthrough_card(view, lead=False, lead_user_ids=LEADS)
    buttons = [a for a in actions(viewer) if a["verb"] == SHOW_TEXT]
    for button in buttons:
        data = button["data"]
        assert data["pep_id"] == view.pep.id and data["section"] == key
        parts = all_parts(view, data, personal=False)
        for number, part in enumerate(parts):
            assert_fits(part, schema=number == 0 and button is buttons[0])
            back = [a for a in actions(part) if a["title"] == "Back to the meeting"]
            assert back and back[0]["verb"] == "pep.walkthrough.refresh"
        words = "".join(answer(p) for p in parts).replace("\n", "")
        content = view.pep.section(key)
        if "field" in data:
            f = spec.field(data["field"])
            source = content["rows"][data["row"]] if "row" in data else content
            assert display_value(f, source[f.name]).replace(" ", "") in words.replace(" ", "")
    if not buttons:  # nothing shortened: the viewer shows every answer itself
        for f in spec.fields:
            if f.kind is FieldKind.LONG_TEXT:
                assert str(view.pep.section(key)[f.name]).replace(" ", "") in shown(viewer).replace(
                    " ", ""
                )


@pytest.mark.parametrize("pattern", PATTERNS)
def test_the_whole_section_in_full_fits_part_by_part(pattern: str) -> None:
    for spec in SECTIONS:
        view = full_pep(spec.key, PATTERNS[pattern])
        parts = all_parts(view, {"section": spec.key}, personal=True)
        for number, part in enumerate(parts):
            assert_fits(part, schema=number == len(parts) - 1)
            assert [a["verb"] for a in actions(part)][-1] == "pep.section.open"
        assert ("Part 1 of" in shown(parts[0])) is (len(parts) > 1)


def test_too_long_to_edit_is_read_only_and_fits() -> None:
    view = full_pep("targets", PATTERNS["emoji"])
    for card in (
        walkthrough_card(view, lead=True, lead_user_ids=LEADS),
        section_edit_card(view, "targets"),
    ):
        assert_fits(card)
        assert "too long to edit in a Teams card" in shown(card)
        verbs = {a["verb"] for a in actions(card)}
        assert "pep.section.save" not in verbs and SHOW_TEXT in verbs
        assert not [n for n in card["body"] if str(n.get("type")).startswith("Input.")]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_the_other_cards_fit(pattern: str) -> None:
    text = PATTERNS[pattern]
    finished = full_pep("next_pep", text, status=PepStatus.AWAITING_RETURN)
    finished.pep.sections["next_pep"] = {"date": None, "reason": text * 200}
    child = make_child(transition=True)
    empty = SERVICE.view(replace(make_pep(child), sections={}), child)
    named = replace(child, first_name=(text * 40)[:40], last_name=(text * 40)[:40])
    caseload = [SERVICE.view(replace(make_pep(named), sections={}), named)] * 60
    cards = [
        readiness_card(empty),
        my_peps_card(caseload, "Autumn term 2026"),
        my_peps_card(caseload, "Autumn term 2026", page=4),
        walkthrough_shared_card(finished, [f"29:{i}" for i in range(60)]),
        finished_card(finished, "pep.docx"),
        next_date_request_card(
            finished, typed={"f.reason": "😀" * 1000, "f.date": "x"}, errors=empty.problems[:20]
        ),
    ]
    assert len(empty.problems) > 10 and empty.transition_reasons
    for card in cards:
        assert_fits(card)
