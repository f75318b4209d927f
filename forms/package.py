"""The .docx package: static parts compressed once per process, per-document parts
(document, header, footer, properties) compressed per call, written as a zip.

The zip is written directly (local headers, central directory) so that the static
parts' compressed bytes are reused as they are for every document.
"""

from __future__ import annotations

import functools
import struct
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime

from forms.wordml import W_NS, attr, esc

LEVEL = 1  # zlib level for per-document parts; 1 is ~3x faster than 6 for ~10% more bytes
FORMAT_VERSION = "1"
PROPERTY_PREFIX = "PepCompanion."

_CT_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"

CONTENT_TYPES = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">\
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>\
<Default Extension="xml" ContentType="application/xml"/>\
<Override PartName="/word/document.xml" ContentType="{_CT_MAIN}.document.main+xml"/>\
<Override PartName="/word/styles.xml" ContentType="{_CT_MAIN}.styles+xml"/>\
<Override PartName="/word/settings.xml" ContentType="{_CT_MAIN}.settings+xml"/>\
<Override PartName="/word/header1.xml" ContentType="{_CT_MAIN}.header+xml"/>\
<Override PartName="/word/footer1.xml" ContentType="{_CT_MAIN}.footer+xml"/>\
<Override PartName="/docProps/core.xml" \
ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>\
<Override PartName="/docProps/app.xml" \
ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>\
<Override PartName="/docProps/custom.xml" \
ContentType="application/vnd.openxmlformats-officedocument.custom-properties+xml"/>\
</Types>"""

PACKAGE_RELS = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="{_PKG_REL}">\
<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="word/document.xml"/>\
<Relationship Id="rId2" Type="{_PKG_REL}/metadata/core-properties" Target="docProps/core.xml"/>\
<Relationship Id="rId3" Type="{_REL}/extended-properties" Target="docProps/app.xml"/>\
<Relationship Id="rId4" Type="{_REL}/custom-properties" Target="docProps/custom.xml"/>\
</Relationships>"""

DOCUMENT_RELS = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="{_PKG_REL}">\
<Relationship Id="rIdStyles" Type="{_REL}/styles" Target="styles.xml"/>\
<Relationship Id="rIdSettings" Type="{_REL}/settings" Target="settings.xml"/>\
<Relationship Id="rIdHeader" Type="{_REL}/header" Target="header1.xml"/>\
<Relationship Id="rIdFooter" Type="{_REL}/footer" Target="footer1.xml"/>\
</Relationships>"""

SETTINGS = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:settings xmlns:w="{W_NS}"><w:zoom w:percent="100"/><w:defaultTabStop w:val="720"/>\
<w:characterSpacingControl w:val="doNotCompress"/><w:compat>\
<w:compatSetting w:name="compatibilityMode" w:uri="http://schemas.microsoft.com/office/word" \
w:val="15"/></w:compat></w:settings>"""

APP = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">\
<Application>PEP Companion</Application></Properties>"""


def _style(
    kind: str,
    style_id: str,
    name: str,
    ppr: str = "",
    rpr: str = "",
    based_on: str = "Normal",
    extra: str = "",
) -> str:
    base = f'<w:basedOn w:val="{based_on}"/>' if based_on else ""
    return (
        f'<w:style w:type="{kind}" w:styleId="{style_id}"{extra}><w:name w:val="{name}"/>'
        f"{base}<w:qFormat/>"
        f"{f'<w:pPr>{ppr}</w:pPr>' if ppr else ''}{f'<w:rPr>{rpr}</w:rPr>' if rpr else ''}"
        "</w:style>"
    )


_NAVY, _BLUE, _GREY = "1F3864", "2F5496", "595959"

STYLES = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:styles xmlns:w="{W_NS}">'
    '<w:docDefaults><w:rPrDefault><w:rPr><w:rFonts w:ascii="Arial" w:hAnsi="Arial" '
    'w:eastAsia="Arial" w:cs="Arial"/><w:sz w:val="20"/><w:szCs w:val="20"/>'
    '<w:lang w:val="en-GB" w:eastAsia="en-GB" w:bidi="ar-SA"/></w:rPr></w:rPrDefault>'
    '<w:pPrDefault><w:pPr><w:spacing w:after="80" w:line="264" w:lineRule="auto"/></w:pPr>'
    "</w:pPrDefault></w:docDefaults>"
    '<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/>'
    "<w:qFormat/></w:style>"
    '<w:style w:type="character" w:default="1" w:styleId="DefaultParagraphFont">'
    '<w:name w:val="Default Paragraph Font"/><w:uiPriority w:val="1"/><w:semiHidden/>'
    "</w:style>"
    '<w:style w:type="table" w:default="1" w:styleId="TableNormal"><w:name w:val="Normal Table"/>'
    '<w:semiHidden/><w:tblPr><w:tblInd w:w="0" w:type="dxa"/><w:tblCellMar>'
    '<w:top w:w="0" w:type="dxa"/><w:left w:w="108" w:type="dxa"/>'
    '<w:bottom w:w="0" w:type="dxa"/><w:right w:w="108" w:type="dxa"/></w:tblCellMar>'
    "</w:tblPr></w:style>"
    + _style(
        "paragraph",
        "Title",
        "Title",
        '<w:spacing w:after="40"/>',
        f'<w:b/><w:color w:val="{_NAVY}"/><w:sz w:val="44"/><w:szCs w:val="44"/>',
    )
    + _style(
        "paragraph",
        "Subtitle",
        "Subtitle",
        '<w:spacing w:after="200"/>',
        f'<w:color w:val="{_GREY}"/><w:sz w:val="24"/><w:szCs w:val="24"/>',
    )
    + _style(
        "paragraph",
        "Heading1",
        "heading 1",
        '<w:keepNext/><w:keepLines/><w:pBdr><w:bottom w:val="single" w:sz="8" '
        f'w:space="1" w:color="{_BLUE}"/></w:pBdr><w:spacing w:before="360" w:after="120"/>'
        '<w:outlineLvl w:val="0"/>',
        f'<w:b/><w:color w:val="{_NAVY}"/><w:sz w:val="30"/><w:szCs w:val="30"/>',
    )
    + _style(
        "paragraph",
        "Heading2",
        "heading 2",
        '<w:keepNext/><w:keepLines/><w:spacing w:before="280" w:after="60"/>'
        '<w:outlineLvl w:val="1"/>',
        f'<w:b/><w:color w:val="{_BLUE}"/><w:sz w:val="25"/><w:szCs w:val="25"/>',
    )
    + _style(
        "paragraph",
        "Guidance",
        "PEP Guidance",
        '<w:keepNext/><w:spacing w:after="100"/>',
        f'<w:i/><w:color w:val="{_GREY}"/><w:sz w:val="18"/><w:szCs w:val="18"/>',
    )
    + _style(
        "paragraph",
        "CellLabel",
        "PEP Cell Label",
        '<w:spacing w:after="0"/>',
        '<w:b/><w:sz w:val="18"/><w:szCs w:val="18"/>',
    )
    + _style(
        "paragraph",
        "CellHint",
        "PEP Cell Hint",
        '<w:spacing w:before="20" w:after="0"/>',
        f'<w:i/><w:color w:val="{_GREY}"/><w:sz w:val="15"/><w:szCs w:val="15"/>',
    )
    + _style(
        "paragraph",
        "CellHeading",
        "PEP Cell Heading",
        '<w:spacing w:after="0"/>',
        f'<w:b/><w:color w:val="{_NAVY}"/><w:sz w:val="17"/><w:szCs w:val="17"/>',
    )
    + _style(
        "paragraph",
        "CellText",
        "PEP Cell Text",
        '<w:spacing w:after="0"/>',
        '<w:sz w:val="18"/><w:szCs w:val="18"/>',
    )
    + _style(
        "paragraph",
        "Note",
        "PEP Note",
        '<w:tabs><w:tab w:val="left" w:pos="284"/></w:tabs><w:spacing w:after="60"/>'
        '<w:ind w:left="284" w:hanging="284"/>',
        '<w:sz w:val="18"/><w:szCs w:val="18"/>',
    )
    + _style(
        "paragraph",
        "Header",
        "header",
        '<w:spacing w:after="0"/>',
        f'<w:color w:val="{_GREY}"/><w:sz w:val="16"/><w:szCs w:val="16"/>',
    )
    + _style(
        "paragraph",
        "Footer",
        "footer",
        '<w:spacing w:after="0"/>',
        f'<w:color w:val="{_GREY}"/><w:sz w:val="16"/><w:szCs w:val="16"/>',
    )
    + '<w:style w:type="character" w:styleId="PlaceholderText"><w:name w:val="Placeholder Text"/>'
    '<w:basedOn w:val="DefaultParagraphFont"/><w:uiPriority w:val="99"/><w:semiHidden/>'
    '<w:rPr><w:color w:val="808080"/><w:sz w:val="16"/><w:szCs w:val="16"/></w:rPr></w:style>'
    "</w:styles>"
)


# ---- the zip ---------------------------------------------------------------------


@dataclass(frozen=True)
class ZipEntry:
    name: bytes
    crc: int
    size: int
    data: bytes  # raw deflate stream


def deflate(name: str, text: str | bytes, level: int = LEVEL) -> ZipEntry:
    raw = text.encode("utf-8") if isinstance(text, str) else text
    packer = zlib.compressobj(level, zlib.DEFLATED, -15)
    data = packer.compress(raw) + packer.flush()
    return ZipEntry(name.encode("ascii"), zlib.crc32(raw), len(raw), data)


_DOS_TIME, _DOS_DATE = 0, (2026 - 1980) << 9 | 1 << 5 | 1  # 01/01/2026 00:00


def write_zip(entries: list[ZipEntry]) -> bytes:
    out: list[bytes] = []
    central: list[bytes] = []
    offset = 0
    for e in entries:
        local = (
            struct.pack(
                "<IHHHHHIIIHH",
                0x04034B50,
                20,
                0,
                8,
                _DOS_TIME,
                _DOS_DATE,
                e.crc,
                len(e.data),
                e.size,
                len(e.name),
                0,
            )
            + e.name
        )
        central.append(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                0,
                8,
                _DOS_TIME,
                _DOS_DATE,
                e.crc,
                len(e.data),
                e.size,
                len(e.name),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + e.name
        )
        out.append(local)
        out.append(e.data)
        offset += len(local) + len(e.data)
    directory = b"".join(central)
    end = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(directory), offset, 0
    )
    return b"".join(out) + directory + end


@functools.cache
def static_entries() -> tuple[ZipEntry, ...]:
    """The parts every document shares, compressed once (level 9: it is done once)."""
    return (
        deflate("[Content_Types].xml", CONTENT_TYPES, 9),
        deflate("_rels/.rels", PACKAGE_RELS, 9),
        deflate("word/_rels/document.xml.rels", DOCUMENT_RELS, 9),
        deflate("word/styles.xml", STYLES, 9),
        deflate("word/settings.xml", SETTINGS, 9),
        deflate("docProps/app.xml", APP, 9),
    )


# ---- document properties -----------------------------------------------------------


def core_xml(
    title: str, subject: str, creator: str, identifier: str, when: datetime | None = None
) -> str:
    """Word's core properties; `when` (default now) is the created/modified time, fixed
    by callers whose document must be the same bytes every time."""
    now = (when or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/'
        'metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:title>{esc(title)}</dc:title><dc:subject>{esc(subject)}</dc:subject>"
        f"<dc:creator>{esc(creator)}</dc:creator><dc:identifier>{esc(identifier)}"
        f'</dc:identifier><dcterms:created xsi:type="dcterms:W3CDTF">{now}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{now}</dcterms:modified>'
        "</cp:coreProperties>"
    )


def custom_xml(properties: dict[str, str]) -> str:
    """Custom document properties (File > Info > Properties in Word), kept on save."""
    items = "".join(
        f'<property fmtid="{{D5CDD505-2E9C-101B-9397-08002B2CF9AE}}" pid="{pid}" '
        f'name="{PROPERTY_PREFIX}{attr(name)}"><vt:lpwstr>{esc(value)}</vt:lpwstr></property>'
        for pid, (name, value) in enumerate(properties.items(), start=2)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
        'custom-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/'
        f'2006/docPropsVTypes">{items}</Properties>'
    )


def identity_properties(kind: str, pep_id: str, child_id: str, term_id: str) -> dict[str, str]:
    return {
        "Form": kind,
        "FormVersion": FORMAT_VERSION,
        "PepId": pep_id,
        "ChildId": child_id,
        "TermId": term_id,
    }


def build_docx(
    document: str, header: str, footer: str, core: str, custom: str, level: int = LEVEL
) -> bytes:
    return write_zip(
        [
            *static_entries(),
            deflate("word/document.xml", document, level),
            deflate("word/header1.xml", header, level),
            deflate("word/footer1.xml", footer, level),
            deflate("docProps/core.xml", core, level),
            deflate("docProps/custom.xml", custom, level),
        ]
    )
