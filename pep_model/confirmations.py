"""Values a person is asked to confirm, and their confirmations.

Some values are not wrong, only unusual (a SMART target due years away): the rule's
FieldError then carries a confirmation token, `<field>=<value>` (the value as stored).
The card shows "Yes, keep this" beside the error; a ticked confirmation comes back in
the section's raw input as a list under "confirmed". normalise_section keeps the tokens
that still name a value of the section in the section's content; check_section drops the
errors whose token is confirmed; a save keeps the confirmations already stored
(keep_confirmations) while their value stays. A changed value has a new token, so it is
asked about again.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from pep_model.errors import FieldError

CONFIRMED = "confirmed"  # the key in raw input and in section content
MAX_CONFIRMATIONS = 50
MAX_TOKEN_LENGTH = 300
NOT_CONFIRMATIONS = "expected a list of confirmed values of this section"


def confirmation(field: str, value: object) -> str:
    """The token that confirms this value of this field."""
    return f"{field}={value}"


def _values(content: Mapping[str, Any], name: str) -> set[str]:
    """Every value the field has in the section: its own, or in any row."""
    found = set()
    if content.get(name) is not None:
        found.add(str(content[name]))
    for row in content.get("rows") or []:
        if isinstance(row, Mapping) and row.get(name) is not None:
            found.add(str(row[name]))
    return found


def still_confirmed(tokens: Iterable[str], content: Mapping[str, Any]) -> list[str]:
    """The tokens that name a value the section still has, sorted, each once."""
    kept = set()
    for token in tokens:
        name, _, value = token.partition("=")
        if value in _values(content, name):
            kept.add(token)
    return sorted(kept)


def confirmations_in(
    raw_value: Any, field_names: Collection[str], content: Mapping[str, Any]
) -> tuple[list[str], str | None]:
    """The raw "confirmed" list read against the section's normalised content: the
    tokens still matching a value, and a problem when the list is not one."""
    if raw_value is None:
        return [], None
    if (
        isinstance(raw_value, str | bytes)
        or not isinstance(raw_value, Sequence)
        or len(raw_value) > MAX_CONFIRMATIONS
    ):
        return [], NOT_CONFIRMATIONS
    for token in raw_value:
        if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
            return [], NOT_CONFIRMATIONS
        name, equals, _ = token.partition("=")
        if not equals or name not in field_names:
            return [], NOT_CONFIRMATIONS
    return still_confirmed(raw_value, content), None


def with_confirmations(content: Mapping[str, Any], tokens: Iterable[str]) -> dict[str, Any]:
    """The content holding these confirmations (those still matching); no key if none."""
    kept = still_confirmed(tokens, content)
    result = {k: v for k, v in content.items() if k != CONFIRMED}
    if kept:
        result[CONFIRMED] = kept
    return result


def keep_confirmations(
    content: Mapping[str, Any], stored: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The content about to be saved, keeping what was confirmed before: a value already
    confirmed and still there is not asked about again."""
    before = (stored or {}).get(CONFIRMED) or []
    now = content.get(CONFIRMED) or []
    return with_confirmations(content, [*before, *now])


def unconfirmed(errors: Iterable[FieldError], content: Mapping[str, Any]) -> list[FieldError]:
    """The errors still standing: those not confirmed in the content, and one question
    per token (confirming it answers every row holding that value)."""
    confirmed = set(content.get(CONFIRMED) or ())
    asked: set[str] = set()
    standing = []
    for error in errors:
        if error.confirm is not None:
            if error.confirm in confirmed or error.confirm in asked:
                continue
            asked.add(error.confirm)
        standing.append(error)
    return standing
