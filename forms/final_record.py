"""The PEP after the meeting as a readable Word document (no boxes to fill).

A record for people and for the child's file: no internal status and no form
instructions (the sections' guidance is for whoever fills the form in). After quality
assurance the record is the finalised one — its QA grade and the Pupil Premium Plus
decisions included — and says that it is the version to file."""

from __future__ import annotations

from typing import Any

from forms import layout, wordml
from forms.form_data import FormData
from forms.layout import LABEL_WIDTH
from forms.new_term import VALUE_WIDTH, child_table_xml, row_widths, rows_table_start
from forms.package import build_docx, core_xml, custom_xml, identity_properties
from forms.wordml import cell, label_cell, row, runs, table_start, text_para
from pep_model.returns import FinalisedFacts
from pep_model.rules import attendance_exact, attendance_percentage
from pep_model.sections import FieldSpec, SectionSpec, display_value
from pep_model.terms import british_date

FORM_KIND = "final_record"
RECORD_TITLE = "Personal Education Plan: record"
FINALISED_TITLE = "Personal Education Plan: finalised record"
TO_FILE = "Finalised after quality assurance: this is the version to file."
PP_HEADING = "Pupil Premium Plus decisions"
PART_TITLES = ("The plan", "The meeting record")
_EMPTY = "Not recorded"
_GREY = '<w:rPr><w:i/><w:color w:val="808080"/></w:rPr>'


def _shown(spec: FieldSpec, value: Any) -> str:
    try:
        return display_value(spec, value)
    except (ValueError, TypeError):
        return str(value)  # stored as it came; never dropped


def _value_para(text: str) -> str:
    if not text:
        return wordml.para(runs(_EMPTY, _GREY), "CellText")
    return wordml.para(runs(text), "CellText")


def _day(value: Any) -> str:
    return british_date(value) if value else ""


def _summary_rows(data: FormData, finalised: FinalisedFacts | None) -> list[tuple[str, str]]:
    pep = data.pep
    pct = attendance_percentage(pep.section("attendance"))
    attendance = ""
    if pct is not None:
        exact = attendance_exact(pep.section("attendance"))
        below = exact is not None and exact < data.attendance_threshold  # unrounded
        attendance = f"{pct}%" + (
            f" (below the {data.attendance_threshold}% threshold)" if below else ""
        )
    rows = [("Meeting held on", _day(pep.meeting_held_on))]
    if finalised is not None:
        rows += [
            ("Finalised on", _day(finalised.finalised_on)),
            ("Quality assurance grade", finalised.qa_grade),
        ]
    return [*rows, ("Attendance this year", attendance)]


def _pupil_premium_xml(finalised: FinalisedFacts) -> str:
    out = [text_para(PP_HEADING, "Heading1")]
    if not finalised.pupil_premium:
        out.append(wordml.para(runs("No Pupil Premium Plus requests.", _GREY), "Note"))
        return "".join(out)
    widths = [LABEL_WIDTH, 1800, VALUE_WIDTH - 1800]
    out.append(table_start(widths))
    out.append(
        row(
            "".join(
                label_cell(w, label)
                for w, label in zip(widths, ("Purpose", "Requested", "Decision"), strict=True)
            )
        )
    )
    for line in finalised.pupil_premium:
        out.append(
            row(
                "".join(
                    cell(w, text_para(text, "CellText"))
                    for w, text in zip(
                        widths, (line.purpose, line.requested, line.decision), strict=True
                    )
                )
            )
        )
    out.append(wordml.TABLE_END)
    return "".join(out)


def _two_column(rows: list[tuple[str, str]]) -> str:
    out = [table_start([LABEL_WIDTH, VALUE_WIDTH])]
    out.extend(
        row(label_cell(LABEL_WIDTH, label) + cell(VALUE_WIDTH, _value_para(value)))
        for label, value in rows
    )
    out.append(wordml.TABLE_END)
    return "".join(out)


def _section_xml(number: int, spec: SectionSpec, content: dict[str, Any]) -> str:
    out = [text_para(layout.section_heading(number, spec), "Heading2")]
    if spec.fields:
        out.append(_two_column([(f.label, _shown(f, content.get(f.name))) for f in spec.fields]))
    if spec.is_table:
        rows = [r for r in content.get("rows") or [] if isinstance(r, dict)]
        if not rows:
            out.append(wordml.para(runs(f"No {spec.row_noun}s recorded.", _GREY), "Note"))
        else:
            widths = row_widths(spec)
            out.append(rows_table_start(spec))
            for values in rows:
                out.append(
                    row(
                        "".join(
                            cell(w, text_para(_shown(f, values.get(f.name)), "CellText"))
                            for w, f in zip(widths, spec.row_fields, strict=True)
                        )
                    )
                )
            out.append(wordml.TABLE_END)
    return "".join(out)


def document_xml(data: FormData, finalised: FinalisedFacts | None = None) -> str:
    pep = data.pep
    out = [
        wordml.DOCUMENT_START,
        text_para(FINALISED_TITLE if finalised else layout.FORM_TITLE, "Title"),
        text_para(f"Record of the PEP · {layout.subtitle(data)}", "Subtitle"),
    ]
    if finalised is not None:
        out.append(text_para(TO_FILE, "Heading2"))
    out += [
        _two_column(_summary_rows(data, finalised)),
        text_para(layout.CHILD_DETAILS, "Heading1"),
        child_table_xml(data, runs(pep.id)),
    ]
    for (_, numbered), title in zip(layout.stages(), PART_TITLES, strict=True):
        if numbered:
            out.append(text_para(title, "Heading1"))
            out.extend(
                _section_xml(n, spec, layout.section_content(data, spec)) for n, spec in numbered
            )
    if finalised is not None:
        out.append(_pupil_premium_xml(finalised))
    out.append(text_para(f"Produced by PEP Companion for {data.authority_name}.", "Guidance"))
    out.append(wordml.DOCUMENT_END)
    return "".join(out)


def render_final_record(data: FormData, finalised: FinalisedFacts | None = None) -> bytes:
    """The PEP as it stands (after the meeting) as a .docx a person reads and files;
    with `finalised`, the finalised record after QA (grade, PP+ decisions, marked as the
    version to file)."""
    pep = data.pep
    title = FINALISED_TITLE if finalised else RECORD_TITLE
    return build_docx(
        document_xml(data, finalised),
        wordml.header_xml(layout.SENSITIVITY),
        wordml.footer_xml(layout.footer_text(data, title)),
        core_xml(title, layout.document_subject(data), data.authority_name, pep.id),
        custom_xml(identity_properties(FORM_KIND, pep.id, pep.child_id, pep.term_id)),
    )
