"""The new-term PEP form: a .docx of content controls, prefilled from the PEP.

The parts that do not depend on the child (styles, headings, guidance, table
headers, every empty box) are built once per process and kept as strings; a form
is those strings joined with the child's own values, escaped, then zipped.
"""

from __future__ import annotations

import functools
from datetime import date
from typing import Any

from forms import layout, wordml
from forms.form_data import FormData
from forms.layout import LABEL_WIDTH
from forms.package import LEVEL, build_docx, core_xml, custom_xml, identity_properties
from forms.tags import IDENTITY_TAG, choice_tag, options, text_tag
from forms.wordml import (
    TEXT_WIDTH,
    cell,
    checkbox,
    date_control,
    label_cell,
    para,
    row,
    runs,
    table_start,
    text_control,
    text_para,
)
from pep_model.form_merge import FormBase, section_print
from pep_model.sections import SECTIONS, FieldKind, FieldSpec, SectionSpec, display_value

FORM_KIND = "pep_form"
_NBSP = "\u00a0"
VALUE_WIDTH = TEXT_WIDTH - LABEL_WIDTH


# ---- one place to type ---------------------------------------------------------------


def _boxes(spec: SectionSpec, f: FieldSpec, value: Any, n: int | None, stacked: bool) -> str:
    chosen = layout.chosen_value(f, value)
    alias = layout.control_alias(spec, f, n)
    pieces = []
    for choice, label in options(f):
        box = checkbox(
            choice_tag(spec.key, f.name, choice, n), f"{alias}: {label}", choice == chosen
        )
        pieces.append(box + runs(_NBSP + label.replace(" ", _NBSP)))
    if stacked:
        return "".join(para(p, "CellText") for p in pieces)
    return para(runs("   ").join(pieces), "CellText")


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def control_xml(spec: SectionSpec, f: FieldSpec, value: Any, n: int | None = None) -> str:
    """The paragraph(s) holding the box (or boxes) for one field, prefilled with `value`."""
    if options(f):
        return _boxes(spec, f, value, n, stacked=n is not None and len(options(f)) <= 4)
    tag = text_tag(spec.key, f.name, n)
    if f.kind is FieldKind.DATE:
        day = _date(value) if value else None
        if day is not None or not value:
            return para(date_control(tag, layout.control_alias(spec, f, n), day), "CellText")
        text = str(value)  # not a date: shown as it is, so nothing is lost
    else:
        text = display_value(f, value)
    return para(
        text_control(
            tag, layout.control_alias(spec, f, n), text, multiline=f.kind is FieldKind.LONG_TEXT
        ),
        "CellText",
    )


# ---- fragments built once --------------------------------------------------------------


@functools.cache
def row_widths(spec: SectionSpec) -> list[int]:
    return wordml.column_widths([layout.column_weight(f) for f in spec.row_fields])


def _field_row(spec: SectionSpec, f: FieldSpec, value: Any) -> str:
    return row(
        label_cell(LABEL_WIDTH, f.label, f.hint) + cell(VALUE_WIDTH, control_xml(spec, f, value)),
        min_height=layout.min_row_height((f,), False),
    )


@functools.cache
def _empty_field_row(spec: SectionSpec, name: str) -> str:
    return _field_row(spec, spec.field(name), None)


def _table_row(spec: SectionSpec, n: int, values: dict[str, Any]) -> str:
    widths = row_widths(spec)
    return row(
        "".join(
            cell(w, control_xml(spec, f, values.get(f.name), n))
            for w, f in zip(widths, spec.row_fields, strict=True)
        ),
        min_height=layout.min_row_height(spec.row_fields, True),
    )


@functools.cache
def _empty_table_row(spec: SectionSpec, n: int) -> str:
    return _table_row(spec, n, {})


@functools.cache
def _section_head(number: int, spec: SectionSpec) -> str:
    out = [
        text_para(layout.section_heading(number, spec), "Heading2"),
        text_para(spec.guidance, "Guidance"),
    ]
    out.extend(text_para(h, "Guidance") for h in layout.hint_lines(spec))
    return "".join(out)


@functools.cache
def rows_table_start(spec: SectionSpec) -> str:
    widths = row_widths(spec)
    spacer = wordml.SPACER if spec.fields else ""  # keeps Word from merging the tables
    return (
        spacer + table_start(widths) + wordml.header_row(widths, [f.label for f in spec.row_fields])
    )


_FIELDS_TABLE_START = table_start([LABEL_WIDTH, VALUE_WIDTH])
_MEETING_PPR = "<w:pageBreakBefore/>"


@functools.cache
def _part_heading(title: str, first: bool) -> str:
    return para(runs(title), "Heading1", "" if first else _MEETING_PPR)


# ---- the form --------------------------------------------------------------------------


def section_xml(number: int, spec: SectionSpec, content: dict[str, Any]) -> str:
    """One section: heading, guidance, its fields' table and/or its rows' table."""
    out = [_section_head(number, spec)]
    if spec.fields:
        out.append(_FIELDS_TABLE_START)
        for f in spec.fields:
            value = content.get(f.name)
            out.append(
                _empty_field_row(spec, f.name)
                if value in (None, "")
                else _field_row(spec, f, value)
            )
        out.append(wordml.TABLE_END)
    if spec.is_table:
        out.append(rows_table_start(spec))
        rows = [r for r in content.get("rows") or [] if isinstance(r, dict)]
        for n in range(1, layout.table_row_count(spec, len(rows)) + 1):
            out.append(
                _table_row(spec, n, rows[n - 1]) if n <= len(rows) else _empty_table_row(spec, n)
            )
        out.append(wordml.TABLE_END)
    return "".join(out)


def _sections_xml(data: FormData, out: list[str]) -> None:
    for index, (part, numbered) in enumerate(layout.stages()):
        if not numbered:
            continue
        out.append(_part_heading(part, index == 0))
        out.extend(
            section_xml(number, spec, layout.section_content(data, spec))
            for number, spec in numbered
        )


def _note_xml(data: FormData) -> str:
    lines = [text_para("How to complete this form", "CellLabel")]
    lines.extend(text_para("•\t" + line, "Note") for line in layout.how_to_complete(data))
    return (
        table_start([TEXT_WIDTH])
        + row(cell(TEXT_WIDTH, "".join(lines), wordml.NOTE_FILL))
        + wordml.TABLE_END
    )


def child_table_xml(data: FormData, reference: str) -> str:
    """The child details table; `reference` is the identity box's XML (or plain text)."""
    out = [table_start([LABEL_WIDTH, VALUE_WIDTH])]
    for label, value in layout.child_details(data):
        out.append(
            row(label_cell(LABEL_WIDTH, label) + cell(VALUE_WIDTH, text_para(value, "CellText")))
        )
    out.append(
        row(
            label_cell(LABEL_WIDTH, "Form reference")
            + cell(VALUE_WIDTH, para(reference, "CellText"))
        )
    )
    out.append(wordml.TABLE_END)
    return "".join(out)


def document_xml(data: FormData) -> str:
    pep = data.pep
    out = [
        wordml.DOCUMENT_START,
        text_para(layout.FORM_TITLE, "Title"),
        text_para(layout.subtitle(data), "Subtitle"),
        _note_xml(data),
        _part_heading(layout.CHILD_DETAILS, True),
        child_table_xml(data, wordml.locked_text_control(IDENTITY_TAG, "Form reference", pep.id)),
    ]
    _sections_xml(data, out)
    out.append(
        text_para(
            f"End of the form. Return it within {data.return_days} days of the meeting.", "Guidance"
        )
    )
    out.append(wordml.DOCUMENT_END)
    return "".join(out)


# the hidden data a form carries about what it was made from (docs/forms.md, "Merge")
PEP_VERSION, SECTION_VERSIONS, SECTION_PRINTS = "PepVersion", "SectionVersions", "SectionPrints"


def base_properties(data: FormData) -> dict[str, str]:
    """The PEP's version and each section's version and fingerprint as the form shows
    them: an upload changes only what the form's author changed from these."""
    pep = data.pep
    return {
        PEP_VERSION: str(pep.version),
        SECTION_VERSIONS: ",".join(
            f"{s.key}:{pep.section_versions.get(s.key, 0)}" for s in SECTIONS
        ),
        SECTION_PRINTS: ",".join(
            f"{s.key}:{section_print(layout.section_content(data, s))}" for s in SECTIONS
        ),
    }


def _pairs(text: str) -> dict[str, str]:
    found = {}
    for item in text.split(","):
        key, sep, value = item.partition(":")
        if sep and key.strip():
            found[key.strip()] = value.strip()
    return found


def read_base(props: dict[str, str]) -> FormBase:
    """What the form was made from; an old form (or one whose hidden data was damaged)
    is read as made from version 0 with no fingerprints: nothing changed in Teams is
    overwritten by it."""
    try:
        version = int(props.get(PEP_VERSION) or "0")
        versions = {k: int(v) for k, v in _pairs(props.get(SECTION_VERSIONS) or "").items()}
    except ValueError:
        return FormBase()
    prints = _pairs(props.get(SECTION_PRINTS) or "")
    if not prints:
        return FormBase()
    return FormBase(version, versions, prints)


def render_new_term_form(data: FormData, *, level: int = LEVEL) -> bytes:
    """The Word PEP form for the term, prefilled from `data.pep` (`level`: zlib level)."""
    pep = data.pep
    return build_docx(
        document_xml(data),
        wordml.header_xml(layout.SENSITIVITY),
        wordml.footer_xml(layout.footer_text(data)),
        core_xml(layout.FORM_TITLE, layout.document_subject(data), data.authority_name, pep.id),
        custom_xml(
            identity_properties(FORM_KIND, pep.id, pep.child_id, pep.term_id)
            | base_properties(data)
        ),
        level,
    )
