"""What a save refuses (a value wrong or inconsistent) and what only readiness and Finish
ask for (what is missing): a section can always be saved half done."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from forms.final_record import render_final_record
from pep_model.access import Actor
from pep_model.child import Child
from pep_model.errors import FieldError
from pep_model.rules import (
    PepRules,
    attendance_needs_explanation,
    attendance_percentage,
    check_section,
    finish_problems,
    missing_fields,
    readiness_problems,
)
from pep_model.services import PepService
from pep_model.terms import TermCalendar
from pep_model.workflow import PepStatus
from tests.unit import forms_fixtures
from tests.unit.builders import complete_raw, content_of, context, fill_complete, meeting_raw
from tests.unit.fakes import InMemoryUnitOfWorkFactory

SEN = {"status": "SEN support", "needs": "", "provision": "", "ehcp_review_date": ""}

# (section, what is typed, the gap it leaves: field, row, message)
GAPS = [
    ("send", SEN, ("needs", None, "describe this for a child with SEN")),
    (
        "attendance",
        {"possible_sessions": "1000", "attended_sessions": "949", "unauthorised_sessions": "0"},
        ("explanation", None, "explain this: attendance is 94.9%, below 95%"),
    ),
    (
        "exclusions",
        {"suspensions": "1", "days_lost": "2", "permanent_exclusion": "no"},
        ("details", None, "describe the suspension or exclusion and the support given"),
    ),
    (
        "previous_targets",
        {"rows": [{"target": "T1: Read", "outcome": "met"}]},
        ("evidence", 0, "needed to review this target"),
    ),
    (
        "targets",
        {"rows": [{"description": "Read daily", "due": "2027-02-12", "measure": "Reading log"}]},
        ("owner", 0, "a SMART target needs someone responsible"),
    ),
    (
        "pupil_premium",
        {"rows": [{"amount": "300", "purpose": "Tutor", "target": "T1"}]},
        ("impact", 0, "say what impact is expected"),
    ),
    (
        "attendees",
        {"rows": [{"name": "Mo Khan", "attended": "teams"}]},
        ("role", 0, "needed for each attendee"),
    ),
    (
        "actions",
        {"rows": [{"action": "Book the tutor", "due": "2026-12-04"}]},
        ("owner", 0, "needed for each action"),
    ),
]
MEETING = {"attendees", "actions"}
AGREED_IN_THE_MEETING = {"targets", "pupil_premium"}


def sections_with(key: str, raw: dict[str, Any]) -> dict[str, Any]:
    sections = content_of({**complete_raw(), **meeting_raw()})
    sections.update(content_of({key: raw}))
    return sections


@pytest.mark.parametrize(("key", "raw", "gap"), GAPS, ids=[g[0] for g in GAPS])
def test_something_missing_does_not_stop_a_save(
    child: Child,
    calendar: TermCalendar,
    key: str,
    raw: dict[str, Any],
    gap: tuple[str, int | None, str],
) -> None:
    sections = sections_with(key, raw)
    assert check_section(context(child, calendar, sections), key, sections[key]) == []


@pytest.mark.parametrize(("key", "raw", "gap"), GAPS, ids=[g[0] for g in GAPS])
def test_something_missing_is_reported_where_completeness_is_enforced(
    child: Child,
    calendar: TermCalendar,
    key: str,
    raw: dict[str, Any],
    gap: tuple[str, int | None, str],
) -> None:
    ctx = context(child, calendar, sections_with(key, raw))
    field, row, message = gap
    expected = FieldError(key, field, message, row)
    assert expected in missing_fields(ctx, key)
    assert (expected in readiness_problems(ctx)) is (key not in MEETING)
    assert (expected in finish_problems(ctx)) is (key in MEETING | AGREED_IN_THE_MEETING)


def test_a_meeting_with_complete_rows_still_finishes(child: Child, calendar: TermCalendar) -> None:
    sections = content_of({**complete_raw(), **meeting_raw()})
    assert finish_problems(context(child, calendar, sections)) == []


async def test_a_child_with_sen_support_saves_section_one_without_the_needs(
    service: PepService, factory: InMemoryUnitOfWorkFactory, dt: Actor
) -> None:
    pep = await service.open_pep("LCS100001", "2026-autumn")
    await fill_complete(service, factory, pep.id, dt, {**complete_raw(), "send": SEN})
    stored = factory.stored_pep(pep.id)
    assert stored.sections["send"]["status"] == "sen_support"
    assert stored.status is PepStatus.IN_PROGRESS  # not ready: the needs are missing
    view = await service.get(pep.id, dt)
    assert [(p.section, p.field) for p in view.problems] == [
        ("send", "needs"),
        ("send", "provision"),
    ]
    outcome = await service.record_section(
        pep.id,
        "send",
        {**SEN, "needs": "Dyslexia", "provision": "Reading intervention"},
        dt,
        stored.version,
    )
    assert outcome.saved and outcome.pep.status is PepStatus.READY_FOR_MEETING


# ---- attendance: the threshold judged on the unrounded figure -------------------------


def sessions(possible: int, attended: int) -> dict[str, Any]:
    return {
        "possible_sessions": possible,
        "attended_sessions": attended,
        "unauthorised_sessions": 0,
        "explanation": None,
    }


def test_94_95_percent_needs_an_explanation_and_shows_as_94_9(
    child: Child, calendar: TermCalendar
) -> None:
    attendance = sessions(2000, 1899)  # 94.95 %
    assert attendance_needs_explanation(attendance, PepRules())
    assert attendance_percentage(attendance) == Decimal("94.9")
    ctx = context(child, calendar, {"attendance": attendance})
    assert FieldError(
        "attendance", "explanation", "explain this: attendance is 94.9%, below 95%"
    ) in missing_fields(ctx, "attendance")


def test_exactly_95_percent_needs_no_explanation() -> None:
    attendance = sessions(2000, 1900)
    assert not attendance_needs_explanation(attendance, PepRules())
    assert attendance_percentage(attendance) == Decimal("95.0")


def test_a_threshold_with_decimals_is_compared_exactly() -> None:
    rules = PepRules(attendance_threshold=Decimal("94.95"))
    assert not attendance_needs_explanation(sessions(2000, 1899), rules)  # 94.95 %
    assert attendance_needs_explanation(sessions(20000, 18989), rules)  # 94.945 %


# ---- exclusions: figures that contradict each other -----------------------------------


def exclusions(suspensions: int, days_lost: int, permanent: bool = False) -> dict[str, Any]:
    return {
        "suspensions": suspensions,
        "days_lost": days_lost,
        "permanent_exclusion": permanent,
        "details": "Two days; a reintegration plan",
    }


def test_school_days_lost_without_a_suspension_are_refused(
    child: Child, calendar: TermCalendar
) -> None:
    [error] = check_section(context(child, calendar), "exclusions", exclusions(0, 3))
    assert error == FieldError(
        "exclusions",
        "days_lost",
        "is 3, but 'Suspensions this year' is 0: record the suspensions, or 0 school days lost",
    )
    assert error.where() == "Exclusions and suspensions, School days lost to suspension"


@pytest.mark.parametrize(
    ("suspensions", "days_lost", "permanent"),
    [
        (0, 0, False),
        (1, 3, False),
        (2, 0, False),  # lunchtime suspensions lose under a day
        (0, 0, True),
    ],
)  # a permanent exclusion is not a suspension: no count goes with it
def test_consistent_exclusion_figures_are_accepted(
    child: Child, calendar: TermCalendar, suspensions: int, days_lost: int, permanent: bool
) -> None:
    assert (
        check_section(
            context(child, calendar), "exclusions", exclusions(suspensions, days_lost, permanent)
        )
        == []
    )


async def test_a_save_with_days_lost_and_no_suspension_is_refused(
    service: PepService, dt: Actor
) -> None:
    pep = await service.open_pep("LCS100001", "2026-autumn")
    outcome = await service.record_section(
        pep.id,
        "exclusions",
        {"suspensions": "0", "days_lost": "3", "permanent_exclusion": "no"},
        dt,
        pep.version,
    )
    assert [(e.field, e.message[:8]) for e in outcome.errors] == [("days_lost", "is 3, bu")]


def test_the_final_record_shows_94_95_percent_as_94_9_below_the_threshold() -> None:
    sections = forms_fixtures.every_field_content()
    sections["attendance"] = sessions(2000, 1899)
    text = forms_fixtures.all_text(render_final_record(forms_fixtures.after_meeting(sections)))
    assert "94.9% (below the 95% threshold)" in text
