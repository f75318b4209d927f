"""Reading the authority's roster and staff lists (CSV text in, people and children out).

Row numbers are as a spreadsheet shows them: the header is row 1.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Generic, TypeVar

from pep_model.child import Child, School, SenStatus, YearGroup
from pep_model.people import Assignment, Person, Role, person_id_for
from pep_model.sections import parse_date

ROSTER_COLUMNS = (
    "lcs_id",
    "first_name",
    "last_name",
    "date_of_birth",
    "year_group",
    "school_urn",
    "school_name",
    "designated_teacher_name",
    "designated_teacher_email",
    "social_worker_name",
    "social_worker_email",
    "carer_name",
    "carer_email",
    "placement_type",
    "placement_start",
    "school_start_date",
    "legal_status",
    "sen_status",
    "complex_case",
    "transition",
)
ROSTER_REQUIRED = (
    "lcs_id",
    "first_name",
    "last_name",
    "date_of_birth",
    "year_group",
    "school_urn",
    "school_name",
    "designated_teacher_email",
    "social_worker_email",
)
STAFF_COLUMNS = ("name", "email", "role", "scope")
STAFF_ROLES = (
    Role.VIRTUAL_SCHOOL_HEAD,
    Role.VIRTUAL_SCHOOL_OFFICER,
    Role.BUSINESS_SUPPORT,
    Role.PEP_COORDINATOR,
    Role.EDUCATION_ADVISOR,
    Role.PEP_LEAD,
)

T = TypeVar("T")

# identifiers are checked on the way in (a formula such as '=1+2' is not a URN); text
# such as names is escaped on the way out, in every CSV (pep_model/csv_cells.py)
_EMAIL = re.compile(r"^[^@\s,;<>=+\-][^@\s,;<>]*@[^@\s,;<>]+\.[^@\s,;<>]+$")
_LCS_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
_URN = re.compile(r"^\d{6}$")  # a school's Unique Reference Number (DfE, GIAS)
_YES = {"yes", "y", "true", "1", "x"}
_NO = {"no", "n", "false", "0", ""}


@dataclass(frozen=True)
class RowProblem:
    row: int
    column: str
    message: str
    lcs_id: str = ""

    def __str__(self) -> str:
        who = f" ({self.lcs_id})" if self.lcs_id else ""
        return f"row {self.row}{who}: {self.column}: {self.message}"


@dataclass(frozen=True)
class RosterRow:
    row: int
    child: Child
    school: School
    designated_teacher: Person
    social_worker: Person
    carer: Person | None


@dataclass
class Parsed(Generic[T]):
    rows: list[T] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)


class _RowReader:
    """Reads typed values from one CSV row, collecting a problem per bad cell."""

    def __init__(self, number: int, cells: dict[str, str]) -> None:
        self.number = number
        self.cells = cells
        self.problems: list[RowProblem] = []
        self.lcs_id = self.text("lcs_id")

    def text(self, column: str) -> str:
        return " ".join((self.cells.get(column) or "").split())

    def problem(self, column: str, message: str) -> None:
        self.problems.append(RowProblem(self.number, column, message, getattr(self, "lcs_id", "")))

    def required(self, column: str) -> str:
        value = self.text(column)
        if not value:
            self.problem(column, "is required")
        return value

    def urn(self, column: str) -> str:
        value = self.required(column)
        if value and not _URN.match(value):
            self.problem(
                column,
                f"'{value}' is not a school URN (6 digits, as in Get Information about Schools)",
            )
            return ""
        return value

    def lcs_id_of_child(self, column: str = "lcs_id") -> str:
        value = self.required(column)
        if value and not _LCS_ID.match(value):
            self.problem(column, f"'{value}' is not an LCS id (letters, digits, - and _)")
            return ""
        return value

    def date(self, column: str, required: bool = False) -> date | None:
        value = self.required(column) if required else self.text(column)
        return self.convert(column, value, parse_date)

    def email(self, column: str, required: bool = False) -> str:
        value = self.required(column) if required else self.text(column)
        if value and not _EMAIL.match(value):
            self.problem(column, f"'{value}' is not an email address")
            return ""
        return value.lower()

    def flag(self, column: str) -> bool:
        value = self.text(column).lower()
        if value in _YES:
            return True
        if value not in _NO:
            self.problem(column, f"'{value}' should be yes or no")
        return False

    def convert(self, column: str, value: str, parse: Callable[[str], T]) -> T | None:
        if not value:
            return None
        try:
            return parse(value)
        except ValueError as exc:
            self.problem(column, f"'{value}': {exc}")
            return None


def _read_csv(
    text: str, columns: tuple[str, ...], required: tuple[str, ...]
) -> tuple[list[tuple[int, dict[str, str]]], list[RowProblem]]:
    text = text.lstrip("\ufeff")
    # csv.reader, not DictReader: DictReader skips blank lines without counting them
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in next(reader, [])]
    missing = [c for c in required if c not in header]
    if missing:
        return [], [RowProblem(1, ", ".join(missing), "column missing from the header")]
    rows = []
    for number, record in enumerate(reader, start=2):
        cells = dict(zip(header, record, strict=False))
        if not any(v.strip() for v in cells.values()):
            continue
        rows.append((number, {k: v for k, v in cells.items() if k in columns}))
    return rows, []


def parse_roster(text: str) -> Parsed[RosterRow]:
    result: Parsed[RosterRow] = Parsed()
    rows, header_problems = _read_csv(text, ROSTER_COLUMNS, ROSTER_REQUIRED)
    result.problems.extend(header_problems)
    first_row_of: dict[str, int] = {}
    for number, cells in rows:
        r = _RowReader(number, cells)
        lcs_id = r.lcs_id_of_child()
        if lcs_id in first_row_of:
            r.problem("lcs_id", f"duplicate of row {first_row_of[lcs_id]}")
        elif lcs_id:
            first_row_of[lcs_id] = number
        first, last = r.required("first_name"), r.required("last_name")
        dob = r.date("date_of_birth", required=True)
        year_text = r.required("year_group")
        year = r.convert("year_group", year_text, YearGroup.parse)
        urn, school_name = r.urn("school_urn"), r.required("school_name")
        dt_email = r.email("designated_teacher_email", required=True)
        sw_email = r.email("social_worker_email", required=True)
        carer_email = r.email("carer_email")
        sen_text = r.text("sen_status").lower() or "none"
        sen = r.convert("sen_status", sen_text, _sen_status) or SenStatus.NONE
        child_fields = {
            "placement_type": r.text("placement_type"),
            "placement_start": r.date("placement_start"),
            "school_start_date": r.date("school_start_date"),
            "carer_name": r.text("carer_name"),
            "legal_status": r.text("legal_status"),
            "sen_status": sen,
            "complex_case": r.flag("complex_case"),
            "transition_flag": r.flag("transition"),
        }
        if r.problems or dob is None or year is None:
            result.problems.extend(r.problems)
            continue
        child = Child(
            lcs_id=lcs_id,
            first_name=first,
            last_name=last,
            date_of_birth=dob,
            year_group=year,
            school_urn=urn,
            **child_fields,  # type: ignore[arg-type]
        )
        carer = None
        if carer_email:
            carer = Person(carer_email, r.text("carer_name") or carer_email)
        result.rows.append(
            RosterRow(
                number,
                child,
                School(urn, school_name),
                Person(dt_email, r.text("designated_teacher_name") or dt_email),
                Person(sw_email, r.text("social_worker_name") or sw_email),
                carer,
            )
        )
    return result


def _sen_status(text: str) -> SenStatus:
    aliases = {
        "sen support": "sen_support",
        "k": "sen_support",
        "e": "ehcp",
        "ehc plan": "ehcp",
        "": "none",
        "n": "none",
    }
    try:
        return SenStatus(aliases.get(text, text))
    except ValueError:
        raise ValueError("should be none, sen_support or ehcp") from None


@dataclass(frozen=True)
class StaffRow:
    row: int
    person: Person
    assignment: Assignment


def parse_staff(text: str) -> Parsed[StaffRow]:
    result: Parsed[StaffRow] = Parsed()
    rows, header_problems = _read_csv(text, STAFF_COLUMNS, STAFF_COLUMNS)
    result.problems.extend(header_problems)
    allowed = {r.value: r for r in STAFF_ROLES}
    for number, cells in rows:
        r = _RowReader(number, cells)
        name = r.required("name")
        email = r.email("email", required=True)
        role_text = r.required("role").lower()
        role = allowed.get(role_text)
        if role_text and role is None:
            r.problem("role", f"'{role_text}' is not one of {', '.join(allowed)}")
        scope = r.required("scope")
        if scope and scope.lower() != "authority" and not _URN.match(scope):
            r.problem("scope", f"'{scope}' should be authority or a school URN (6 digits)")
        if r.problems or role is None:
            result.problems.extend(r.problems)
            continue
        school = None if scope.lower() == "authority" else scope
        result.rows.append(
            StaffRow(
                number,
                Person(email, name),
                Assignment(person_id_for(email), role, school_urn=school),
            )
        )
    return result


ATTENDANCE_COLUMNS = (
    "lcs_id",
    "possible_sessions",
    "attended_sessions",
    "unauthorised_sessions",
    "explanation",
)


@dataclass(frozen=True)
class AttendanceRow:
    """One child's attendance from a school's or the Virtual School's export, as typed:
    the attendance section's own rules judge it when it is recorded."""

    row: int
    lcs_id: str
    values: dict[str, str]


def parse_attendance(text: str) -> Parsed[AttendanceRow]:
    result: Parsed[AttendanceRow] = Parsed()
    rows, header_problems = _read_csv(text, ATTENDANCE_COLUMNS, ATTENDANCE_COLUMNS[:4])
    result.problems.extend(header_problems)
    seen: dict[str, int] = {}
    for number, cells in rows:
        r = _RowReader(number, cells)
        lcs_id = r.lcs_id_of_child()
        if lcs_id in seen:
            r.problem("lcs_id", f"duplicate of row {seen[lcs_id]}")
        if r.problems:
            result.problems.extend(r.problems)
            continue
        seen[lcs_id] = number
        result.rows.append(
            AttendanceRow(number, lcs_id, {c: r.text(c) for c in ATTENDANCE_COLUMNS[1:]})
        )
    return result
