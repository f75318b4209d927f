"""The building blocks every card shares: text, actions, headers, and the card itself.

Elements are adaptive-cards-py models; `card()` serialises them to the JSON dict Teams
receives and adds, as plain dicts, the parts the library cannot express (see
docs/cards.md): the card-level `refresh` (the library types `refresh.action` as a string).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
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
MAX_CARD_BYTES = 80 * 1024
CARD_BUDGET = MAX_CARD_BYTES - 1024  # room for the activity around the card
DISPLAY_LIMITS = (None, 1000, 300, 100)  # read-only long text, shortened until it fits
SECTION_COUNT = len(SECTIONS)

Element = Any  # an adaptive-cards-py element model
Action = Any   # an adaptive-cards-py action model

E = TypeVar("E", bound=Enum)
T = TypeVar("T")
COMPACT = act.ChoiceInputStyle.COMPACT

Style = str  # "default" | "attention" | "good" | "warning" | "accent" | "emphasis"


# ---- text ------------------------------------------------------------------------

def as_enum(kind: type[E], value: str | None) -> E | None:
    """The library's enum member for a schema word ("bolder", "attention", ...)."""
    return None if value is None else kind(value)


def text(value: str, *, weight: str | None = None, size: str | None = None,
         color: str | None = None, subtle: bool | None = None,
         spacing: str | None = None, separator: bool | None = None) -> Element:
    return ac.TextBlock(text=value, wrap=True, weight=as_enum(act.FontWeight, weight),
                        size=as_enum(act.FontSize, size), color=as_enum(act.Colors, color),
                        is_subtle=subtle, spacing=as_enum(act.Spacing, spacing),
                        separator=separator)


def heading(value: str, *, size: str = "medium") -> Element:
    return ac.TextBlock(text=value, wrap=True, weight=act.FontWeight.BOLDER,
                        size=as_enum(act.FontSize, size), style=act.TextBlockStyle.HEADING)


def bullets(lines: Iterable[str], *, color: str | None = None) -> list[Element]:
    return [text(f"• {line}", color=color, spacing="none") for line in lines]


def container(items: Sequence[Element], *, style: Style | None = None,
              separator: bool | None = None, spacing: str | None = None) -> Element:
    return ac.Container(items=list(items), style=as_enum(act.ContainerStyle, style),
                        separator=separator, spacing=as_enum(act.Spacing, spacing))


def facts(pairs: Iterable[tuple[str, str]]) -> Element:
    return ac.FactSet(facts=[ac.Fact(title=t, value=v) for t, v in pairs])


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


def problems_block(title: str, errors: Sequence[FieldError], *,
                   style: Style = "attention") -> Element:
    return container([text(title, weight="bolder", color="attention"),
                      *bullets(problem_lines(errors))], style=style)


# ---- actions ---------------------------------------------------------------------

def execute(title: str, verb: str, data: Mapping[str, Any], *,
            style: str | None = None, tooltip: str | None = None) -> Action:
    return ac.ActionExecute(title=title, verb=verb, data=dict(data),
                            style=as_enum(act.ActionStyle, style), tooltip=tooltip)


def action_set(actions: Sequence[Action], *, spacing: str | None = None) -> Element:
    return ac.ActionSet(actions=list(actions), spacing=as_enum(act.Spacing, spacing))


def pep_data(pep: Pep, **extra: Any) -> dict[str, Any]:
    """The data every PEP action carries: its id and the version the card shows."""
    return {"pep_id": pep.id, "version": pep.version, **extra}


# ---- the card --------------------------------------------------------------------

def card(body: Sequence[Element], actions: Sequence[Action] = (), *,
         refresh: Mapping[str, Any] | None = None) -> dict[str, Any]:
    built = ac.AdaptiveCard.new().version(CARD_VERSION).add_items(list(body))
    if actions:
        built = built.add_actions(list(actions))
    # the dict json.loads(AdaptiveCard.to_json()) would give (same serialiser, same key
    # order), without writing the JSON text and parsing it back
    result: dict[str, Any] = built.create().model_dump(mode="json", exclude_none=True,
                                                       by_alias=True, warnings=False)
    if refresh is not None:
        result["refresh"] = dict(refresh)
    return result


def card_bytes(result: Mapping[str, Any]) -> int:
    """The card's size as sent: JSON, UTF-8."""
    return len(json.dumps(result, ensure_ascii=False).encode("utf-8"))


def fitted(build: Callable[[T], dict[str, Any]], tries: Sequence[T],
           last: T) -> dict[str, Any]:
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
    return ac.AdaptiveCard(version=CARD_VERSION, body=list(body),
                           actions=list(actions) or None)


def refresh_for(verb: str, data: Mapping[str, Any], user_ids: Sequence[str]) -> dict[str, Any]:
    """Universal Actions refresh: these users' clients fetch their own view (max 60)."""
    return {"action": {"type": "Action.Execute", "verb": verb, "data": dict(data)},
            "userIds": [str(u) for u in list(user_ids)[:60]]}


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
    return (SECTION_KEYS[i - 1] if i > 0 else None,
            SECTION_KEYS[i + 1] if i + 1 < len(SECTION_KEYS) else None)


def progress_bar(position: int, total: int = SECTION_COUNT) -> str:
    return "▰" * position + "▱" * (total - position)
