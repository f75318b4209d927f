"""Money is held in pence as int. Input is pounds as typed by a person."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_POUNDS = re.compile(r"^\s*£?\s*(\d{1,3}(,\d{3})+|\d+)(\.\d{1,2})?\s*$")


def parse_pounds(text: str) -> int:
    """'£1,250.50' -> 125050. Raises ValueError with a message for a person."""
    match = _POUNDS.match(text)
    if not match:
        raise ValueError("enter an amount in pounds, like 550 or 550.00")
    try:
        amount = Decimal(text.strip().lstrip("£").replace(",", "").strip())
    except InvalidOperation as exc:  # pragma: no cover - regex already guards
        raise ValueError("enter an amount in pounds, like 550 or 550.00") from exc
    return int((amount * 100).to_integral_exact())


def pounds(pence: int) -> str:
    """12345 -> '123.45' (no currency sign, no thousands separator; no floats): for
    finance's CSV and the value of an amount input."""
    sign = "-" if pence < 0 else ""
    whole, rest = divmod(abs(pence), 100)
    return f"{sign}{whole}.{rest:02d}"


def format_pence(pence: int) -> str:
    """125050 -> '£1,250.50'."""
    sign = "-" if pence < 0 else ""
    pounds, rest = divmod(abs(pence), 100)
    return f"{sign}£{pounds:,}.{rest:02d}"
