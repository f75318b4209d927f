"""What a card sends, read strictly: numbers, field names and values, half emojis."""

from __future__ import annotations

from typing import Any

import pytest

from bot.card_data import (
    BadRequest,
    data_page,
    data_version,
    parse_action,
    whole_number,
)

HALF_EMOJI = "\ud83d"  # the first half of 😀, alone


def _action(data: dict[str, Any], verb: str = "pep.section.save") -> dict[str, Any]:
    return {"action": {"type": "Action.Execute", "verb": verb, "data": data}}


def _shown(error: BadRequest) -> str:
    """The message as a person would read it; it can always be sent and logged."""
    message = str(error)
    message.encode("utf-8")  # no half emoji in it
    return message


# ---- numbers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value,number",
    [("0", 0), ("7", 7), ("000000123", 123), ("999999999", 999_999_999), (12, 12), (0, 0)],
)
def test_whole_numbers_a_card_carries_are_read(value: Any, number: int) -> None:
    assert whole_number(value, "version") == number


@pytest.mark.parametrize(
    "value",
    [
        "²",
        "١٢",
        "৩",
        "１２",  # digits to str.isdigit(), not to a card
        "1" * 10,
        "1" * 5000,
        10**9,
        10**18,  # longer than any version or page
        "-1",
        "+1",
        " 1",
        "1 ",
        "1\n",
        "1.0",
        "1e3",
        "0x10",
        "",
        "one",
        -1,
        1.0,
        2.5,
        float("nan"),
        True,
        False,
        None,
        [],
        {},
    ],
)
def test_anything_else_is_refused_naming_what(value: Any) -> None:
    with pytest.raises(BadRequest) as refused:
        whole_number(value, "page number")
    assert "page number" in _shown(refused.value)


def test_a_missing_version_is_refused_and_a_missing_page_is_the_first() -> None:
    for data in ({}, {"version": None}, {"version": ""}):
        with pytest.raises(BadRequest, match="did not carry the version"):
            data_version(data)
    assert data_version({"version": "4"}) == 4
    assert data_page({}) == 1 and data_page({"page": ""}) == 1
    assert data_page({"page": "3"}) == 3
    with pytest.raises(BadRequest, match="page number"):
        data_page({"page": "²"})
    with pytest.raises(BadRequest, match="version"):
        data_version({"version": "9" * 5000})


# ---- half an emoji ---------------------------------------------------------------------


@pytest.mark.parametrize("key", ["pep_id", "qa.feedback", "nav.section", "section"])
def test_a_half_emoji_outside_a_section_field_is_refused_by_name(key: str) -> None:
    with pytest.raises(BadRequest) as refused:
        parse_action(_action({"pep_id": "LCS100001-2026-autumn", key: f"Well done {HALF_EMOJI}"}))
    message = _shown(refused.value)
    assert repr(key) in message and "broken character" in message


def test_a_nul_outside_a_section_field_is_refused_by_name() -> None:
    """PostgreSQL's text and jsonb cannot hold U+0000."""
    with pytest.raises(BadRequest) as refused:
        parse_action(_action({"pep_id": "LCS100001\x00"}))
    assert "'pep_id'" in _shown(refused.value)


def test_a_half_emoji_in_a_field_name_is_refused_without_repeating_it() -> None:
    with pytest.raises(BadRequest) as refused:
        parse_action(_action({f"note{HALF_EMOJI}": "x"}))
    assert "'note\ufffd'" in _shown(refused.value)
    with pytest.raises(BadRequest):
        parse_action(_action({}, verb=f"pep.section.save{HALF_EMOJI}"))


def test_section_fields_are_left_to_the_model_as_sent() -> None:
    """The model refuses a broken character with a message on the field itself
    (pep_model/sections.py); here it passes through untouched."""
    data = {
        "pep_id": "LCS100001-2026-autumn",
        "version": "3",
        "f.views": f"I like the sand pit {HALF_EMOJI}",
        f"r.targets.1.owner{HALF_EMOJI}": HALF_EMOJI,
    }
    verb, parsed = parse_action(_action(data))
    assert verb == "pep.section.save" and parsed == data


def test_a_whole_emoji_is_text_like_any_other() -> None:
    _, parsed = parse_action(_action({"qa.feedback": "Lovely work 😀"}))
    assert parsed == {"qa.feedback": "Lovely work 😀"}
