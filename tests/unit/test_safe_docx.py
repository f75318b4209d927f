"""A hostile .docx (zip bomb, lying directory, thousands of parts) is refused before it
is inflated, with a message a teacher can act on; a real form still reads."""

from __future__ import annotations

import io
import os
import tracemalloc
import zipfile

import pytest

from forms.new_term import render_new_term_form
from forms.read_back import NotAPepForm, read_form
from forms.safe_docx import DocxLimits, DocxRefused, read_parts
from tests.support.zip_bombs import CONTENT_TYPES, GB, MB, Member, bomb_docx, member, zip_of
from tests.unit.forms_fixtures import carried_targets, make_data

BODY = "word/document.xml"


@pytest.fixture(scope="module")
def form() -> bytes:
    return render_new_term_form(make_data({"previous_targets": carried_targets()}))


def _refusal(docx: bytes) -> str:
    tracemalloc.start()
    try:
        with pytest.raises(NotAPepForm) as refused:
            read_form(docx)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * MB, f"{peak / MB:.0f} MB allocated while refusing"
    return str(refused.value)


@pytest.mark.parametrize("inflated,file_mb", [(GB, 2), (8 * GB, 9)])
def test_a_bomb_is_refused_without_being_inflated(inflated: int, file_mb: int) -> None:
    bomb = bomb_docx(inflated)  # 8 GiB: an 8 MB file, under the 10 MB upload limit
    assert len(bomb) < file_mb * MB
    message = _refusal(bomb)
    assert "packed more than 100 times tighter than Word packs a document" in message
    assert "Please return the PEP form you were sent" in message


def test_a_bomb_whose_directory_lies_about_its_size_is_refused_as_damaged() -> None:
    # declared 1 KB: inflating stops at what was declared, and the check sum fails
    message = _refusal(bomb_docx(GB, declared=1000))
    assert "not a Word document (.docx) or it is damaged" in message


def test_a_body_declared_over_the_part_limit_is_refused_naming_the_limit() -> None:
    message = _refusal(bomb_docx(64 * MB, declared=64 * MB))
    assert "would unpack to more than 16 MB" in message or "packed more than" in message
    limits = DocxLimits(max_ratio=10_000)  # only the size limit left to catch it
    with pytest.raises(DocxRefused, match="would unpack to more than 16 MB"):
        read_parts(bomb_docx(64 * MB), [BODY], limits)


def test_a_body_that_inflates_past_its_declared_size_stops_there() -> None:
    # every declared figure within the limits; the body really inflates to 1 GiB
    declared = 16 * MB - 1
    message = _refusal(bomb_docx(GB, declared=declared))
    assert "not a Word document (.docx) or it is damaged" in message


def test_thousands_of_parts_are_refused_by_count() -> None:
    parts = [member(f"word/media/p{i}.xml", b"<a/>") for i in range(1200)]
    message = _refusal(zip_of([member(BODY, b"<w/>"), *parts]))
    assert "holds 1201 parts, where a Word document holds a few dozen" in message


def test_the_declared_total_of_every_member_is_bounded() -> None:
    # forty members each declaring 4 MB of incompressible data: 160 MB together
    parts = [Member(f"word/media/image{i}.png", b"\0" * (4 * MB), 4 * MB) for i in range(40)]
    docx = zip_of([member(BODY, b"<w/>"), *parts])
    with pytest.raises(DocxRefused, match="would unpack to more than 128 MB"):
        read_parts(docx, [BODY])


def test_two_bodies_of_the_same_name_are_refused() -> None:
    docx = zip_of([member(BODY, b"<w/>"), member(BODY, b"<other/>")])
    assert "two parts of the same name" in _refusal(docx)


def test_a_password_protected_document_says_to_remove_the_password() -> None:
    encrypted = member(BODY, b"<w/>")
    docx = zip_of([Member(BODY, encrypted.compressed, encrypted.size, encrypted.crc, flags=0x1)])
    assert "protected with a password" in _refusal(docx)


def test_not_a_zip_at_all_is_damaged() -> None:
    assert "not a Word document (.docx) or it is damaged" in _refusal(b"%PDF-1.7 hello")


def test_a_real_form_with_a_large_picture_still_reads(form: bytes) -> None:
    # a photo hardly compresses and is never inflated: it does not count against the form
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(form)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            target.writestr(info, source.read(info))
        target.writestr("word/media/photo.jpg", os.urandom(6 * MB))
    reading = read_form(out.getvalue())
    assert reading.pep_id == read_form(form).pep_id
    assert reading.sections == read_form(form).sections


def test_only_the_parts_asked_for_are_inflated() -> None:
    docx = zip_of([member("[Content_Types].xml", CONTENT_TYPES), member(BODY, b"<w/>")])
    assert read_parts(docx, [BODY, "docProps/custom.xml"]) == {BODY: b"<w/>"}
