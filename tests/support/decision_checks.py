"""What must hold after the meeting in the stateful meeting test: the return, the PEP
coordinator's QA decisions and the education advisor's PP+ decisions. Each broken
promise is an exception type of its own (hypothesis reports, and shrinks, each apart).

    Decisions        what the bot confirmed (a "decided" card) against the store
    notices_sent()   one press: each notice the bot says it sent exists exactly once
    return_told()    a return: the coordinator and the advisor are told, or someone is
                     told that they could not be
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from pep_model.outbox import OutboxEntry
from tests.support.child_details import shown_strings
from tests.support.meeting_world import Member, Outcome


class DecisionAppliedTwice(AssertionError): ...


class DecisionNotRecorded(AssertionError): ...


class DecisionValueLost(AssertionError): ...


class NoticeSentTwice(AssertionError): ...


class NoticeDropped(AssertionError): ...


QA_DECIDED = ("Approved: the PEP is finalised", "Returned for amendment")
TOLD = re.compile(r"^The school has been told: (.+)$")
NOBODY = "Nobody in school could be told"
# what the school receives after a decision, in Teams (the cards' headings)
SCHOOL_NOTICES = (
    "Pupil Premium Plus: approved",
    "Pupil Premium Plus: declined",
    "PEP returned for amendment",
    "PEP approved and finalised",
)
NOTICE_KEYS = ("reach:", "unreached:")  # pep_model/reach.py: e-mail, or Business Support


def heading(card: dict[str, Any] | None) -> str:
    strings = list(shown_strings(card)) if card else []
    return strings[0] if strings else ""


def told_names(card: dict[str, Any] | None) -> list[str] | None:
    """Who a decided card says was told (None: the card confirms no decision)."""
    strings = list(shown_strings(card)) if card else []
    for s in strings:
        if found := TOLD.match(s):
            return [n.strip() for n in found.group(1).split(",")]
        if s.startswith(NOBODY):
            return []
    return None


def qa_confirmed(card: dict[str, Any] | None) -> bool:
    return heading(card).startswith(QA_DECIDED) and told_names(card) is not None


def pp_confirmed(card: dict[str, Any] | None) -> bool:
    return not heading(card).startswith(QA_DECIDED) and told_names(card) is not None


@dataclass
class Decisions:
    """The decisions the bot confirmed to the coordinator and the advisor: how many QA
    rounds, how many PP+ decisions, and each request's decision as last confirmed (its
    card's heading, cards.pupil_premium.decision_words)."""

    qa: int = 0
    pp: int = 0
    last: dict[str, str] = field(default_factory=dict)

    def broken(
        self, audit: Sequence[str], qa_rounds: int, stored: dict[str, str]
    ) -> list[AssertionError]:
        """audit: the PEP's audit actions; stored: request id -> its decision's words."""
        found: list[AssertionError] = []
        recorded = {
            "QA rounds": (qa_rounds, self.qa),
            "QA decisions audited": (sum(a in ("qa.approve", "qa.return") for a in audit), self.qa),
            "PP+ decisions audited": (audit.count("pp.decide"), self.pp),
        }
        for what, (count, confirmed) in recorded.items():
            if count > confirmed:
                found.append(
                    DecisionAppliedTwice(
                        f"{what}: {count} in the store, {confirmed} confirmed to the person "
                        "deciding"
                    )
                )
            elif count < confirmed:
                found.append(
                    DecisionNotRecorded(
                        f"{what}: {confirmed} confirmed to the person deciding, {count} in "
                        "the store"
                    )
                )
        for request, words in self.last.items():
            if stored.get(request) != words:
                found.append(
                    DecisionValueLost(
                        f"PP+ request {request}: confirmed {words!r}, the store holds "
                        f"{stored.get(request)!r}"
                    )
                )
        return found


def notices_sent(
    who: Member, verb: str, outcome: Outcome, new_rows: Collection[OutboxEntry]
) -> list[AssertionError]:
    """One decision press: the school is sent exactly one notice for each person the
    decided card names as told, and nothing when the press decided nothing (a double
    press, a stale card, the same decision again)."""
    told = told_names(outcome.card)
    in_teams = [
        s
        for s in outcome.seen
        if s.how == "posted" and heading(s.payload).startswith(SCHOOL_NOTICES)
    ]
    mails = [r.key for r in new_rows if r.key.startswith(NOTICE_KEYS)]
    sent = len({(s.conversation, s.message_id) for s in in_teams}) + len(mails)
    expected = len(told or [])
    what = f"{who.key} pressed {verb}: the answer names {told} as told"
    if sent > expected:
        return [
            NoticeSentTwice(f"{what}; {sent} notices went out ({len(mails)} by e-mail: {mails})")
        ]
    if sent < expected:
        return [NoticeDropped(f"{what}; only {sent} notices went out")]
    return []


def return_told(
    people: dict[str, tuple[Member, str, str]], outcome: Outcome, outbox: Collection[OutboxEntry]
) -> list[AssertionError]:
    """After a PEP went into QA: each person who must act (member, the card's heading,
    the reach notice's name) got the card in Teams, or an e-mail, or Business Support
    was told that nobody could reach them."""
    found: list[AssertionError] = []
    for key, (member, title, what) in people.items():
        in_teams = any(
            s.member is member and s.how == "posted" and heading(s.payload).startswith(title)
            for s in outcome.seen
        )
        by_mail = any(
            r.key.startswith(tuple(f"{p}{what}:" for p in NOTICE_KEYS))
            and r.key.endswith(f":{member.email}")
            for r in outbox
        )
        if not (in_teams or by_mail):
            found.append(
                NoticeDropped(
                    f"the PEP went into QA ({key}): {member.key} ({member.role}) got no "
                    f"{what!r} in Teams nor by e-mail, and nobody was told"
                )
            )
    return found
