"""What must hold after every step of the stateful meeting test: each rule a function
returning the broken promises it found, each broken promise an exception type of its
own (hypothesis reports, and shrinks, each bug apart).

    Ledger            a value confirmed "Saved" is never lost (but by a later save)
    delivered()       privacy, shared chats, 5xx, internal names
    pressed()         the ledger kept up to date, and the rules of moving on
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pep_model.access import Capability
from pep_model.pep import Pep
from pep_model.workflow import PepStatus
from tests.support.child_details import Access, Detail, shown_text
from tests.support.meeting_cards import (
    FINISH,
    MOVING_ON,
    NAV,
    SAVE,
    SECTION_KEYS,
    SECTION_OPEN,
    Held,
    holds,
    readable,
    saved,
    shows_errors,
    shows_section,
)
from tests.support.meeting_world import Member, Outcome


class SavedValueLost(AssertionError): ...


class DetailsShownToWrongPerson(AssertionError): ...


class ChildDetailsInSharedChat(AssertionError): ...


class ServerError(AssertionError): ...


class InternalNameShown(AssertionError): ...


class DoubleClickConflict(AssertionError): ...


class StuckWithNothingTyped(AssertionError): ...


class TypingDroppedOnMove(AssertionError): ...


class UnmentionedMessageAnswered(AssertionError): ...


INTERNAL = re.compile(
    "|".join([*(rf"\b{s.value}\b" for s in PepStatus if "_" in s.value), "Traceback"])
)


@dataclass
class Ledger:
    """Each section's content as a save last confirmed it, and the PEP's version then."""

    confirmed: dict[tuple[str, str], tuple[dict[str, Any], int]] = field(default_factory=dict)

    def confirm(self, pep: Pep, section: str) -> None:
        self.confirmed[pep.id, section] = (pep.section(section), pep.version)

    def since(self, pep_id: str, section: str) -> int:
        return self.confirmed.get((pep_id, section), ({}, 0))[1]

    def lost(self, stored: Mapping[str, Pep | None]) -> list[AssertionError]:
        """stored: each PEP the ledger names, as the store holds it now."""
        found: list[AssertionError] = []
        for (pep_id, section), (content, _) in self.confirmed.items():
            pep = stored.get(pep_id)
            now = pep.section(section) if pep else None
            if now != content:
                found.append(
                    SavedValueLost(
                        f"{section} of {pep_id}: confirmed "
                        f"{content!r:.300}, now {now!r:.300}, with no "
                        "confirmed save"
                    )
                )
        return found


def delivered(
    access: Access, outcome: Outcome, typed_for: Mapping[str, str], echo: str = ""
) -> list[AssertionError]:
    """Everything one activity caused, as its recipients got it."""
    found: list[AssertionError] = []
    if outcome.status >= 500 or outcome.answer_status >= 500 or outcome.tracebacks:
        found.append(
            ServerError(
                f"HTTP {outcome.status}, invoke {outcome.answer_status}, "
                f"logged: {outcome.tracebacks}"
            )
        )
    details: dict[int, list[Detail]] = {}
    for seen in outcome.seen:
        who = f"{seen.member.key} ({seen.member.role})" if seen.member else "someone"
        carried = details.setdefault(id(seen.payload), access.details(seen.payload, typed_for))
        if leaked := access.foreign(seen.member, carried, echo):
            found.append(
                DetailsShownToWrongPerson(
                    f"{who} got, {seen.how} in {seen.conversation}: {[str(d) for d in leaked[:5]]}"
                )
            )
        if seen.shared and (public := access.public(carried)):
            found.append(
                ChildDetailsInSharedChat(
                    f"{seen.how} in {seen.conversation}: {[str(d) for d in public[:5]]}"
                )
            )
        if names := INTERNAL.findall(shown_text(seen.payload)):
            found.append(InternalNameShown(f"{who} read {names} in {seen.conversation}"))
    return found


@dataclass(frozen=True)
class Press:
    """One button pressed: by whom, on which card, what was sent, what came back, and
    the PEP before and after."""

    member: Member
    held: Held
    value: dict[str, Any]
    outcome: Outcome
    before: Pep
    after: Pep
    typed: bool  # the person typed into the section's boxes

    @property
    def verb(self) -> str:
        return str(self.value["action"]["verb"])

    @property
    def data(self) -> dict[str, Any]:
        return dict(self.value["action"]["data"])


def pressed(p: Press, ledger: Ledger, access: Access) -> list[AssertionError]:
    """Keep the ledger, and check moving on: nothing typed never blocks it (Previous,
    Next, Go), and when it moves it keeps what was typed."""
    data, verb, card = p.data, p.verb, p.outcome.card
    section = str(data.get("section")) if verb == SAVE else p.held.section
    target = str(data.get("section") or data.get("nav.section") or "")
    shown = card is not None and not shows_errors(card)
    moved = (
        (verb == NAV and shown and p.after.current_section == target)
        or (
            verb == FINISH
            and p.before.status is PepStatus.IN_MEETING
            and p.after.status is not PepStatus.IN_MEETING
        )
        or (verb == SECTION_OPEN and shown and shows_section(card, target))
    )
    found = []
    if (
        verb in MOVING_ON
        and not p.typed
        and not shows_errors(p.held.card)
        and p.outcome.status < 500
        and str(data.get("version")) == str(p.before.version)
    ):
        found += _not_stuck(p, access, target, moved)
    if section not in SECTION_KEYS or section == "attendees":
        return found  # attendees also change by meeting events and "Add attendee"
    was, now = p.before.section(section), p.after.section(section)
    if verb == SAVE and saved(card):
        if not holds(now, section, data):
            found.append(
                SavedValueLost(
                    f"{p.member.key} was told 'Saved' for {section} but the PEP holds {now!r:.300}"
                )
            )
        ledger.confirm(p.after, section)
    elif verb in MOVING_ON and any(str(k).startswith(("f.", "r.")) for k in data):
        since = ledger.since(p.after.id, section)
        if now != was and (not holds(now, section, data) or int(data.get("version") or 0) < since):
            found.append(
                SavedValueLost(
                    f"{p.member.key} pressed {verb} on a card of version {data.get('version')} "
                    f"(confirmed at {since}) and {section} became {now!r:.300}"
                )
            )
        if now != was:
            ledger.confirm(p.after, section)
        elif moved and readable(section, data) and not holds(now, section, data):
            found.append(
                TypingDroppedOnMove(
                    f"{p.member.key} typed into {section} and "
                    f"pressed {verb}: it moved on, the typing was "
                    "not saved"
                )
            )
    return found


def _not_stuck(p: Press, access: Access, target: str, moved: bool) -> list[AssertionError]:
    child = p.before.child_id
    meeting = (
        p.verb == NAV
        and p.before.status is PepStatus.IN_MEETING
        and access.can(p.member, Capability.LEAD_MEETING, child)
    )
    personal = (
        p.verb == SECTION_OPEN
        and p.held.conversation.startswith("a:personal-")
        and access.can(p.member, Capability.VIEW, child)
    )
    if (meeting or personal) and target in SECTION_KEYS and not moved:
        return [
            StuckWithNothingTyped(
                f"{p.member.key} ({p.member.role}) pressed {p.verb} to {target} from "
                f"{p.held.section} with nothing typed, and did not move"
            )
        ]
    return []
