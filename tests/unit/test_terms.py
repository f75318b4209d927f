"""The authority's term calendar."""

from __future__ import annotations

from datetime import date

import pytest

from pep_model.terms import Season, TermCalendar, build_calendar, parse_term_id


def test_the_following_term_of_autumn_is_spring(calendar: TermCalendar) -> None:
    assert calendar.following(calendar.get("2026-autumn")).id == "2027-spring"
    assert calendar.following(calendar.get("2027-spring")).id == "2027-summer"
    assert calendar.following(calendar.get("2027-summer")).id == "2027-autumn"


def test_the_previous_term_of_autumn_is_summer(calendar: TermCalendar) -> None:
    previous = calendar.previous(calendar.get("2026-autumn"))
    assert previous is not None and previous.id == "2026-summer"
    assert calendar.previous(calendar.get("2025-autumn")) is None


def test_there_is_no_term_after_the_last(calendar: TermCalendar) -> None:
    with pytest.raises(ValueError, match="no term after 2028-autumn"):
        calendar.following(calendar.get("2028-autumn"))


def test_current_or_next_is_the_term_in_progress(calendar: TermCalendar) -> None:
    assert calendar.current_or_next(date(2026, 11, 16)).id == "2026-autumn"
    assert calendar.current_or_next(date(2026, 12, 18)).id == "2026-autumn"


def test_current_or_next_in_a_holiday_is_the_next_term(calendar: TermCalendar) -> None:
    assert calendar.term_for(date(2026, 12, 25)) is None
    assert calendar.current_or_next(date(2026, 12, 25)).id == "2027-spring"


def test_current_or_next_beyond_the_calendar_is_an_error(calendar: TermCalendar) -> None:
    with pytest.raises(ValueError, match="no term on or after 2029-01-10"):
        calendar.current_or_next(date(2029, 1, 10))


def test_term_id_and_label() -> None:
    term = build_calendar([("2027-spring", "2027-01-05", "2027-03-25")], ()).terms[0]
    assert (term.id, term.label, term.season) == ("2027-spring", "Spring term 2027",
                                                  Season.SPRING)


def test_terms_are_kept_in_date_order() -> None:
    cal = build_calendar([("2027-spring", "2027-01-05", "2027-03-25"),
                          ("2026-autumn", "2026-09-02", "2026-12-18")], ())
    assert [t.id for t in cal.terms] == ["2026-autumn", "2027-spring"]


def test_overlapping_terms_are_rejected() -> None:
    with pytest.raises(ValueError, match="terms 2026-autumn and 2027-spring overlap"):
        build_calendar([("2026-autumn", "2026-09-02", "2027-01-06"),
                        ("2027-spring", "2027-01-05", "2027-03-25")], ())


def test_a_term_ending_before_it_starts_is_rejected() -> None:
    with pytest.raises(ValueError, match="term 2027-spring ends before it starts"):
        build_calendar([("2027-spring", "2027-03-25", "2027-01-05")], ())


@pytest.mark.parametrize("bad", ["2026-winter", "autumn", "twenty-autumn", "", "2026"])
def test_a_bad_term_id_is_refused_with_an_example(bad: str) -> None:
    with pytest.raises(ValueError, match="expected like 2026-autumn") as caught:
        parse_term_id(bad)
    assert f"'{bad}' is not a term id" in str(caught.value)


def test_term_ids_are_read_in_any_case() -> None:
    assert parse_term_id(" 2026-Autumn ") == (2026, Season.AUTUMN)


def test_a_term_missing_from_the_calendar_is_named(calendar: TermCalendar) -> None:
    with pytest.raises(ValueError, match="term 2031-autumn is not in the authority's term"):
        calendar.get("2031-autumn")


def test_working_days_exclude_weekends_and_bank_holidays(calendar: TermCalendar) -> None:
    assert calendar.is_working_day(date(2026, 11, 16))        # Monday
    assert not calendar.is_working_day(date(2026, 11, 21))    # Saturday
    assert not calendar.is_working_day(date(2026, 12, 28))    # substitute bank holiday


def test_school_days_into_a_term(calendar: TermCalendar) -> None:
    autumn = calendar.get("2026-autumn")                       # starts Wed 2 Sep
    assert calendar.school_days_into(autumn, date(2026, 9, 1)) == 0
    assert calendar.school_days_into(autumn, date(2026, 9, 2)) == 1
    assert calendar.school_days_into(autumn, date(2026, 9, 8)) == 5
