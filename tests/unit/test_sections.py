"""Typed-in values become section content: what is accepted, what is refused, and why."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pep_model.errors import FieldError
from pep_model.sections import (
    SECTION_KEYS,
    SECTIONS,
    FieldKind,
    FieldSpec,
    empty_content,
    normalise_section,
    parse_value,
    raw_from_content,
    section_spec,
)
from tests.unit.builders import complete_raw, meeting_raw

POSSIBLE = section_spec("attendance").field("possible_sessions")  # INTEGER
AMOUNT = section_spec("pupil_premium").field("amount")  # MONEY
DUE = section_spec("targets").field("due")  # DATE
SEN = section_spec("send").field("status")  # CHOICE
EXCLUDED = section_spec("exclusions").field("permanent_exclusion")  # FLAG
HOW_GATHERED = section_spec("voice").field("how_gathered")  # TEXT, 300
VIEWS = section_spec("voice").field("views")  # LONG_TEXT


def reason(spec: FieldSpec, raw: Any) -> str:
    with pytest.raises(ValueError) as caught:
        parse_value(spec, raw)
    return str(caught.value)


def test_every_field_kind_is_covered_here() -> None:
    covered = {s.kind for s in (POSSIBLE, AMOUNT, DUE, SEN, EXCLUDED, HOW_GATHERED, VIEWS)}
    assert covered == set(FieldKind)


@pytest.mark.parametrize(
    "spec", [POSSIBLE, AMOUNT, DUE, SEN, EXCLUDED, HOW_GATHERED, VIEWS], ids=lambda s: s.kind.value
)
@pytest.mark.parametrize("blank", [None, "", "   ", "\n"])
def test_blank_input_is_no_value_for_every_kind(spec: FieldSpec, blank: Any) -> None:
    assert parse_value(spec, blank) is None


# ---- text ------------------------------------------------------------------------


def test_one_line_text_collapses_whitespace() -> None:
    assert parse_value(HOW_GATHERED, "  talked \t with   her\n") == "talked with her"


def test_long_text_keeps_its_lines_and_trims_the_ends() -> None:
    assert (
        parse_value(VIEWS, "  I like maths.\n\nReading is hard.  ")
        == "I like maths.\n\nReading is hard."
    )


def test_text_up_to_the_limit_is_accepted() -> None:
    assert parse_value(HOW_GATHERED, "x" * 300) == "x" * 300


def test_over_long_text_is_rejected_naming_the_limit() -> None:
    message = reason(HOW_GATHERED, "x" * 301)
    assert "300" in message and "301" in message


def test_yes_no_is_not_text() -> None:
    assert "not yes/no" in reason(VIEWS, True)


# ---- whole numbers -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"), [("0", 0), ("12", 12), (" 7 ", 7), (42, 42), ("999999", 999_999)]
)
def test_whole_numbers_are_read(raw: Any, expected: int) -> None:
    assert parse_value(POSSIBLE, raw) == expected


@pytest.mark.parametrize("raw", ["-1", "1.5", "12 sessions", "abc", "1,000", "1234567", "²", -3])
def test_anything_but_a_whole_number_is_refused_saying_what_is_expected(raw: Any) -> None:
    assert reason(POSSIBLE, raw) == "enter a whole number, 0 or more"


# ---- money -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "pence"),
    [
        ("£1,250.50", 125_050),
        ("550", 55_000),
        ("550.00", 55_000),
        ("£ 550.5", 55_050),
        ("0.10", 10),
        ("1,000,000", 100_000_000),
        (300, 30_000),
    ],
)
def test_pounds_are_stored_as_whole_pence(raw: Any, pence: int) -> None:
    value = parse_value(AMOUNT, raw)
    assert value == pence
    assert type(value) is int  # never a float


@pytest.mark.parametrize("raw", ["12.345", "1,25", "-5", "£", "five pounds", "1.2.3", "$550"])
def test_money_that_is_not_pounds_is_refused_with_an_example(raw: str) -> None:
    assert reason(AMOUNT, raw) == "enter an amount in pounds, like 550 or 550.00"


# ---- dates -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("2027-02-12", "2027-02-12"),
        ("12/02/2027", "2027-02-12"),
        ("1/2/2027", "2027-02-01"),
        (" 29/02/2028 ", "2028-02-29"),
    ],
)
def test_dates_are_read_as_iso_or_british_and_stored_iso(raw: str, iso: str) -> None:
    assert parse_value(DUE, raw) == iso


@pytest.mark.parametrize(
    "raw",
    [
        "31/02/2027",
        "2027-02-31",
        "29/02/2027",
        "02/13/2027",
        "12/02/27",
        "tomorrow",
        "2027/02/12",
        "12-02-2027",
    ],
)
def test_impossible_or_unreadable_dates_are_refused(raw: str) -> None:
    assert reason(DUE, raw) == "enter a real date as dd/mm/yyyy"


# ---- choices and flags -------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("sen_support", "sen_support"),
        ("EHC plan", "ehcp"),
        ("ehc PLAN", "ehcp"),
        ("No identified SEN", "none"),
    ],
)
def test_a_choice_is_read_by_value_or_label_in_any_case(raw: str, value: str) -> None:
    assert parse_value(SEN, raw) == value


def test_an_unknown_choice_lists_the_choices() -> None:
    assert reason(SEN, "statement") == "choose one of: No identified SEN, SEN support, EHC plan"


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (True, True),
        (False, False),
        ("Yes", True),
        ("no", False),
        ("true", True),
        ("0", False),
        ("☒", True),
        ("☐", False),
    ],
)
def test_flags_read_yes_and_no_in_their_usual_spellings(raw: Any, value: bool) -> None:
    assert parse_value(EXCLUDED, raw) is value


def test_a_flag_that_is_neither_yes_nor_no_is_refused() -> None:
    assert reason(EXCLUDED, "maybe") == "answer yes or no"


# ---- a whole section -----------------------------------------------------------------


def test_a_section_is_normalised_field_by_field() -> None:
    content, errors = normalise_section(
        "attendance",
        {
            "possible_sessions": "120",
            "attended_sessions": " 110 ",
            "unauthorised_sessions": "",
            "explanation": "  Illness in October. ",
        },
    )
    assert errors == []
    assert content == {
        "possible_sessions": 120,
        "attended_sessions": 110,
        "unauthorised_sessions": None,
        "explanation": "Illness in October.",
    }


def test_every_unreadable_field_is_reported_and_left_empty() -> None:
    content, errors = normalise_section(
        "attendance", {"possible_sessions": "lots", "attended_sessions": "-2"}
    )
    assert [(e.section, e.field) for e in errors] == [
        ("attendance", "possible_sessions"),
        ("attendance", "attended_sessions"),
    ]
    assert content["possible_sessions"] is None and content["attended_sessions"] is None


def test_unknown_fields_are_reported_never_stored() -> None:
    content, errors = normalise_section("voice", {"views": "Fine", "colour": "blue"})
    assert errors == [FieldError("voice", "colour", "is not a field of this section")]
    assert "colour" not in content


def test_unknown_row_fields_are_reported_with_their_row() -> None:
    _, errors = normalise_section(
        "attainment",
        {
            "rows": [
                {"subject": "English", "current": "4", "expected": "5", "on_track": "no"},
                {
                    "subject": "Maths",
                    "current": "4",
                    "expected": "5",
                    "on_track": "no",
                    "grade": "B",
                },
            ]
        },
    )
    assert errors == [FieldError("attainment", "grade", "is not a field of this table", 1)]


def test_rows_in_which_nothing_was_typed_are_dropped() -> None:
    blank = {"subject": "", "current": " ", "expected": None, "on_track": ""}
    content, errors = normalise_section(
        "attainment",
        {
            "rows": [
                blank,
                {"subject": "Art", "current": "3", "expected": "4", "on_track": "yes"},
                blank,
            ]
        },
    )
    assert errors == []
    assert content["rows"] == [
        {"subject": "Art", "current": "3", "expected": "4", "on_track": "yes"}
    ]


def test_a_bad_cell_is_reported_with_its_row_counting_only_kept_rows() -> None:
    blank = {"amount": "", "purpose": "", "target": "", "impact": ""}
    _, errors = normalise_section(
        "pupil_premium",
        {
            "rows": [
                blank,
                {"amount": "lots", "purpose": "Tutor", "target": "T1", "impact": "Reading"},
            ]
        },
    )
    assert errors == [
        FieldError("pupil_premium", "amount", "enter an amount in pounds, like 550 or 550.00", 0)
    ]
    assert errors[0].where() == "Pupil Premium Plus requests, request 1, Amount (£)"


def test_more_rows_than_allowed_are_refused_naming_the_limit() -> None:
    row = {"subject": "English", "current": "4", "expected": "5", "on_track": "yes"}
    _, errors = normalise_section("attainment", {"rows": [row] * 21})
    assert errors == [FieldError("attainment", "rows", "no more than 20 subjects")]
    _, errors = normalise_section("attainment", {"rows": [row] * 20})
    assert errors == []


def test_rows_must_be_a_list_of_rows() -> None:
    _, errors = normalise_section("attainment", {"rows": "English"})
    assert errors == [FieldError("attainment", "rows", "expected a list of rows")]
    _, errors = normalise_section("attainment", {"rows": ["English"]})
    assert errors == [FieldError("attainment", "rows", "expected a row of fields", 0)]


def test_an_unknown_section_is_named() -> None:
    with pytest.raises(KeyError, match="'hobbies' is not a PEP section"):
        section_spec("hobbies")


def test_empty_content_has_every_field_and_no_rows() -> None:
    for spec in SECTIONS:
        content = empty_content(spec.key)
        assert set(content) == {f.name for f in spec.fields} | (
            {"rows"} if spec.is_table else set()
        )
        assert all(v is None for k, v in content.items() if k != "rows")


# ---- round trip ----------------------------------------------------------------------

SAMPLES = {
    **complete_raw(),
    **meeting_raw(),
    "send": {
        "status": "ehcp",
        "needs": "Speech and language",
        "provision": "SaLT",
        "ehcp_review_date": "03/03/2027",
    },
    "exclusions": {
        "suspensions": "1",
        "days_lost": "2",
        "permanent_exclusion": "yes",
        "details": "Two days in October.",
    },
    "previous_targets": {
        "rows": [{"target": "T1: Read daily", "outcome": "Partly met", "evidence": "Reading log"}]
    },
    "transition": {
        "plan": "Visits",
        "next_setting": "Castlebridge High",
        "start_date": "01/09/2027",
    },
    "pupil_premium": {
        "rows": [
            {"amount": "£1,250.05", "purpose": "Tutor", "target": "T1", "impact": "Reading"},
            {"amount": "0", "purpose": "", "target": "", "impact": ""},
        ]
    },
}


def test_the_samples_cover_every_section() -> None:
    assert set(SAMPLES) == set(SECTION_KEYS)


@pytest.mark.parametrize("key", SECTION_KEYS)
def test_content_survives_the_round_trip_through_typed_in_form(key: str) -> None:
    content, errors = normalise_section(key, SAMPLES[key])
    assert errors == []
    again, errors = normalise_section(key, raw_from_content(key, content))
    assert errors == []
    assert again == content


@pytest.mark.parametrize("key", SECTION_KEYS)
def test_empty_content_survives_the_round_trip(key: str) -> None:
    again, errors = normalise_section(key, raw_from_content(key, empty_content(key)))
    assert errors == []
    assert again == empty_content(key)


# ---- half an emoji (a lone UTF-16 surrogate) ---------------------------------------------

BROKEN = "contains a broken character (half an emoji?) — please retype it"
HALF_EMOJI = json.loads('"I like art \\ud83d"')  # as a phone's JSON can send it


@pytest.mark.parametrize("spec", [HOW_GATHERED, VIEWS, SEN, EXCLUDED, POSSIBLE, AMOUNT, DUE])
def test_half_an_emoji_is_refused_in_every_kind_of_field(spec: FieldSpec) -> None:
    assert reason(spec, HALF_EMOJI) == BROKEN
    assert reason(spec, "\udc00") == BROKEN  # the other half alone, too


def test_a_whole_emoji_is_text_like_any_other() -> None:
    whole = json.loads('"I like art \\ud83d\\ude00"')
    assert parse_value(VIEWS, whole) == "I like art 😀"


@pytest.mark.parametrize(
    ("key", "raw", "where"),
    [
        ("voice", {"views": HALF_EMOJI}, ("views", None)),
        ("attainment", {"rows": [{"subject": "Art", "current": HALF_EMOJI}]}, ("current", 0)),
        (
            "attendees",
            {"rows": [{"name": "Mo", "role": HALF_EMOJI, "attended": "teams"}]},
            ("role", 0),
        ),
    ],
)
def test_a_section_with_half_an_emoji_is_refused_naming_the_field(
    key: str, raw: dict[str, Any], where: tuple[str, int | None]
) -> None:
    content, errors = normalise_section(key, raw)
    assert [((e.field, e.row), e.message) for e in errors] == [(where, BROKEN)]
    assert HALF_EMOJI not in json.dumps(content, ensure_ascii=False)
    json.dumps(content, ensure_ascii=False).encode("utf-8")  # storable as it stands


def test_an_unknown_field_named_with_half_an_emoji_is_reported_printably() -> None:
    _, errors = normalise_section("voice", {"views": "Hi", "x\ud83d": "1"})
    assert [e.field for e in errors] == ["x\ufffd"]
    errors[0].where().encode("utf-8")
