"""The content-control tag scheme: the stable key of every place to type.

f:<section>.<field>                  a single-value text or date box
r:<section>.<row>.<field>            a box in row <row> (1-based) of a table section
c:<section>.<field>=<value>          one checkbox of a choice or yes/no field
c:<section>.<row>.<field>=<value>    the same in a table row
id:pep                               the form's reference (the PEP id), locked
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from pep_model.sections import FieldKind, FieldSpec

IDENTITY_TAG = "id:pep"
YES_NO_OPTIONS = (("yes", "Yes"), ("no", "No"))


def field_tag(section: str, field: str) -> str:
    return f"f:{section}.{field}"


def row_tag(section: str, row: int, field: str) -> str:
    return f"r:{section}.{row}.{field}"


def choice_tag(section: str, field: str, value: str, row: int | None = None) -> str:
    if row is None:
        return f"c:{section}.{field}={value}"
    return f"c:{section}.{row}.{field}={value}"


def text_tag(section: str, field: str, row: int | None = None) -> str:
    return field_tag(section, field) if row is None else row_tag(section, row, field)


def options(spec: FieldSpec) -> tuple[tuple[str, str], ...]:
    """The boxes to tick for a choice or yes/no field; empty for a field typed in."""
    if spec.kind is FieldKind.CHOICE:
        return spec.choices
    if spec.kind is FieldKind.FLAG:
        return YES_NO_OPTIONS
    return ()


def sdt_id(tag: str) -> int:
    """A stable w:id for a control (signed 32-bit in Word; kept positive)."""
    return zlib.crc32(tag.encode()) & 0x7FFFFFFF


@dataclass(frozen=True)
class Tag:
    kind: str  # "f", "r" or "c"
    section: str
    field: str
    row: int | None = None
    value: str | None = None  # the choice a checkbox stands for


def parse_tag(tag: str) -> Tag | None:
    """A tag this project wrote, or None for anything else."""
    kind, sep, rest = tag.partition(":")
    if not sep or kind not in ("f", "r", "c"):
        return None
    value = None
    if kind == "c":
        rest, eq, value = rest.partition("=")
        if not eq:
            return None
    parts = rest.split(".")
    try:
        if len(parts) == 2 and kind in ("f", "c"):
            return Tag(kind, parts[0], parts[1], None, value)
        if len(parts) == 3 and kind in ("r", "c"):
            return Tag(kind, parts[0], parts[2], int(parts[1]), value)
    except ValueError:
        return None
    return None
