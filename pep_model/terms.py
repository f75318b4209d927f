"""The authority's term calendar and school-day arithmetic."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum


class Season(StrEnum):
    AUTUMN = "autumn"
    SPRING = "spring"
    SUMMER = "summer"


# English names whatever the server's locale
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@dataclass(frozen=True)
class HalfTerm:
    """A holiday inside a term, weekends either side included (e.g. Sat to Sun)."""

    start: date
    end: date

    @property
    def name(self) -> str:
        """As schools say it: the "February half-term"."""
        return f"{_MONTHS[self.start.month - 1]} half-term"

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def describe(self) -> str:
        return f"the {self.name} ({british_date(self.start)} to {british_date(self.end)})"


@dataclass(frozen=True, order=True)
class Term:
    start: date
    end: date
    season: Season
    year: int  # calendar year in which the term starts
    half_term: HalfTerm | None = field(default=None, compare=False)

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

    def half_term_on(self, day: date) -> HalfTerm | None:
        term = self.term_for(day)
        if term is not None and term.half_term is not None and term.half_term.contains(day):
            return term.half_term
        return None

    def not_a_school_day(self, day: date) -> str | None:
        """Why a day inside a term is no school day ("a Saturday", "a bank holiday
        (Easter Monday)", "in the February half-term (13/02/2027 to 21/02/2027)"); None
        for a school day. Days between terms are the caller's to judge."""
        if day.weekday() >= 5:
            return f"a {_WEEKDAYS[day.weekday()]}"
        if day in self.bank_holidays:
            name = BANK_HOLIDAY_NAMES.get(day.isoformat())
            return f"a bank holiday ({name})" if name else "a bank holiday"
        half_term = self.half_term_on(day)
        if half_term is not None:
            return f"in {half_term.describe()}"
        return None

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
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"'{text}' is not a date written like 2027-01-05") from None


# Typical English school terms, each with its half-term (Saturday to Sunday); an
# authority loads its own with PEP_TERM_DATES_FILE (see calendar_from_rows).
DEFAULT_TERMS = (
    ("2025-autumn", "2025-09-03", "2025-12-19", "2025-10-25", "2025-11-02"),
    ("2026-spring", "2026-01-05", "2026-03-27", "2026-02-14", "2026-02-22"),
    ("2026-summer", "2026-04-13", "2026-07-22", "2026-05-23", "2026-05-31"),
    ("2026-autumn", "2026-09-02", "2026-12-18", "2026-10-24", "2026-11-01"),
    ("2027-spring", "2027-01-05", "2027-03-25", "2027-02-13", "2027-02-21"),
    ("2027-summer", "2027-04-12", "2027-07-21", "2027-05-29", "2027-06-06"),
    ("2027-autumn", "2027-09-01", "2027-12-17", "2027-10-23", "2027-10-31"),
    ("2028-spring", "2028-01-04", "2028-03-31", "2028-02-12", "2028-02-20"),
    ("2028-summer", "2028-04-18", "2028-07-21", "2028-05-27", "2028-06-04"),
    ("2028-autumn", "2028-09-05", "2028-12-20", "2028-10-21", "2028-10-29"),
)

# England and Wales bank holidays (gov.uk), by name: used for working-day deadlines and
# to say why a day is no school day.
BANK_HOLIDAY_NAMES: dict[str, str] = {
    "2025-01-01": "New Year's Day",
    "2025-04-18": "Good Friday",
    "2025-04-21": "Easter Monday",
    "2025-05-05": "Early May bank holiday",
    "2025-05-26": "Spring bank holiday",
    "2025-08-25": "Summer bank holiday",
    "2025-12-25": "Christmas Day",
    "2025-12-26": "Boxing Day",
    "2026-01-01": "New Year's Day",
    "2026-04-03": "Good Friday",
    "2026-04-06": "Easter Monday",
    "2026-05-04": "Early May bank holiday",
    "2026-05-25": "Spring bank holiday",
    "2026-08-31": "Summer bank holiday",
    "2026-12-25": "Christmas Day",
    "2026-12-28": "Boxing Day, substitute day",
    "2027-01-01": "New Year's Day",
    "2027-03-26": "Good Friday",
    "2027-03-29": "Easter Monday",
    "2027-05-03": "Early May bank holiday",
    "2027-05-31": "Spring bank holiday",
    "2027-08-30": "Summer bank holiday",
    "2027-12-27": "Christmas Day, substitute day",
    "2027-12-28": "Boxing Day, substitute day",
    "2028-01-03": "New Year's Day, substitute day",
    "2028-04-14": "Good Friday",
    "2028-04-17": "Easter Monday",
    "2028-05-01": "Early May bank holiday",
    "2028-05-29": "Spring bank holiday",
    "2028-08-28": "Summer bank holiday",
    "2028-12-25": "Christmas Day",
    "2028-12-26": "Boxing Day",
}
DEFAULT_BANK_HOLIDAYS = tuple(sorted(BANK_HOLIDAY_NAMES))

# A term: (term id, first day, last day) or, with its half-term, (…, half-term's first
# day, half-term's last day); ISO dates.
TermRow = tuple[str, ...]


def build_calendar(
    rows: Iterable[TermRow], bank_holidays: Iterable[str] = DEFAULT_BANK_HOLIDAYS
) -> TermCalendar:
    """Rows of (term id, first day, last day[, half-term first day, half-term last day]),
    ISO dates. A half-term must lie inside its term."""
    terms = tuple(_term(row) for row in rows)
    return TermCalendar(terms, frozenset(_d(h) for h in bank_holidays))


def _term(row: TermRow) -> Term:
    if len(row) not in (3, 5):
        raise ValueError(
            "a term needs an id, a first and a last day, and optionally a "
            f"half-term's first and last day; got {len(row)} values"
        )
    term_id, start, end = row[:3]
    year, season = parse_term_id(term_id)
    first, last = _d(start), _d(end)
    if last < first:
        raise ValueError(f"term {term_id} ends before it starts")
    return Term(first, last, season, year, _half_term(term_id, first, last, row[3:]))


def _half_term(term_id: str, first: date, last: date, cells: tuple[str, ...]) -> HalfTerm | None:
    given = [c.strip() for c in cells if c.strip()]
    if not given:
        return None
    if len(given) != 2:
        raise ValueError(
            f"term {term_id}: give both the half-term's first and last day, or neither"
        )
    half = HalfTerm(_d(given[0]), _d(given[1]))
    if half.end < half.start:
        raise ValueError(f"term {term_id}: the half-term ends before it starts")
    if half.start < first or half.end > last:
        raise ValueError(
            f"term {term_id}: the half-term ({half.start.isoformat()} to "
            f"{half.end.isoformat()}) is not inside the term "
            f"({first.isoformat()} to {last.isoformat()})"
        )
    return half


TERM_FILE_COLUMNS = ("term_id", "start", "end", "half_term_start", "half_term_end")


def calendar_from_rows(
    rows: Iterable[Mapping[str, str | None]], bank_holidays: Iterable[str] = DEFAULT_BANK_HOLIDAYS
) -> TermCalendar:
    """PEP_TERM_DATES_FILE's rows (a CSV with a header line): term_id, start, end and,
    optionally, half_term_start, half_term_end — ISO dates; a term's half-term cells may
    be left empty, and files without those columns (written before half-terms were
    known) still load."""
    terms = []
    for number, row in enumerate(rows, start=2):  # line 1 is the header
        cells = tuple(str(row.get(c) or "").strip() for c in TERM_FILE_COLUMNS)
        try:
            missing = [TERM_FILE_COLUMNS[i] for i in range(3) if not cells[i]]
            if missing:
                raise ValueError(
                    f"{', '.join(missing)} missing (columns: {','.join(TERM_FILE_COLUMNS)})"
                )
            terms.append(_term(cells))
        except ValueError as exc:
            raise ValueError(f"term dates, line {number}: {exc}") from None
    return TermCalendar(tuple(terms), frozenset(_d(h) for h in bank_holidays))


def default_calendar() -> TermCalendar:
    return build_calendar(DEFAULT_TERMS)


def british_date(day: date) -> str:
    """A date as people in English schools write it: 28/11/2026."""
    return day.strftime("%d/%m/%Y")
