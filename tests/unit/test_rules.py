"""The PEP's rules, one behaviour per test: these are the rules' specification."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from pep_model.child import Child, YearGroup
from pep_model.errors import FieldError
from pep_model.rules import (
    PepRules,
    attendance_needs_explanation,
    attendance_percentage,
    check_section,
    finish_problems,
    is_transition_case,
    number_targets,
    readiness_problems,
    return_deadline,
    section_gaps,
    smart_target_errors,
    transition_reasons,
)
from pep_model.sections import SECTIONS, Stage
from pep_model.terms import TermCalendar
from tests.unit.builders import TODAY, complete_raw, content_of, context, meeting_raw


def sessions(
    possible: int | None,
    attended: int | None,
    unauthorised: int | None = 0,
    explanation: str | None = None,
) -> dict[str, Any]:
    return {
        "possible_sessions": possible,
        "attended_sessions": attended,
        "unauthorised_sessions": unauthorised,
        "explanation": explanation,
    }


def fields(errors: list[FieldError]) -> list[tuple[str, str, int | None]]:
    return [(e.section, e.field, e.row) for e in errors]


# ---- attendance --------------------------------------------------------------------


def test_attendance_percentage_is_shown_to_one_decimal_place_rounded_down() -> None:
    assert attendance_percentage(sessions(300, 290)) == Decimal("96.6")  # 96.66…
    assert attendance_percentage(sessions(1000, 949)) == Decimal("94.9")
    assert attendance_percentage(sessions(2000, 1899)) == Decimal("94.9")  # 94.95


def test_attendance_percentage_needs_possible_and_attended_sessions() -> None:
    assert attendance_percentage(sessions(None, 10)) is None
    assert attendance_percentage(sessions(0, 0)) is None
    assert attendance_percentage(sessions(100, None)) is None


def test_attendance_of_exactly_95_needs_no_explanation() -> None:
    assert not attendance_needs_explanation(sessions(1000, 950), PepRules())


def test_attendance_below_threshold_needs_explanation() -> None:
    assert attendance_needs_explanation(sessions(1000, 949), PepRules())


def test_attendance_threshold_is_configurable() -> None:
    ninety = PepRules(attendance_threshold=Decimal(90))
    assert not attendance_needs_explanation(sessions(1000, 920), ninety)
    assert attendance_needs_explanation(sessions(1000, 899), ninety)
    assert attendance_needs_explanation(sessions(1000, 920), PepRules())


def test_any_unauthorised_absence_needs_explanation() -> None:
    assert attendance_needs_explanation(sessions(100, 99, unauthorised=1), PepRules())


def test_missing_explanation_says_why_it_is_needed(child: Child, calendar: TermCalendar) -> None:
    def gaps(attendance: dict[str, Any]) -> list[FieldError]:
        return section_gaps(context(child, calendar, {"attendance": attendance}), "attendance")

    assert gaps(sessions(1000, 949)) == [
        FieldError("attendance", "explanation", "explain this: attendance is 94.9%, below 95%")
    ]
    assert gaps(sessions(100, 99, 1)) == [
        FieldError("attendance", "explanation", "explain this: there are unauthorised absences")
    ]
    assert gaps(sessions(1000, 949, 0, "Hospital stay")) == []


def test_more_sessions_attended_than_possible_is_rejected(
    child: Child, calendar: TermCalendar
) -> None:
    errors = check_section(context(child, calendar), "attendance", sessions(100, 101))
    assert errors == [
        FieldError("attendance", "attended_sessions", "cannot be more than the possible sessions")
    ]


def test_more_unauthorised_absences_than_sessions_missed_is_rejected(
    child: Child, calendar: TermCalendar
) -> None:
    errors = check_section(context(child, calendar), "attendance", sessions(100, 98, 3, "Holiday"))
    assert fields(errors) == [("attendance", "unauthorised_sessions", None)]


# ---- other cross-field checks ----------------------------------------------------------


def test_sen_support_needs_needs_and_provision(child: Child, calendar: TermCalendar) -> None:
    def gaps(send: dict[str, Any]) -> list[FieldError]:
        return section_gaps(context(child, calendar, {"send": send}), "send")

    assert fields(gaps({"status": "ehcp"})) == [
        ("send", "needs", None),
        ("send", "provision", None),
    ]
    assert gaps({"status": "none"}) == []


def test_a_suspension_needs_details(child: Child, calendar: TermCalendar) -> None:
    def gaps(exclusions: dict[str, Any]) -> list[FieldError]:
        return section_gaps(context(child, calendar, {"exclusions": exclusions}), "exclusions")

    assert fields(gaps({"suspensions": 1})) == [("exclusions", "details", None)]
    assert fields(gaps({"suspensions": 0, "permanent_exclusion": True})) == [
        ("exclusions", "details", None)
    ]
    assert gaps({"suspensions": 0, "permanent_exclusion": False}) == []


def test_each_previous_target_needs_an_outcome_and_evidence(
    child: Child, calendar: TermCalendar
) -> None:
    previous = {
        "rows": [
            {"target": "T1: Read", "outcome": "met", "evidence": "Log"},
            {"target": "T2: Write", "outcome": None, "evidence": None},
        ]
    }
    errors = section_gaps(
        context(child, calendar, {"previous_targets": previous}), "previous_targets"
    )
    assert fields(errors) == [
        ("previous_targets", "outcome", 1),
        ("previous_targets", "evidence", 1),
    ]


# ---- SMART targets -------------------------------------------------------------------

GOOD_TARGET = {
    "description": "Read daily",
    "owner": "Carer",
    "due": "2027-02-12",
    "measure": "Reading log",
}


def test_a_smart_target_with_owner_future_date_and_measure_passes() -> None:
    assert smart_target_errors(GOOD_TARGET, TODAY) == []


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("owner", "a SMART target needs someone responsible"),
        ("measure", "a SMART target needs a measure of progress"),
        ("due", "a SMART target needs a date"),
        ("description", "say what the target is"),
    ],
)
def test_smart_target_needs_each_part(missing: str, message: str) -> None:
    row = {**GOOD_TARGET, missing: None}
    assert smart_target_errors(row, TODAY, 2) == [FieldError("targets", missing, message, 2)]


@pytest.mark.parametrize("due", [TODAY, TODAY - timedelta(days=1)])
def test_smart_target_due_today_or_earlier_is_rejected(due: date) -> None:
    assert smart_target_errors({**GOOD_TARGET, "due": due.isoformat()}, TODAY) == [
        FieldError("targets", "due", "the date must be in the future")
    ]


def test_smart_target_due_tomorrow_is_accepted() -> None:
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    assert smart_target_errors({**GOOD_TARGET, "due": tomorrow}, TODAY) == []


def test_number_targets_keeps_refs_and_fills_the_next_free_t_numbers() -> None:
    content: dict[str, Any] = {
        "rows": [{"ref": "T2"}, {"ref": None}, {"ref": "t5"}, {"ref": ""}, {"ref": None}]
    }
    numbered = number_targets(content)
    assert [r["ref"] for r in numbered["rows"]] == ["T2", "T1", "T5", "T3", "T4"]
    assert content["rows"][1]["ref"] is None  # the input is not changed


def test_a_target_ref_used_twice_is_rejected(child: Child, calendar: TermCalendar) -> None:
    rows = [{**GOOD_TARGET, "ref": "T1"}, {**GOOD_TARGET, "ref": "T1"}]
    errors = check_section(context(child, calendar), "targets", {"rows": rows})
    assert errors == [FieldError("targets", "ref", "T1 is used twice", 1)]


# ---- Pupil Premium Plus ---------------------------------------------------------------


def request(amount: int | None, target: str | None = "T1", **extra: Any) -> dict[str, Any]:
    return {"amount": amount, "purpose": "Tutor", "target": target, "impact": "Reading", **extra}


def pp_errors(
    child: Child, calendar: TermCalendar, *rows: dict[str, Any], rules: PepRules | None = None
) -> list[FieldError]:
    """What a save refuses in these requests."""
    targets = {"rows": [{**GOOD_TARGET, "ref": "T1"}, {**GOOD_TARGET, "ref": "T2"}]}
    ctx = context(child, calendar, {"targets": targets}, rules=rules)
    return check_section(ctx, "pupil_premium", {"rows": list(rows)})


def pp_gaps(child: Child, calendar: TermCalendar, *rows: dict[str, Any]) -> list[FieldError]:
    """What these requests still lack (readiness and Finish report it)."""
    ctx = context(child, calendar, {"pupil_premium": {"rows": list(rows)}})
    return section_gaps(ctx, "pupil_premium")


def test_pupil_premium_request_for_a_current_target_within_the_cap_passes(
    child: Child, calendar: TermCalendar
) -> None:
    assert pp_errors(child, calendar, request(30_000), request(25_000, "t2")) == []


def test_pupil_premium_must_name_a_target(child: Child, calendar: TermCalendar) -> None:
    assert pp_errors(child, calendar, request(30_000, None)) == []
    assert pp_gaps(child, calendar, request(30_000, None)) == [
        FieldError("pupil_premium", "target", "name the current target this serves (e.g. T1)", 0)
    ]


def test_pupil_premium_must_name_a_current_target(child: Child, calendar: TermCalendar) -> None:
    assert pp_errors(child, calendar, request(30_000, "T9")) == [
        FieldError("pupil_premium", "target", "T9 is not a current target (targets: T1, T2)", 0)
    ]


def test_pupil_premium_amount_must_be_more_than_nothing(
    child: Child, calendar: TermCalendar
) -> None:
    assert pp_errors(child, calendar, request(0)) == [
        FieldError("pupil_premium", "amount", "must be more than £0", 0)
    ]
    assert pp_gaps(child, calendar, request(0)) == []


def test_pupil_premium_amount_left_empty_is_missing_not_wrong(
    child: Child, calendar: TermCalendar
) -> None:
    assert pp_errors(child, calendar, request(None)) == []
    assert pp_gaps(child, calendar, request(None)) == [
        FieldError("pupil_premium", "amount", "enter the amount", 0)
    ]


def test_pupil_premium_needs_purpose_and_impact(child: Child, calendar: TermCalendar) -> None:
    errors = pp_gaps(child, calendar, request(100, purpose="", impact=None))
    assert fields(errors) == [("pupil_premium", "purpose", 0), ("pupil_premium", "impact", 0)]


def test_pupil_premium_up_to_the_cap_of_550_a_term_passes(
    child: Child, calendar: TermCalendar
) -> None:
    assert pp_errors(child, calendar, request(30_000), request(25_000)) == []


def test_pupil_premium_requests_are_capped_in_total_per_term(
    child: Child, calendar: TermCalendar
) -> None:
    assert pp_errors(child, calendar, request(30_000), request(25_001)) == [
        FieldError(
            "pupil_premium",
            "amount",
            "requests total £550.01, over the £550.00 a term allowed per child",
        )
    ]


def test_pupil_premium_cap_is_configurable(child: Child, calendar: TermCalendar) -> None:
    rules = PepRules(pupil_premium_cap_pence=100_000)
    assert pp_errors(child, calendar, request(60_000), rules=rules) == []
    assert pp_errors(child, calendar, request(60_000), request(40_001), rules=rules) != []


def test_pupil_premium_bands_when_configured(child: Child, calendar: TermCalendar) -> None:
    rules = PepRules(
        pupil_premium_bands_pence=(40_000, 80_000, 150_000), pupil_premium_cap_pence=150_000
    )
    assert pp_errors(child, calendar, request(40_000), rules=rules) == []
    assert pp_errors(child, calendar, request(50_000), rules=rules) == [
        FieldError("pupil_premium", "amount", "choose a band: £400.00, £800.00, £1,500.00", 0)
    ]


# ---- readiness for the meeting ------------------------------------------------------------


def test_a_complete_pep_is_ready_without_the_meeting_record(
    child: Child, calendar: TermCalendar
) -> None:
    assert readiness_problems(context(child, calendar, content_of(complete_raw()))) == []


def test_meeting_sections_are_not_required_for_readiness(
    child: Child, calendar: TermCalendar
) -> None:
    problems = readiness_problems(context(child, calendar))
    meeting = {s.key for s in SECTIONS if s.stage is Stage.MEETING}
    assert meeting == {"attendees", "summary", "actions", "next_pep"}
    assert not {p.section for p in problems} & meeting


def test_an_empty_pep_lists_what_is_missing_section_by_section(
    child: Child, calendar: TermCalendar
) -> None:
    problems = readiness_problems(context(child, calendar))
    assert ("voice", "views", None) in fields(problems)
    assert ("attendance", "possible_sessions", None) in fields(problems)
    assert ("attainment", "rows", None) in fields(problems)
    assert ("targets", "rows", None) in fields(problems)
    assert ("transition", "plan", None) in fields(problems)
    sections_in_order = list(dict.fromkeys(p.section for p in problems))
    assert sections_in_order == [
        "send",
        "voice",
        "attendance",
        "exclusions",
        "attainment",
        "wellbeing",
        "targets",
        "transition",
        "carer",
    ]


def test_readiness_reports_broken_rules_as_well_as_gaps(
    child: Child, calendar: TermCalendar
) -> None:
    sections = content_of(complete_raw())
    sections["attendance"] = sessions(1000, 900)
    sections["pupil_premium"]["rows"][0]["target"] = "T7"
    problems = readiness_problems(context(child, calendar, sections))
    assert fields(problems) == [("attendance", "explanation", None), ("pupil_premium", "target", 0)]


def test_transition_plan_required_only_for_transition_cases(
    calendar: TermCalendar, child: Child
) -> None:
    sections = content_of(complete_raw())
    sections["transition"] = {"plan": None, "next_setting": None, "start_date": None}
    year_8 = replace(child, year_group=YearGroup(8))
    assert readiness_problems(context(year_8, calendar, sections)) == []
    assert fields(readiness_problems(context(child, calendar, sections))) == [
        ("transition", "plan", None)
    ]
    flagged = replace(year_8, transition_flag=True)
    assert fields(readiness_problems(context(flagged, calendar, sections))) == [
        ("transition", "plan", None)
    ]


# ---- finishing the meeting ---------------------------------------------------------------


def test_meeting_cannot_finish_without_attendees_summary_and_next_date(
    child: Child, calendar: TermCalendar
) -> None:
    problems = finish_problems(context(child, calendar))
    assert fields(problems) == [
        ("attendees", "rows", None),
        ("summary", "summary", None),
        ("next_pep", "date", None),
    ]
    assert "Spring term 2027" in problems[2].message


def test_meeting_can_finish_with_the_meeting_record(child: Child, calendar: TermCalendar) -> None:
    assert finish_problems(context(child, calendar, content_of(meeting_raw()))) == []


def test_next_pep_date_must_be_in_the_following_term(child: Child, calendar: TermCalendar) -> None:
    sections = content_of(meeting_raw())
    for inside in ("2027-01-05", "2027-03-25"):
        sections["next_pep"] = {"date": inside, "reason": None}
        assert finish_problems(context(child, calendar, sections)) == [], inside
    for outside in ("2026-12-10", "2027-04-20", "2027-01-04"):
        sections["next_pep"] = {"date": outside, "reason": None}
        assert finish_problems(context(child, calendar, sections)) == [
            FieldError(
                "next_pep",
                "date",
                "next term's PEP must be in the Spring term 2027 (05/01/2027 to 25/03/2027)",
            )
        ], outside


def test_a_reason_can_stand_in_for_the_next_date(child: Child, calendar: TermCalendar) -> None:
    sections = content_of(meeting_raw())
    sections["next_pep"] = {"date": None, "reason": "Placement move expected in January"}
    assert finish_problems(context(child, calendar, sections)) == []


def test_incomplete_attendee_and_action_rows_block_finishing(
    child: Child, calendar: TermCalendar
) -> None:
    sections = content_of(meeting_raw())
    sections["attendees"]["rows"].append({"name": "Mo", "role": None, "attended": "teams"})
    sections["actions"]["rows"][0]["owner"] = None
    assert fields(finish_problems(context(child, calendar, sections))) == [
        ("attendees", "role", 2),
        ("actions", "owner", 0),
    ]


# ---- deadlines ---------------------------------------------------------------------


def test_return_deadline_is_five_calendar_days_by_default(calendar: TermCalendar) -> None:
    assert return_deadline(date(2026, 11, 16), calendar, PepRules()) == date(2026, 11, 21)


def test_return_deadline_in_working_days_skips_weekends(calendar: TermCalendar) -> None:
    rules = PepRules(return_in_working_days=True)
    assert return_deadline(date(2026, 11, 19), calendar, rules) == date(2026, 11, 26)


def test_return_deadline_in_working_days_skips_bank_holidays(calendar: TermCalendar) -> None:
    rules = PepRules(return_in_working_days=True)
    # Fri 18 Dec 2026: Christmas Day and the substitute Boxing Day (28th) are skipped
    assert return_deadline(date(2026, 12, 18), calendar, rules) == date(2026, 12, 29)


# ---- transition cases ------------------------------------------------------------------


def test_a_flagged_child_is_a_transition_case(child: Child, calendar: TermCalendar) -> None:
    spring = calendar.get("2027-spring")
    flagged = replace(child, transition_flag=True)
    assert transition_reasons(flagged, spring, PepRules(), TODAY) == [
        "flagged as a transition case"
    ]
    assert not is_transition_case(child, spring, PepRules(), TODAY)


@pytest.mark.parametrize(
    ("days", "reason"),
    [
        (-56, "started at a new school or setting on 21/09/2026"),
        (-1, "started at a new school or setting on 15/11/2026"),
        (30, "starts at a new school or setting on 16/12/2026"),
        (56, "starts at a new school or setting on 11/01/2027"),
    ],
)
def test_a_school_start_within_the_window_makes_a_transition_case(
    child: Child, calendar: TermCalendar, days: int, reason: str
) -> None:
    moved = replace(child, year_group=YearGroup(8), school_start_date=TODAY + timedelta(days))
    assert transition_reasons(moved, calendar.get("2026-autumn"), PepRules(), TODAY) == [reason]


@pytest.mark.parametrize("days", [-57, 57])
def test_a_school_start_outside_the_window_does_not(
    child: Child, calendar: TermCalendar, days: int
) -> None:
    moved = replace(child, year_group=YearGroup(8), school_start_date=TODAY + timedelta(days))
    assert transition_reasons(moved, calendar.get("2026-autumn"), PepRules(), TODAY) == []


def test_the_transition_window_is_configurable(child: Child, calendar: TermCalendar) -> None:
    moved = replace(child, year_group=YearGroup(8), school_start_date=TODAY - timedelta(90))
    rules = PepRules(transition_window_days=120)
    assert is_transition_case(moved, calendar.get("2026-autumn"), rules, TODAY)


@pytest.mark.parametrize(("year", "label"), [(0, "Reception"), (7, "Year 7"), (12, "Year 12")])
def test_phase_start_years_are_transition_cases_in_the_autumn_term(
    child: Child, calendar: TermCalendar, year: int, label: str
) -> None:
    starter = replace(child, year_group=YearGroup(year))
    assert transition_reasons(starter, calendar.get("2026-autumn"), PepRules(), TODAY) == [
        f"starting {label}, a new phase"
    ]
    assert transition_reasons(starter, calendar.get("2027-spring"), PepRules(), TODAY) == []


@pytest.mark.parametrize("year", [-1, 1, 6, 8, 11, 13])
def test_other_years_are_not_phase_transitions(
    child: Child, calendar: TermCalendar, year: int
) -> None:
    other = replace(child, year_group=YearGroup(year))
    assert not is_transition_case(other, calendar.get("2026-autumn"), PepRules(), TODAY)
