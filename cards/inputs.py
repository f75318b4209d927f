"""Submitted card data back to the raw shape pep_model.sections.normalise_section reads.

Input ids: `f.<field>` for a single-value field, `r.<row>.<field>` for a table row's
field (rows from 0), `c.<token>` for the "Yes, keep this" toggle beside a value the model
asks about (pep_model.confirmations; ticked tokens go to raw["confirmed"]). Nothing is
checked here: normalise_section reports unknown fields, so every other `f.`/`r.` key is
passed through unchanged for it to report.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pep_model.confirmations import CONFIRMED
from pep_model.sections import section_spec

FIELD_PREFIX = "f."
ROW_PREFIX = "r."
CONFIRM_PREFIX = "c."

# Keys the card itself puts in an action's data; never section fields.
HIDDEN_KEYS = frozenset({"verb", "pep_id", "version", "section", "action", "current"})

# Row fields the card carries in the action's data (Adaptive Cards 1.5 has no hidden
# input) instead of showing them as inputs: a target's ref is given by the model.
CARRIED_ROW_FIELDS: dict[str, tuple[str, ...]] = {"targets": ("ref",)}

ATTENDEE_NAME = "a.name"
ATTENDEE_ROLE = "a.role"
ATTENDEE_ATTENDED = "a.attended"


def field_id(name: str) -> str:
    return f"{FIELD_PREFIX}{name}"


def row_id(index: int, name: str) -> str:
    return f"{ROW_PREFIX}{index}.{name}"


def confirm_id(token: str) -> str:
    """The id of the toggle confirming a value the model asked about."""
    return f"{CONFIRM_PREFIX}{token}"


def _ticked(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _raw_value(value: Any) -> Any:
    """Input.Number sends numbers; the model reads typed text."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    return value


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def raw_from_card_data(section_key: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Card data of one section to {field: value, "rows": [{...}, ...]}.

    Rows come in index order. A row with nothing typed in (only a carried ref, or
    nothing at all) is left out, as normalise_section would, so that row numbers in
    the errors it returns match the rows a re-rendered card shows.
    """
    spec = section_spec(section_key)
    carried = CARRIED_ROW_FIELDS.get(spec.key, ())
    raw: dict[str, Any] = {}
    rows: dict[int, dict[str, Any]] = {}
    confirmed: dict[str, None] = {}  # in order, once each
    for key, value in data.items():
        if key in HIDDEN_KEYS:
            continue
        if key.startswith(CONFIRM_PREFIX):
            if _ticked(value):
                confirmed[key[len(CONFIRM_PREFIX) :]] = None
        elif key.startswith(FIELD_PREFIX):
            raw[key[len(FIELD_PREFIX) :]] = _raw_value(value)
        elif key.startswith(ROW_PREFIX):
            index_text, _, name = key[len(ROW_PREFIX) :].partition(".")
            if index_text.isdigit() and name:
                rows.setdefault(int(index_text), {})[name] = _raw_value(value)
            else:
                raw[key] = _raw_value(value)  # reported as an unknown field
    if spec.is_table or rows:
        raw["rows"] = [
            row
            for _, row in sorted(rows.items())
            if not all(_blank(v) for k, v in row.items() if k not in carried)
        ]
    if confirmed:
        raw[CONFIRMED] = list(confirmed)
    return raw


def typed_raw(section_key: str, typed: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """What a person typed, as raw: card data (f./r. ids) or already raw."""
    if typed is None:
        return None
    if any(str(k).startswith((FIELD_PREFIX, ROW_PREFIX, CONFIRM_PREFIX)) for k in typed):
        return raw_from_card_data(section_key, typed)
    return {k: v for k, v in typed.items() if k not in HIDDEN_KEYS}


def attendee_from_card_data(data: Mapping[str, Any]) -> tuple[str, str, str]:
    """The "Add attendee" form: (name, role, attended), each stripped text."""

    def value(key: str) -> str:
        v = data.get(key)
        return "" if v is None else str(v).strip()

    return value(ATTENDEE_NAME), value(ATTENDEE_ROLE), value(ATTENDEE_ATTENDED)
