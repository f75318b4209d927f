"""The walkthrough and section edit cards: valid 1.5, small, and keeping the conventions."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cards import raw_from_card_data, section_edit_card, walkthrough_card
from pep_model.errors import FieldError
from pep_model.sections import (
    SECTION_KEYS,
    FieldKind,
    empty_content,
    normalise_section,
    section_spec,
)
from tests.support.card_check import MAX_CARD_BYTES, card_size, schema_errors
from tests.unit.test_cards_fixtures import (
    LEADS,
    SERVICE,
    actions,
    find_action,
    full_sections,
    inputs,
    make_child,
    make_pep,
    make_view,
    sample_errors,
    submit,
    walk,
)

VERBS = {
    "pep.section.save",
    "pep.nav",
    "pep.finish",
    "pep.attendee.add",
    "pep.walkthrough.refresh",
    "pep.open",
    "pep.section.open",
    "pep.start",
    "pep.readiness",
    "pep.list",
}


def texts(card: dict[str, Any]) -> str:
    """The card's JSON, with the Markdown escapes (cards.elements.plain) taken out."""
    return json.dumps(card, ensure_ascii=False).replace("\\\\", "")


def lead_card(key: str, **kwargs: Any) -> dict[str, Any]:
    full = kwargs.pop("full", True)
    return walkthrough_card(
        make_view(full=full, section=key), lead=True, lead_user_ids=LEADS, **kwargs
    )


def assert_ok(card: dict[str, Any]) -> None:
    assert schema_errors(card) == []
    assert card_size(card) < MAX_CARD_BYTES


def typed_changes(card: dict[str, Any]) -> dict[str, Any]:
    """A new value for every input of the section, the way Teams sends them."""
    changes: dict[str, Any] = {}
    for input_id, element in inputs(card).items():
        if not input_id.startswith(("f.", "r.")):
            continue
        kind = element["type"]
        if kind == "Input.Number":
            changes[input_id] = 42
        elif kind == "Input.Date":
            changes[input_id] = "2026-12-24"
        elif kind == "Input.ChoiceSet":
            changes[input_id] = element["choices"][-1]["value"]
        elif kind == "Input.Toggle":
            changes[input_id] = "true"
        else:
            changes[input_id] = f"typed into {input_id}"
    return changes


# ---- every section, every variant -------------------------------------------------


@pytest.mark.parametrize("full", [True, False], ids=["full", "empty"])
@pytest.mark.parametrize("key", SECTION_KEYS)
def test_every_variant_is_valid_and_small(key: str, full: bool) -> None:
    view = make_view(full=full, section=key)
    errors = sample_errors(key)
    typed = typed_changes(lead_card(key, full=full))
    variants = [
        walkthrough_card(view, lead=False, lead_user_ids=LEADS),
        walkthrough_card(view, lead=True, lead_user_ids=LEADS),
        walkthrough_card(
            view,
            lead=True,
            lead_user_ids=LEADS,
            errors=errors,
            typed=typed,
            notice="Saved",
            finish_problems=errors,
        ),
        section_edit_card(view, key),
        section_edit_card(view, key, errors=errors, typed=typed, notice="Saved"),
    ]
    for card in variants:
        assert_ok(card)
        for action in actions(card):
            assert action["verb"] in VERBS
            if action["verb"] not in ("pep.list", "pep.start"):
                assert action["data"]["pep_id"] == view.pep.id
                assert action["data"]["version"] == view.pep.version


@pytest.mark.parametrize("key", SECTION_KEYS)
def test_viewer_is_read_only_and_refreshes_for_the_leads(key: str) -> None:
    view = make_view(section=key)
    many = [f"29:user-{i}" for i in range(100)]
    card = walkthrough_card(view, lead=False, lead_user_ids=many)
    assert not any(str(n.get("type", "")).startswith("Input.") for n in walk(card))
    assert card["refresh"]["userIds"] == many[:60]
    action = card["refresh"]["action"]
    assert action == {
        "type": "Action.Execute",
        "verb": "pep.walkthrough.refresh",
        "data": {"pep_id": view.pep.id, "version": view.pep.version},
    }
    assert section_spec(key).title in texts(card)


def test_viewer_shows_not_filled_in_and_initials_only() -> None:
    view = make_view(full=False, section="voice")
    card = walkthrough_card(view, lead=False, lead_user_ids=LEADS)
    body = texts(card)
    assert "Not filled in" in body
    assert f"PEP meeting — {view.child.initials}, Year 7, Autumn term 2026" in body
    assert view.child.first_name not in body and view.child.last_name not in body
    lead = texts(walkthrough_card(view, lead=True, lead_user_ids=LEADS))
    assert view.child.first_name not in lead


def test_viewer_shows_a_table_section_as_a_table() -> None:
    card = walkthrough_card(make_view(section="attainment"), lead=False, lead_user_ids=LEADS)
    tables = [n for n in walk(card) if n.get("type") == "Table"]
    assert len(tables) == 1 and len(tables[0]["rows"]) == 1 + 3
    assert "firstRowAsHeader" not in tables[0]


# ---- the lead's editable view ------------------------------------------------------


@pytest.mark.parametrize("key", SECTION_KEYS)
def test_typed_values_are_kept_in_the_inputs(key: str) -> None:
    changes = typed_changes(lead_card(key))
    data = {"pep_id": "x", "version": 1, "section": key, **changes}
    for card in (
        lead_card(key, typed=data),
        section_edit_card(make_view(section=key), key, typed=data),
    ):
        shown = inputs(card)
        for input_id, value in changes.items():
            assert shown[input_id].get("value") == value, input_id


@pytest.mark.parametrize("key", SECTION_KEYS)
def test_each_error_is_shown_with_its_message(key: str) -> None:
    errors = sample_errors(key)
    for card in (
        lead_card(key, errors=errors),
        section_edit_card(make_view(section=key), key, errors=errors),
    ):
        body = texts(card)
        for e in errors:
            assert body.count(e.message) >= 2 if e.field != "rows" else e.message in body
        assert "attention before this can be saved" in body


def test_row_error_is_beside_its_row() -> None:
    card = lead_card(
        "targets", errors=[FieldError("targets", "due", "the date must be in the future", 1)]
    )
    rows = [
        n
        for n in card["body"]
        if n.get("type") == "Container" and n["items"][0].get("text", "").startswith("Target T")
    ]
    assert "the date must be in the future" in texts(rows[1])
    assert "the date must be in the future" not in texts(rows[0])


def test_unreadable_typing_is_kept_in_a_text_box() -> None:
    typed = {
        "f.possible_sessions": "about 120",
        "f.attended_sessions": 110,
        "f.unauthorised_sessions": "",
        "f.explanation": "ill",
    }
    card = lead_card(
        "attendance",
        typed=typed,
        errors=[FieldError("attendance", "possible_sessions", "enter a whole number, 0 or more")],
    )
    shown = inputs(card)
    assert shown["f.possible_sessions"] == {
        **shown["f.possible_sessions"],
        "type": "Input.Text",
        "value": "about 120",
    }
    assert shown["f.attended_sessions"]["type"] == "Input.Number"
    assert shown["f.attended_sessions"]["value"] == 110
    bad_date = lead_card("targets", typed={"r.0.due": "31/02/2026", "r.0.ref": "T1"})
    assert inputs(bad_date)["r.0.due"]["value"] == "31/02/2026"


def test_a_conflict_shows_the_saved_version_beside_the_typing() -> None:
    typed = {"f.views": "My own words, typed during the meeting", "f.how_gathered": ""}
    notice = "Someone else changed this section — their version is shown below"
    card = lead_card("voice", typed=typed, notice=notice)
    body = texts(card)
    assert notice in body
    assert inputs(card)["f.views"]["value"] == typed["f.views"]
    assert "Saved version: " + json.dumps(full_sections()["voice"]["views"])[1:-1] in body


def test_input_kinds_follow_the_sections() -> None:
    shown = inputs(lead_card("pupil_premium"))
    assert shown["r.0.amount"]["type"] == "Input.Text"
    assert shown["r.0.amount"]["value"] == "550.00"
    shown = inputs(lead_card("exclusions"))
    assert shown["f.permanent_exclusion"]["type"] == "Input.Toggle"
    assert shown["f.permanent_exclusion"]["valueOn"] == "true"
    assert shown["f.suspensions"] == {**shown["f.suspensions"], "type": "Input.Number", "min": 0}
    shown = inputs(lead_card("send"))
    assert shown["f.status"]["style"] == "compact"
    assert [c["value"] for c in shown["f.status"]["choices"]] == [
        v for v, _ in section_spec("send").field("status").choices
    ]
    assert shown["f.needs"]["isMultiline"] is True
    assert shown["f.needs"]["maxLength"] == section_spec("send").field("needs").max_length
    assert shown["f.ehcp_review_date"] == {
        **shown["f.ehcp_review_date"],
        "type": "Input.Date",
        "value": "2027-02-10",
    }
    assert all("label" in e for e in shown.values())


def test_table_sections_show_rows_plus_two_empty_up_to_the_maximum() -> None:
    shown = inputs(lead_card("attainment"))
    assert {k.split(".")[1] for k in shown if k.startswith("r.")} == {"0", "1", "2", "3", "4"}
    view = make_view(section="targets")
    view.pep.sections["targets"]["rows"] = [
        {**full_sections()["targets"]["rows"][0], "ref": f"T{i + 1}"} for i in range(9)
    ]
    shown = inputs(walkthrough_card(view, lead=True, lead_user_ids=LEADS))
    assert {k.split(".")[1] for k in shown if k.startswith("r.")} == {str(i) for i in range(10)}


def test_targets_carry_their_refs_in_the_action_data_not_as_inputs() -> None:
    card = lead_card("targets")
    assert not any(k.endswith(".ref") for k in inputs(card))
    save = find_action(card, "pep.section.save")
    assert save["data"]["r.0.ref"] == "T1" and save["data"]["r.1.ref"] == "T2"
    assert "r.2.ref" not in save["data"]


def test_navigation_save_and_finish() -> None:
    card = lead_card("attendance")
    save = find_action(card, "pep.section.save")
    assert save["data"]["section"] == "attendance"
    navs = [a for a in actions(card) if a["verb"] == "pep.nav"]
    assert [a["data"].get("section") for a in navs] == ["voice", "exclusions", None]
    choices = inputs(card)["nav.section"]
    assert [c["value"] for c in choices["choices"]] == list(SECTION_KEYS)
    assert choices["value"] == "attendance"
    assert find_action(card, "pep.finish")["data"]["pep_id"] == make_view().pep.id
    first = [a["data"].get("section") for a in actions(lead_card("send")) if a["verb"] == "pep.nav"]
    last = [
        a["data"].get("section") for a in actions(lead_card("next_pep")) if a["verb"] == "pep.nav"
    ]
    assert first == ["voice", None] and last == ["actions", None]


def test_add_attendee_only_on_the_attendees_section() -> None:
    card = lead_card("attendees")
    show = [a for a in card["actions"] if a["type"] == "Action.ShowCard"]
    assert len(show) == 1 and show[0]["title"] == "Add attendee"
    form = inputs(show[0]["card"])
    assert set(form) == {"a.name", "a.role", "a.attended"}
    assert all(form[k].get("isRequired") for k in form)
    assert find_action(show[0]["card"], "pep.attendee.add")["data"]["version"] == 7
    assert "a.name" not in inputs(lead_card("summary"), into_show_cards=True)


def test_finish_problems_are_shown() -> None:
    child = make_child()
    problems = SERVICE.finish_problems(make_pep(child, full=False), child)
    card = lead_card("next_pep", finish_problems=problems)
    body = texts(card)
    assert "Cannot finish yet:" in body
    for p in problems:
        assert p.message in body


def test_section_edit_card_actions() -> None:
    view = make_view(section="send", full=False)
    card = section_edit_card(view, "wellbeing")
    assert find_action(card, "pep.section.save")["data"]["section"] == "wellbeing"
    moves = {
        a["title"]: a["data"].get("section")
        for a in actions(card)
        if a["verb"] == "pep.section.open"
    }
    assert moves == {
        "◀ Previous": "attainment",
        "Next section ▶": "previous_targets",
        "Go": None,
    }  # Go takes the section from the "Jump to section" choice
    assert find_action(card, "pep.list")["data"] == {"page": 1}
    assert view.child.full_name in texts(card)
    assert "Still needed before the meeting" in texts(card)
    last = {a["title"] for a in actions(section_edit_card(view, "next_pep"))}
    assert "Next section ▶" not in last and "◀ Previous" in last


def test_section_read_only_card_has_no_inputs_and_no_save() -> None:
    view = make_view(section="send", full=True)
    card = section_edit_card(view, "wellbeing", read_only=True)
    verbs = {a["verb"] for a in actions(card)}
    assert "pep.section.save" not in verbs
    assert not [
        n
        for n in walk(card)
        if str(n.get("type", "")).startswith("Input.") and n.get("id") != "nav.section"
    ]
    assert "Read only" in texts(card)


# ---- round trip: content -> card -> submitted data -> raw -> content -------------


@pytest.mark.parametrize("key", SECTION_KEYS)
def test_round_trip_of_a_full_section(key: str) -> None:
    content = full_sections()[key]
    for card in (lead_card(key), section_edit_card(make_view(section=key), key)):
        raw = raw_from_card_data(key, submit(card, "pep.section.save"))
        normalised, errors = normalise_section(key, raw)
        assert errors == []
        assert normalised == content


@pytest.mark.parametrize("key", SECTION_KEYS)
def test_round_trip_of_an_empty_section(key: str) -> None:
    raw = raw_from_card_data(key, submit(lead_card(key, full=False), "pep.section.save"))
    normalised, errors = normalise_section(key, raw)
    assert errors == []
    expected = empty_content(key)
    for f in section_spec(key).fields:  # a toggle cannot say "not answered": it says No
        if f.kind is FieldKind.FLAG:
            expected[f.name] = False
    assert normalised == expected


def test_round_trip_of_typed_values() -> None:
    card = lead_card("targets")
    data = submit(
        card,
        "pep.section.save",
        {
            "r.2.description": "Swim 25 metres",
            "r.2.owner": "Carer",
            "r.2.due": "2027-01-20",
            "r.2.measure": "Certificate",
        },
    )
    content, errors = normalise_section("targets", raw_from_card_data("targets", data))
    assert errors == []
    assert [r["ref"] for r in content["rows"]] == ["T1", "T2", None]
    assert content["rows"][2]["description"] == "Swim 25 metres"


# ---- size ---------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["previous_targets", "targets", "actions", "attendees"])
def test_sections_at_their_limits_still_fit(key: str) -> None:
    spec = section_spec(key)
    view = make_view(section=key)

    def longest(f: Any) -> Any:
        return {
            FieldKind.MONEY: 9_999_999,
            FieldKind.DATE: "2026-12-01",
            FieldKind.CHOICE: f.choices[-1][0] if f.choices else None,
            FieldKind.INTEGER: 999_999,
            FieldKind.FLAG: True,
        }.get(f.kind, "é" * f.max_length)

    view.pep.sections[key] = {
        "rows": [{f.name: longest(f) for f in spec.row_fields} for _ in range(spec.max_rows)]
    }
    typed = {k: "typed" for k in inputs(lead_card(key))}
    assert_ok(walkthrough_card(view, lead=True, lead_user_ids=LEADS, typed=typed))
    for card in (
        walkthrough_card(view, lead=False, lead_user_ids=LEADS),
        walkthrough_card(view, lead=True, lead_user_ids=LEADS),
        section_edit_card(view, key),
    ):
        assert card_size(card) < MAX_CARD_BYTES


def test_typed_may_be_raw_and_partial() -> None:
    view = make_view(section="attendance")
    card = walkthrough_card(
        view, lead=True, lead_user_ids=LEADS, typed={"explanation": "Typed as raw"}
    )
    shown = inputs(card)
    assert shown["f.explanation"]["value"] == "Typed as raw"
    assert shown["f.possible_sessions"]["value"] == 120  # not typed: as saved
    rows = inputs(lead_card("actions", typed={"pep_id": "x"}))
    assert rows["r.0.action"]["value"] == full_sections()["actions"]["rows"][0]["action"]
