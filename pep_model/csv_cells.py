"""Every CSV the service writes (the PP+ payment schedule for finance, the overview)
goes through here, so a value typed or imported by someone cannot become a formula
when the file is opened in a spreadsheet (CSV injection, OWASP).

A text cell that starts with = + - @ a tab or a carriage return gets a leading
apostrophe: the spreadsheet shows the text as typed and runs nothing. A number (an
int, a Decimal, or a plain figure such as "-12.50") is written as it is.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FIGURE = re.compile(r"[+-]?\d+(\.\d+)?")


def csv_cell(value: object) -> object:
    """The value as it may be written to a CSV cell."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _FIGURE.fullmatch(value):
        return "'" + value
    return value


def csv_text(rows: Iterable[Sequence[object]]) -> str:
    """Rows as CSV text, rows ending "\n", every cell through csv_cell. A cell holding
    a line break (CR or LF) is quoted, so it stays one cell in every reader."""
    out, row_text = io.StringIO(), io.StringIO()
    # "\r\n" makes the writer quote a cell with either character in it; each row's own
    # ending is then written as "\n"
    writer = csv.writer(row_text, lineterminator="\r\n")
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
        out.write(row_text.getvalue()[:-2] + "\n")
        row_text.seek(0)
        row_text.truncate()
    return out.getvalue()
