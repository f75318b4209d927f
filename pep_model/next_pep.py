"""Next term's PEP: a school day in the following term, or a real reason why not."""

from __future__ import annotations

from datetime import date

from pep_model.errors import FieldError
from pep_model.terms import Term, TermCalendar, british_date

SECTION = "next_pep"


def next_pep_date_errors(day: date, calendar: TermCalendar, term: Term) -> list[FieldError]:
    """The date must be in the term after `term`, on a school day there: not a weekend,
    a bank holiday or in the half-term."""
    following = calendar.following(term)
    if not following.contains(day):
        return [
            FieldError(
                SECTION,
                "date",
                f"next term's PEP must be in the {following.label} "
                f"({british_date(following.start)} to {british_date(following.end)})",
            )
        ]
    why = calendar.not_a_school_day(day)
    if why:
        return [FieldError(SECTION, "date", f"{british_date(day)} is {why}: choose a school day")]
    return []


def next_pep_reason_errors(reason: str, min_words: int) -> list[FieldError]:
    """A reason no date could be set must say something: at least `min_words` words."""
    words = len(reason.split())
    if words >= min_words:
        return []
    has = f"{words} word" + ("" if words == 1 else "s")
    return [
        FieldError(
            SECTION,
            "reason",
            f"give the real reason, in at least {min_words} words (this has {has})",
        )
    ]
