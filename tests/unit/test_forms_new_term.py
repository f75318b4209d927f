"""The new-term Word form: structure, controls, prefill and identity."""

from __future__ import annotations

import io
from collections import Counter

import docx
import pytest
from lxml import etree

from forms import layout
from forms.new_term import render_new_term_form
from forms.tags import IDENTITY_TAG, choice_tag, options, sdt_id, text_tag
from forms.wordml import DATE_PLACEHOLDER, TEXT_PLACEHOLDER
from pep_model.sections import SECTIONS, FieldKind, Stage
from tests.unit.forms_fixtures import (
    CARRIED,
    W,
    all_text,
    carried_targets,
    document,
    every_field_content,
    make_child,
    make_data,
    part,
    tags,
)

W14 = "{http://schemas.microsoft.com/office/word/2010/wordml}"
EXPECTED_ROWS = {"targets": 6, "attainment": 10, "pupil_premium": 4, "attendees": 10, "actions": 8}


@pytest.fixture(scope="module")
def blank_form() -> bytes:
    return render_new_term_form(
        make_data({"previous_targets": carried_targets(), "send": {"status": "sen_support"}})
    )


def _rows_in_form(form: bytes, key: str) -> int:
    return len(
        {
            t.split(".")[1]
            for t in tags(form)
            if t.startswith((f"r:{key}.", f"c:{key}.")) and t.count(".") == 2
        }
    )


def test_every_field_of_every_section_has_its_boxes(blank_form: bytes) -> None:
    found = set(tags(blank_form))
    expected = set()
    for spec in SECTIONS:
        rows = [None] if not spec.is_table else []
        for f in spec.fields:
            expected |= {choice_tag(spec.key, f.name, v) for v, _ in options(f)} or {
                text_tag(spec.key, f.name)
            }
        if spec.is_table:
            rows = list(range(1, _rows_in_form(blank_form, spec.key) + 1))
            assert rows, spec.key
        for n in rows:
            if n is None:
                continue
            for f in spec.row_fields:
                expected |= {choice_tag(spec.key, f.name, v, n) for v, _ in options(f)} or {
                    text_tag(spec.key, f.name, n)
                }
    assert expected <= found
    assert found - expected == {IDENTITY_TAG}


def test_tags_and_ids_are_unique(blank_form: bytes) -> None:
    found = tags(blank_form)
    assert [t for t, n in Counter(found).items() if n > 1] == []
    ids = [e.get(f"{W}val") for e in document(blank_form).iter(f"{W}id")]
    assert len(ids) == len(set(ids)) == len(found)
    # stable ids never collide for any row a form can have
    every = [
        text_tag(s.key, f.name, n) for s in SECTIONS for n in range(1, 40) for f in s.row_fields
    ]
    assert len({sdt_id(t) for t in every}) == len(every)


def test_table_sections_offer_sensible_rows(blank_form: bytes) -> None:
    for key, count in EXPECTED_ROWS.items():
        assert _rows_in_form(blank_form, key) == count, key
    assert _rows_in_form(blank_form, "previous_targets") == len(CARRIED)
    none_carried = render_new_term_form(make_data())
    assert _rows_in_form(none_carried, "previous_targets") == 3


def test_boxes_are_real_word_content_controls(blank_form: bytes) -> None:
    prefilled = []
    for sdt in document(blank_form).iter(f"{W}sdt"):
        props = sdt.find(f"{W}sdtPr")
        tag = props.find(f"{W}tag").get(f"{W}val")
        assert props.find(f"{W}alias").get(f"{W}val")
        text = "".join(sdt.find(f"{W}sdtContent").itertext())
        showing = props.find(f"{W}showingPlcHdr") is not None
        if tag.startswith("c:"):
            box = props.find(f"{W14}checkbox")
            assert box is not None and box.find(f"{W14}checked") is not None
            assert text in ("☐", "☒")
        elif props.find(f"{W}date") is not None:
            assert props.find(f"{W}date/{W}dateFormat").get(f"{W}val") == "dd/MM/yyyy"
            assert showing and text == DATE_PLACEHOLDER
        elif tag != IDENTITY_TAG:
            assert props.find(f"{W}text") is not None
            assert (text == TEXT_PLACEHOLDER) if showing else text
            if not showing:
                prefilled.append(tag)
    assert prefilled == [f"r:previous_targets.{n}.target" for n in (1, 2)]


def test_date_fields_are_date_pickers_and_choices_checkboxes(blank_form: bytes) -> None:
    root = document(blank_form)
    by_tag = {sdt.find(f"{W}sdtPr/{W}tag").get(f"{W}val"): sdt for sdt in root.iter(f"{W}sdt")}
    for spec in SECTIONS:
        for f in (*spec.fields, *spec.row_fields):
            n = 1 if f in spec.row_fields else None
            if f.kind is FieldKind.DATE:
                assert by_tag[text_tag(spec.key, f.name, n)].find(f"{W}sdtPr/{W}date") is not None
            for value, _ in options(f):
                assert (
                    by_tag[choice_tag(spec.key, f.name, value, n)].find(f"{W}sdtPr/{W14}checkbox")
                    is not None
                )


def test_prefill_carried_targets_and_sen_status(blank_form: bytes) -> None:
    text = all_text(blank_form)
    for target in CARRIED:
        assert target in text
    root = document(blank_form)
    ticked = [
        sdt.find(f"{W}sdtPr/{W}tag").get(f"{W}val")
        for sdt in root.iter(f"{W}sdt")
        if sdt.find(f"{W}sdtPr/{W14}checkbox/{W14}checked") is not None
        and sdt.find(f"{W}sdtPr/{W14}checkbox/{W14}checked").get(f"{W14}val") == "1"
    ]
    assert ticked == ["c:send.status=sen_support"]


def test_prefilled_everything_shows_values_and_dates_with_full_date() -> None:
    content = every_field_content()
    form = render_new_term_form(make_data(content))
    root = document(form)
    dates = [
        s.find(f"{W}sdtPr/{W}date")
        for s in root.iter(f"{W}sdt")
        if s.find(f"{W}sdtPr/{W}date") is not None and s.find(f"{W}sdtPr/{W}showingPlcHdr") is None
    ]
    assert dates and all(d.get(f"{W}fullDate", "").endswith("T00:00:00Z") for d in dates)
    assert _only_extra_rows_empty(form)


def _only_extra_rows_empty(form: bytes) -> bool:
    for sdt in document(form).iter(f"{W}sdt"):
        if sdt.find(f"{W}sdtPr/{W}showingPlcHdr") is not None:
            tag = sdt.find(f"{W}sdtPr/{W}tag").get(f"{W}val")
            if not tag.startswith("r:") or int(tag.split(".")[1]) <= 2:
                return False
    return True


def test_child_details_and_structure(blank_form: bytes) -> None:
    text = all_text(blank_form)
    for expected in (
        "Personal Education Plan",
        "Autumn term 2026",
        "Northvale County Council",
        "How to complete this form",
        "within 5 days of the meeting",
        "except the meeting summary and actions",
        "Child details",
        "LCS204817",
        "Jordan Ellis",
        "09/03/2014",
        "Year 7",
        "Oakfield Academy & Sixth Form",
        "Foster care (in authority)",
        "Sam & Alex Patel",
        "Section 31 (full care order)",
        "Dan Hughes",
        "Ms R. Okafor",
        "SEN support",
        "Yes: starting Year 7, a new phase",
        "below 95%",
    ):
        assert expected in text, expected
    headings = [
        "".join(p.itertext())
        for p in document(blank_form).iter(f"{W}p")
        if p.find(f"{W}pPr/{W}pStyle") is not None
        and p.find(f"{W}pPr/{W}pStyle").get(f"{W}val") in ("Heading1", "Heading2")
    ]
    titles = [h.split(". ", 1)[1] for h in headings if ". " in h]
    before = [s.title for s in SECTIONS if s.stage is not Stage.MEETING]
    meeting = [s.title for s in SECTIONS if s.stage is Stage.MEETING]
    assert titles == before + meeting
    cut = headings.index(layout.MEETING_HEADING)
    assert [h.split(". ", 1)[1] for h in headings[cut + 1 :]] == meeting
    for spec in SECTIONS:
        assert spec.guidance in text


def test_not_a_transition_case_says_no() -> None:
    text = all_text(render_new_term_form(make_data(transition_reasons=[])))
    assert "Transition case" in text and "\nNo\n" in f"\n{text}\n"


def test_identity_and_properties_without_the_childs_name(blank_form: bytes) -> None:
    opened = docx.Document(io.BytesIO(blank_form))
    props = opened.core_properties
    assert props.title == "Personal Education Plan"
    for value in (props.title, props.subject, props.identifier, props.author):
        assert "Jordan" not in value and "Ellis" not in value
    assert "LCS204817-2026-autumn" in props.subject
    custom = part(blank_form, "docProps/custom.xml").decode()
    assert "LCS204817-2026-autumn" in custom and "2026-autumn" in custom
    assert "Jordan" not in custom
    root = document(blank_form)
    ident = [
        s for s in root.iter(f"{W}sdt") if s.find(f"{W}sdtPr/{W}tag").get(f"{W}val") == IDENTITY_TAG
    ]
    assert len(ident) == 1
    assert ident[0].find(f"{W}sdtPr/{W}lock") is not None
    assert "".join(ident[0].find(f"{W}sdtContent").itertext()) == "LCS204817-2026-autumn"


def test_special_characters_and_invalid_xml_characters_are_safe() -> None:
    child = make_child(first_name="Zoë <b>&", last_name='O"Neil 🦊\x00\x0b\ud800')
    form = render_new_term_form(
        make_data(
            {"voice": {"views": 'Says: <I\'m "fine"> & 🙂\nnew line', "how_gathered": None}},
            child=child,
            designated_teacher_name="A & B <C>",
        )
    )
    for name in (
        "word/document.xml",
        "docProps/core.xml",
        "docProps/custom.xml",
        "word/footer1.xml",
    ):
        etree.fromstring(part(form, name))  # well-formed
    text = all_text(form)
    assert 'Zoë <b>& O"Neil 🦊' in text
    assert 'Says: <I\'m "fine"> & 🙂' in text and "A & B <C>" in text
    docx.Document(io.BytesIO(form))  # python-docx opens it


def test_forms_vary_by_child_and_stay_small() -> None:
    a = render_new_term_form(make_data(child=make_child("LCS1")))
    b = render_new_term_form(make_data(child=make_child("LCS2", first_name="Sam")))
    assert a != b and "LCS2" in all_text(b) and "LCS2" not in all_text(a)
    assert len(a) < 60_000


def test_a_section_with_both_fields_and_rows_gets_two_separate_tables() -> None:
    from forms.new_term import section_xml
    from forms.wordml import DOCUMENT_END, DOCUMENT_START
    from pep_model.sections import FieldSpec, SectionSpec

    spec = SectionSpec(
        "mixed",
        "Mixed",
        "Both kinds.",
        fields=(FieldSpec("note", "Note", FieldKind.TEXT),),
        row_fields=(
            FieldSpec("what", "What", FieldKind.TEXT),
            FieldSpec("done", "Done", FieldKind.FLAG),
        ),
    )
    xml = section_xml(3, spec, {"note": "n & <m>", "rows": [{"what": "x", "done": True}]})
    root = etree.fromstring((DOCUMENT_START + xml + DOCUMENT_END).encode())
    body = root.find(f"{W}body")
    kinds = [child.tag.rsplit("}", 1)[1] for child in body]
    assert kinds.count("tbl") == 2
    first, second = (i for i, k in enumerate(kinds) if k == "tbl")
    assert second - first == 2 and kinds[first + 1] == "p"
    tags_found = {t.get(f"{W}val") for t in root.iter(f"{W}tag")}
    assert {"f:mixed.note", "r:mixed.1.what", "c:mixed.1.done=yes"} <= tags_found
