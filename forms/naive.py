"""The same new-term form built with plain python-docx calls.

Used only by bench/bench_forms.py, to show what the prepared-template approach in
forms.new_term saves. python-docx has no content-control API, so the boxes are built
with its OxmlElement, as one would by hand.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import docx
from docx.enum.text import WD_BREAK
from docx.opc.constants import CONTENT_TYPE as CT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm

from forms import layout
from forms.form_data import FormData
from forms.new_term import FORM_KIND
from forms.package import custom_xml, identity_properties
from forms.tags import IDENTITY_TAG, choice_tag, options, sdt_id, text_tag
from forms.wordml import CHECKED, DATE_PLACEHOLDER, TEXT_PLACEHOLDER, UNCHECKED, clean
from pep_model.sections import FieldKind, FieldSpec, SectionSpec, display_value
from pep_model.terms import british_date


def _el(name: str, **attrs: str) -> Any:
    element = OxmlElement(name)
    for key, value in attrs.items():
        element.set(qn(key.replace("_", ":", 1)), value)
    return element


def _run(text: str, style: str = "") -> Any:
    r = _el("w:r")
    if style:
        rpr = _el("w:rPr")
        rpr.append(_el("w:rStyle", w_val=style))
        r.append(rpr)
    for i, line in enumerate(text.split("\n")):
        if i:
            r.append(_el("w:br"))
        t = _el("w:t")
        t.text = clean(line)
        t.set(qn("xml:space"), "preserve")
        r.append(t)
    return r


def _sdt(
    tag: str,
    alias: str,
    kind: str,
    text: str = "",
    checked: bool = False,
    day: date | None = None,
    locked: bool = False,
) -> Any:
    sdt, props, content = _el("w:sdt"), _el("w:sdtPr"), _el("w:sdtContent")
    props.append(_el("w:alias", w_val=clean(alias)))
    props.append(_el("w:tag", w_val=tag))
    props.append(_el("w:id", w_val=str(sdt_id(tag))))
    if locked:
        props.append(_el("w:lock", w_val="sdtContentLocked"))
    if kind == "checkbox":
        box = _el("w14:checkbox")
        box.append(_el("w14:checked", w14_val="1" if checked else "0"))
        box.append(_el("w14:checkedState", w14_val="2612", w14_font="MS Gothic"))
        box.append(_el("w14:uncheckedState", w14_val="2610", w14_font="MS Gothic"))
        props.append(box)
        content.append(_run(CHECKED if checked else UNCHECKED))
    elif kind == "date":
        if day is None:
            props.append(_el("w:showingPlcHdr"))
        picker = _el("w:date")
        if day is not None:
            picker.set(qn("w:fullDate"), f"{day.isoformat()}T00:00:00Z")
        picker.append(_el("w:dateFormat", w_val="dd/MM/yyyy"))
        picker.append(_el("w:lid", w_val="en-GB"))
        props.append(picker)
        content.append(
            _run(british_date(day)) if day else _run(DATE_PLACEHOLDER, "PlaceholderText")
        )
    else:
        if not text:
            props.append(_el("w:showingPlcHdr"))
        props.append(_el("w:text", w_multiLine="1") if kind == "multiline" else _el("w:text"))
        content.append(_run(text) if text else _run(TEXT_PLACEHOLDER, "PlaceholderText"))
    sdt.append(props)
    sdt.append(content)
    return sdt


def _fill_cell(cell: Any, spec: SectionSpec, f: FieldSpec, value: Any, n: int | None) -> None:
    alias = layout.control_alias(spec, f, n)
    p = cell.paragraphs[0]
    choices = options(f)
    if choices:
        chosen = layout.chosen_value(f, value)
        for choice, label in choices:
            p._p.append(
                _sdt(
                    choice_tag(spec.key, f.name, choice, n),
                    f"{alias}: {label}",
                    "checkbox",
                    checked=choice == chosen,
                )
            )
            p.add_run(f"\u00a0{label}   ")
        return
    tag = text_tag(spec.key, f.name, n)
    if f.kind is FieldKind.DATE:
        p._p.append(_sdt(tag, alias, "date", day=date.fromisoformat(value) if value else None))
        return
    kind = "multiline" if f.kind is FieldKind.LONG_TEXT else "text"
    p._p.append(_sdt(tag, alias, kind, display_value(f, value)))


def render_with_python_docx(data: FormData) -> bytes:
    doc = docx.Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.left_margin = section.right_margin = Cm(1.8)
    section.header.paragraphs[0].text = layout.SENSITIVITY
    section.footer.paragraphs[0].text = layout.footer_text(data)
    doc.add_paragraph(layout.FORM_TITLE, style="Title")
    doc.add_paragraph(layout.subtitle(data), style="Subtitle")
    note = doc.add_table(rows=1, cols=1)
    note.style = "Table Grid"
    note.cell(0, 0).text = "How to complete this form"
    for line in layout.how_to_complete(data):
        note.cell(0, 0).add_paragraph("•\t" + line)

    doc.add_heading(layout.CHILD_DETAILS, level=1)
    details = layout.child_details(data)
    table = doc.add_table(rows=len(details) + 1, cols=2)
    table.style = "Table Grid"
    for r, (label, value) in enumerate(details):
        table.cell(r, 0).text = label
        table.cell(r, 1).text = clean(value)
    table.cell(len(details), 0).text = "Form reference"
    table.cell(len(details), 1).paragraphs[0]._p.append(
        _sdt(IDENTITY_TAG, "Form reference", "text", data.pep.id, locked=True)
    )

    for index, (part, numbered) in enumerate(layout.stages()):
        heading = doc.add_heading(part, level=1)
        if index:
            heading.runs[0].add_break(WD_BREAK.PAGE)
        for number, spec in numbered:
            doc.add_heading(layout.section_heading(number, spec), level=2)
            doc.add_paragraph(spec.guidance)
            for hint in layout.hint_lines(spec):
                doc.add_paragraph(hint)
            content = layout.section_content(data, spec)
            if spec.fields:
                table = doc.add_table(rows=len(spec.fields), cols=2)
                table.style = "Table Grid"
                for r, f in enumerate(spec.fields):
                    table.cell(r, 0).text = f.label
                    if f.hint:
                        table.cell(r, 0).add_paragraph(f.hint)
                    _fill_cell(table.cell(r, 1), spec, f, content.get(f.name), None)
            if spec.is_table:
                rows = content.get("rows") or []
                count = layout.table_row_count(spec, len(rows))
                table = doc.add_table(rows=count + 1, cols=len(spec.row_fields))
                table.style = "Table Grid"
                for c, f in enumerate(spec.row_fields):
                    table.cell(0, c).text = f.label
                table.rows[0]._tr.get_or_add_trPr().append(_el("w:tblHeader"))
                for r in range(1, count + 1):
                    values = rows[r - 1] if r <= len(rows) else {}
                    for c, f in enumerate(spec.row_fields):
                        _fill_cell(table.cell(r, c), spec, f, values.get(f.name), r)
    doc.add_paragraph(f"End of the form. Return it within {data.return_days} days of the meeting.")

    pep = data.pep
    doc.core_properties.title = layout.FORM_TITLE
    doc.core_properties.subject = layout.document_subject(data)
    doc.core_properties.identifier = pep.id
    package = doc.part.package
    props = Part(
        PackURI("/docProps/custom.xml"),
        CT.OFC_CUSTOM_PROPERTIES,
        custom_xml(identity_properties(FORM_KIND, pep.id, pep.child_id, pep.term_id)).encode(),
        package,
    )
    package.relate_to(props, RT.CUSTOM_PROPERTIES)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
