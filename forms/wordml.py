"""WordprocessingML written as strings: paragraphs, tables and content controls.

Everything per child goes through `esc`/`attr`, which escape XML and drop the
characters XML 1.0 cannot hold (control characters, lone surrogates).
"""

from __future__ import annotations

import re
from datetime import date
from xml.sax.saxutils import escape

from forms.tags import sdt_id
from pep_model.terms import british_date

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
W14_NS = "http://schemas.microsoft.com/office/word/2010/wordml"
MC_NS = "http://schemas.openxmlformats.org/markup-compatibility/2006"

TEXT_PLACEHOLDER = "Click or tap here to enter text."
DATE_PLACEHOLDER = "Click or tap to enter a date."
UNCHECKED, CHECKED = "\u2610", "\u2612"  # ☐ ☒

PAGE_WIDTH = 11906  # A4, twentieths of a point
PAGE_HEIGHT = 16838
MARGIN = 1021  # 1.8 cm
TEXT_WIDTH = PAGE_WIDTH - 2 * MARGIN

_INVALID_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_QUOTE = {'"': "&quot;"}


def clean(text: str) -> str:
    return _INVALID_XML.sub("", text)


def esc(text: str) -> str:
    return escape(_INVALID_XML.sub("", text))


def attr(text: str) -> str:
    return escape(_INVALID_XML.sub("", text), _QUOTE)


# ---- runs and paragraphs ---------------------------------------------------------


def runs(text: str, rpr: str = "") -> str:
    """Text as one run: newlines become w:br, tabs w:tab."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\n" not in text and "\t" not in text:
        return f'<w:r>{rpr}<w:t xml:space="preserve">{esc(text)}</w:t></w:r>'
    out = [f"<w:r>{rpr}"]
    for i, line in enumerate(text.split("\n")):
        if i:
            out.append("<w:br/>")
        for j, piece in enumerate(line.split("\t")):
            if j:
                out.append("<w:tab/>")
            if piece:
                out.append(f'<w:t xml:space="preserve">{esc(piece)}</w:t>')
    out.append("</w:r>")
    return "".join(out)


def para(inner: str, style: str = "", extra_ppr: str = "") -> str:
    ppr = f'<w:pStyle w:val="{style}"/>' if style else ""
    if ppr or extra_ppr:
        return f"<w:p><w:pPr>{ppr}{extra_ppr}</w:pPr>{inner}</w:p>"
    return f"<w:p>{inner}</w:p>"


def text_para(text: str, style: str = "", rpr: str = "") -> str:
    return para(runs(text, rpr) if text else "", style)


SPACER = '<w:p><w:pPr><w:spacing w:after="0"/></w:pPr></w:p>'
BOLD = "<w:rPr><w:b/></w:rPr>"


# ---- tables ----------------------------------------------------------------------

_BORDERS = (
    "<w:tblBorders>"
    + "".join(
        f'<w:{side} w:val="single" w:sz="4" w:space="0" w:color="8EA0B8"/>'
        for side in ("top", "left", "bottom", "right", "insideH", "insideV")
    )
    + "</w:tblBorders>"
)
_CELL_MARGINS = (
    '<w:tblCellMar><w:top w:w="40" w:type="dxa"/><w:left w:w="85" w:type="dxa"/>'
    '<w:bottom w:w="40" w:type="dxa"/><w:right w:w="85" w:type="dxa"/>'
    "</w:tblCellMar>"
)
LABEL_FILL = "E8EEF6"
HEADER_FILL = "D5E0EE"
NOTE_FILL = "F3F6FA"


def table_start(widths: list[int]) -> str:
    grid = "".join(f'<w:gridCol w:w="{w}"/>' for w in widths)
    return (
        f'<w:tbl><w:tblPr><w:tblW w:w="{sum(widths)}" w:type="dxa"/>{_BORDERS}'
        f'<w:tblLayout w:type="fixed"/>{_CELL_MARGINS}'
        f'<w:tblLook w:val="04A0" w:firstRow="1" w:lastRow="0" w:firstColumn="1" '
        f'w:lastColumn="0" w:noHBand="0" w:noVBand="1"/></w:tblPr>'
        f"<w:tblGrid>{grid}</w:tblGrid>"
    )


TABLE_END = "</w:tbl>"


def cell(width: int, content: str, fill: str = "") -> str:
    shd = f'<w:shd w:val="clear" w:color="auto" w:fill="{fill}"/>' if fill else ""
    return f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/>{shd}</w:tcPr>{content}</w:tc>'


def row(cells: str, header: bool = False, min_height: int = 0) -> str:
    if header:
        return f"<w:tr><w:trPr><w:cantSplit/><w:tblHeader/></w:trPr>{cells}</w:tr>"
    if min_height:
        return (
            f'<w:tr><w:trPr><w:cantSplit/><w:trHeight w:val="{min_height}" '
            f'w:hRule="atLeast"/></w:trPr>{cells}</w:tr>'
        )
    return f"<w:tr><w:trPr><w:cantSplit/></w:trPr>{cells}</w:tr>"


def label_cell(width: int, label: str, hint: str = "") -> str:
    content = text_para(label, "CellLabel")
    if hint:
        content += text_para(hint, "CellHint")
    return cell(width, content, LABEL_FILL)


def header_row(widths: list[int], labels: list[str]) -> str:
    return row(
        "".join(
            cell(w, text_para(lb, "CellHeading"), HEADER_FILL)
            for w, lb in zip(widths, labels, strict=True)
        ),
        header=True,
    )


def column_widths(weights: list[float], total: int = TEXT_WIDTH) -> list[int]:
    whole = sum(weights)
    widths = [int(total * w / whole) for w in weights]
    widths[-1] += total - sum(widths)
    return widths


# ---- content controls ------------------------------------------------------------

_PLACEHOLDER_RPR = (
    '<w:rPr><w:rStyle w:val="PlaceholderText"/><w:color w:val="808080"/>'
    '<w:sz w:val="16"/><w:szCs w:val="16"/></w:rPr>'
)
_TEXT_PLACEHOLDER_RUN = f"<w:r>{_PLACEHOLDER_RPR}<w:t>{TEXT_PLACEHOLDER}</w:t></w:r>"
_DATE_PLACEHOLDER_RUN = f"<w:r>{_PLACEHOLDER_RPR}<w:t>{DATE_PLACEHOLDER}</w:t></w:r>"
_GOTHIC = '<w:rFonts w:ascii="MS Gothic" w:eastAsia="MS Gothic" w:hAnsi="MS Gothic"/>'
_BOX_RPR = (
    '<w:rPr><w:rFonts w:ascii="MS Gothic" w:eastAsia="MS Gothic" '
    'w:hAnsi="MS Gothic" w:hint="eastAsia"/></w:rPr>'
)


def _sdt_head(tag: str, alias: str) -> str:
    return (
        f'<w:sdt><w:sdtPr><w:alias w:val="{attr(alias)}"/><w:tag w:val="{attr(tag)}"/>'
        f'<w:id w:val="{sdt_id(tag)}"/>'
    )


def text_control(tag: str, alias: str, value: str = "", multiline: bool = False) -> str:
    """A plain-text content control, showing the placeholder when `value` is empty."""
    kind = '<w:text w:multiLine="1"/>' if multiline else "<w:text/>"
    if value:
        return (
            f"{_sdt_head(tag, alias)}{kind}</w:sdtPr>"
            f"<w:sdtContent>{runs(value)}</w:sdtContent></w:sdt>"
        )
    return (
        f"{_sdt_head(tag, alias)}<w:showingPlcHdr/>{kind}</w:sdtPr>"
        f"<w:sdtContent>{_TEXT_PLACEHOLDER_RUN}</w:sdtContent></w:sdt>"
    )


def date_control(tag: str, alias: str, value: date | None = None) -> str:
    """A date-picker content control (dd/MM/yyyy); typed dd/mm/yyyy text also reads."""
    props = (
        '<w:dateFormat w:val="dd/MM/yyyy"/><w:lid w:val="en-GB"/>'
        '<w:storeMappedDataAs w:val="dateTime"/><w:calendar w:val="gregorian"/></w:date>'
    )
    if value is not None:
        return (
            f'{_sdt_head(tag, alias)}<w:date w:fullDate="{value.isoformat()}T00:00:00Z">'
            f"{props}</w:sdtPr><w:sdtContent>{runs(british_date(value))}"
            f"</w:sdtContent></w:sdt>"
        )
    return (
        f"{_sdt_head(tag, alias)}<w:showingPlcHdr/><w:date>{props}</w:sdtPr>"
        f"<w:sdtContent>{_DATE_PLACEHOLDER_RUN}</w:sdtContent></w:sdt>"
    )


def checkbox(tag: str, alias: str, checked: bool = False) -> str:
    """A Word 2010+ checkbox content control (w14:checkbox)."""
    return (
        f"<w:sdt><w:sdtPr><w:rPr>{_GOTHIC}</w:rPr>"
        f'<w:alias w:val="{attr(alias)}"/><w:tag w:val="{attr(tag)}"/>'
        f'<w:id w:val="{sdt_id(tag)}"/>'
        f'<w14:checkbox><w14:checked w14:val="{1 if checked else 0}"/>'
        '<w14:checkedState w14:val="2612" w14:font="MS Gothic"/>'
        '<w14:uncheckedState w14:val="2610" w14:font="MS Gothic"/></w14:checkbox>'
        f"</w:sdtPr><w:sdtContent><w:r>{_BOX_RPR}<w:t>{CHECKED if checked else UNCHECKED}"
        "</w:t></w:r></w:sdtContent></w:sdt>"
    )


def locked_text_control(tag: str, alias: str, value: str) -> str:
    return (
        f'{_sdt_head(tag, alias)}<w:lock w:val="sdtContentLocked"/><w:text/></w:sdtPr>'
        f"<w:sdtContent>{runs(value)}</w:sdtContent></w:sdt>"
    )


# ---- the document around the body -------------------------------------------------

DOCUMENT_START = (
    "<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n"
    f'<w:document xmlns:w="{W_NS}" xmlns:r="{R_NS}" xmlns:w14="{W14_NS}" '
    f'xmlns:mc="{MC_NS}" mc:Ignorable="w14"><w:body>'
)
DOCUMENT_END = (
    '<w:sectPr><w:headerReference w:type="default" r:id="rIdHeader"/>'
    '<w:footerReference w:type="default" r:id="rIdFooter"/>'
    f'<w:pgSz w:w="{PAGE_WIDTH}" w:h="{PAGE_HEIGHT}"/>'
    f'<w:pgMar w:top="1134" w:right="{MARGIN}" w:bottom="1134" w:left="{MARGIN}" '
    'w:header="567" w:footer="567" w:gutter="0"/></w:sectPr></w:body></w:document>'
)


_RIGHT = '<w:jc w:val="right"/>'


def header_xml(text: str) -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:hdr xmlns:w="{W_NS}">'
        f"{para(runs(text, BOLD), 'Header', _RIGHT)}</w:hdr>"
    )


def footer_xml(text: str) -> str:
    tabs = f'<w:tabs><w:tab w:val="right" w:pos="{TEXT_WIDTH}"/></w:tabs>'
    page = (
        '<w:r><w:tab/><w:t xml:space="preserve">Page </w:t></w:r>'
        '<w:fldSimple w:instr=" PAGE "><w:r><w:t>1</w:t></w:r></w:fldSimple>'
        '<w:r><w:t xml:space="preserve"> of </w:t></w:r>'
        '<w:fldSimple w:instr=" NUMPAGES "><w:r><w:t>1</w:t></w:r></w:fldSimple>'
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:ftr xmlns:w="{W_NS}">'
        f"{para(runs(text) + page, 'Footer', tabs)}</w:ftr>"
    )
