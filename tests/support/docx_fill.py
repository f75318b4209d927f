"""Edit a .docx form as a teacher would in Word, by changing its XML as Word does.

    FormEditor(docx).fill_text("f:voice.views", "line 1\\nline 2").tick(
        "c:send.status=ehcp").set_date("r:targets.1.due", "2026-12-01").save()

Typing into a box removes the placeholder (w:showingPlcHdr and its grey run) and
writes the text as Word does: in several runs, with proofing marks between them,
w:br for a line break and w:tab for a tab. With paragraphs=True each line becomes a
paragraph of its own (the box is lifted out of its paragraph, as Word's block-level
rich-text boxes hold them). Ticking sets w14:checked and the glyph (☒ / ☐).
"""

from __future__ import annotations

import copy
import io
import zipfile
from datetime import date
from typing import Any, Self

from lxml import etree

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W14 = "http://schemas.microsoft.com/office/word/2010/wordml"
XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"


def w(name: str) -> str:
    return f"{{{W}}}{name}"


def w14(name: str) -> str:
    return f"{{{W14}}}{name}"


class FormEditor:
    def __init__(self, docx: bytes) -> None:
        with zipfile.ZipFile(io.BytesIO(docx)) as archive:
            self._parts = [(info, archive.read(info)) for info in archive.infolist()]
        body = next(data for info, data in self._parts if info.filename == "word/document.xml")
        self.root = etree.fromstring(body)

    # ---- finding boxes ----
    def controls(self, tag: str) -> list[Any]:
        return [
            sdt
            for sdt in self.root.iter(w("sdt"))
            if (t := sdt.find(f"{w('sdtPr')}/{w('tag')}")) is not None and t.get(w("val")) == tag
        ]

    def control(self, tag: str) -> Any:
        found = self.controls(tag)
        if len(found) != 1:
            raise KeyError(f"{len(found)} boxes tagged {tag!r}")
        return found[0]

    def tags(self) -> list[str]:
        return [t.get(w("val")) for t in self.root.iter(w("tag"))]

    # ---- typing ----
    def fill_text(self, tag: str, text: str, *, paragraphs: bool = False) -> Self:
        sdt = self.control(tag)
        _clear_placeholder(sdt)
        content = sdt.find(w("sdtContent"))
        for child in list(content):
            content.remove(child)
        lines = text.split("\n")
        parent = sdt.getparent()
        if paragraphs and len(lines) > 1 and parent.tag == w("p"):
            # Word's block-level box: the box holds the paragraphs
            ppr = parent.find(w("pPr"))
            text_el = sdt.find(f"{w('sdtPr')}/{w('text')}")
            if text_el is not None:
                text_el.getparent().remove(text_el)  # a rich-text box may hold paragraphs
            for line in lines:
                p = etree.SubElement(content, w("p"))
                if ppr is not None:
                    p.append(copy.deepcopy(ppr))
                _write_line(p, line)
            grand = parent.getparent()
            grand.replace(parent, sdt)
            return self
        for i, line in enumerate(lines):
            if i:
                etree.SubElement(etree.SubElement(content, w("r")), w("br"))
            _write_line(content, line)
        return self

    def set_date(self, tag: str, iso: str) -> Self:
        """Pick a date in the date picker: w:fullDate and the text in dd/MM/yyyy."""
        day = date.fromisoformat(iso)
        sdt = self.control(tag)
        props = sdt.find(w("sdtPr"))
        picker = props.find(w("date"))
        if picker is None:
            raise KeyError(f"{tag!r} is not a date box")
        picker.set(w("fullDate"), f"{iso}T00:00:00Z")
        fmt = picker.find(w("dateFormat"))
        pattern = fmt.get(w("val")) if fmt is not None else "dd/MM/yyyy"
        shown = (
            pattern.replace("yyyy", f"{day.year:04d}")
            .replace("MM", f"{day.month:02d}")
            .replace("dd", f"{day.day:02d}")
        )
        return self._type_over(sdt, shown)

    def _type_over(self, sdt: Any, text: str) -> Self:
        _clear_placeholder(sdt)
        content = sdt.find(w("sdtContent"))
        for child in list(content):
            content.remove(child)
        _write_line(content, text)
        return self

    # ---- ticking ----
    def tick(self, tag: str) -> Self:
        return self._set_tick(tag, True)

    def untick(self, tag: str) -> Self:
        return self._set_tick(tag, False)

    def _set_tick(self, tag: str, on: bool) -> Self:
        sdt = self.control(tag)
        box = sdt.find(f"{w('sdtPr')}/{w14('checkbox')}")
        if box is None:
            raise KeyError(f"{tag!r} is not a checkbox")
        checked = box.find(w14("checked"))
        if checked is None:
            checked = etree.SubElement(box, w14("checked"))
        checked.set(w14("val"), "1" if on else "0")
        state = box.find(w14("checkedState" if on else "uncheckedState"))
        glyph = chr(int(state.get(w14("val")), 16)) if state is not None else ("☒" if on else "☐")
        texts = list(sdt.find(w("sdtContent")).iter(w("t")))
        texts[0].text = glyph
        for extra in texts[1:]:
            extra.text = ""
        return self

    # ---- damage a person can do ----
    def delete_control(self, tag: str) -> Self:
        sdt = self.control(tag)
        sdt.getparent().remove(sdt)
        return self

    def set_raw(self, tag: str, xml_fragment: str) -> Self:
        """Replace a box's content with raw WordprocessingML runs (for odd cases)."""
        sdt = self.control(tag)
        _clear_placeholder(sdt)
        content = sdt.find(w("sdtContent"))
        for child in list(content):
            content.remove(child)
        wrapper = etree.fromstring(f'<x xmlns:w="{W}">{xml_fragment}</x>')
        for child in list(wrapper):
            content.append(child)
        return self

    def type_beside(self, tag: str, text: str) -> Self:
        """Type a paragraph in the box's table cell, outside the box (a Word habit)."""
        cell = next(self.control(tag).iterancestors(w("tc")))
        paragraph = etree.SubElement(cell, w("p"))
        _write_line(paragraph, text)
        return self

    def save(self) -> bytes:
        body = etree.tostring(self.root, xml_declaration=True, encoding="UTF-8", standalone=True)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for info, data in self._parts:
                archive.writestr(
                    info.filename, body if info.filename == "word/document.xml" else data
                )
        return out.getvalue()


def _clear_placeholder(sdt: Any) -> None:
    props = sdt.find(w("sdtPr"))
    showing = props.find(w("showingPlcHdr"))
    if showing is not None:
        props.remove(showing)


def _write_line(parent: Any, line: str) -> None:
    """One line as Word writes typing: runs split at words, proofing marks between."""
    words = line.split(" ")
    chunks = [
        " ".join(words[i : i + 3]) + (" " if i + 3 < len(words) else "")
        for i in range(0, len(words), 3)
    ] or [""]
    for i, chunk in enumerate(chunks):
        if i % 2:
            etree.SubElement(parent, w("proofErr")).set(w("type"), "spellStart")
        run = etree.SubElement(parent, w("r"))
        etree.SubElement(etree.SubElement(run, w("rPr")), w("lang")).set(w("val"), "en-GB")
        for j, piece in enumerate(chunk.split("\t")):
            if j:
                etree.SubElement(run, w("tab"))
            if piece:
                t = etree.SubElement(run, w("t"))
                t.text = piece
                t.set(XML_SPACE, "preserve")
        if i % 2:
            etree.SubElement(parent, w("proofErr")).set(w("type"), "spellEnd")


# ---- one edit at a time: bytes in, bytes out ----


def fill_text(docx: bytes, tag: str, text: str, *, paragraphs: bool = False) -> bytes:
    return FormEditor(docx).fill_text(tag, text, paragraphs=paragraphs).save()


def tick(docx: bytes, tag: str) -> bytes:
    return FormEditor(docx).tick(tag).save()


def untick(docx: bytes, tag: str) -> bytes:
    return FormEditor(docx).untick(tag).save()


def set_date(docx: bytes, tag: str, iso: str) -> bytes:
    return FormEditor(docx).set_date(tag, iso).save()
