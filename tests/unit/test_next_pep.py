"""Next term's PEP: a school day in the following term, or a real reason why not."""

from __future__ import annotations

from typing import Any

import pytest

from bot.settings import Settings
from bot.wiring import rules_from
from pep_model.child import Child
from pep_model.errors import FieldError
from pep_model.rules import PepRules, check_section, finish_problems
from pep_model.terms import TermCalendar, build_calendar
from tests.unit.builders import content_of, context, meeting_raw

# Half-terms Monday to Friday, so that a half-term's first and last day are weekdays.
WEEKDAY_HALF_TERMS = build_calendar(
    [
        ("2026-autumn", "2026-09-02", "2026-12-18", "2026-10-26", "2026-10-30"),
        ("2027-spring", "2027-01-05", "2027-03-25", "2027-02-15", "2027-02-19"),
    ]
)


def date_errors(
    child: Child, calendar: TermCalendar, day: str, term_id: str = "2026-autumn"
) -> list[FieldError]:
    ctx = context(child, calendar, term_id=term_id)
    return check_section(ctx, "next_pep", {"date": day, "reason": None})


def refused(message: str) -> list[FieldError]:
    return [FieldError("next_pep", "date", message)]


@pytest.mark.parametrize(
    ("day", "message"),
    [
        ("2027-01-09", "09/01/2027 is a Saturday: choose a school day"),
        ("2027-01-10", "10/01/2027 is a Sunday: choose a school day"),
    ],
)
def test_a_weekend_is_refused_with_the_day_named(
    child: Child, calendar: TermCalendar, day: str, message: str
) -> None:
    assert date_errors(child, calendar, day) == refused(message)


def test_the_monday_after_a_weekend_is_accepted(child: Child, calendar: TermCalendar) -> None:
    assert date_errors(child, calendar, "2027-01-11") == []


def test_a_day_in_the_built_in_february_half_term_is_refused(
    child: Child, calendar: TermCalendar
) -> None:
    assert date_errors(child, calendar, "2027-02-15") == refused(
        "15/02/2027 is in the February half-term (13/02/2027 to 21/02/2027): choose a school day"
    )


@pytest.mark.parametrize("day", ["2027-02-15", "2027-02-19"])  # first and last day
def test_a_half_terms_first_and_last_day_are_refused(child: Child, day: str) -> None:
    [error] = date_errors(child, WEEKDAY_HALF_TERMS, day)
    assert error.message.endswith(
        "is in the February half-term (15/02/2027 to 19/02/2027): choose a school day"
    )


@pytest.mark.parametrize("day", ["2027-02-12", "2027-02-22"])  # the school days either side
def test_the_school_days_either_side_of_a_half_term_are_accepted(child: Child, day: str) -> None:
    assert date_errors(child, WEEKDAY_HALF_TERMS, day) == []


def test_a_bank_holiday_is_refused_with_its_name(child: Child, calendar: TermCalendar) -> None:
    # a spring PEP's next one is in the summer term, which holds the Early May bank holiday
    assert date_errors(child, calendar, "2027-05-03", term_id="2027-spring") == refused(
        "03/05/2027 is a bank holiday (Early May bank holiday): choose a school day"
    )
    assert date_errors(child, calendar, "2027-05-04", term_id="2027-spring") == []


def test_a_date_outside_the_following_term_says_which_term(
    child: Child, calendar: TermCalendar
) -> None:
    assert date_errors(child, calendar, "2027-03-27") == refused(
        "next term's PEP must be in the Spring term 2027 (05/01/2027 to 25/03/2027)"
    )


def test_finish_refuses_a_next_date_that_is_no_school_day(
    child: Child, calendar: TermCalendar
) -> None:
    sections = content_of(meeting_raw())
    sections["next_pep"] = {"date": "2027-01-09", "reason": None}
    assert finish_problems(context(child, calendar, sections)) == refused(
        "09/01/2027 is a Saturday: choose a school day"
    )


# ---- the reason no date could be set -------------------------------------------------


def reason_errors(
    child: Child, calendar: TermCalendar, reason: str, rules: PepRules | None = None
) -> list[FieldError]:
    ctx = context(child, calendar, rules=rules)
    return check_section(ctx, "next_pep", {"date": None, "reason": reason})


@pytest.mark.parametrize(("reason", "has"), [("x", "1 word"), ("Placement ends soon", "3 words")])
def test_a_reason_of_fewer_than_four_words_is_refused(
    child: Child, calendar: TermCalendar, reason: str, has: str
) -> None:
    assert reason_errors(child, calendar, reason) == [
        FieldError(
            "next_pep", "reason", f"give the real reason, in at least 4 words (this has {has})"
        )
    ]


def test_a_reason_of_four_words_is_accepted(child: Child, calendar: TermCalendar) -> None:
    assert reason_errors(child, calendar, "Placement  ends\nin December") == []


def test_a_short_reason_does_not_let_the_meeting_finish(
    child: Child, calendar: TermCalendar
) -> None:
    sections = content_of(meeting_raw())
    sections["next_pep"] = {"date": None, "reason": "x"}
    assert [(e.section, e.field) for e in finish_problems(context(child, calendar, sections))] == [
        ("next_pep", "reason")
    ]


def test_the_minimum_number_of_words_is_a_setting(
    child: Child, calendar: TermCalendar, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PEP_NEXT_PEP_REASON_MIN_WORDS", "6")
    rules = rules_from(Settings(_env_file=None))  # type: ignore[call-arg]
    assert rules.next_pep_reason_min_words == 6
    five = "Placement ends in December, sorry"
    assert [e.message for e in reason_errors(child, calendar, five, rules)] == [
        "give the real reason, in at least 6 words (this has 5 words)"
    ]
    assert reason_errors(child, calendar, five + " again", rules) == []


def test_the_default_minimum_is_four_words() -> None:
    settings: Any = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.next_pep_reason_min_words == 4 == PepRules().next_pep_reason_min_words
