"""Submitted card data back to the raw shape the model reads."""

from __future__ import annotations

import json

from cards import attendee_from_card_data, raw_from_card_data, section_edit_card
from cards.inputs import typed_raw
from pep_model.sections import normalise_section
from tests.unit.test_cards_fixtures import inputs, make_view


def test_hidden_keys_are_ignored_and_fields_read() -> None:
    data = {
        "verb": "pep.section.save",
        "pep_id": "LCS1-2026-autumn",
        "version": 3,
        "section": "voice",
        "action": "x",
        "nav.section": "voice",
        "f.views": "I like art",
        "f.how_gathered": "",
    }
    assert raw_from_card_data("voice", data) == {"views": "I like art", "how_gathered": ""}


def test_numbers_become_text_and_toggles_pass_through() -> None:
    data = {
        "f.suspensions": 2,
        "f.days_lost": 3.0,
        "f.permanent_exclusion": "false",
        "f.details": "One suspension",
    }
    raw = raw_from_card_data("exclusions", data)
    assert raw == {
        "suspensions": "2",
        "days_lost": "3",
        "permanent_exclusion": "false",
        "details": "One suspension",
    }
    content, errors = normalise_section("exclusions", raw)
    assert errors == [] and content["suspensions"] == 2 and content["permanent_exclusion"] is False


def test_a_fractional_number_is_reported_by_the_model() -> None:
    raw = raw_from_card_data("exclusions", {"f.suspensions": 1.5})
    assert raw["suspensions"] == "1.5"
    _, errors = normalise_section("exclusions", raw)
    assert [(e.field, e.message) for e in errors] == [
        ("suspensions", "enter a whole number, 0 or more")
    ]


def test_rows_are_ordered_by_index_and_empty_rows_left_out() -> None:
    data = {
        "r.10.action": "Last",
        "r.10.owner": "C",
        "r.10.due": "2026-12-01",
        "r.2.action": "Second",
        "r.2.owner": "B",
        "r.2.due": "",
        "r.0.action": "First",
        "r.0.owner": "A",
        "r.0.due": "2026-11-01",
        "r.1.action": "",
        "r.1.owner": " ",
        "r.1.due": "",
    }
    raw = raw_from_card_data("actions", data)
    assert [r["action"] for r in raw["rows"]] == ["First", "Second", "Last"]


def test_a_table_section_always_has_rows() -> None:
    assert raw_from_card_data("actions", {"pep_id": "x"}) == {"rows": []}
    assert raw_from_card_data("summary", {"f.summary": "ok"}) == {"summary": "ok"}


def test_target_refs_come_from_the_action_data() -> None:
    data = {
        "r.0.ref": "T1",
        "r.0.description": "Read",
        "r.1.ref": "T2",
        "r.1.description": "",
        "r.1.owner": "",
        "r.1.due": "",
        "r.1.measure": "",
        "r.1.support": "",
    }
    raw = raw_from_card_data("targets", data)
    # T2 was emptied: with only its ref left it is no longer a row
    assert raw["rows"] == [{"ref": "T1", "description": "Read"}]


def test_unknown_keys_pass_through_for_the_model_to_report() -> None:
    data = {
        "f.colour": "blue",
        "r.0.name": "Sam",
        "r.0.shoe": "9",
        "r.x.name": "odd",
        "a.name": "not a field",
    }
    raw = raw_from_card_data("attendees", data)
    assert raw["colour"] == "blue" and raw["r.x.name"] == "odd"
    assert raw["rows"] == [{"name": "Sam", "shoe": "9"}]
    assert "a.name" not in raw
    _, errors = normalise_section("attendees", raw)
    reported = {e.field for e in errors if "is not a field" in e.message}
    assert reported == {"colour", "r.x.name", "shoe"}


def test_rows_sent_to_a_section_without_a_table_are_reported() -> None:
    raw = raw_from_card_data("voice", {"f.views": "Hi", "r.0.views": "Hello"})
    _, errors = normalise_section("voice", raw)
    assert [(e.field, e.message) for e in errors] == [("rows", "is not a field of this section")]


def test_attendee_form() -> None:
    data = {
        "pep_id": "x",
        "version": 2,
        "a.name": "  Sam Hall ",
        "a.role": "carer",
        "a.attended": "teams",
        "r.0.name": "ignored",
    }
    assert attendee_from_card_data(data) == ("Sam Hall", "carer", "teams")
    assert attendee_from_card_data({}) == ("", "", "")


def test_ticked_confirmations_become_the_confirmed_list() -> None:
    data = {
        "f.views": "Hi",
        "c.due=2035-01-15": "true",
        "c.due=2036-01-01": "false",
        "c.due=2037-01-01": True,
    }
    assert raw_from_card_data("voice", data) == {
        "views": "Hi",
        "confirmed": ["due=2035-01-15", "due=2037-01-01"],
    }
    assert "confirmed" not in raw_from_card_data("voice", {"c.due=2036-01-01": "false"})


def test_card_data_with_only_a_confirmation_is_read_as_card_data() -> None:
    assert typed_raw("targets", {"c.due=2035-01-15": "true"}) == {
        "rows": [],
        "confirmed": ["due=2035-01-15"],
    }


def test_half_an_emoji_typed_is_shown_back_repaired_beside_its_error() -> None:
    half = json.loads('"I like art \\ud83d"')
    raw = raw_from_card_data("voice", {"f.views": half})
    _, errors = normalise_section("voice", raw)
    card = section_edit_card(
        make_view(section="voice"), "voice", errors=errors, typed={"f.views": half}
    )
    shown = json.dumps(card, ensure_ascii=False)
    shown.encode("utf-8")  # a card Teams can be sent
    assert inputs(card)["f.views"]["value"] == "I like art \ufffd"
    assert "please retype it" in shown
