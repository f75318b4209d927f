"""The Word documents open in a real word processor: LibreOffice converts the new-term
form, a filled-in form and the final record to PDF, and the text is all there."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from forms.final_record import render_final_record
from forms.new_term import render_new_term_form
from forms.read_back import read_form, to_content
from pep_model.sections import SECTIONS
from tests.support.docx_fill import FormEditor
from tests.support.tools import unavailable
from tests.unit.forms_fixtures import after_meeting, carried_targets, make_data

pytestmark = pytest.mark.libreoffice

TYPED = {
    "f:voice.views": "Science club is the best part of school",
    "f:attendance.possible_sessions": "120",
    "r:targets.1.ref": "T1",
    "r:targets.1.description": "Read aloud twice a week",
    "r:targets.1.owner": "Mrs Pemberton",
    "f:summary.summary": "Good start; reading is the focus",
}


def _tools() -> tuple[str, str]:
    soffice, pdftotext = shutil.which("soffice"), shutil.which("pdftotext")
    if not soffice or not pdftotext:
        unavailable("install libreoffice-writer-nogui and poppler-utils")
    return soffice, pdftotext


@pytest.fixture(scope="module")
def pdf_text(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    soffice, pdftotext = _tools()
    work = tmp_path_factory.mktemp("forms")
    blank = render_new_term_form(make_data({"previous_targets": carried_targets()}))
    editor = FormEditor(blank).tick("c:send.status=ehcp").set_date("r:targets.1.due", "2027-02-12")
    for tag, text in TYPED.items():
        editor.fill_text(tag, text)
    filled = editor.save()
    assert to_content(read_form(filled))[0]["targets"]["rows"][0]["due"] == "2027-02-12"
    sections = to_content(read_form(filled))[0]
    documents = {
        "blank": blank,
        "filled": filled,
        "record": render_final_record(after_meeting(sections)),
    }
    paths = []
    for name, data in documents.items():
        path = work / f"{name}.docx"
        path.write_bytes(data)
        paths.append(str(path))
    home, out = work / "home", work / "pdf"
    home.mkdir()
    out.mkdir()
    subprocess.run(
        [soffice, "--headless", "--norestore", "--convert-to", "pdf", "--outdir", str(out), *paths],
        env={**os.environ, "HOME": str(home)},
        check=True,
        timeout=120,
        capture_output=True,
    )
    texts = {}
    for name in documents:
        pdf = out / f"{name}.pdf"
        assert pdf.exists(), f"LibreOffice did not convert {name}.docx"
        raw = subprocess.run(
            [pdftotext, str(pdf), "-"], check=True, timeout=60, capture_output=True, text=True
        ).stdout
        texts[name] = re.sub(r"\s+", " ", raw)
    return texts


def _has(text: str, phrase: str) -> bool:
    return re.sub(r"\s+", " ", phrase) in text


def test_the_blank_form_opens_with_headings_child_and_carried_targets(
    pdf_text: dict[str, str],
) -> None:
    text = pdf_text["blank"]
    for phrase in (
        "Personal Education Plan",
        "Autumn term 2026",
        "Child details",
        "LCS204817",
        "To complete in the meeting",
        "Click or tap here to enter text",
        "Read for 20 minutes a day",
        "Use the calm-down card in maths lessons",
    ):
        assert _has(text, phrase), phrase
    for spec in SECTIONS:
        assert _has(text, spec.title), spec.title


def test_the_filled_form_shows_what_was_typed(pdf_text: dict[str, str]) -> None:
    text = pdf_text["filled"]
    for phrase in (*TYPED.values(), "12/02/2027", "LCS204817", "Read for 20 minutes a day"):
        assert _has(text, phrase), phrase
    assert "☒" in text


def test_the_final_record_shows_the_plan_and_the_meeting(pdf_text: dict[str, str]) -> None:
    text = pdf_text["record"]
    for phrase in (
        "Record of the PEP",
        "LCS204817",
        "The meeting record",
        "EHC plan",
        "Science club is the best part of school",
        "Read aloud twice a week",
        "Good start; reading is the focus",
        "14/10/2026",
        "Read for 20 minutes a day",
    ):
        assert _has(text, phrase), phrase
    assert not _has(text, "Return due")  # a record, not the workflow: no status, no due date
    for spec in SECTIONS:
        assert _has(text, spec.title), spec.title
