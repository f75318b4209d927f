"""Typed-in section values that make a complete PEP, and a helper that records them."""

from __future__ import annotations

from datetime import date
from typing import Any

from pep_model.access import Actor
from pep_model.child import Child, SenStatus, YearGroup
from pep_model.rules import PepContext, PepRules, number_targets
from pep_model.sections import Content, normalise_section
from pep_model.services import PepService
from pep_model.terms import TermCalendar
from tests.unit.fakes import InMemoryUnitOfWorkFactory

TODAY = date(2026, 11, 16)


def make_child(
    lcs_id: str = "LCS100001", year: int = 7, urn: str = "100001", **changes: Any
) -> Child:
    fields: dict[str, Any] = {
        "first_name": "Ada",
        "last_name": "Fenwick",
        "date_of_birth": date(2015, 5, 1),
        "year_group": YearGroup(year),
        "school_urn": urn,
        "sen_status": SenStatus.NONE,
    }
    fields.update(changes)
    return Child(lcs_id=lcs_id, **fields)


def complete_raw() -> dict[str, dict[str, Any]]:
    """Every section completed before the meeting, as a person would type it.

    Order matters when recorded one by one: targets before the PP+ request naming T1.
    """
    return {
        "send": {"status": "No identified SEN"},
        "voice": {
            "views": "I like science and football.\nMaths is hard.",
            "how_gathered": "Talked with Mrs Pemberton",
        },
        "attendance": {
            "possible_sessions": "120",
            "attended_sessions": "116",
            "unauthorised_sessions": "0",
        },
        "exclusions": {"suspensions": "0", "days_lost": "0", "permanent_exclusion": "no"},
        "attainment": {
            "rows": [
                {
                    "subject": "English",
                    "current": "Working towards",
                    "expected": "Expected",
                    "on_track": "yes",
                },
                {
                    "subject": "Maths",
                    "current": "Emerging",
                    "expected": "Expected",
                    "on_track": "No",
                },
            ]
        },
        "wellbeing": {
            "strengths": "Settled well in tutor group.",
            "support": "Key adult check-in each morning.",
        },
        "previous_targets": {"rows": []},
        "targets": {
            "rows": [
                {
                    "description": "Read for 20 minutes every day",
                    "owner": "Carer",
                    "due": "12/02/2027",
                    "measure": "Reading log signed weekly",
                },
                {
                    "description": "Use the time-out card instead of leaving class",
                    "owner": "Head of Year 7",
                    "due": "2027-03-19",
                    "measure": "Behaviour log incidents halve",
                    "support": "Mentor sessions",
                },
            ]
        },
        "pupil_premium": {
            "rows": [
                {
                    "amount": "£300",
                    "purpose": "Reading tutor, 10 sessions",
                    "target": "T1",
                    "impact": "Reading age up by 6 months",
                }
            ]
        },
        "transition": {
            "plan": "Weekly check-ins with the Year 7 mentor this half term.",
            "next_setting": "",
            "start_date": "",
        },
        "carer": {
            "views": "Ada is happier at the new school.",
            "role": "Reads with her each evening.",
        },
    }


def meeting_raw() -> dict[str, dict[str, Any]]:
    """The meeting record that lets a 2026-autumn meeting finish."""
    return {
        "attendees": {
            "rows": [
                {"name": "Harriet Pemberton", "role": "designated_teacher", "attended": "teams"},
                {"name": "Rachel Donnelly", "role": "Social worker", "attended": "In person"},
            ]
        },
        "summary": {"summary": "Good start at secondary school; reading is the focus."},
        "actions": {
            "rows": [{"action": "Book the reading tutor", "owner": "DT", "due": "04/12/2026"}]
        },
        "next_pep": {"date": "20/01/2027", "reason": ""},
    }


def content_of(raw: dict[str, dict[str, Any]]) -> dict[str, Content]:
    """Normalised content for each section (asserting the raw values are valid)."""
    result = {}
    for key, values in raw.items():
        content, errors = normalise_section(key, values)
        assert not errors, errors
        result[key] = number_targets(content) if key == "targets" else content
    return result


def context(
    child: Child,
    calendar: TermCalendar,
    sections: dict[str, Content] | None = None,
    *,
    term_id: str = "2026-autumn",
    rules: PepRules | None = None,
    today: date = TODAY,
) -> PepContext:
    return PepContext(
        child, calendar.get(term_id), calendar, rules or PepRules(), today, sections or {}
    )


async def record(
    service: PepService,
    factory: InMemoryUnitOfWorkFactory,
    pep_id: str,
    key: str,
    raw: dict[str, Any],
    actor: Actor,
) -> Any:
    """Save one section at the PEP's current version, as a fresh card would."""
    version = factory.stored_pep(pep_id).version
    return await service.record_section(pep_id, key, raw, actor, version)


async def fill_complete(
    service: PepService,
    factory: InMemoryUnitOfWorkFactory,
    pep_id: str,
    actor: Actor,
    raw: dict[str, dict[str, Any]] | None = None,
) -> None:
    for key, values in (raw or complete_raw()).items():
        outcome = await record(service, factory, pep_id, key, values, actor)
        assert outcome.saved, outcome.errors
