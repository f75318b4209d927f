"""SMART targets: what a target needs, when it is due, and its ref (T1, T2, …)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from pep_model.confirmations import confirmation
from pep_model.errors import FieldError
from pep_model.terms import Term, british_date

Content = dict[str, Any]

SECTION = "targets"
_PARTS = {
    "description": "say what the target is",
    "owner": "a SMART target needs someone responsible",
    "measure": "a SMART target needs a measure of progress",
}


def smart_target_gaps(row: Mapping[str, Any], index: int | None = None) -> list[FieldError]:
    """What a target still lacks: a description, an owner, a measure and a date."""
    errors = [
        FieldError(SECTION, name, message, index)
        for name, message in _PARTS.items()
        if not row.get(name)
    ]
    if not row.get("due"):
        errors.append(FieldError(SECTION, "due", "a SMART target needs a date", index))
    return errors


def smart_target_date_errors(
    row: Mapping[str, Any], today: date, index: int | None = None
) -> list[FieldError]:
    """A target's date must be in the future."""
    due = row.get("due")
    if due and date.fromisoformat(due) <= today:
        return [FieldError(SECTION, "due", "the date must be in the future", index)]
    return []


def smart_target_errors(
    row: Mapping[str, Any], today: date, index: int | None = None
) -> list[FieldError]:
    """Everything that stops a target being SMART: its gaps and a date not in the future
    (quality assurance judges a target by both)."""
    return [*smart_target_gaps(row, index), *smart_target_date_errors(row, today, index)]


def beyond_next_term(
    row: Mapping[str, Any], next_term: Term | None, index: int | None = None
) -> list[FieldError]:
    """A target is for this term and the next: a later date is asked about, not refused
    (the person may confirm it)."""
    due = row.get("due")
    if not due or next_term is None or date.fromisoformat(due) <= next_term.end:
        return []
    return [
        FieldError(
            SECTION,
            "due",
            f"{british_date(date.fromisoformat(due))} is after the end of next term (the "
            f"{next_term.label} ends {british_date(next_term.end)}): is that date right?",
            index,
            confirm=confirmation("due", due),
        )
    ]


def target_refs(targets: Content) -> list[str]:
    return [str(r.get("ref")) for r in targets.get("rows") or [] if r.get("ref")]


def number_targets(content: Content) -> Content:
    """Targets keep their ref; new ones get the next free T-number."""
    rows = [dict(r) for r in content.get("rows") or []]
    used = {str(r["ref"]).upper() for r in rows if r.get("ref")}
    n = 1
    for row in rows:
        if row.get("ref"):
            row["ref"] = str(row["ref"]).upper()
            continue
        while f"T{n}" in used:
            n += 1
        row["ref"] = f"T{n}"
        used.add(row["ref"])
    return {**content, "rows": rows}
