"""Reading the authority's roster and staff CSVs. Row numbers are spreadsheet rows."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pep_model.child import SenStatus, YearGroup
from pep_model.people import Assignment, Role
from pep_model.roster import ROSTER_COLUMNS, RowProblem, parse_roster, parse_staff

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HEADER = ",".join(ROSTER_COLUMNS)


def read(name: str) -> str:
    return (EXAMPLES / name).read_text(encoding="utf-8")


def roster_line(
    lcs_id: str = "LCS300001",
    dob: str = "2015-05-01",
    year: str = "Year 7",
    dt_email: str = "dt@school.example",
    school_start: str = "",
    sen: str = "none",
    transition: str = "no",
) -> str:
    return ",".join(
        [
            lcs_id,
            "Ada",
            "Fenwick",
            dob,
            year,
            "100001",
            "Northvale Academy",
            "Harriet Pemberton",
            dt_email,
            "Rachel Donnelly",
            "rachel.donnelly@northvale.example",
            "Maureen Ashdown",
            "maureen.ashdown@carers.example",
            "foster",
            "2025-11-03",
            school_start,
            "S31 full care order",
            sen,
            "no",
            transition,
        ]
    )


def where(problems: list[RowProblem]) -> list[tuple[int, str]]:
    return [(p.row, p.column) for p in problems]


# ---- the example files ------------------------------------------------------------------


def test_the_example_roster_parses_without_problems() -> None:
    parsed = parse_roster(read("roster.csv"))
    assert parsed.problems == []
    assert len(parsed.rows) == 40
    assert [r.row for r in parsed.rows] == list(range(2, 42))
    assert len({r.child.lcs_id for r in parsed.rows}) == 40


def test_a_roster_row_gives_the_child_school_and_people() -> None:
    first = parse_roster(read("roster.csv")).rows[0]
    assert first.child.lcs_id == "LCS100001"
    assert first.child.year_group == YearGroup(-1)
    assert first.child.date_of_birth == date(2022, 10, 14)
    assert first.child.school_start_date == date(2026, 1, 6)
    assert first.school.urn == "999101"
    assert first.designated_teacher.id == "h.pemberton@littleacorns.sch.example"
    assert first.social_worker.name == "Rachel Donnelly"
    assert first.carer is not None and first.carer.email == "maureen.ashdown@carers.example"


def test_each_bad_row_is_reported_with_its_row_and_column_and_good_rows_are_kept() -> None:
    parsed = parse_roster(read("bad-roster.csv"))  # starts with a byte-order mark
    assert where(parsed.problems) == [
        (5, "lcs_id"),
        (6, "date_of_birth"),
        (7, "year_group"),
        (9, "designated_teacher_email"),
        (10, "lcs_id"),
    ]
    assert [r.child.lcs_id for r in parsed.rows] == [
        "LCS200001",
        "LCS200002",
        "LCS200003",
        "LCS200006",
    ]
    messages = [str(p) for p in parsed.problems]
    assert messages[0] == "row 5: lcs_id: is required"
    assert messages[1].startswith("row 6 (LCS200004): date_of_birth: '31/02/2015'")
    assert "enter a real date as dd/mm/yyyy" in messages[1]
    assert "'Year 15'" in messages[2]
    assert messages[3] == (
        "row 9 (LCS200007): designated_teacher_email: 'not-an-email' is not an email address"
    )
    assert messages[4] == "row 10 (LCS200002): lcs_id: duplicate of row 3"


def test_british_dates_are_accepted() -> None:
    evie = next(
        r for r in parse_roster(read("bad-roster.csv")).rows if r.child.lcs_id == "LCS200006"
    )
    assert evie.child.date_of_birth == date(2016, 3, 14)
    assert evie.child.placement_start == date(2024, 5, 2)
    assert evie.child.school_start_date == date(2023, 9, 4)


def test_crlf_line_ends_read_the_same() -> None:
    text = read("bad-roster.csv")
    crlf = parse_roster(text.replace("\r\n", "\n").replace("\n", "\r\n"))
    assert crlf == parse_roster(text)


def test_the_example_staff_list_parses() -> None:
    parsed = parse_staff(read("staff.csv"))
    assert parsed.problems == []
    assert len(parsed.rows) == 16
    head = parsed.rows[0]
    assert (head.row, head.person.name) == (2, "Imogen Stallard")
    assert head.assignment == Assignment(
        "imogen.stallard@northvale.example", Role.VIRTUAL_SCHOOL_HEAD
    )
    coordinator = parsed.rows[4]
    assert coordinator.assignment == Assignment(
        "lucy.harrowby@northvale.example", Role.PEP_COORDINATOR, school_urn="999101"
    )


# ---- the rules, on inline CSV ----------------------------------------------------------


def test_byte_order_mark_and_crlf_are_handled() -> None:
    text = "\ufeff" + "\r\n".join([HEADER, roster_line(), ""])
    parsed = parse_roster(text)
    assert parsed.problems == [] and [r.child.lcs_id for r in parsed.rows] == ["LCS300001"]


def test_header_names_are_read_in_any_case() -> None:
    parsed = parse_roster("\n".join([HEADER.upper(), roster_line()]))
    assert parsed.problems == [] and len(parsed.rows) == 1


def test_row_numbers_count_blank_lines_as_a_spreadsheet_does() -> None:
    text = "\n".join(
        [
            HEADER,
            "",
            roster_line(),
            ",,,,",
            roster_line("LCS300002"),
            roster_line("LCS300003", dob="31/02/2015"),
        ]
    )
    parsed = parse_roster(text)
    assert [(r.row, r.child.lcs_id) for r in parsed.rows] == [(3, "LCS300001"), (5, "LCS300002")]
    assert where(parsed.problems) == [(6, "date_of_birth")]


def test_a_cell_spanning_lines_is_still_one_row() -> None:
    spanning = roster_line("LCS300001").replace("Northvale Academy", '"Northvale\nAcademy"')
    text = "\n".join([HEADER, spanning, roster_line("LCS 2")])
    parsed = parse_roster(text)
    assert parsed.rows[0].school.name == "Northvale Academy"
    assert where(parsed.problems) == [(3, "lcs_id")]


def test_a_duplicate_id_is_reported_as_a_duplicate_of_the_first_row() -> None:
    text = "\n".join([HEADER, roster_line("A1"), roster_line("B2"), roster_line("A1")])
    parsed = parse_roster(text)
    assert parsed.problems == [RowProblem(4, "lcs_id", "duplicate of row 2", "A1")]
    assert [r.row for r in parsed.rows] == [2, 3]


def test_a_missing_header_column_is_one_problem_naming_the_column() -> None:
    header = HEADER.replace("social_worker_email", "sw_email")
    parsed = parse_roster("\n".join([header, roster_line(), roster_line("LCS300002")]))
    assert parsed.problems == [
        RowProblem(1, "social_worker_email", "column missing from the header")
    ]
    assert parsed.rows == []


def test_every_missing_required_column_is_named_in_the_one_problem() -> None:
    parsed = parse_roster("lcs_id,first_name\nA1,Ada\n")
    assert len(parsed.problems) == 1
    assert parsed.problems[0].column.startswith("last_name, date_of_birth, year_group")


@pytest.mark.parametrize(
    ("cells", "column", "message"),
    [
        ({"lcs_id": "LCS 1"}, "lcs_id", "'LCS 1' is not an LCS id (letters, digits, - and _)"),
        ({"dob": "2015-13-01"}, "date_of_birth", "'2015-13-01': enter a real date as dd/mm/yyyy"),
        ({"dob": ""}, "date_of_birth", "is required"),
        ({"year": "Year 0"}, "year_group", "is not a year group"),
        ({"dt_email": "dt at school"}, "designated_teacher_email", "is not an email address"),
        ({"sen": "statemented"}, "sen_status", "should be none, sen_support or ehcp"),
        ({"transition": "perhaps"}, "transition", "'perhaps' should be yes or no"),
    ],
)
def test_a_bad_cell_is_named_by_row_and_column(
    cells: dict[str, str], column: str, message: str
) -> None:
    parsed = parse_roster("\n".join([HEADER, roster_line(**cells)]))
    assert where(parsed.problems) == [(2, column)]
    assert message in parsed.problems[0].message
    assert parsed.rows == []


def test_year_groups_and_sen_statuses_in_their_usual_spellings() -> None:
    lines = [
        roster_line("A1", year="Reception", sen="SEN support"),
        roster_line("A2", year="Y10", sen="EHC plan", transition="yes"),
        roster_line("A3", year="12", sen=""),
    ]
    rows = parse_roster("\n".join([HEADER, *lines])).rows
    assert [
        (r.child.year_group.number, r.child.sen_status, r.child.transition_flag) for r in rows
    ] == [
        (0, SenStatus.SEN_SUPPORT, False),
        (10, SenStatus.EHCP, True),
        (12, SenStatus.NONE, False),
    ]


def test_emails_are_lower_cased_so_people_match() -> None:
    row = parse_roster("\n".join([HEADER, roster_line(dt_email="H.Pemberton@School.Example")]))
    assert row.rows[0].designated_teacher.id == "h.pemberton@school.example"


def test_a_staff_row_with_an_unknown_role_names_the_roles_allowed() -> None:
    parsed = parse_staff(
        "name,email,role,scope\nAl,al@x.example,head_teacher,authority\n"
        "Bo,bo@x.example,virtual_school_officer,\n"
    )
    assert where(parsed.problems) == [(2, "role"), (3, "scope")]
    assert "'head_teacher' is not one of virtual_school_head" in parsed.problems[0].message
    assert parsed.rows == []


def test_attendance_rows_are_read_as_typed_and_duplicates_reported() -> None:
    from pep_model.roster import parse_attendance

    text = (
        "lcs_id,possible_sessions,attended_sessions,unauthorised_sessions,explanation\r\n"
        "LCS1,100,90,2,Illness\r\n"
        ",100,100,0,\r\n"
        "LCS1,100,100,0,\r\n"
    )
    parsed = parse_attendance("\ufeff" + text)
    assert [(r.row, r.lcs_id, r.values["attended_sessions"]) for r in parsed.rows] == [
        (2, "LCS1", "90")
    ]
    assert [(p.row, p.column) for p in parsed.problems] == [(3, "lcs_id"), (4, "lcs_id")]
    assert "duplicate of row 2" in str(parsed.problems[1])
