"""One answer of a PEP section in full: what a "Show all" button opens.

A section too long for its card is shown shortened (cards/fields.py `section_display`),
with "Show all" buttons (verb `pep.section.text`, see `elements.show_all_for`) for one
answer, one row or the whole section. This card shows that text in full, a long answer
as several TextBlocks; if even one answer is larger than a card may be, it is shown in
parts ("Next part"), each card under the size budget. "Back" returns to the section.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cards.elements import (
    CARD_BUDGET,
    SHOW_TEXT,
    Action,
    Element,
    card,
    card_bytes,
    container,
    execute,
    heading,
    pep_data,
    term_label,
    text,
)
from cards.fields import NOT_FILLED_IN, _row_title
from cards.inputs import CARRIED_ROW_FIELDS
from cards.lists import SECTION_OPEN
from cards.walkthrough import REFRESH
from pep_model.sections import FieldSpec, SectionSpec, display_value, section_spec
from pep_model.services import PepView

CHUNK_CHARS = 1500  # one TextBlock; a longer answer is split, at a line or a space
_SLACK = 512  # bytes kept free in each part for the part line and the JSON around blocks


class NoSuchAnswer(LookupError):
    """The field or row a "Show all" button named is not in the section (any more)."""


def answers(
    spec: SectionSpec, content: Mapping[str, Any], field: str | None, row: int | None
) -> list[tuple[str, str]]:
    """(label, text) of one answer, one row's answers, or (neither) the whole section."""
    rows = list(content.get("rows") or [])
    if row is not None:
        if not 0 <= row < len(rows):
            raise NoSuchAnswer(f"row {row}")
        return _row_answers(spec, row, rows[row], field)
    if field is not None:
        return [
            (f.label, display_value(f, content.get(f.name))) for f in _fields(spec.fields, field)
        ]
    out = [(f.label, display_value(f, content.get(f.name))) for f in spec.fields]
    for i, values in enumerate(rows):
        out += _row_answers(spec, i, values, None)
    return out


def _fields(fields: Sequence[FieldSpec], name: str) -> list[FieldSpec]:
    found = [f for f in fields if f.name == name]
    if not found:
        raise NoSuchAnswer(name)
    return found


def _row_answers(
    spec: SectionSpec, i: int, values: Mapping[str, Any], field: str | None
) -> list[tuple[str, str]]:
    hidden = CARRIED_ROW_FIELDS.get(spec.key, ())
    shown = [f for f in spec.row_fields if f.name not in hidden]
    title = _row_title(spec, i, values, existing=True)
    return [
        (f"{title} — {f.label}", display_value(f, values.get(f.name)))
        for f in (_fields(shown, field) if field is not None else shown)
    ]


def chunks(value: str, size: int = CHUNK_CHARS) -> list[str]:
    """`value` in pieces of at most `size` characters, cut at a line break or a space
    where there is one in the second half of a piece."""
    out: list[str] = []
    rest = value
    while len(rest) > size:
        cut = max(rest.rfind("\n", size // 2, size), rest.rfind(" ", size // 2, size))
        cut = cut if cut > 0 else size
        out.append(rest[:cut])
        rest = rest[cut:]
    out.append(rest)
    return out


def _blocks(pairs: Sequence[tuple[str, str]]) -> list[Element]:
    out: list[Element] = []
    for label, value in pairs:
        out.append(text(label, weight="bolder", spacing="medium"))
        if not value:
            out.append(text(NOT_FILLED_IN, subtle=True, spacing="none"))
        out += [text(piece, spacing="none") for piece in chunks(value) if value]
    return out


def _size(element: Element) -> int:
    return (
        card_bytes(
            element.model_dump(mode="json", exclude_none=True, by_alias=True, warnings=False)
        )
        + 4
    )  # ", " between elements


def _parts(blocks: Sequence[Element], room: int) -> list[list[Element]]:
    parts: list[list[Element]] = [[]]
    used = 0
    for block in blocks:
        size = _size(block)
        if parts[-1] and used + size > room:
            parts.append([])
            used = 0
        parts[-1].append(block)
        used += size
    return parts


def _title(view: PepView, personal: bool) -> str:
    child = view.child
    who = f"{child.full_name} ({child.lcs_id})" if personal else child.initials
    prefix = "PEP" if personal else "PEP meeting"
    return f"{prefix} — {who}, {child.year_group.label}, {term_label(view.pep.term_id)}"


def full_text_card(
    view: PepView,
    section: str,
    *,
    field: str | None = None,
    row: int | None = None,
    part: int = 0,
    personal: bool,
) -> dict[str, Any]:
    """The answer(s) a "Show all" button named, in full. `personal`: in a one-to-one chat
    (the child's full name; Back opens the section), else in the meeting chat (initials;
    Back returns to the meeting's card). NoSuchAnswer for a field or row not there."""
    spec = section_spec(section)
    heading_text = spec.title
    if field is not None or row is not None:
        heading_text += " — in full"
    blocks = _blocks(answers(spec, view.pep.section(spec.key), field, row))

    def build(shown: Sequence[Element], number: int, total: int) -> dict[str, Any]:
        body: list[Element] = [
            container([text(_title(view, personal), weight="bolder")], style="emphasis"),
            heading(heading_text),
        ]
        if total > 1:
            body.append(
                text(f"Part {number + 1} of {total}", size="small", subtle=True, spacing="none")
            )
        body += shown
        return card(body, _actions(view, spec.key, field, row, number, total, personal))

    room = CARD_BUDGET - card_bytes(build([], 98, 99)) - _SLACK
    parts = _parts(blocks, room)
    number = min(max(part, 0), len(parts) - 1)
    return build(parts[number], number, len(parts))


def _actions(
    view: PepView,
    key: str,
    field: str | None,
    row: int | None,
    number: int,
    total: int,
    personal: bool,
) -> list[Action]:
    where: dict[str, Any] = {"pep_id": view.pep.id, "section": key}
    if field is not None:
        where["field"] = field
    if row is not None:
        where["row"] = row
    actions: list[Action] = []
    if number > 0:
        actions.append(execute("◀ Previous part", SHOW_TEXT, {**where, "part": number - 1}))
    if number + 1 < total:
        actions.append(execute("Next part ▶", SHOW_TEXT, {**where, "part": number + 1}))
    if personal:
        actions.append(
            execute("Back to the section", SECTION_OPEN, pep_data(view.pep, section=key))
        )
    else:
        actions.append(execute("Back to the meeting", REFRESH, pep_data(view.pep)))
    return actions
