"""The stateful meeting test as a Teams client: the cards a person holds, their buttons,
what pressing one sends (Action.Execute with every input's value, or the automatic
refresh of a card that names them), what people type into a section's boxes, and what
the PEP should hold afterwards.

Cards are read by what they say, as a person would: "Saved." confirms a save (not
"Saved version: …" beside a field), "Someone else changed this section" is a
conflict, "needs attention" / "⚠" / "Cannot finish yet" are errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from hypothesis import strategies as st

from cards.inputs import CARRIED_ROW_FIELDS, raw_from_card_data
from pep_model.sections import SECTIONS, FieldKind, FieldSpec, normalise_section, section_spec
from tests.support.child_details import shown_strings
from tests.support.meeting_world import Member
from tests.support.teams import inputs, walk

SAVE, NAV, FINISH = "pep.section.save", "pep.nav", "pep.finish"
SECTION_OPEN, ADD, START = "pep.section.open", "pep.attendee.add", "pep.start"
MOVING_ON = (NAV, FINISH, SECTION_OPEN)  # "moving on saves what was typed"
SECTION_KEYS = tuple(s.key for s in SECTIONS)

# the buttons that move the work on, first: hypothesis tries index 0 first and shrinks
# towards it, so its simplest runs walk a meeting through rather than press Save forever
ONWARD = (
    "Next ▶",
    "Next section",
    "Start walkthrough",
    "Finish PEP meeting",
    "Open",
    "Send to Business Support",
    "Show the PEP",
    "Save",
)


# ---- the cards a person holds --------------------------------------------------------


@dataclass(frozen=True)
class Held:
    """A card in front of a member: in which conversation, on which message."""

    conversation: str
    message_id: str
    card: dict[str, Any]
    order: int  # when it arrived: the latest is the one a person looks at

    @cached_property
    def buttons(self) -> list[dict[str, Any]]:
        """The card's Action.Execute buttons (its refresh is not one: see refresh_for)."""
        return [
            e for e in walk({**self.card, "refresh": None}) if e.get("type") == "Action.Execute"
        ]

    @cached_property
    def boxes(self) -> list[str]:
        """The ids of the section's inputs on the card (f.<field>, r.<row>.<field>)."""
        return [k for k in inputs(self.card) if k.startswith(("f.", "r."))]

    @cached_property
    def section(self) -> str | None:
        """The section whose inputs the card holds."""
        for action in self.buttons:
            data = action.get("data") or {}
            if action.get("verb") == SAVE and data.get("section"):
                return str(data["section"])
        return next(
            (
                str(a["data"]["current"])
                for a in self.buttons
                if (a.get("data") or {}).get("current")
            ),
            None,
        )

    @cached_property
    def child(self) -> str:
        """The LCS id of the PEP the card's buttons act on ("" for none)."""
        return next(
            (
                str(a["data"]["pep_id"]).split("-")[0]
                for a in self.buttons
                if (a.get("data") or {}).get("pep_id")
            ),
            "",
        )

    def button(self, title: str) -> dict[str, Any] | None:
        return next((a for a in self.buttons if str(a.get("title", "")).startswith(title)), None)


def onward(action: dict[str, Any]) -> int:
    title = str(action.get("title") or "")
    return next((i for i, t in enumerate(ONWARD) if title.startswith(t)), len(ONWARD))


def press(
    card: dict[str, Any], action: dict[str, Any], typed: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The invoke value Teams sends: the action's data, every input's value, the typing."""
    data = {**(action.get("data") or {}), **inputs(card), **(typed or {})}
    return {
        "action": {
            "type": "Action.Execute",
            "title": action.get("title", ""),
            "verb": action.get("verb", ""),
            "data": data,
        },
        "trigger": "manual",
    }


def refresh_for(card: dict[str, Any], member: Member) -> dict[str, Any] | None:
    """The invoke the member's Teams sends by itself when the card names them in
    refresh.userIds (on arrival, and when the message is updated)."""
    refresh = card.get("refresh")
    if not isinstance(refresh, dict) or member.user_id not in (refresh.get("userIds") or []):
        return None
    action = refresh.get("action") or {}
    return {
        "action": {
            "type": "Action.Execute",
            "verb": action.get("verb", ""),
            "data": dict(action.get("data") or {}),
        },
        "trigger": "automatic",
    }


# ---- what a card says --------------------------------------------------------------------


def says(card: dict[str, Any] | None, pattern: str) -> bool:
    return card is not None and any(re.search(pattern, s) for s in shown_strings(card))


def saved(card: dict[str, Any] | None) -> bool:
    return says(card, r"^(?:Saved(?:[.!]|$| —)|No changes to save)")


def conflicted(card: dict[str, Any] | None) -> bool:
    return says(card, r"Someone else changed")


def shows_errors(card: dict[str, Any] | None) -> bool:
    return says(
        card,
        r"needs? attention before|^⚠|Cannot finish yet|Someone else changed|"
        r"meeting is already finished",
    )


def shows_section(card: dict[str, Any] | None, key: str) -> bool:
    """The card's heading is this section's title."""
    title = section_spec(key).title if key in SECTION_KEYS else "?"
    return any(
        e.get("type") == "TextBlock" and e.get("style") == "heading" and e.get("text") == title
        for e in walk(card or {})
    )


# ---- what people type ----------------------------------------------------------------

# "{m}" becomes a marker word (tests/support/child_details.py MARKER) naming the PEP
TEXTS = (
    "Enjoys painting {m}",
    "Reads with her carer every night {m}",
    "[a link](http://example.invalid/{m}) and **bold {m}**",
    "Half an emoji \ud83d {m}",
    "{m} " + "x" * 8100,
    "",
    "  ",
)
VALUES: dict[FieldKind, tuple[str, ...]] = {
    FieldKind.INTEGER: ("0", "3", "12", "150", "160", "-1", "abc", "²"),
    FieldKind.MONEY: ("50", "120.50", "0", "abc", "-5"),
    FieldKind.DATE: (
        "2027-01-12",
        "2027-02-03",
        "2027-02-17",
        "2027-01-16",
        "2026-12-01",
        "2035-06-30",
        "31/02/2027",
        "12/01/2027",
        "soon",
        "",
    ),
    FieldKind.FLAG: ("true", "false", "maybe"),
}


def typing_for(section: str, input_id: str) -> st.SearchStrategy[str]:
    """Values a person might type into the box: valid first, then wrong ones."""
    try:
        spec = section_spec(section).field(input_id.rsplit(".", 1)[-1])
    except KeyError:
        return st.just("")
    return _values(spec)


def _values(spec: FieldSpec) -> st.SearchStrategy[str]:
    if spec.kind in (FieldKind.TEXT, FieldKind.LONG_TEXT):
        return st.sampled_from(TEXTS)
    if spec.kind is FieldKind.CHOICE:
        return st.sampled_from([v for v, _ in spec.choices] + ["maybe"])
    return st.sampled_from(VALUES[spec.kind])


# ---- what the PEP should hold ----------------------------------------------------------


def readable(section: str, data: dict[str, Any]) -> bool:
    """The model can read every box typed (rules between fields aside)."""
    return not normalise_section(section, raw_from_card_data(section, data))[1]


def holds(stored: dict[str, Any], section: str, data: dict[str, Any]) -> bool:
    """The stored section holds what the card sent, as the model reads it (fields it
    cannot read aside; a lone surrogate may be repaired; a target's ref is the model's)."""
    wanted, errors = normalise_section(section, raw_from_card_data(section, data))
    unreadable = {(e.field, e.row) for e in errors}
    spec = section_spec(section)

    def same(kept: Any, typed: Any) -> bool:
        return kept == typed or (isinstance(typed, str) and "\ud83d" in typed)

    if not all(
        same(stored.get(f.name), wanted[f.name])
        for f in spec.fields
        if (f.name, None) not in unreadable
    ):
        return False
    rows, kept = wanted.get("rows") or [], stored.get("rows") or []
    carried = CARRIED_ROW_FIELDS.get(section, ())
    return len(rows) == len(kept) and all(
        same(k.get(f.name), r.get(f.name))
        for i, (r, k) in enumerate(zip(rows, kept, strict=True))
        for f in spec.row_fields
        if f.name not in carried and (f.name, i) not in unreadable
    )
