"""A value the rules only ask about: a SMART target due after the end of next term is
kept when the person confirms it, and asked about again when it changes."""

from __future__ import annotations

from typing import Any

import pytest

from cards import raw_from_card_data, section_edit_card
from cards.walkthrough import SAVE
from forms.final_record import render_final_record
from forms.new_term import render_new_term_form
from pep_model.child import Child
from pep_model.confirmations import keep_confirmations
from pep_model.errors import FieldError
from pep_model.rules import PepContext, check_section, number_targets
from pep_model.sections import Content, normalise_section, raw_from_content
from pep_model.terms import TermCalendar
from tests.support.card_check import schema_errors
from tests.unit import forms_fixtures
from tests.unit.builders import context
from tests.unit.test_cards_fixtures import inputs, make_view, submit, walk

TARGET = {"description": "Read daily", "owner": "Carer", "measure": "Reading log"}
FAR = "2035-01-15"
ASKED = (
    "15/01/2035 is after the end of next term (the Spring term 2027 ends 25/03/2027): "
    "is that date right?"
)


def save(
    ctx: PepContext, raw: dict[str, Any], stored: Content | None = None
) -> tuple[Content, list[FieldError]]:
    """What a save does: read the typing, keep what was confirmed, check."""
    content, errors = normalise_section("targets", raw)
    content = keep_confirmations(number_targets(content), stored)
    return content, errors + check_section(ctx, "targets", content)


def targets(*dues: str, **extra: Any) -> dict[str, Any]:
    return {"rows": [{**TARGET, "due": d} for d in dues], **extra}


# ---- the rule: end of next term -----------------------------------------------------------


@pytest.mark.parametrize(
    ("due", "asked"), [("2027-03-24", False), ("2027-03-25", False), ("2027-03-26", True)]
)
def test_a_date_after_the_end_of_next_term_is_asked_about(
    child: Child, calendar: TermCalendar, due: str, asked: bool
) -> None:
    _, errors = save(context(child, calendar), targets(due))
    assert bool(errors) is asked
    if asked:
        assert errors == [
            FieldError(
                "targets",
                "due",
                "26/03/2027 is after the end of next term (the Spring term 2027 "
                "ends 25/03/2027): is that date right?",
                0,
                confirm="due=2027-03-26",
            )
        ]


def test_a_target_in_2035_is_asked_about_with_a_confirmation_token(
    child: Child, calendar: TermCalendar
) -> None:
    _, errors = save(context(child, calendar), targets(FAR))
    assert errors == [FieldError("targets", "due", ASKED, 0, confirm=f"due={FAR}")]


def test_two_targets_with_the_same_far_date_ask_once(child: Child, calendar: TermCalendar) -> None:
    _, errors = save(context(child, calendar), targets(FAR, "2027-02-12", FAR))
    assert [(e.row, e.confirm) for e in errors] == [(0, f"due={FAR}")]


def test_a_confirmed_date_is_saved_with_its_confirmation(
    child: Child, calendar: TermCalendar
) -> None:
    content, errors = save(context(child, calendar), targets(FAR, confirmed=[f"due={FAR}"]))
    assert errors == []
    assert content["confirmed"] == [f"due={FAR}"]


def test_a_later_save_of_the_same_date_does_not_ask_again(
    child: Child, calendar: TermCalendar
) -> None:
    ctx = context(child, calendar)
    stored, _ = save(ctx, targets(FAR, confirmed=[f"due={FAR}"]))
    again, errors = save(ctx, targets(FAR, "2027-02-12"), stored)  # no confirmation sent
    assert errors == [] and again["confirmed"] == [f"due={FAR}"]


def test_a_changed_date_needs_a_new_confirmation(child: Child, calendar: TermCalendar) -> None:
    ctx = context(child, calendar)
    stored, _ = save(ctx, targets(FAR, confirmed=[f"due={FAR}"]))
    changed, errors = save(ctx, targets("2035-02-01"), stored)
    assert [e.confirm for e in errors] == ["due=2035-02-01"]
    assert "confirmed" not in changed  # the old confirmation went with the old date
    _, errors = save(ctx, targets(FAR), changed)
    assert [e.confirm for e in errors] == [f"due={FAR}"]  # and is not remembered


def test_a_date_in_the_past_cannot_be_confirmed_away(child: Child, calendar: TermCalendar) -> None:
    _, errors = save(context(child, calendar), targets("2026-01-05", confirmed=["due=2026-01-05"]))
    assert [e.message for e in errors] == ["the date must be in the future"]


# ---- the confirmed list as typed in ---------------------------------------------------


@pytest.mark.parametrize(
    "confirmed", ["due=2035-01-15", [3], ["due"], ["colour=blue"], ["x" * 400], ["due=x"] * 51]
)
def test_a_malformed_confirmed_list_is_reported(confirmed: Any) -> None:
    content, errors = normalise_section("targets", targets(FAR, confirmed=confirmed))
    assert [(e.field, e.message) for e in errors] == [
        ("confirmed", "expected a list of confirmed values of this section")
    ]
    assert "confirmed" not in content


def test_confirmations_of_values_no_longer_there_are_dropped() -> None:
    content, errors = normalise_section(
        "targets", targets(FAR, confirmed=["due=2040-01-01", f"due={FAR}", f"due={FAR}"])
    )
    assert errors == [] and content["confirmed"] == [f"due={FAR}"]


def test_a_section_without_confirmations_has_no_confirmed_key() -> None:
    content, _ = normalise_section("targets", targets(FAR, confirmed=[]))
    assert "confirmed" not in content


def test_confirmations_survive_the_round_trip_through_raw() -> None:
    content, _ = normalise_section("targets", targets(FAR, confirmed=[f"due={FAR}"]))
    again, errors = normalise_section("targets", raw_from_content("targets", content))
    assert errors == [] and again == content


# ---- the card: "Yes, keep this date" --------------------------------------------------


def test_the_card_asks_beside_the_date_and_a_tick_saves_it(
    child: Child, calendar: TermCalendar
) -> None:
    ctx = context(child, calendar)
    view = make_view(section="targets")
    typed = {
        "r.0.description": "Read daily",
        "r.0.owner": "Carer",
        "r.0.due": FAR,
        "r.0.measure": "Reading log",
    }
    _, errors = save(ctx, raw_from_card_data("targets", typed))
    card = section_edit_card(view, "targets", errors=errors, typed=typed)
    assert schema_errors(card) == []
    toggle = inputs(card)[f"c.due={FAR}"]
    assert (toggle["type"], toggle["title"], toggle["value"]) == (
        "Input.Toggle",
        "Yes, keep this date",
        "false",
    )
    texts = [n.get("text", "") for n in walk(card)]
    assert any(ASKED in t for t in texts)

    unticked = raw_from_card_data("targets", submit(card, SAVE))
    assert "confirmed" not in unticked
    assert [e.confirm for e in save(ctx, unticked)[1]] == [f"due={FAR}"]

    ticked = raw_from_card_data("targets", submit(card, SAVE, {f"c.due={FAR}": "true"}))
    assert ticked["confirmed"] == [f"due={FAR}"]
    content, errors = save(ctx, ticked)
    assert errors == [] and content["rows"][0]["due"] == FAR


def test_a_tick_is_kept_on_the_card_while_another_field_is_wrong(
    child: Child, calendar: TermCalendar
) -> None:
    ctx = context(child, calendar)
    typed = {
        "r.0.description": "Read daily",
        "r.0.owner": "Carer",
        "r.0.due": FAR,
        "r.0.measure": "Reading log",
        "r.1.description": "Join a club",
        "r.1.due": "2026-01-05",
        f"c.due={FAR}": "true",
    }
    _, errors = save(ctx, raw_from_card_data("targets", typed))
    assert [(e.row, e.message) for e in errors] == [(1, "the date must be in the future")]
    card = section_edit_card(make_view(section="targets"), "targets", errors=errors, typed=typed)
    fixed = raw_from_card_data("targets", submit(card, SAVE, {"r.1.due": "2027-01-20"}))
    assert save(ctx, fixed)[1] == []


# ---- nowhere else: the extra key is not a field ------------------------------------------


def test_the_word_form_and_the_final_record_do_not_show_confirmations() -> None:
    sections = forms_fixtures.every_field_content()
    sections["targets"]["rows"][0]["due"] = FAR
    sections["targets"]["confirmed"] = [f"due={FAR}"]
    for document in (
        render_new_term_form(forms_fixtures.make_data(sections)),
        render_final_record(forms_fixtures.after_meeting(sections)),
    ):
        text = forms_fixtures.all_text(document)
        assert "15/01/2035" in text
        assert "due=" not in text and "confirmed" not in text.lower()


def test_the_read_only_card_does_not_show_confirmations() -> None:
    view = make_view(section="targets")
    view.pep.sections["targets"]["confirmed"] = ["due=2026-12-11"]
    card = section_edit_card(view, "targets", read_only=True)
    assert "due=" not in str(card)
