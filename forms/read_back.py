"""Reading a completed PEP form back: the boxes' values, never a guess.

Only content controls this project wrote are read (by their tags); text typed
outside them is not read, and the sections where that happened are named (`outside`).
A table row is the Word table row its boxes sit in, so rows
a teacher copied or deleted in Word are read as they stand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

from forms.new_term import FORM_KIND, read_base
from forms.outside_text import typed_outside
from forms.package import PROPERTY_PREFIX
from forms.safe_docx import DocxRefused, read_parts
from forms.tags import IDENTITY_TAG, Tag, options, parse_tag
from forms.wordml import CHECKED, DATE_PLACEHOLDER, TEXT_PLACEHOLDER, UNCHECKED, W14_NS, W_NS
from pep_model.errors import FieldError, PepError
from pep_model.form_import import ReturnedForm
from pep_model.form_merge import FormBase
from pep_model.sections import SECTIONS, Content, FieldSpec, SectionSpec, normalise_section
from pep_model.terms import parse_term_id

_W = f"{{{W_NS}}}"
_W14 = f"{{{W14_NS}}}"
_SDT, _SDT_PR, _SDT_CONTENT = _W + "sdt", _W + "sdtPr", _W + "sdtContent"
_TAG, _VAL, _TR, _P, _R = _W + "tag", _W + "val", _W + "tr", _W + "p", _W + "r"
_T, _TAB, _BR, _CR = _W + "t", _W + "tab", _W + "br", _W + "cr"
_NB_HYPHEN = _W + "noBreakHyphen"
_TBL, _TR_PR, _TBL_HEADER = _W + "tbl", _W + "trPr", _W + "tblHeader"
_CHECKBOX, _CHECKED, _W14_VAL = _W14 + "checkbox", _W14 + "checked", _W14 + "val"
_PLACEHOLDERS = {
    TEXT_PLACEHOLDER,
    DATE_PLACEHOLDER,
    "Click here to enter text.",
    "Click here to enter a date.",
    "Choose an item.",
}
# what we write, and the other ways a box is seen ticked in Word
_TICKED_GLYPHS, _EMPTY_GLYPHS = {CHECKED, *"☑✓✔xX"}, {UNCHECKED}
_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True
)
_TERM_AT_END = re.compile(r"-(\d{4}-[a-z]+)$")


class NotAPepForm(PepError):
    """The file is not a PEP form this service wrote (or cannot be opened at all)."""


@dataclass
class FormReading:
    pep_id: str
    child_id: str
    term_id: str
    # per section, raw values in the shape normalise_section takes
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[FieldError] = field(default_factory=list)
    base: FormBase = field(default_factory=FormBase)  # what the form was made from
    outside: list[str] = field(default_factory=list)  # sections with text outside boxes


# ---- opening the file --------------------------------------------------------------


def _open(docx: bytes) -> tuple[bytes, bytes | None]:
    # through forms.safe_docx: sizes, ratio and member count checked before inflating
    try:
        parts = read_parts(docx, ("word/document.xml", "docProps/custom.xml"))
    except DocxRefused as exc:
        raise NotAPepForm(str(exc)) from exc
    if "word/document.xml" not in parts:
        raise NotAPepForm(
            "This file is not a Word document (.docx): it has no "
            "document body. Please return the PEP form you were sent."
        )
    return parts["word/document.xml"], parts.get("docProps/custom.xml")


def _properties(custom: bytes | None) -> dict[str, str]:
    if not custom:
        return {}
    try:
        root = etree.fromstring(custom, _PARSER)
    except etree.XMLSyntaxError:
        return {}
    found = {}
    for prop in root:
        name = str(prop.get("name") or "")
        if name.startswith(PROPERTY_PREFIX):
            found[name[len(PROPERTY_PREFIX) :]] = "".join(prop.itertext()).strip()
    return found


def _split_pep_id(pep_id: str) -> tuple[str, str]:
    match = _TERM_AT_END.search(pep_id)
    if match:
        try:
            parse_term_id(match.group(1))
            return pep_id[: match.start()], match.group(1)
        except ValueError:
            pass
    raise NotAPepForm(f"The form's reference '{pep_id}' is not a PEP reference.")


# ---- what a box holds ------------------------------------------------------------


def _box_text(sdt: Any) -> str:
    """The text a person sees in a box; empty while it shows only the placeholder.

    Judged by the text, not by w:showingPlcHdr alone: an editor that keeps the flag
    after someone typed must not make their words disappear.
    """
    content = sdt.find(_SDT_CONTENT)
    if content is None:
        return ""
    parts: list[str] = []
    paragraphs = 0
    for el in content.iter(_T, _TAB, _BR, _CR, _P, _NB_HYPHEN):
        tag = el.tag
        if tag == _T:
            parts.append(el.text or "")
        elif tag == _P:
            if paragraphs:
                parts.append("\n")
            paragraphs += 1
        elif el.getparent().tag != _R:
            continue  # a tab stop in paragraph properties, not a typed tab
        elif tag == _TAB:
            parts.append("\t")
        elif tag == _NB_HYPHEN:
            parts.append("-")
        else:
            parts.append("\n")
    text = "".join(parts)
    return "" if text.strip() in _PLACEHOLDERS else text


def _box_ticked(sdt: Any) -> bool | None:
    """True/False for a checkbox; None when the tick and the glyph disagree."""
    props = sdt.find(_SDT_PR)
    box = props.find(_CHECKBOX) if props is not None else None
    state = None
    if box is not None:
        checked = box.find(_CHECKED)
        raw = checked.get(_W14_VAL) if checked is not None else "0"
        state = str(raw).strip().lower() in ("1", "true", "on")
    content = sdt.find(_SDT_CONTENT)
    glyph = "".join(content.itertext()).strip() if content is not None else ""
    shown = True if glyph in _TICKED_GLYPHS else False if glyph in _EMPTY_GLYPHS else None
    if state is None:
        return bool(shown)
    if shown is not None and shown != state:
        return None
    return state


# ---- gathering the boxes ----------------------------------------------------------


@dataclass
class _Values:
    """Everything found for one field (a box may have been copied)."""

    texts: list[str] = field(default_factory=list)
    ticks: dict[str, list[bool | None]] = field(default_factory=dict)

    def add(self, tag: Tag, sdt: Any) -> None:
        if tag.kind == "c":
            self.ticks.setdefault(str(tag.value), []).append(_box_ticked(sdt))
        else:
            self.texts.append(_box_text(sdt))


@dataclass
class _Section:
    fields: dict[str, _Values] = field(default_factory=dict)
    rows: dict[Any, dict[str, _Values]] = field(default_factory=dict)  # w:tr -> fields
    tables: list[Any] = field(default_factory=list)
    field_rows: list[Any] = field(default_factory=list)  # w:tr of single-value boxes


def _gather(root: Any) -> tuple[dict[str, _Section], list[str]]:
    sections: dict[str, _Section] = {}
    identity: list[str] = []
    for sdt in root.iter(_SDT):
        props = sdt.find(_SDT_PR)
        tag_el = props.find(_TAG) if props is not None else None
        if tag_el is None:
            continue
        raw_tag = str(tag_el.get(_VAL) or "")
        if raw_tag == IDENTITY_TAG:
            identity.append(_box_text(sdt).strip())
            continue
        tag = parse_tag(raw_tag)
        if tag is None:
            continue
        section = sections.setdefault(tag.section, _Section())
        if tag.row is None:
            section.fields.setdefault(tag.field, _Values()).add(tag, sdt)
            field_tr = next(sdt.iterancestors(_TR), None)
            if field_tr is not None and field_tr not in section.field_rows:
                section.field_rows.append(field_tr)
            continue
        tr = next(sdt.iterancestors(_TR), None)
        if tr is None:
            continue  # a row box moved out of its table: nothing to tie it to
        section.rows.setdefault(tr, {}).setdefault(tag.field, _Values()).add(tag, sdt)
        table = tr.getparent()
        if table is not None and table not in section.tables:
            section.tables.append(table)
    return sections, identity


# ---- values, with a problem instead of a guess ---------------------------------


@dataclass
class _Problem:
    field: str
    message: str


def _field_value(spec: FieldSpec, found: _Values | None, problems: list[_Problem]) -> str | None:
    choices = options(spec)
    if found is None or (choices and not found.ticks) or (not choices and not found.texts):
        problems.append(
            _Problem(
                spec.name,
                "the box for this answer is missing from the form; it may have been deleted",
            )
        )
        return None
    if choices:
        return _choice_value(spec, choices, found, problems)
    typed = [t for t in found.texts if t.strip()]
    if len({t.strip() for t in typed}) > 1:
        problems.append(
            _Problem(spec.name, "this box appears more than once with different answers; keep one")
        )
        return " | ".join(typed)
    return typed[0] if typed else ""


def _choice_value(
    spec: FieldSpec, choices: tuple[tuple[str, str], ...], found: _Values, problems: list[_Problem]
) -> str | None:
    labels = dict(choices)
    unclear = [v for v, states in found.ticks.items() if None in states]
    ticked = [v for v, states in found.ticks.items() if True in states]
    if unclear:
        problems.append(
            _Problem(
                spec.name,
                "a box's tick cannot be read ("
                + ", ".join(labels.get(v, v) for v in unclear)
                + "); untick it and tick it again in Word",
            )
        )
        return " + ".join(labels.get(v, v) for v in unclear + ticked)
    if len(ticked) > 1:
        problems.append(
            _Problem(
                spec.name,
                "tick only one box (ticked: " + ", ".join(labels.get(v, v) for v in ticked) + ")",
            )
        )
        return " + ".join(labels.get(v, v) for v in ticked)
    if ticked:
        return ticked[0]
    if any(v not in found.ticks for v, _ in choices):
        problems.append(
            _Problem(
                spec.name,
                "some boxes for this answer are missing from the form; it may have been deleted",
            )
        )
    return None


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _unknown(
    found: dict[str, _Values], spec_fields: tuple[FieldSpec, ...], raw: dict[str, Any]
) -> None:
    """Boxes for fields the model no longer has: passed on so normalising reports them."""
    known = {f.name for f in spec_fields}
    for name, values in found.items():
        if name in known:
            continue
        value = next((t for t in values.texts if t.strip()), None) or next(
            (v for v, states in values.ticks.items() if True in states), None
        )
        if value is not None:
            raw[name] = value


def _outside_text(spec: SectionSpec, section: _Section) -> list[FieldError]:
    """Rows added in Word without boxes: what was typed there is not read; say so."""
    problems = []
    for table in section.tables:
        for tr in table.iterchildren(_TR):
            if tr in section.rows:
                continue
            tr_pr = tr.find(_TR_PR)
            if tr_pr is not None and tr_pr.find(_TBL_HEADER) is not None:
                continue
            if "".join(tr.itertext()).strip():
                problems.append(
                    FieldError(
                        spec.key,
                        "rows",
                        "text typed in a table row without boxes was not "
                        f"read; type each {spec.row_noun} into the boxes of an empty row",
                    )
                )
    return problems


def _read_section(
    spec: SectionSpec, section: _Section | None, problems: list[FieldError]
) -> dict[str, Any]:
    section = section or _Section()
    raw: dict[str, Any] = {}
    found_problems: list[_Problem] = []
    for f in spec.fields:
        raw[f.name] = _field_value(f, section.fields.get(f.name), found_problems)
    problems.extend(FieldError(spec.key, p.field, p.message) for p in found_problems)
    _unknown(section.fields, spec.fields, raw)
    if not spec.is_table:
        return raw
    rows: list[dict[str, Any]] = []
    for row_found in section.rows.values():
        row_raw: dict[str, Any] = {}
        row_problems: list[_Problem] = []
        for f in spec.row_fields:
            row_raw[f.name] = _field_value(f, row_found.get(f.name), row_problems)
        _unknown(row_found, spec.row_fields, row_raw)
        if all(_blank(v) for v in row_raw.values()):
            continue  # an empty row; its missing boxes lose nothing
        problems.extend(FieldError(spec.key, p.field, p.message, len(rows)) for p in row_problems)
        rows.append(row_raw)
    if not section.rows:
        problems.append(
            FieldError(
                spec.key,
                "rows",
                "the table for this section is missing from the form; it may have been deleted",
            )
        )
    problems.extend(_outside_text(spec, section))
    raw["rows"] = rows
    return raw


# ---- the API -----------------------------------------------------------------------


def read_form(docx: bytes) -> FormReading:
    """Read a PEP form as returned by a school. Raises NotAPepForm for anything else."""
    body, custom = _open(docx)
    props = _properties(custom)
    kind = props.get("Form")
    if kind and kind != FORM_KIND:
        raise NotAPepForm(
            "This document is a PEP record, not a PEP form to complete; "
            "please return the PEP form you were sent."
        )
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise NotAPepForm(
            "This Word document is damaged and cannot be read; please save "
            "the PEP form again in Word and send it."
        ) from exc
    found, identity = _gather(root)
    pep_id = props.get("PepId") or ""
    marked = {i for i in identity if i}
    if len(marked) > 1 or (pep_id and marked and marked != {pep_id}):
        raise NotAPepForm(
            "This form carries two different PEP references, so it cannot be "
            "matched to a child's PEP safely."
        )
    pep_id = pep_id or next(iter(marked), "")
    if not pep_id:
        raise NotAPepForm(
            "This is not a PEP form from this service: it has no PEP "
            "reference. Please return the PEP form you were sent."
        )
    child_id, term_id = props.get("ChildId") or "", props.get("TermId") or ""
    if not (child_id and term_id):
        child_id, term_id = _split_pep_id(pep_id)
    if not found:
        raise NotAPepForm(
            "This PEP form's boxes were lost when it was saved, so nothing in "
            "it can be read. Some programs other than Microsoft Word remove "
            "them; please complete the form you were sent in Word."
        )
    problems: list[FieldError] = []
    sections = {spec.key: _read_section(spec, found.get(spec.key), problems) for spec in SECTIONS}
    outside = [
        spec.key
        for spec in SECTIONS
        if spec.key in found
        and typed_outside(spec, [*found[spec.key].field_rows, *found[spec.key].rows])
    ]
    return FormReading(pep_id, child_id, term_id, sections, problems, read_base(props), outside)


def to_content(reading: FormReading) -> tuple[dict[str, Content], list[FieldError]]:
    """Each section normalised; a field with a problem is empty and carries that problem."""
    contents: dict[str, Content] = {}
    errors: list[FieldError] = []
    for spec in SECTIONS:
        raw = reading.sections.get(spec.key)
        if raw is None:
            continue
        problems = [p for p in reading.problems if p.section == spec.key]
        flagged = {(p.field, p.row) for p in problems}
        content, found = normalise_section(spec.key, raw)
        for field_name, row in flagged:
            if field_name == "rows":
                continue  # about the table as a whole; the rows read stay
            if row is None and field_name in content:
                content[field_name] = None
            elif row is not None and row < len(content.get("rows") or []):
                content["rows"][row][field_name] = None
        errors.extend(problems)
        errors.extend(e for e in found if (e.field, e.row) not in flagged)
        contents[spec.key] = content
    return contents, errors


def returned_form(reading: FormReading) -> ReturnedForm:
    """A reading as the model takes it (pep_model.form_import): answers normalised,
    each problem by section and field."""
    contents, errors = to_content(reading)
    return ReturnedForm(
        reading.child_id, reading.term_id, contents, errors, reading.base, reading.outside
    )
