"""Layout choices shared by the form, the final record and the python-docx comparison.

No field is named here: sizes come from each field's kind and length, sections from
SECTIONS. Only the number of empty rows offered per table is a layout choice.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from forms.form_data import FormData
from forms.tags import options
from pep_model.child import SEN_LABELS
from pep_model.sections import SECTIONS, FieldKind, FieldSpec, SectionSpec, Stage
from pep_model.terms import british_date

FORM_TITLE = "Personal Education Plan"
MEETING_HEADING = "To complete in the meeting"
BEFORE_HEADING = "To complete before the meeting"
CHILD_DETAILS = "Child details"
LABEL_WIDTH = 3300
SENSITIVITY = "OFFICIAL-SENSITIVE"

# Rows offered in each table of a new form (prefilled rows count towards them).
TABLE_ROWS = {"targets": 6, "attainment": 10, "pupil_premium": 4, "attendees": 10, "actions": 8}
DEFAULT_TABLE_ROWS = 4
CARRIED_SECTION = "previous_targets"  # as many rows as were carried, 3 when none
CARRIED_DEFAULT_ROWS = 3


def table_row_count(spec: SectionSpec, prefilled: int) -> int:
    if spec.key == CARRIED_SECTION:
        return prefilled or CARRIED_DEFAULT_ROWS
    wanted = TABLE_ROWS.get(spec.key, DEFAULT_TABLE_ROWS)
    if spec.max_rows:
        wanted = min(wanted, spec.max_rows)
    return max(wanted, prefilled)


def column_weight(spec: FieldSpec) -> float:
    if spec.kind is FieldKind.LONG_TEXT:
        return 3.2
    if spec.kind is FieldKind.DATE:
        return 1.9
    if spec.kind in (FieldKind.INTEGER, FieldKind.MONEY):
        return 1.1
    if spec.kind in (FieldKind.CHOICE, FieldKind.FLAG):
        labels = [label for _, label in options(spec)]
        longest = max(len(label) for label in labels)
        return min(3.4, max(1.3, (longest + 3) / 9 + (0.9 if len(labels) > 4 else 0)))
    return 1.25 if spec.max_length <= 10 else 1.7 if spec.max_length <= 100 else 2.0


def min_row_height(fields: tuple[FieldSpec, ...], in_table: bool) -> int:
    """Room to write by hand in a printed form: taller rows where paragraphs go."""
    if any(f.kind is FieldKind.LONG_TEXT for f in fields):
        return 700 if in_table else 1000
    return 0


def stages() -> Iterator[tuple[str, list[tuple[int, SectionSpec]]]]:
    """(part heading, [(section number, spec)]) in SECTIONS order, before then meeting."""
    numbered = list(enumerate(SECTIONS, start=1))
    before = [(n, s) for n, s in numbered if s.stage is not Stage.MEETING]
    meeting = [(n, s) for n, s in numbered if s.stage is Stage.MEETING]
    ordered = before + meeting
    renumbered = [(i, s) for i, (_, s) in enumerate(ordered, start=1)]
    yield BEFORE_HEADING, renumbered[: len(before)]
    yield MEETING_HEADING, renumbered[len(before) :]


def section_heading(number: int, spec: SectionSpec) -> str:
    return f"{number}. {spec.title}"


def hint_lines(spec: SectionSpec) -> list[str]:
    """Hints of a table's columns, shown under its guidance."""
    return [f"{f.label}: {f.hint}" for f in spec.row_fields if f.hint]


def child_details(data: FormData) -> list[tuple[str, str]]:
    child = data.child
    reasons = "; ".join(data.transition_reasons)
    transition = f"Yes: {reasons}" if reasons else "No"
    return [
        ("LCS id", child.lcs_id),
        ("Name", child.full_name),
        ("Date of birth", british_date(child.date_of_birth)),
        ("Year group", child.year_group.label),
        (
            "School",
            f"{data.school.name} (URN {data.school.urn})" if data.school.urn else data.school.name,
        ),
        ("Placement type", child.placement_type),
        ("Carer", data.carer),
        ("Legal status", child.legal_status),
        ("Social worker", data.social_worker_name),
        ("Designated teacher", data.designated_teacher_name),
        ("SEN status", SEN_LABELS.get(child.sen_status, str(child.sen_status))),
        ("Transition case", transition),
    ]


def how_to_complete(data: FormData) -> list[str]:
    due = data.pep.return_due
    when = f" (by {british_date(due)})" if due else ""
    return [
        "Complete every section in full before the PEP meeting, except the meeting "
        "summary and actions. Type in the boxes and tick one box for each choice; "
        "dates as dd/mm/yyyy.",
        f"Explain attendance below {data.attendance_threshold}% and any unauthorised "
        "absence. Last term's targets are carried forward for review.",
        "In the meeting, record who attended, the summary and actions, and set the date "
        "of next term's PEP.",
        f"Return the completed form to Social Care Business Support within "
        f"{data.return_days} days of the meeting{when}. Please do not delete the boxes: "
        "text typed outside them is not read.",
    ]


def subtitle(data: FormData) -> str:
    return f"{data.term.label} · {data.authority_name}"


def footer_text(data: FormData, title: str = FORM_TITLE) -> str:
    return f"{title} · LCS id {data.child.lcs_id} · {data.term.label}"


def document_subject(data: FormData) -> str:
    """The document's Subject property (File > Info in Word)."""
    return f"{data.term.label} · PEP {data.pep.id}"


def control_alias(spec: SectionSpec, f: FieldSpec, n: int | None) -> str:
    """The name Word shows for a box: the section and field, and the row of a table."""
    if n is None:
        return f"{spec.title}: {f.label}"
    return f"{spec.title}, {spec.row_noun} {n}: {f.label}"


def chosen_value(f: FieldSpec, value: Any) -> str | None:
    """The choice a stored value ticks (a flag: 'yes' / 'no'); None when unanswered."""
    if value is None or value == "":
        return None
    if f.kind is FieldKind.FLAG:
        return "yes" if value else "no"
    return str(value)


def section_content(data: FormData, spec: SectionSpec) -> dict[str, Any]:
    return data.pep.section(spec.key)
