"""Which child's details a card or message shows, and who may see them — for the
privacy invariants of the stateful meeting test.

A child's details: full name, date of birth, LCS id, initials with year group (what the
meeting cards call a child), and PEP content — what people typed, recognised by the
marker words (MARKER) the test types into every free-text field. Who may see a child
is pep_model.access: anyone with the right to view the PEP or the meeting view.

Names, dates of birth, initials with year group and markers are looked for in all of
a card's JSON (data a client receives is received, shown or not); LCS ids only in what
the card shows, since every card action carries the PEP id it acts on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pep_model.access import Actor, Capability
from pep_model.child import Child
from pep_model.ports import UnitOfWorkFactory
from tests.support.meeting_world import Member

MARKER = re.compile(r"zq\d{4}")
SEEING = frozenset({Capability.VIEW, Capability.VIEW_MEETING})

# properties whose text a person reads on a card (or in an attachment / message)
_SHOWN = frozenset(
    {
        "text",
        "title",
        "value",
        "label",
        "placeholder",
        "errorMessage",
        "altText",
        "fallbackText",
        "name",
        "description",
        "tooltip",
    }
)
# parts a client keeps but never shows
_UNSHOWN = frozenset({"data", "refresh", "id", "verb", "choices.value"})


def shown_strings(payload: Any, where: str = "") -> Iterator[str]:
    """Every string a person reads on the card, attachment or message."""
    if isinstance(payload, Mapping):
        choice_set = payload.get("type") in ("Input.ChoiceSet", "Input.Toggle")
        for key, value in payload.items():
            if key in _UNSHOWN or f"{where}.{key}" in _UNSHOWN or (choice_set and key == "value"):
                continue
            if isinstance(value, str):
                if key in _SHOWN:
                    yield value
            else:
                yield from shown_strings(value, key)
    elif isinstance(payload, list):
        for item in payload:
            yield from shown_strings(item, where)


def shown_text(payload: Any) -> str:
    return "\n".join(shown_strings(payload))


def all_text(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False)


@dataclass(frozen=True)
class ChildMarks:
    """How a child can be recognised in what the bot sends."""

    lcs_id: str
    full_name: str
    birth: tuple[str, ...]  # ISO, dd/mm/yyyy, d Month yyyy
    labels: tuple[str, ...]  # initials with year group, as the meeting cards write them

    @classmethod
    def of(cls, child: Child) -> ChildMarks:
        born = child.date_of_birth
        return cls(
            child.lcs_id,
            child.full_name,
            (born.isoformat(), born.strftime("%d/%m/%Y"), f"{born.day} {born.strftime('%B %Y')}"),
            (f"{child.initials}, {child.year_group.label}", f"{child.initials} ({child.lcs_id})"),
        )

    @property
    def all(self) -> tuple[str, ...]:
        return (self.full_name, *self.birth, *self.labels, self.lcs_id)

    def found_in(self, raw: str, shown: str) -> list[str]:
        """Which marks the payload (all its JSON, and what it shows) carries."""
        found = [m for m in (self.full_name, *self.birth, *self.labels) if m in raw]
        return [*found, self.lcs_id] if self.lcs_id in shown else found


@dataclass(frozen=True)
class Detail:
    """One child's detail found in a payload."""

    lcs_id: str  # "" for typed content of a PEP the test does not know
    what: str

    def __str__(self) -> str:
        return f"{self.lcs_id}: {self.what}"


@dataclass(frozen=True)
class Access:
    """Every child's marks, and which children each member may see."""

    marks: Mapping[str, ChildMarks]
    seeing: Mapping[str, frozenset[str]]  # member key -> LCS ids they may see
    rights: Mapping[tuple[str, str], frozenset[Capability]]  # (member key, LCS id)

    @classmethod
    async def load(cls, uow: UnitOfWorkFactory, members: Sequence[Member]) -> Access:
        async with uow() as work:
            children = await work.children.list_all()
            actors = {}
            for m in members:
                person = await work.people.find(email=m.email)
                assignments = await work.people.assignments(person.id) if person else []
                actors[m.key] = Actor(person, tuple(assignments))
        rights = {
            (key, c.lcs_id): actor.capabilities(c)
            for key, actor in actors.items()
            for c in children
        }
        seeing = {
            key: frozenset(c.lcs_id for c in children if rights[key, c.lcs_id] & SEEING)
            for key in actors
        }
        return cls({c.lcs_id: ChildMarks.of(c) for c in children}, seeing, rights)

    def can(self, member: Member, capability: Capability, lcs_id: str) -> bool:
        return capability in self.rights.get((member.key, lcs_id), frozenset())

    def details(self, payload: Any, typed_for: Mapping[str, str]) -> list[Detail]:
        """Every child's detail the payload carries. typed_for: marker word -> the LCS
        id of the PEP it was typed into."""
        raw, shown = all_text(payload), shown_text(payload)
        found = [
            Detail(lcs_id, m)
            for lcs_id, marks in self.marks.items()
            for m in marks.found_in(raw, shown)
        ]
        return found + [Detail(typed_for.get(w, ""), f"typed {w}") for w in MARKER.findall(raw)]

    def foreign(
        self, member: Member | None, details: Sequence[Detail], echo: str = ""
    ) -> list[Detail]:
        """The details `member` may not see (None: nobody known). echo: what was typed
        in front of them (an id someone typed is no news when the bot repeats it)."""
        allowed = self.seeing.get(member.key, frozenset()) if member else frozenset()
        theirs = {m for lcs_id in allowed for m in self.marks[lcs_id].all}
        return [
            d
            for d in details
            if d.lcs_id
            and d.lcs_id not in allowed
            and d.what not in theirs
            and d.what.lower() not in echo.lower()
        ]

    def public(self, details: Sequence[Detail]) -> list[Detail]:
        """The details a shared chat must never show: a child's name, date of birth or
        PEP content (the meeting cards name the child by initials and year)."""
        return [
            d
            for d in details
            if d.what.startswith("typed ")
            or (
                d.lcs_id and d.what in (self.marks[d.lcs_id].full_name, *self.marks[d.lcs_id].birth)
            )
        ]
