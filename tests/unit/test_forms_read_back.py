"""Reading a completed form back: round trips, Word's ways of writing, and refusals."""

from __future__ import annotations

import copy
import io
import re
import zipfile

import docx
import pytest

from forms.final_record import render_final_record
from forms.new_term import render_new_term_form
from forms.read_back import NotAPepForm, read_form, to_content
from forms.tags import IDENTITY_TAG
from forms.wordml import TEXT_PLACEHOLDER
from pep_model.errors import FieldError
from pep_model.sections import SECTIONS, Content, empty_content
from tests.support.docx_fill import FormEditor, fill_text, set_date, tick, untick, w
from tests.unit.forms_fixtures import (
    CARRIED,
    carried_targets,
    every_field_content,
    fill_section,
    make_data,
    part,
    with_part,
    without_part,
)


@pytest.fixture(scope="module")
def blank() -> bytes:
    return render_new_term_form(make_data({"previous_targets": carried_targets()}))


def _read(form: bytes) -> tuple[dict[str, Content], list[FieldError]]:
    return to_content(read_form(form))


def _errors(errors: list[FieldError]) -> set[tuple[str, str, int | None]]:
    return {(e.section, e.field, e.row) for e in errors}


# ---- round trips ------------------------------------------------------------------


def test_every_field_typed_in_word_reads_back_exactly(blank: bytes) -> None:
    expected = every_field_content()
    expected["previous_targets"]["rows"] = [
        {**row, "target": target}
        for row, target in zip(expected["previous_targets"]["rows"], CARRIED, strict=True)
    ]
    editor = FormEditor(blank)
    for spec in SECTIONS:
        section = copy.deepcopy(expected[spec.key])
        if spec.key == "previous_targets":  # the targets are already there, carried
            for row in section["rows"]:
                row["target"] = None
        fill_section(editor, spec.key, section)
    content, errors = _read(editor.save())
    assert errors == []
    assert content == expected


def test_a_form_prefilled_with_everything_reads_back_unchanged() -> None:
    expected = every_field_content(rows=3)
    content, errors = _read(render_new_term_form(make_data(expected)))
    assert errors == []
    assert content == expected


def test_untouched_form_reads_as_empty_apart_from_carried_targets(blank: bytes) -> None:
    reading = read_form(blank)
    content, errors = to_content(reading)
    assert errors == []
    for spec in SECTIONS:
        if spec.key == "previous_targets":
            assert content[spec.key] == carried_targets()
        else:
            assert content[spec.key] == empty_content(spec.key), spec.key


def test_untouched_form_without_carried_targets_is_entirely_empty() -> None:
    content, errors = _read(render_new_term_form(make_data()))
    assert errors == []
    assert content == {s.key: empty_content(s.key) for s in SECTIONS}


def test_prefilled_previous_targets_come_back_unchanged(blank: bytes) -> None:
    form = (
        FormEditor(blank)
        .tick("c:previous_targets.2.outcome=partly_met")
        .fill_text("r:previous_targets.2.evidence", "Used it 3 times out of 5")
        .save()
    )
    content, errors = _read(form)
    assert errors == []
    assert content["previous_targets"]["rows"] == [
        {"target": CARRIED[0], "outcome": None, "evidence": None},
        {"target": CARRIED[1], "outcome": "partly_met", "evidence": "Used it 3 times out of 5"},
    ]


def test_identity_markers_read_back(blank: bytes) -> None:
    reading = read_form(blank)
    assert (reading.pep_id, reading.child_id, reading.term_id) == (
        "LCS204817-2026-autumn",
        "LCS204817",
        "2026-autumn",
    )


def test_identity_survives_losing_the_custom_properties(blank: bytes) -> None:
    reading = read_form(without_part(blank, "docProps/custom.xml"))
    assert (reading.pep_id, reading.child_id, reading.term_id) == (
        "LCS204817-2026-autumn",
        "LCS204817",
        "2026-autumn",
    )


def test_a_child_id_with_hyphens_splits_from_the_term() -> None:
    from tests.unit.forms_fixtures import make_child

    form = render_new_term_form(make_data(child=make_child("LCS-20-4817")))
    reading = read_form(without_part(form, "docProps/custom.xml"))
    assert (reading.child_id, reading.term_id) == ("LCS-20-4817", "2026-autumn")


# ---- what Word writes ---------------------------------------------------------------


def test_runs_breaks_tabs_and_paragraphs_join_with_newlines(blank: bytes) -> None:
    form = fill_text(blank, "f:voice.views", "First para\twith tab\nSecond para", paragraphs=True)
    form = fill_text(form, "f:wellbeing.strengths", "Line one of many words here\nLine two")
    form = (
        FormEditor(form)
        .set_raw(
            "f:carer.views",
            '<w:r><w:t>Spl</w:t></w:r><w:proofErr w:type="spellStart"/><w:r><w:rPr><w:b/>'
            '</w:rPr><w:t xml:space="preserve">it </w:t></w:r><w:proofErr w:type="spellEnd"/>'
            "<w:r><w:t>word</w:t><w:cr/><w:t>next</w:t><w:noBreakHyphen/><w:t>line</w:t></w:r>"
            "<w:del><w:r><w:delText>deleted</w:delText></w:r></w:del>"
            "<w:ins><w:r><w:t> added</w:t></w:r></w:ins>",
        )
        .save()
    )
    content, errors = _read(form)
    assert errors == []
    assert content["voice"]["views"] == "First para\twith tab\nSecond para"
    assert content["wellbeing"]["strengths"] == "Line one of many words here\nLine two"
    assert content["carer"]["views"] == "Split word\nnext-line added"


def test_placeholder_text_counts_as_empty_even_without_the_flag(blank: bytes) -> None:
    form = (
        FormEditor(blank)
        .set_raw("f:voice.views", f"<w:r><w:t>{TEXT_PLACEHOLDER}</w:t></w:r>")
        .save()
    )
    content, errors = _read(form)
    assert errors == [] and content["voice"]["views"] is None


def test_typed_text_counts_even_if_the_placeholder_flag_was_left(blank: bytes) -> None:
    editor = FormEditor(blank)
    sdt = editor.control("f:voice.views")
    next(sdt.iter(w("t"))).text = "Typed by someone"
    content, errors = _read(editor.save())
    assert errors == [] and content["voice"]["views"] == "Typed by someone"


def test_ticking_then_unticking_leaves_no_answer(blank: bytes) -> None:
    form = untick(tick(blank, "c:send.status=ehcp"), "c:send.status=ehcp")
    content, errors = _read(form)
    assert errors == [] and content["send"]["status"] is None


def test_dates_from_the_picker_or_typed(blank: bytes) -> None:
    form = set_date(blank, "f:next_pep.date", "2027-01-20")
    form = fill_text(form, "r:actions.1.due", "4/12/2026")
    form = fill_text(form, "r:actions.1.action", "Book the tutor")
    content, errors = _read(form)
    assert content["next_pep"]["date"] == "2027-01-20"
    assert content["actions"]["rows"][0]["due"] == "2026-12-04"
    assert _errors(errors) == set()


def test_xml_special_characters_and_emoji_survive(blank: bytes) -> None:
    text = 'He said "<no>" & then 🙂🎒 — café ∑'
    form = fill_text(blank, "f:voice.how_gathered", text)
    form = fill_text(form, "r:targets.1.owner", "Mr O'Brien & Ms <Lee>")
    content, _ = _read(form)
    assert content["voice"]["how_gathered"] == text
    assert content["targets"]["rows"][0]["owner"] == "Mr O'Brien & Ms <Lee>"


def test_text_typed_outside_the_boxes_is_ignored(blank: bytes) -> None:
    editor = FormEditor(blank)
    sdt = editor.control("f:voice.views")
    paragraph = sdt.getparent()
    run = paragraph.makeelement(w("r"))
    t = run.makeelement(w("t"))
    t.text = "typed beside the box"
    run.append(t)
    paragraph.append(run)
    content, errors = _read(editor.save())
    assert errors == [] and content["voice"]["views"] is None


def test_a_row_copied_in_word_reads_as_another_row(blank: bytes) -> None:
    editor = (
        FormEditor(blank)
        .fill_text("r:attainment.1.subject", "English")
        .tick("c:attainment.1.on_track=yes")
    )
    tr = next(editor.control("r:attainment.1.subject").iterancestors(w("tr")))
    tr.addnext(copy.deepcopy(tr))
    content, errors = _read(editor.save())
    assert errors == []
    assert [r["subject"] for r in content["attainment"]["rows"]] == ["English", "English"]


def test_a_row_added_without_boxes_is_reported_not_read(blank: bytes) -> None:
    editor = FormEditor(blank)
    tr = next(editor.control("r:targets.1.description").iterancestors(w("tr")))
    added = copy.deepcopy(tr)
    for sdt in list(added.iter(w("sdt"))):
        parent = sdt.getparent()
        for run in sdt.find(w("sdtContent")):
            parent.insert(parent.index(sdt), run)
        parent.remove(sdt)
    tr.addnext(added)
    content, errors = _read(editor.save())
    assert content["targets"]["rows"] == []
    assert _errors(errors) == {("targets", "rows", None)}


# ---- what cannot be read is an error, never a guess ----------------------------------


def test_two_boxes_ticked_is_an_error_for_that_field(blank: bytes) -> None:
    form = (
        FormEditor(blank)
        .tick("c:send.status=ehcp")
        .tick("c:send.status=none")
        .tick("c:exclusions.permanent_exclusion=yes")
        .tick("c:exclusions.permanent_exclusion=no")
        .tick("c:previous_targets.2.outcome=met")
        .tick("c:previous_targets.2.outcome=not_met")
        .save()
    )
    content, errors = _read(form)
    assert _errors(errors) == {
        ("send", "status", None),
        ("exclusions", "permanent_exclusion", None),
        ("previous_targets", "outcome", 1),
    }
    assert all("tick only one" in e.message for e in errors)
    assert content["send"]["status"] is None
    assert content["exclusions"]["permanent_exclusion"] is None
    assert content["previous_targets"]["rows"][1]["outcome"] is None
    assert "Review of previous SMART targets, previous target 2, Outcome" in [
        e.where() for e in errors
    ]


def test_two_ticks_in_an_otherwise_empty_row_still_report_the_row(blank: bytes) -> None:
    form = (
        FormEditor(blank)
        .tick("c:attainment.3.on_track=yes")
        .tick("c:attainment.3.on_track=no")
        .save()
    )
    content, errors = _read(form)
    assert _errors(errors) == {("attainment", "on_track", 0)}
    assert content["attainment"]["rows"] == [
        {"subject": None, "current": None, "expected": None, "on_track": None}
    ]


def test_an_unreadable_date_is_an_error_naming_the_field(blank: bytes) -> None:
    form = fill_text(blank, "f:send.ehcp_review_date", "next Tuesday")
    form = fill_text(form, "r:targets.1.due", "31/02/2027")
    form = fill_text(form, "r:targets.1.description", "Read daily")
    content, errors = _read(form)
    assert _errors(errors) == {("send", "ehcp_review_date", None), ("targets", "due", 0)}
    assert content["send"]["ehcp_review_date"] is None
    assert content["targets"]["rows"][0]["due"] is None
    assert {e.where() for e in errors} == {
        "SEND needs, Next EHCP annual review",
        "Current SMART targets, target 1, By when",
    }


def test_unreadable_numbers_and_money_are_errors(blank: bytes) -> None:
    form = fill_text(blank, "f:attendance.possible_sessions", "about 120")
    form = fill_text(form, "r:pupil_premium.1.amount", "five hundred")
    content, errors = _read(form)
    assert _errors(errors) == {
        ("attendance", "possible_sessions", None),
        ("pupil_premium", "amount", 0),
    }
    assert content["attendance"]["possible_sessions"] is None


def test_a_deleted_box_is_an_error(blank: bytes) -> None:
    form = (
        FormEditor(blank)
        .delete_control("f:voice.views")
        .delete_control("c:send.status=ehcp")
        .fill_text("r:targets.1.description", "Read")
        .delete_control("r:targets.1.owner")
        .save()
    )
    _, errors = _read(form)
    assert _errors(errors) == {
        ("voice", "views", None),
        ("send", "status", None),
        ("targets", "owner", 0),
    }
    assert all("missing" in e.message for e in errors)


def test_a_deleted_box_with_the_answer_ticked_elsewhere_is_read(blank: bytes) -> None:
    form = (
        FormEditor(blank)
        .delete_control("c:send.status=ehcp")
        .tick("c:send.status=sen_support")
        .save()
    )
    content, errors = _read(form)
    assert errors == [] and content["send"]["status"] == "sen_support"


def test_a_deleted_empty_row_loses_nothing(blank: bytes) -> None:
    editor = FormEditor(blank)
    tr = next(editor.control("r:actions.3.action").iterancestors(w("tr")))
    tr.getparent().remove(tr)
    _, errors = _read(editor.save())
    assert errors == []


def test_a_tick_whose_glyph_disagrees_is_an_error(blank: bytes) -> None:
    editor = FormEditor(blank).tick("c:send.status=ehcp")
    next(editor.control("c:send.status=ehcp").iter(w("t"))).text = "☐"
    content, errors = _read(editor.save())
    assert _errors(errors) == {("send", "status", None)}
    assert content["send"]["status"] is None


def test_a_copied_box_with_two_different_answers_is_an_error(blank: bytes) -> None:
    editor = FormEditor(blank).fill_text("f:voice.how_gathered", "Talked with DT")
    sdt = editor.control("f:voice.how_gathered")
    twin = copy.deepcopy(sdt)
    next(twin.iter(w("t"))).text = "Questionnaire"
    sdt.addnext(twin)
    content, errors = _read(editor.save())
    assert _errors(errors) == {("voice", "how_gathered", None)}
    assert content["voice"]["how_gathered"] is None


# ---- not a PEP form at all ------------------------------------------------------------


def test_not_a_pep_form_is_refused() -> None:
    plain = io.BytesIO()
    docx.Document().save(plain)
    with pytest.raises(NotAPepForm, match="not a PEP form"):
        read_form(plain.getvalue())


@pytest.mark.parametrize("data", [b"", b"not a zip at all", b"PK\x03\x04broken"])
def test_a_corrupt_file_is_refused(data: bytes) -> None:
    with pytest.raises(NotAPepForm, match="not a Word document"):
        read_form(data)


def test_a_zip_without_a_document_is_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(NotAPepForm, match="not a Word document"):
        read_form(out.getvalue())


def test_damaged_xml_is_refused(blank: bytes) -> None:
    with pytest.raises(NotAPepForm, match="damaged"):
        read_form(with_part(blank, "word/document.xml", b"<w:document"))


def test_the_final_record_is_not_a_form_to_read() -> None:
    with pytest.raises(NotAPepForm, match="record"):
        read_form(render_final_record(make_data()))


def test_a_form_whose_boxes_lost_their_tags_is_refused_clearly(blank: bytes) -> None:
    body = re.sub(rb'<w:tag w:val="[^"]*"/>', b"", part(blank, "word/document.xml"))
    with pytest.raises(NotAPepForm, match="boxes were lost"):
        read_form(with_part(blank, "word/document.xml", body))


def test_two_different_references_are_refused(blank: bytes) -> None:
    custom = part(blank, "docProps/custom.xml").replace(
        b"LCS204817-2026-autumn", b"LCS999999-2026-autumn"
    )
    with pytest.raises(NotAPepForm, match="two different PEP references"):
        read_form(with_part(blank, "docProps/custom.xml", custom))


def test_a_form_whose_reference_box_was_edited_is_refused(blank: bytes) -> None:
    form = FormEditor(blank).set_raw(IDENTITY_TAG, "<w:r><w:t>LCS1-2026-autumn</w:t></w:r>")
    with pytest.raises(NotAPepForm):
        read_form(form.save())
