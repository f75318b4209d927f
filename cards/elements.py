"""The building blocks every card shares: text, actions, headers, and the card itself.

Elements are adaptive-cards-py models; `card()` serialises them to the JSON dict Teams
receives and adds, as plain dicts, the parts the library cannot express (see
docs/cards.md): the card-level `refresh` (the library types `refresh.action` as a string).

Teams reads a TextBlock's text and a Fact's title and value as Markdown. `text()`,
`heading()` and `facts()` — the only ways a card shows words — pass every string through
`plain()`, so nothing typed by a person (a child's voice, a name, a reason) can become a
link, bold text, a list or a heading. No card uses Markdown on purpose.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Any, TypeVar

from adaptive_cards import card as ac
from adaptive_cards import types as act

from pep_model.errors import FieldError
from pep_model.pep import Pep
from pep_model.sections import SECTION_KEYS, SECTIONS, section_spec
from pep_model.terms import Term, british_date, parse_term_id

CARD_VERSION: ac.CardVersion = "1.5"
# Sizes as Teams counts them: the serialised message in UTF-16 (2 bytes a character, 4 for
# an emoji). Teams refuses a message over about 100 KB (HTTP 413); every card is built to
# stay under 40 KB, with room for the activity around it.
TEAMS_MESSAGE_LIMIT = 100 * 1024
MESSAGE_BUDGET = 40 * 1024
CARD_BUDGET = MESSAGE_BUDGET - 1024
SECTION_COUNT = len(SECTIONS)

# how a read-only section is cut down until its card fits, and how the full text is reached
ANSWER, ROW, SECTION = "answer", "row", "section"


@dataclass(frozen=True)
class Shortening:
    """Long answers cut to `chars` characters (None: in full; 0: none shown), with a
    "Show all" button for each shortened ANSWER, for each ROW of a table with one, or
    one for the whole SECTION."""

    chars: int | None
    buttons: str = ANSWER


DISPLAY_LIMITS = (
    Shortening(None),
    Shortening(1000),
    Shortening(300),
    Shortening(100, ROW),
    Shortening(40, SECTION),
    Shortening(0, SECTION),
)  # the last always fits

Element = Any  # an adaptive-cards-py element model
Action = Any  # an adaptive-cards-py action model

E = TypeVar("E", bound=Enum)
T = TypeVar("T")
COMPACT = act.ChoiceInputStyle.COMPACT

Style = str  # "default" | "attention" | "good" | "warning" | "accent" | "emphasis"


# ---- text ------------------------------------------------------------------------

_ANYWHERE = re.compile(r"[\\`*_\[\]<~]|&(?=#?\w+;)")  # emphasis, code, links, entities
# at the start of a line: a heading, a quote, a list item, a rule
_LINE_START = re.compile(r"^(?:#{1,6}(?=\s|$)|>|[+\-](?=\s|$)|-(?=-)|\d{1,9}(?=[.)](?:\s|$)))")


def _plain_line(line: str) -> str:
    line = _ANYWHERE.sub(lambda m: "\\" + m.group(0), line.strip())
    found = _LINE_START.match(line)
    if found is None:
        return line
    if found.group(0)[0].isdigit():  # "1. x": the dot is what makes the list
        end = found.end()
        return line[:end] + "\\" + line[end:]
    return "\\" + line


def plain(value: str) -> str:
    """`value` as Markdown that shows exactly these characters: every character Markdown
    would read as formatting is backslash-escaped (CommonMark), and each line becomes a
    paragraph, so a line starting "- ", "1. " or "# " stays a line of text."""
    return "\n\n".join(_plain_line(line) for line in value.splitlines() if line.strip())


def as_enum(kind: type[E], value: str | None) -> E | None:
    """The library's enum member for a schema word ("bolder", "attention", ...)."""
    return None if value is None else kind(value)


def text(
    value: str,
    *,
    weight: str | None = None,
    size: str | None = None,
    color: str | None = None,
    subtle: bool | None = None,
    spacing: str | None = None,
    separator: bool | None = None,
) -> Element:
    return ac.TextBlock(
        text=plain(value),
        wrap=True,
        weight=as_enum(act.FontWeight, weight),
        size=as_enum(act.FontSize, size),
        color=as_enum(act.Colors, color),
        is_subtle=subtle,
        spacing=as_enum(act.Spacing, spacing),
        separator=separator,
    )


def heading(value: str, *, size: str = "medium") -> Element:
    return ac.TextBlock(
        text=plain(value),
        wrap=True,
        weight=act.FontWeight.BOLDER,
        size=as_enum(act.FontSize, size),
        style=act.TextBlockStyle.HEADING,
    )


def bullets(lines: Iterable[str], *, color: str | None = None) -> list[Element]:
    return [text(f"• {line}", color=color, spacing="none") for line in lines]


def container(
    items: Sequence[Element],
    *,
    style: Style | None = None,
    separator: bool | None = None,
    spacing: str | None = None,
) -> Element:
    return ac.Container(
        items=list(items),
        style=as_enum(act.ContainerStyle, style),
        separator=separator,
        spacing=as_enum(act.Spacing, spacing),
    )


def facts(pairs: Iterable[tuple[str, str]]) -> Element:
    return ac.FactSet(facts=[ac.Fact(title=plain(t), value=plain(v)) for t, v in pairs])


def error_line(message: str) -> Element:
    """An error shown beside the field it belongs to."""
    return text(f"⚠ {message}", color="attention", size="small", spacing="none")


def notice_block(notice: str) -> list[Element]:
    """What just happened ("Saved."), highlighted above the card's content; none if empty."""
    if not notice:
        return []
    return [container([text(notice, weight="bolder")], style="accent")]


def problem_lines(errors: Sequence[FieldError], limit: int | None = None) -> list[str]:
    shown = list(errors if limit is None else errors[:limit])
    return [f"{e.where()}: {e.message}" for e in shown]


def problems_block(
    title: str, errors: Sequence[FieldError], *, style: Style = "attention"
) -> Element:
    return container(
        [text(title, weight="bolder", color="attention"), *bullets(problem_lines(errors))],
        style=style,
    )


# ---- actions ---------------------------------------------------------------------


def execute(
    title: str,
    verb: str,
    data: Mapping[str, Any],
    *,
    style: str | None = None,
    tooltip: str | None = None,
) -> Action:
    return ac.ActionExecute(
        title=title,
        verb=verb,
        data=dict(data),
        style=as_enum(act.ActionStyle, style),
        tooltip=tooltip,
    )


def action_set(actions: Sequence[Action], *, spacing: str | None = None) -> Element:
    return ac.ActionSet(actions=list(actions), spacing=as_enum(act.Spacing, spacing))


def pep_data(pep: Pep, **extra: Any) -> dict[str, Any]:
    """The data every PEP action carries: its id and the version the card shows."""
    return {"pep_id": pep.id, "version": pep.version, **extra}


SHOW_TEXT = "pep.section.text"
ShowAll = Callable[[str, str | None, int | None], Action]  # (section, field, row) -> button


def show_all_for(pep: Pep) -> ShowAll:
    """The "Show all" buttons of a shortened section: one answer (a field, or a field of
    a row), one row, or (neither) the whole section, in full on a card of its own."""

    def button(section: str, field: str | None, row: int | None) -> Action:
        data: dict[str, Any] = {"pep_id": pep.id, "section": section}
        if field is not None:
            data["field"] = field
        if row is not None:
            data["row"] = row
        if field is not None:
            title = "Show all"
        elif row is not None:
            title = f"Show this {section_spec(section).row_noun} in full"
        else:
            title = "Show the whole section"
        return execute(title, SHOW_TEXT, data)

    return button


# ---- the card --------------------------------------------------------------------


def card(
    body: Sequence[Element],
    actions: Sequence[Action] = (),
    *,
    refresh: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    built = ac.AdaptiveCard.new().version(CARD_VERSION).add_items(list(body))
    if actions:
        built = built.add_actions(list(actions))
    # the dict json.loads(AdaptiveCard.to_json()) would give (same serialiser, same key
    # order), without writing the JSON text and parsing it back
    result: dict[str, Any] = built.create().model_dump(
        mode="json", exclude_none=True, by_alias=True, warnings=False
    )
    if refresh is not None:
        result["refresh"] = dict(refresh)
    return result


def utf16_bytes(value: str) -> int:
    """A string's size as Teams counts it (a lone surrogate counts, never raises)."""
    return len(value.encode("utf-16-le", "surrogatepass"))


def card_bytes(result: Any) -> int:
    """The card's (or an element's) size as Teams counts it: its JSON in UTF-16."""
    return utf16_bytes(json.dumps(result, ensure_ascii=False))


def fitted(build: Callable[[T], dict[str, Any]], tries: Sequence[T], last: T) -> dict[str, Any]:
    """The first build(t), t in tries, whose JSON fits CARD_BUDGET; else build(last)."""
    for attempt in tries:
        result = build(attempt)
        if card_bytes(result) <= CARD_BUDGET:
            return result
    return build(last)


def shortened(value: str, limit: int | None) -> str:
    if limit is None or len(value) <= limit:
        return value
    return value[:limit].rstrip() + "…"


def sub_card(body: Sequence[Element], actions: Sequence[Action] = ()) -> Any:
    """A card nested in an Action.ShowCard."""
    return ac.AdaptiveCard(version=CARD_VERSION, body=list(body), actions=list(actions) or None)


def refresh_for(verb: str, data: Mapping[str, Any], user_ids: Sequence[str]) -> dict[str, Any]:
    """Universal Actions refresh: these users' clients fetch their own view (max 60)."""
    return {
        "action": {"type": "Action.Execute", "verb": verb, "data": dict(data)},
        "userIds": [str(u) for u in list(user_ids)[:60]],
    }


# ---- words about a PEP -----------------------------------------------------------


def term_label(term_id: str) -> str:
    """'2026-autumn' -> 'Autumn term 2026', worded by the model's Term."""
    try:
        year, season = parse_term_id(term_id)
    except ValueError:
        return term_id
    return Term(date.min, date.min, season, year).label


def british(day: date | str | None) -> str:
    if day is None or day == "":
        return ""
    return british_date(day if isinstance(day, date) else date.fromisoformat(str(day)))


def section_position(key: str) -> int:
    """1-based position of a section in the PEP."""
    return SECTION_KEYS.index(section_spec(key).key) + 1


def neighbours(key: str) -> tuple[str | None, str | None]:
    i = SECTION_KEYS.index(section_spec(key).key)
    return (
        SECTION_KEYS[i - 1] if i > 0 else None,
        SECTION_KEYS[i + 1] if i + 1 < len(SECTION_KEYS) else None,
    )


def progress_bar(position: int, total: int = SECTION_COUNT) -> str:
    return "▰" * position + "▱" * (total - position)
