"""The Adaptive Card harness (tests/support/card_check.py) can both pass and fail cards."""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.card_check import (
    MAX_CARD_BYTES,
    assert_valid_cards,
    card_size,
    render_available,
    render_errors,
    schema_errors,
)
from tests.support.tools import needs


def good_card() -> dict[str, Any]:
    """A correct 1.5 card using every element the bot relies on."""
    return {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.5",
        "refresh": {
            "action": {
                "type": "Action.Execute",
                "verb": "pep.refresh",
                "data": {"meetingId": "m-1"},
            },
            "userIds": ["29:user-a", "29:user-b"],
        },
        "body": [
            {
                "type": "TextBlock",
                "text": "PEP meeting — Spring term",
                "size": "Large",
                "weight": "Bolder",
                "wrap": True,
            },
            {
                "type": "FactSet",
                "facts": [
                    {"title": "Child", "value": "A. Example"},
                    {"title": "School", "value": "Example Primary"},
                ],
            },
            {
                "type": "ColumnSet",
                "columns": [
                    {
                        "type": "Column",
                        "width": "stretch",
                        "items": [
                            {"type": "TextBlock", "text": "Designated teacher", "wrap": True}
                        ],
                    },
                    {
                        "type": "Column",
                        "width": "auto",
                        "items": [{"type": "TextBlock", "text": "Present", "color": "Good"}],
                    },
                ],
            },
            {
                "type": "Table",
                "columns": [{"width": 2}, {"width": 1}],
                "rows": [
                    {
                        "type": "TableRow",
                        "cells": [
                            {
                                "type": "TableCell",
                                "items": [{"type": "TextBlock", "text": "Target"}],
                            },
                            {
                                "type": "TableCell",
                                "items": [{"type": "TextBlock", "text": "Status"}],
                            },
                        ],
                    },
                    {
                        "type": "TableRow",
                        "cells": [
                            {
                                "type": "TableCell",
                                "items": [
                                    {"type": "TextBlock", "text": "Read daily", "wrap": True}
                                ],
                            },
                            {
                                "type": "TableCell",
                                "items": [{"type": "TextBlock", "text": "On track"}],
                            },
                        ],
                    },
                ],
            },
            {
                "type": "Input.Text",
                "id": "views",
                "label": "Child's views",
                "isMultiline": True,
                "maxLength": 2000,
            },
            {"type": "Input.Date", "id": "reviewDate", "label": "Next review"},
            {
                "type": "Input.ChoiceSet",
                "id": "attendance",
                "label": "Attendance",
                "style": "compact",
                "value": "good",
                "choices": [
                    {"title": "Good", "value": "good"},
                    {"title": "Concern", "value": "concern"},
                ],
            },
            {
                "type": "Input.Toggle",
                "id": "consent",
                "title": "Carer agrees with the plan",
                "valueOn": "true",
                "valueOff": "false",
            },
            {
                "type": "ActionSet",
                "actions": [
                    {
                        "type": "Action.Execute",
                        "title": "Save section",
                        "verb": "pep.saveSection",
                        "data": {"section": "views"},
                    },
                    {
                        "type": "Action.ShowCard",
                        "title": "Add a note",
                        "card": {
                            "type": "AdaptiveCard",
                            "body": [{"type": "Input.Text", "id": "note", "label": "Note"}],
                            "actions": [
                                {"type": "Action.Execute", "title": "Add", "verb": "pep.addNote"}
                            ],
                        },
                    },
                ],
            },
        ],
    }


def with_body_item(item: dict[str, Any]) -> dict[str, Any]:
    card = good_card()
    card["body"].append(item)
    return card


def unknown_property_card() -> dict[str, Any]:
    card = good_card()
    card["body"][0]["colour"] = "Good"  # not a TextBlock property
    return card


def unknown_type_card() -> dict[str, Any]:
    return with_body_item({"type": "TextBlok", "text": "typo"})


def input_without_id_card() -> dict[str, Any]:
    return with_body_item({"type": "Input.Text", "label": "No id"})


def bad_enum_card() -> dict[str, Any]:
    return with_body_item({"type": "TextBlock", "text": "big", "size": "huge"})


def oversized_card() -> dict[str, Any]:
    card = good_card()
    for i in range(200):
        card["body"].append({"type": "TextBlock", "text": f"{i} " + "x" * 500, "wrap": True})
    return card


# Every card the browser test renders: one launch for all of them.
RENDER_CASES = {
    "good": good_card,
    "unknown_property": unknown_property_card,
    "unknown_type": unknown_type_card,
    "input_without_id": input_without_id_card,
    "bad_enum": bad_enum_card,
    "good_2": good_card,
    "good_3": good_card,
    "good_4": good_card,
    "good_5": good_card,
    "good_6": good_card,
}


# ---------------------------------------------------------------------------------------------
# schema_errors (no browser)
# ---------------------------------------------------------------------------------------------


def test_good_card_passes_schema() -> None:
    assert schema_errors(good_card()) == []


def test_unknown_property_fails_schema_with_path() -> None:
    errors = schema_errors(unknown_property_card())
    assert any("$.body[0]" in e and "colour" in e for e in errors), errors


def test_unknown_type_fails_schema() -> None:
    errors = schema_errors(unknown_type_card())
    assert any("$.body[9]" in e for e in errors), errors


def test_input_without_id_fails_schema() -> None:
    errors = schema_errors(input_without_id_card())
    assert any("$.body[9]" in e and "no id" in e for e in errors), errors


def test_duplicate_input_id_across_show_card_fails() -> None:
    card = with_body_item({"type": "Input.Text", "id": "note"})  # also used in the ShowCard
    errors = schema_errors(card)
    assert any("'note' already used" in e for e in errors), errors


def test_execute_without_verb_fails() -> None:
    card = good_card()
    del card["refresh"]["action"]["verb"]
    errors = schema_errors(card)
    assert any("$.refresh.action" in e and "no verb" in e for e in errors), errors


def test_wrong_version_fails() -> None:
    card = good_card()
    card["version"] = "1.6"
    assert any(e.startswith("version:") for e in schema_errors(card))


def test_oversized_card_fails_size_check() -> None:
    card = oversized_card()
    assert card_size(card) > MAX_CARD_BYTES
    errors = schema_errors(card)
    assert any(e.startswith("size:") for e in errors), errors
    assert all(not e.startswith("schema") for e in errors), errors  # only the size is wrong


def test_bad_enum_fails_schema() -> None:
    errors = schema_errors(bad_enum_card())
    assert any("$.body[9].size" in e for e in errors), errors


def test_action_data_payload_is_not_checked_as_card_content() -> None:
    card = good_card()
    card["body"][-1]["actions"][0]["data"] = {"type": "Input.Text"}  # free-form payload
    assert schema_errors(card) == []


# ---------------------------------------------------------------------------------------------
# render_errors (headless Chromium + official renderer)
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    needs(render_available())
    shots = tmp_path_factory.mktemp("card-shots")
    cards = [make() for make in RENDER_CASES.values()]
    started = time.perf_counter()
    results = render_errors(cards, screenshot_dir=shots)
    elapsed = time.perf_counter() - started
    print(f"\nrender_errors: {len(cards)} cards in {elapsed:.2f} s")
    return {
        "errors": dict(zip(RENDER_CASES, results, strict=True)),
        "elapsed": elapsed,
        "shots": shots,
    }


@pytest.mark.browser
def test_good_card_renders_clean(rendered: dict[str, Any]) -> None:
    for name, errors in rendered["errors"].items():
        if name.startswith("good"):
            assert errors == [], (name, errors)


@pytest.mark.browser
def test_unknown_type_fails_render(rendered: dict[str, Any]) -> None:
    errors = rendered["errors"]["unknown_type"]
    assert any("UnknownElementType" in e and "TextBlok" in e for e in errors), errors


@pytest.mark.browser
def test_input_without_id_fails_render(rendered: dict[str, Any]) -> None:
    errors = rendered["errors"]["input_without_id"]
    assert any("Input.Text" in e and "Id" in e for e in errors), errors


@pytest.mark.browser
def test_bad_enum_fails_render(rendered: dict[str, Any]) -> None:
    errors = rendered["errors"]["bad_enum"]
    assert any("huge" in e and "size" in e for e in errors), errors


@pytest.mark.browser
def test_renderer_does_not_catch_unknown_properties(rendered: dict[str, Any]) -> None:
    # Why both checks exist: the JS renderer silently ignores unknown properties.
    assert rendered["errors"]["unknown_property"] == []
    assert schema_errors(unknown_property_card()) != []


@pytest.mark.browser
def test_render_is_fast_and_writes_screenshots(rendered: dict[str, Any]) -> None:
    assert rendered["elapsed"] < 60
    shots = sorted(Path(rendered["shots"]).glob("card-*.png"))
    assert len(shots) == len(RENDER_CASES)
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in shots)


@pytest.mark.browser
def test_assert_valid_cards_passes_and_lists_problems_per_card() -> None:
    needs(render_available())
    bad = copy.deepcopy(unknown_type_card())
    bad["body"][0]["colour"] = "Good"
    with pytest.raises(AssertionError) as raised:
        assert_valid_cards([good_card(), bad])
    text = str(raised.value)
    assert "card 0" not in text
    assert "card 1:" in text
    assert "colour" in text  # from the schema
    assert "render parse UnknownElementType" in text  # from the renderer
    assert_valid_cards([good_card()])
