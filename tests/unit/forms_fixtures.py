"""Test data for the Word forms: a child, a term, a PEP, and content for every field.

`every_field_content()` is generated from SECTIONS, so a field added to the model is
covered by the round-trip tests with no change here.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date
from decimal import Decimal
from typing import Any

from lxml import etree

from forms.form_data import FormData
from forms.tags import choice_tag, options, text_tag
from pep_model.child import Child, School, SenStatus, YearGroup
from pep_model.pep import Pep
from pep_model.sections import SECTIONS, Content, FieldKind, FieldSpec, display_value
from pep_model.terms import Term, default_calendar
from pep_model.workflow import PepStatus
from tests.support.docx_fill import FormEditor

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
TERM: Term = default_calendar().get("2026-autumn")
SCHOOL = School("137245", "Oakfield Academy & Sixth Form")
CARRIED = [
    "Read for 20 minutes a day with carer & log it <daily>",
    "Use the calm-down card in maths lessons 🙂",
]


def make_child(lcs_id: str = "LCS204817", **changes: Any) -> Child:
    fields: dict[str, Any] = dict(
        first_name="Jordan",
        last_name="Ellis",
        date_of_birth=date(2014, 3, 9),
        year_group=YearGroup(7),
        school_urn=SCHOOL.urn,
        placement_type="Foster care (in authority)",
        carer_name="Sam & Alex Patel",
        legal_status="Section 31 (full care order)",
        sen_status=SenStatus.SEN_SUPPORT,
    )
    fields.update(changes)
    return Child(lcs_id=lcs_id, **fields)


def carried_targets() -> Content:
    return {"rows": [{"target": t, "outcome": None, "evidence": None} for t in CARRIED]}


def make_data(
    sections: dict[str, Content] | None = None, child: Child | None = None, **changes: Any
) -> FormData:
    child = child or make_child()
    pep = Pep(child.lcs_id, TERM.id, sections=dict(sections or {}))
    for name in ("status", "meeting_held_on", "return_due"):
        if name in changes:
            setattr(pep, name, changes.pop(name))
    fields: dict[str, Any] = dict(
        designated_teacher_name="Ms R. Okafor",
        social_worker_name="Dan Hughes",
        carer_name="Sam & Alex Patel",
        transition_reasons=["starting Year 7, a new phase"],
        attendance_threshold=Decimal(95),
    )
    fields.update(changes)
    return FormData(child, SCHOOL, TERM, pep, **fields)


# ---- a value for every field, from the model ---------------------------------------


def sample_value(f: FieldSpec, i: int) -> Any:
    if f.kind is FieldKind.TEXT:
        text = f"{f.label} {i} & <x> 🎒"
        return text if len(text) <= f.max_length else f"T{i}&<"[: f.max_length]
    if f.kind is FieldKind.LONG_TEXT:
        return f"{f.label} {i}: “quoted” & <angle> — ok\nsecond line 🎒\tafter a tab"
    if f.kind is FieldKind.INTEGER:
        return 10 + i
    if f.kind is FieldKind.MONEY:
        return 125_050 + i * 100
    if f.kind is FieldKind.DATE:
        return f"2027-0{1 + i % 9}-1{i % 10}"
    if f.kind is FieldKind.CHOICE:
        return f.choices[(i + 1) % len(f.choices)][0]
    if f.kind is FieldKind.FLAG:
        return i % 2 == 0
    raise AssertionError(f.kind)


def every_field_content(rows: int = 2) -> dict[str, Content]:
    content: dict[str, Content] = {}
    for spec in SECTIONS:
        section: Content = {f.name: sample_value(f, n) for n, f in enumerate(spec.fields)}
        if spec.is_table:
            section["rows"] = [
                {f.name: sample_value(f, r + n) for n, f in enumerate(spec.row_fields)}
                for r in range(rows)
            ]
        content[spec.key] = section
    return content


def fill_value(
    editor: FormEditor, key: str, f: FieldSpec, value: Any, row: int | None = None
) -> None:
    """Enter one content value as a person would in Word."""
    if value is None:
        return
    if options(f):
        chosen = ("yes" if value else "no") if f.kind is FieldKind.FLAG else str(value)
        editor.tick(choice_tag(key, f.name, chosen, row))
    elif f.kind is FieldKind.DATE:
        editor.set_date(text_tag(key, f.name, row), str(value))
    else:
        editor.fill_text(
            text_tag(key, f.name, row),
            display_value(f, value),
            paragraphs=f.kind is FieldKind.LONG_TEXT and row is None,
        )


def fill_section(editor: FormEditor, key: str, content: Content) -> None:
    spec = next(s for s in SECTIONS if s.key == key)
    for f in spec.fields:
        fill_value(editor, key, f, content.get(f.name))
    for n, values in enumerate(content.get("rows") or [], start=1):
        for f in spec.row_fields:
            fill_value(editor, key, f, values.get(f.name), n)


# ---- looking inside a .docx ---------------------------------------------------------


def part(docx: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(docx)) as archive:
        return archive.read(name)


def document(docx: bytes) -> Any:
    return etree.fromstring(part(docx, "word/document.xml"))


def all_text(docx: bytes) -> str:
    root = document(docx)
    return "\n".join("".join(p.itertext()) for p in root.iter(f"{W}p"))


def tags(docx: bytes) -> list[str]:
    return [t.get(f"{W}val") for t in document(docx).iter(f"{W}tag")]


def without_part(docx: bytes, name: str) -> bytes:
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(docx)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            if info.filename != name:
                dst.writestr(info.filename, src.read(info))
    return out.getvalue()


def with_part(docx: bytes, name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(docx)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            dst.writestr(info.filename, data if info.filename == name else src.read(info))
    return out.getvalue()


def after_meeting(sections: dict[str, Content]) -> FormData:
    return make_data(
        sections,
        status=PepStatus.AWAITING_RETURN,
        meeting_held_on=date(2026, 10, 14),
        return_due=date(2026, 10, 19),
    )
