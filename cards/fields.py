"""One PEP section as inputs (for whoever edits) or as read-only facts (for everyone else).

Every field comes from pep_model.sections.SECTIONS; nothing here lists fields again.
Values typed by a person are never thrown away: when `typed` is given its values fill
the inputs, and a value the input kind cannot hold (a word in a number box, a date the
date picker cannot show) is kept in a plain text box beside its error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from adaptive_cards import card as ac

from cards.elements import (
    ANSWER,
    COMPACT,
    SECTION,
    Action,
    Element,
    Shortening,
    ShowAll,
    action_set,
    container,
    error_line,
    facts,
    shortened,
    text,
)
from cards.inputs import CARRIED_ROW_FIELDS, confirm_id, field_id, row_id
from pep_model.confirmations import CONFIRMED
from pep_model.errors import FieldError
from pep_model.rules import attendance_percentage
from pep_model.sections import (
    FieldKind,
    FieldSpec,
    SectionSpec,
    display_value,
    input_value,
    parse_value,
    repair_broken,
)

NOT_FILLED_IN = "Not filled in"
EXTRA_EMPTY_ROWS = 2
TABLE_MAX_COLUMNS = 4  # wider tables do not fit a chat card: one block per row
SAVED_PREVIEW_CHARS = 300
NOT_TYPED: Any = object()  # field_block: nothing typed, show the stored value
_SHORT_KINDS = {
    FieldKind.TEXT,
    FieldKind.INTEGER,
    FieldKind.MONEY,
    FieldKind.DATE,
    FieldKind.CHOICE,
    FieldKind.FLAG,
}

ErrorIndex = dict[tuple[int | None, str], list[FieldError]]
KEEP_DATE = "Yes, keep this date"
KEEP_VALUE = "Yes, keep this"


def index_errors(errors: Sequence[FieldError], section_key: str) -> ErrorIndex:
    index: ErrorIndex = {}
    for e in errors:
        if e.section == section_key:
            index.setdefault((e.row, e.field), []).append(e)
    return index


# ---- one input -------------------------------------------------------------------


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _parsed(spec: FieldSpec, value: str) -> tuple[bool, Any]:
    try:
        return True, parse_value(spec, value)
    except ValueError:
        return False, None


def _input(spec: FieldSpec, input_id: str, value: str) -> Element:
    """The input for one field, holding `value` (input_value form or as typed)."""
    label = spec.label
    placeholder = spec.hint or None
    readable, parsed = _parsed(spec, value)
    kind = spec.kind
    if not readable and kind in (
        FieldKind.INTEGER,
        FieldKind.DATE,
        FieldKind.CHOICE,
        FieldKind.FLAG,
    ):
        # keep what was typed: these inputs could not show it
        return ac.InputText(id=input_id, label=label, value=value, max_length=spec.max_length)
    if kind is FieldKind.INTEGER:
        return ac.InputNumber(
            id=input_id, label=label, min=0, value=parsed, placeholder=placeholder
        )
    if kind is FieldKind.DATE:
        return ac.InputDate(id=input_id, label=label, value=parsed or None, placeholder=placeholder)
    if kind is FieldKind.CHOICE:
        return ac.InputChoiceSet(
            id=input_id,
            label=label,
            style=COMPACT,
            value=parsed or None,
            placeholder=placeholder or "Choose…",
            choices=[ac.InputChoice(title=t, value=v) for v, t in spec.choices],
        )
    if kind is FieldKind.FLAG:
        return ac.InputToggle(
            id=input_id,
            label=label,
            title="Yes",
            value="true" if parsed else "false",
            value_on="true",
            value_off="false",
        )
    if kind is FieldKind.MONEY:
        return ac.InputText(
            id=input_id,
            label=label,
            value=value or None,
            placeholder=placeholder or "In pounds, like 550.00",
            max_length=12,
        )
    return ac.InputText(
        id=input_id,
        label=label,
        value=value or None,
        placeholder=placeholder,
        max_length=spec.max_length,
        is_multiline=kind is FieldKind.LONG_TEXT or None,
    )


def field_block(
    spec: FieldSpec,
    input_id: str,
    stored: Any,
    typed: Any,
    messages: Sequence[str | FieldError],
    *,
    show_saved: bool = True,
) -> list[Element]:
    """The input, then the saved value when the typing differs from it, then errors —
    with a "Yes, keep this date" toggle beside an error that only asks (FieldError's
    confirm). A broken character typed (half an emoji) is shown as �."""
    value = input_value(spec, stored) if typed is NOT_TYPED else repair_broken(_as_text(typed))
    items = [_input(spec, input_id, value)]
    if show_saved and typed is not NOT_TYPED and stored not in (None, ""):
        readable, parsed = _parsed(spec, value)
        if not readable or parsed != stored:
            shown = shortened(display_value(spec, stored), SAVED_PREVIEW_CHARS)
            items.append(text(f"Saved version: {shown}", size="small", subtle=True, spacing="none"))
    for message in messages:
        items.extend(_error(spec, message))
    return items


def _error(spec: FieldSpec, error: str | FieldError) -> list[Element]:
    if isinstance(error, str):
        return [error_line(error)]
    items = [error_line(error.message)]
    if error.confirm:
        items.append(
            ac.InputToggle(
                id=confirm_id(error.confirm),
                value="false",
                value_on="true",
                value_off="false",
                title=KEEP_DATE if spec.kind is FieldKind.DATE else KEEP_VALUE,
            )
        )
    return items


def _layout(blocks: list[tuple[FieldSpec, list[Element]]]) -> list[Element]:
    """Short fields two to a line, long text full width."""
    out: list[Element] = []
    pending: list[list[Element]] = []

    def flush() -> None:
        if len(pending) == 1:
            out.extend(pending[0])
        elif pending:
            out.append(
                ac.ColumnSet(columns=[ac.Column(width="stretch", items=items) for items in pending])
            )
        pending.clear()

    for spec, items in blocks:
        if spec.kind in _SHORT_KINDS:
            pending.append(items)
            if len(pending) == 2:
                flush()
        else:
            flush()
            out.extend(items)
    flush()
    return out


# ---- a section as inputs ---------------------------------------------------------


def section_inputs(
    spec: SectionSpec,
    content: Mapping[str, Any],
    *,
    errors: Sequence[FieldError] = (),
    typed: Mapping[str, Any] | None = None,
    show_saved: bool = True,
) -> tuple[list[Element], dict[str, Any]]:
    """The section's inputs and the data actions must carry (a target's ref per row)."""
    index = index_errors(errors, spec.key)
    body: list[Element] = []
    blocks = []
    for f in spec.fields:
        typed_value = typed.get(f.name, NOT_TYPED) if typed is not None else NOT_TYPED
        blocks.append(
            (
                f,
                field_block(
                    f,
                    field_id(f.name),
                    content.get(f.name),
                    typed_value,
                    index.get((None, f.name), []),
                    show_saved=show_saved,
                ),
            )
        )
    body.extend(_layout(blocks))
    if spec.key == "attendance":
        pct = attendance_percentage(content)
        if pct is not None:
            body.append(text(f"Attendance as saved: {pct}%", subtle=True))
    carried: dict[str, Any] = {}
    if spec.is_table:
        rows_body, carried = _table_inputs(spec, content, index, typed, show_saved)
        body.extend(rows_body)
    return body, carried


def _table_inputs(
    spec: SectionSpec,
    content: Mapping[str, Any],
    index: ErrorIndex,
    typed: Mapping[str, Any] | None,
    show_saved: bool,
) -> tuple[list[Element], dict[str, Any]]:
    stored_rows = list(content.get("rows") or [])
    if typed is not None and "rows" not in typed:
        typed = None  # nothing typed in the table: show it as saved
    source = [_repaired(r) for r in typed.get("rows") or []] if typed is not None else stored_rows
    count = len(source) + EXTRA_EMPTY_ROWS
    if spec.max_rows:
        count = min(count, max(spec.max_rows, len(source)))
    hidden = CARRIED_ROW_FIELDS.get(spec.key, ())
    shown = [f for f in spec.row_fields if f.name not in hidden]
    body: list[Element] = []
    carried: dict[str, Any] = {}
    if typed is not None:  # confirmed but not saved yet (another error): kept on the card
        carried.update(_typed_confirmations(typed))
    for i in range(count):
        stored = stored_rows[i] if i < len(stored_rows) else {}
        row_typed = source[i] if typed is not None and i < len(source) else None
        values = stored if typed is None else (row_typed or {})
        title = _row_title(spec, i, values, existing=i < len(source))
        items: list[Element] = [text(title, weight="bolder")]
        for name in hidden:
            if values.get(name):
                carried[row_id(i, name)] = _as_text(values.get(name))
            items.extend(error_line(e.message) for e in index.get((i, name), []))
        blocks = []
        for f in shown:
            if typed is None:
                typed_value = NOT_TYPED
            else:
                typed_value = row_typed.get(f.name) if row_typed is not None else None
            blocks.append(
                (
                    f,
                    field_block(
                        f,
                        row_id(i, f.name),
                        stored.get(f.name),
                        typed_value,
                        index.get((i, f.name), []),
                        show_saved=show_saved,
                    ),
                )
            )
        items.extend(_layout(blocks))
        body.append(container(items, style="emphasis", spacing="medium"))
    if spec.max_rows and len(source) >= spec.max_rows:
        body.append(
            text(f"This section holds at most {spec.max_rows} {spec.row_noun}s.", subtle=True)
        )
    return body, carried


def _repaired(row: Any) -> Any:
    """A typed row with each broken character (half an emoji) shown as �."""
    if not isinstance(row, Mapping):
        return row
    return {k: repair_broken(v) if isinstance(v, str) else v for k, v in row.items()}


def _typed_confirmations(typed: Mapping[str, Any]) -> dict[str, str]:
    tokens = typed.get(CONFIRMED)
    if not isinstance(tokens, list):
        return {}
    return {confirm_id(t): "true" for t in tokens if isinstance(t, str) and t == repair_broken(t)}


def _row_title(spec: SectionSpec, i: int, values: Mapping[str, Any], *, existing: bool) -> str:
    noun = spec.row_noun.capitalize()
    if not existing:
        return f"New {spec.row_noun} (optional)"
    ref = values.get("ref") if "ref" in CARRIED_ROW_FIELDS.get(spec.key, ()) else None
    return f"{noun} {ref}" if ref else f"{noun} {i + 1}"


# ---- a section as facts ----------------------------------------------------------

TOO_LONG_TO_SHOW = "This section is too long to show on this card."


def section_display(
    spec: SectionSpec,
    content: Mapping[str, Any],
    *,
    limit: int | Shortening | None = None,
    show_all: ShowAll | None = None,
) -> list[Element]:
    """Read-only: short fields as facts, then long text as paragraphs, tables as a Table.

    `limit` shortens long text (to keep a card under the size limit); with `show_all`
    each shortened answer — or row, or the whole section, as `Shortening.buttons` says —
    gets a "Show all" button that shows it in full."""
    cut = limit if isinstance(limit, Shortening) else Shortening(limit)
    more = show_all if cut.chars is not None else None
    if cut.chars == 0:
        return [
            text(TOO_LONG_TO_SHOW, subtle=True),
            *([_button(more(spec.key, None, None))] if more else []),
        ]
    pairs = [
        (f.label, display_value(f, content.get(f.name)) or NOT_FILLED_IN)
        for f in spec.fields
        if f.kind is not FieldKind.LONG_TEXT
    ]
    if spec.key == "attendance":
        pct = attendance_percentage(content)
        pairs.append(("Attendance", f"{pct}%" if pct is not None else NOT_FILLED_IN))
    body: list[Element] = [facts(pairs)] if pairs else []
    unshown = False  # shortened, and left to the whole section's button
    for f in spec.fields:
        if f.kind is FieldKind.LONG_TEXT:
            value = display_value(f, content.get(f.name))
            shown = shortened(value, cut.chars)
            body.extend(paragraph(f.label, shown))
            if shown != value and more and cut.buttons != SECTION:
                body.append(_button(more(spec.key, f.name, None)))
            elif shown != value:
                unshown = True
    if spec.is_table:
        rows_body, rows_unshown = _table(spec, content.get("rows") or [], cut, more)
        body.extend(rows_body)
        unshown = unshown or rows_unshown
    if unshown and more:
        body.append(_button(more(spec.key, None, None)))
    return body


def _button(action: Action) -> Element:
    return action_set([action], spacing="none")


def paragraph(label: str, value: str) -> list[Element]:
    return [
        text(label, weight="bolder", spacing="medium"),
        text(value or NOT_FILLED_IN, spacing="none", subtle=not value or None),
    ]


def table_display(
    spec: SectionSpec,
    rows: Sequence[Mapping[str, Any]],
    *,
    limit: int | Shortening | None = None,
    show_all: ShowAll | None = None,
) -> list[Element]:
    """A Table; a table too wide for a chat card (over 4 columns) as one block per row."""
    cut = limit if isinstance(limit, Shortening) else Shortening(limit)
    body, unshown = _table(spec, rows, cut, show_all)
    if unshown and show_all:
        body.append(_button(show_all(spec.key, None, None)))
    return body


def _table(
    spec: SectionSpec, rows: Sequence[Mapping[str, Any]], cut: Shortening, show_all: ShowAll | None
) -> tuple[list[Element], bool]:
    """The rows, and whether something shortened is left without a button of its own."""
    if not rows:
        return [text(f"{NOT_FILLED_IN}: no {spec.row_noun}s yet.", subtle=True)], False
    columns = spec.row_fields
    if len(columns) > TABLE_MAX_COLUMNS:
        blocks = [_row_block(spec, i, row, cut, show_all) for i, row in enumerate(rows)]
        return [b for b, _ in blocks], any(unshown for _, unshown in blocks)
    header = ac.TableRow(
        style="accent",
        cells=[ac.TableCell(items=[text(f.label, weight="bolder")]) for f in columns],
    )
    unshown = False
    lines = []
    for i, row in enumerate(rows):
        cells = []
        for f in columns:
            value = display_value(f, row.get(f.name))
            shown = shortened(value, cut.chars)
            items: list[Element] = [text(shown or "—")]
            if shown != value and show_all and cut.buttons == ANSWER:
                items.append(_button(show_all(spec.key, f.name, i)))
            elif shown != value:
                unshown = True
            cells.append(ac.TableCell(items=items))
        lines.append(ac.TableRow(cells=cells))
    widths = [1 if f.kind in _SHORT_KINDS else 2 for f in columns]
    return [
        ac.Table(
            columns=[ac.TableColumnDefinition(width=w) for w in widths],
            rows=[header, *lines],
            show_grid_lines=True,
        )
    ], unshown


def _row_block(
    spec: SectionSpec, i: int, row: Mapping[str, Any], cut: Shortening, show_all: ShowAll | None
) -> tuple[Element, bool]:
    """One row, its fields in order: runs of short fields as facts, long text as text;
    and whether something shortened is left to the whole section's button."""
    hidden = CARRIED_ROW_FIELDS.get(spec.key, ())
    items: list[Element] = [text(_row_title(spec, i, row, existing=True), weight="bolder")]
    pairs: list[tuple[str, str]] = []
    row_cut = False  # shortened, and left to this row's button
    for f in spec.row_fields:
        if f.name in hidden:
            continue
        value = display_value(f, row.get(f.name))
        shown = shortened(value, cut.chars) or "—"
        if f.kind is not FieldKind.LONG_TEXT:
            pairs.append((f.label, shown))
            row_cut = row_cut or shown != (value or "—")
            continue
        if pairs:
            items.append(facts(pairs))
            pairs = []
        items.extend(
            [
                text(f.label, weight="bolder", size="small", spacing="small"),
                text(shown, spacing="none"),
            ]
        )
        if shown != (value or "—") and show_all and cut.buttons == ANSWER:
            items.append(_button(show_all(spec.key, f.name, i)))
        else:
            row_cut = row_cut or shown != (value or "—")
    if pairs:
        items.append(facts(pairs))
    if row_cut and show_all and cut.buttons != SECTION:
        items.append(_button(show_all(spec.key, None, i)))
        row_cut = False
    return container(items, style="emphasis", spacing="medium"), row_cut
