"""The authority's term calendar."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from bot.wiring import load_calendar
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
    assert (term.id, term.label, term.season) == ("2027-spring", "Spring term 2027", Season.SPRING)


def test_terms_are_kept_in_date_order() -> None:
    cal = build_calendar(
        [("2027-spring", "2027-01-05", "2027-03-25"), ("2026-autumn", "2026-09-02", "2026-12-18")],
        (),
    )
    assert [t.id for t in cal.terms] == ["2026-autumn", "2027-spring"]


def test_overlapping_terms_are_rejected() -> None:
    with pytest.raises(ValueError, match="terms 2026-autumn and 2027-spring overlap"):
        build_calendar(
            [
                ("2026-autumn", "2026-09-02", "2027-01-06"),
                ("2027-spring", "2027-01-05", "2027-03-25"),
            ],
            (),
        )


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
    assert calendar.is_working_day(date(2026, 11, 16))  # Monday
    assert not calendar.is_working_day(date(2026, 11, 21))  # Saturday
    assert not calendar.is_working_day(date(2026, 12, 28))  # substitute bank holiday


def test_school_days_into_a_term(calendar: TermCalendar) -> None:
    autumn = calendar.get("2026-autumn")  # starts Wed 2 Sep
    assert calendar.school_days_into(autumn, date(2026, 9, 1)) == 0
    assert calendar.school_days_into(autumn, date(2026, 9, 2)) == 1
    assert calendar.school_days_into(autumn, date(2026, 9, 8)) == 5


# ---- half-terms ----------------------------------------------------------------------


def test_every_built_in_term_has_its_half_term_inside_it(calendar: TermCalendar) -> None:
    for term in calendar.terms:
        assert term.half_term is not None, term.id
        assert term.start < term.half_term.start <= term.half_term.end < term.end, term.id
    spring = calendar.get("2027-spring").half_term
    assert spring is not None
    assert (spring.start, spring.end, spring.name) == (
        date(2027, 2, 13),
        date(2027, 2, 21),
        "February half-term",
    )


@pytest.mark.parametrize(
    ("day", "inside"),
    [
        (date(2027, 2, 12), False),
        (date(2027, 2, 13), True),
        (date(2027, 2, 21), True),
        (date(2027, 2, 22), False),
    ],
)
def test_a_half_term_runs_from_its_first_to_its_last_day(
    calendar: TermCalendar, day: date, inside: bool
) -> None:
    assert (calendar.half_term_on(day) is not None) is inside


@pytest.mark.parametrize(
    ("day", "why"),
    [
        (date(2027, 2, 12), None),
        (date(2027, 2, 13), "a Saturday"),
        (date(2027, 2, 17), "in the February half-term (13/02/2027 to 21/02/2027)"),
        (date(2026, 10, 28), "in the October half-term (24/10/2026 to 01/11/2026)"),
        (date(2027, 6, 1), "in the May half-term (29/05/2027 to 06/06/2027)"),
        (date(2027, 5, 31), "a bank holiday (Spring bank holiday)"),
        (date(2027, 3, 29), "a bank holiday (Easter Monday)"),
    ],
)
def test_why_a_day_is_no_school_day(calendar: TermCalendar, day: date, why: str | None) -> None:
    assert calendar.not_a_school_day(day) == why


def test_a_half_term_outside_its_term_is_rejected() -> None:
    with pytest.raises(
        ValueError,
        match=r"2027-spring: the half-term \(2027-03-22 to "
        r"2027-03-26\) is not inside the term",
    ):
        build_calendar(
            [("2027-spring", "2027-01-05", "2027-03-25", "2027-03-22", "2027-03-26")], ()
        )


def test_a_half_term_ending_before_it_starts_is_rejected() -> None:
    with pytest.raises(ValueError, match="2027-spring: the half-term ends before it starts"):
        build_calendar(
            [("2027-spring", "2027-01-05", "2027-03-25", "2027-02-19", "2027-02-15")], ()
        )


# ---- PEP_TERM_DATES_FILE ---------------------------------------------------------------


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "terms.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_term_dates_file_without_half_terms_still_loads(tmp_path: Path) -> None:
    cal = load_calendar(
        _file(
            tmp_path,
            "term_id,start,end\n"
            "2026-autumn,2026-09-02,2026-12-18\n"
            "2027-spring,2027-01-05,2027-03-25\n",
        )
    )
    assert [t.id for t in cal.terms] == ["2026-autumn", "2027-spring"]
    assert cal.half_term_on(date(2027, 2, 16)) is None
    assert cal.not_a_school_day(date(2027, 2, 16)) is None


def test_a_term_dates_file_gives_half_terms_and_may_leave_one_out(tmp_path: Path) -> None:
    cal = load_calendar(
        _file(
            tmp_path,
            "term_id,start,end,half_term_start,half_term_end\n"
            "2026-autumn,2026-09-02,2026-12-18,,\n"
            "2027-spring,2027-01-05,2027-03-25,"
            "2027-02-15,2027-02-19\n",
        )
    )
    assert cal.get("2026-autumn").half_term is None
    assert cal.not_a_school_day(date(2027, 2, 15)) == (
        "in the February half-term (15/02/2027 to 19/02/2027)"
    )
    assert not cal.is_working_day(date(2026, 12, 28))  # bank holidays still known


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("term_id,start\n2026-autumn,2026-09-02\n", "term dates, line 2: end missing"),
        (
            "term_id,start,end,half_term_start,half_term_end\n"
            "2026-autumn,2026-09-02,2026-12-18,2026-10-26,\n",
            "term dates, line 2: term 2026-autumn: give both the half-term's first and last day",
        ),
        (
            "term_id,start,end\n2026-autumn,2026-09-02,2026-12-18\n2027-spring,5/1/2027,2027-03-25\n",
            "term dates, line 3: '5/1/2027' is not a date written like 2027-01-05",
        ),
    ],
)
def test_a_bad_term_dates_file_names_the_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        load_calendar(_file(tmp_path, text))
