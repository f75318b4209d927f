"""Realistic PEPs and a simulated Teams client for the card tests (no tests in here)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any

from pep_model.child import Child, SenStatus, YearGroup
from pep_model.errors import FieldError
from pep_model.pep import Pep
from pep_model.rules import PepRules
from pep_model.sections import SECTION_KEYS, empty_content
from pep_model.services import PepService, PepView
from pep_model.terms import default_calendar
from pep_model.workflow import PepStatus

TODAY = date(2026, 10, 1)
TERM_ID = "2026-autumn"
LEADS = [f"29:lead-{i}" for i in range(3)]


class FixedClock:
    def now(self) -> datetime:
        return datetime(2026, 10, 1, 9, 30, tzinfo=UTC)

    def today(self) -> date:
        return TODAY


SERVICE = PepService(
    uow=None,
    calendar=default_calendar(),
    rules=PepRules(),  # type: ignore[arg-type]
    clock=FixedClock(),
)

FIRST = ["Amara", "Ben", "Chloe", "Dylan", "Ella", "Finn", "Grace", "Harvey", "Isla", "Jayden"]
LAST = [
    "Okafor",
    "Hughes",
    "Nowak",
    "Patel",
    "Brown",
    "O'Neill",
    "Khan",
    "Smith",
    "Evans",
    "Taylor",
]


def make_child(i: int = 1, *, year: int = 7, transition: bool = False) -> Child:
    return Child(
        lcs_id=f"LCS1{i:05d}",
        first_name=FIRST[i % 10],
        last_name=LAST[(i // 10) % 10],
        date_of_birth=date(2014, 3, 1 + i % 27),
        year_group=YearGroup(year),
        school_urn="100001",
        placement_type="Foster care",
        carer_name="Mrs J Carter",
        sen_status=SenStatus.SEN_SUPPORT,
        transition_flag=transition,
    )


def full_sections() -> dict[str, dict[str, Any]]:
    """Every section filled in, in the JSON-native content form normalise_section makes."""
    return {
        "send": {
            "status": "sen_support",
            "needs": "Dyslexia; slow processing speed.\nFinds change of routine hard.",
            "provision": "Weekly 1:1 literacy with the SENCo; coloured overlays.",
            "ehcp_review_date": "2027-02-10",
        },
        "voice": {
            "views": '"I like art and Mr Hall. Maths is hard when it\'s noisy."',
            "how_gathered": "Talk with her key adult, using a feelings chart",
        },
        "attendance": {
            "possible_sessions": 120,
            "attended_sessions": 110,
            "unauthorised_sessions": 2,
            "explanation": "Two days of illness; two sessions late after contact.",
        },
        "exclusions": {
            "suspensions": 1,
            "days_lost": 2,
            "permanent_exclusion": False,
            "details": "One suspension in September; reintegration meeting held.",
        },
        "attainment": {
            "rows": [
                {
                    "subject": "English",
                    "current": "Working towards",
                    "expected": "Expected",
                    "on_track": "no",
                },
                {
                    "subject": "Maths",
                    "current": "Expected",
                    "expected": "Expected",
                    "on_track": "yes",
                },
                {
                    "subject": "Science",
                    "current": "Expected",
                    "expected": "Greater depth",
                    "on_track": "yes",
                },
            ]
        },
        "wellbeing": {
            "strengths": "Kind to younger pupils; loves art club.",
            "concerns": "Anxious at transitions between lessons.",
            "support": "Key adult check-in each morning; time-out card.",
        },
        "previous_targets": {
            "rows": [
                {
                    "target": "T1: Read daily for 10 minutes (owner: carer) by 01/07/2026",
                    "outcome": "partly_met",
                    "evidence": "Reading log 4 days a week.",
                },
                {
                    "target": "T2: Join a club (owner: key adult)",
                    "outcome": "met",
                    "evidence": "Art club every Tuesday.",
                },
            ]
        },
        "targets": {
            "rows": [
                {
                    "ref": "T1",
                    "description": "Read aloud 10 minutes daily with her carer.",
                    "owner": "Mrs Carter (carer)",
                    "due": "2026-12-11",
                    "measure": "Reading age up 6 months on the spring test.",
                    "support": "Phonics books from school.",
                },
                {
                    "ref": "T2",
                    "description": "Use the time-out card instead of leaving class.",
                    "owner": "Mr Hall (key adult)",
                    "due": "2026-12-18",
                    "measure": "Behaviour log: fewer than 2 walk-outs a half term.",
                    "support": None,
                },
            ]
        },
        "pupil_premium": {
            "rows": [
                {
                    "amount": 55000,
                    "purpose": "12 weeks of 1:1 reading tuition.",
                    "target": "T1",
                    "impact": "Reading age closer to chronological age.",
                }
            ]
        },
        "transition": {
            "plan": "Visits to the secondary school in June with her key adult.",
            "next_setting": "Hillside Academy",
            "start_date": "2027-09-02",
        },
        "carer": {
            "views": "She is more settled and reads with me most nights.",
            "role": "Reads with her; attends parents' evenings.",
        },
        "attendees": {
            "rows": [
                {"name": "Sam Hall", "role": "designated_teacher", "attended": "in_person"},
                {"name": "Priya Shah", "role": "social_worker", "attended": "teams"},
                {"name": "Jo Carter", "role": "carer", "attended": "phone"},
            ]
        },
        "summary": {"summary": "Good progress in reading; anxiety at transitions discussed."},
        "actions": {
            "rows": [
                {
                    "action": "Send the reading tuition invoice.",
                    "owner": "Sam Hall",
                    "due": "2026-10-30",
                },
                {
                    "action": "Arrange a sensory assessment.",
                    "owner": "Priya Shah",
                    "due": "2026-11-20",
                },
            ]
        },
        "next_pep": {"date": "2027-02-03", "reason": None},
    }


def make_pep(
    child: Child,
    *,
    full: bool = True,
    section: str = "send",
    status: PepStatus = PepStatus.IN_MEETING,
    version: int = 7,
) -> Pep:
    sections = full_sections() if full else {k: empty_content(k) for k in SECTION_KEYS}
    return Pep(
        child_id=child.lcs_id,
        term_id=TERM_ID,
        status=status,
        version=version,
        sections=sections,
        current_section=section,
        meeting_held_on=TODAY if status is PepStatus.AWAITING_RETURN else None,
        return_due=date(2026, 10, 6) if status is PepStatus.AWAITING_RETURN else None,
    )


def make_view(
    *,
    full: bool = True,
    section: str = "send",
    i: int = 1,
    transition: bool = False,
    status: PepStatus = PepStatus.IN_MEETING,
) -> PepView:
    child = make_child(i, transition=transition)
    return SERVICE.view(make_pep(child, full=full, section=section, status=status), child)


def sample_errors(key: str) -> list[FieldError]:
    """One error for the first field and one for the second row's first shown field."""
    from pep_model.sections import section_spec

    spec = section_spec(key)
    errors = []
    if spec.fields:
        errors.append(FieldError(key, spec.fields[0].name, f"check {key} first field"))
    if spec.is_table:
        shown = [f for f in spec.row_fields if f.name != "ref"]
        errors.append(FieldError(key, shown[0].name, f"check {key} row two", 1))
        errors.append(FieldError(key, "rows", f"check {key} rows overall"))
    return errors


# ---- a simulated Teams client ----------------------------------------------------


def walk(node: Any, *, into_show_cards: bool = True) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for key, value in node.items():
            if key == "data":
                continue
            if key == "card" and node.get("type") == "Action.ShowCard" and not into_show_cards:
                continue
            yield from walk(value, into_show_cards=into_show_cards)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value, into_show_cards=into_show_cards)


def inputs(card: Mapping[str, Any], *, into_show_cards: bool = False) -> dict[str, dict[str, Any]]:
    return {
        n["id"]: n
        for n in walk(card, into_show_cards=into_show_cards)
        if str(n.get("type", "")).startswith("Input.")
    }


def submitted_value(element: Mapping[str, Any]) -> Any:
    """What a Teams client sends for an input left as the card shows it."""
    kind = element["type"]
    if kind == "Input.Toggle":
        return element.get("value", element.get("valueOff", "false"))
    if kind == "Input.Number":
        return element.get("value", "")
    return element.get("value", "")


def find_action(card: Mapping[str, Any], verb: str) -> dict[str, Any]:
    for node in walk(card):
        if node.get("type") == "Action.Execute" and node.get("verb") == verb:
            return node
    raise AssertionError(f"no Action.Execute with verb {verb}")


def actions(card: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [n for n in walk(card) if n.get("type") == "Action.Execute"]


def submit(
    card: Mapping[str, Any], verb: str, changes: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The data an Action.Execute sends: its data merged with the card's inputs."""
    action = find_action(card, verb)
    values = {k: submitted_value(v) for k, v in inputs(card).items()}
    values.update(changes or {})
    return {**action.get("data", {}), **values}
