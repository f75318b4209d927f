"""The authority's term calendar and school-day arithmetic."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum


class Season(StrEnum):
    AUTUMN = "autumn"
    SPRING = "spring"
    SUMMER = "summer"


@dataclass(frozen=True, order=True)
class Term:
    start: date
    end: date
    season: Season
    year: int  # calendar year in which the term starts

    @property
    def id(self) -> str:
        return f"{self.year}-{self.season.value}"

    @property
    def label(self) -> str:
        return f"{self.season.value.capitalize()} term {self.year}"

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


def parse_term_id(term_id: str) -> tuple[int, Season]:
    try:
        year_text, season_text = term_id.strip().lower().split("-", 1)
        return int(year_text), Season(season_text)
    except ValueError as exc:
        raise ValueError(
            f"'{term_id}' is not a term id; expected like 2026-autumn, 2027-spring, 2027-summer"
        ) from exc


@dataclass(frozen=True)
class TermCalendar:
    terms: tuple[Term, ...]
    bank_holidays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.terms))
        for a, b in itertools.pairwise(ordered):
            if b.start <= a.end:
                raise ValueError(f"terms {a.id} and {b.id} overlap")
        object.__setattr__(self, "terms", ordered)

    def get(self, term_id: str) -> Term:
        year, season = parse_term_id(term_id)
        for term in self.terms:
            if term.year == year and term.season == season:
                return term
        raise ValueError(f"term {term_id} is not in the authority's term calendar")

    def term_for(self, day: date) -> Term | None:
        """The term containing the day, or None in a holiday."""
        for term in self.terms:
            if term.contains(day):
                return term
        return None

    def current_or_next(self, day: date) -> Term:
        for term in self.terms:
            if term.end >= day:
                return term
        raise ValueError(f"the term calendar has no term on or after {day.isoformat()}")

    def following(self, term: Term) -> Term:
        for candidate in self.terms:
            if candidate.start > term.end:
                return candidate
        raise ValueError(f"the term calendar has no term after {term.id}")

    def previous(self, term: Term) -> Term | None:
        earlier = [t for t in self.terms if t.end < term.start]
        return earlier[-1] if earlier else None

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.bank_holidays

    def add_working_days(self, day: date, count: int) -> date:
        current = day
        added = 0
        while added < count:
            current += timedelta(days=1)
            if self.is_working_day(current):
                added += 1
        return current

    def school_days_into(self, term: Term, day: date) -> int:
        """School days from the term's first day up to and including `day` (0 before it)."""
        if day < term.start:
            return 0
        last = min(day, term.end)
        return sum(1 for d in _days(term.start, last) if self.is_working_day(d))


def _days(first: date, last: date) -> Iterable[date]:
    current = first
    while current <= last:
        yield current
        current += timedelta(days=1)


def _d(text: str) -> date:
    return date.fromisoformat(text)


# Typical English school terms; an authority loads its own with PEP_TERM_DATES.
DEFAULT_TERMS = (
    ("2025-autumn", "2025-09-03", "2025-12-19"),
    ("2026-spring", "2026-01-05", "2026-03-27"),
    ("2026-summer", "2026-04-13", "2026-07-22"),
    ("2026-autumn", "2026-09-02", "2026-12-18"),
    ("2027-spring", "2027-01-05", "2027-03-25"),
    ("2027-summer", "2027-04-12", "2027-07-21"),
    ("2027-autumn", "2027-09-01", "2027-12-17"),
    ("2028-spring", "2028-01-04", "2028-03-31"),
    ("2028-summer", "2028-04-18", "2028-07-21"),
    ("2028-autumn", "2028-09-05", "2028-12-20"),
)

# England and Wales bank holidays (gov.uk), used for working-day deadlines.
DEFAULT_BANK_HOLIDAYS = (
    "2025-01-01", "2025-04-18", "2025-04-21", "2025-05-05", "2025-05-26", "2025-08-25",
    "2025-12-25", "2025-12-26",
    "2026-01-01", "2026-04-03", "2026-04-06", "2026-05-04", "2026-05-25", "2026-08-31",
    "2026-12-25", "2026-12-28",
    "2027-01-01", "2027-03-26", "2027-03-29", "2027-05-03", "2027-05-31", "2027-08-30",
    "2027-12-27", "2027-12-28",
    "2028-01-03", "2028-04-14", "2028-04-17", "2028-05-01", "2028-05-29", "2028-08-28",
    "2028-12-25", "2028-12-26",
)


def build_calendar(rows: Iterable[tuple[str, str, str]],
                   bank_holidays: Iterable[str] = DEFAULT_BANK_HOLIDAYS) -> TermCalendar:
    """Rows of (term id, first day, last day), ISO dates."""
    terms = []
    for term_id, start, end in rows:
        year, season = parse_term_id(term_id)
        first, last = _d(start), _d(end)
        if last < first:
            raise ValueError(f"term {term_id} ends before it starts")
        terms.append(Term(first, last, season, year))
    return TermCalendar(tuple(terms), frozenset(_d(h) for h in bank_holidays))


def default_calendar() -> TermCalendar:
    return build_calendar(DEFAULT_TERMS)


def british_date(day: date) -> str:
    """A date as people in English schools write it: 28/11/2026."""
    return day.strftime("%d/%m/%Y")
