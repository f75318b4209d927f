"""The stateful meeting test after the meeting: the lead returns the PEP ("Send to
Business Support"); the PEP coordinator (Lucy) grades it, accepts all suggestions,
approves or returns it for amendment; the education advisor (Gwen) approves the PP+
request, approves another amount or declines it — each sometimes twice (a double
press) and on an older card (stale). Mixed into tests/integration/
test_meeting_state_machine.py's machine, whose `act` calls `watch` and `account` around
every press; the checks are tests/support/decision_checks.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import note
from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule

from cards.pupil_premium import (
    PP_APPROVE,
    PP_APPROVE_AMOUNT,
    PP_DECLINE,
    decision_words,
)
from cards.quality import QA_ACCEPT_ALL, QA_APPROVE, QA_RESUBMIT, QA_RETURN
from cards.scheduling import RETURN_SEND
from pep_model.outbox import OutboxEntry
from tests.support.decision_checks import (
    Decisions,
    heading,
    notices_sent,
    pp_confirmed,
    qa_confirmed,
    return_told,
)
from tests.support.meeting_cards import Held, press
from tests.support.meeting_checks import Ledger
from tests.support.meeting_world import GWEN, HARRIET, LUCY, MEETING_CHILD, Member, Outcome
from tests.support.teams import inputs, walk

QA_DECIDE = (QA_APPROVE, QA_RETURN)
PP_DECIDE = (PP_APPROVE, PP_APPROVE_AMOUNT, PP_DECLINE)
DECIDING = (*QA_DECIDE, *PP_DECIDE)
RETURNING = (RETURN_SEND, QA_RESUBMIT)  # the PEP goes (back) into QA
AMOUNTS = ("300.00", "250", "350", "0", "abc", "")
FEEDBACK = ("Please add the carer's views {m}", "")
REASONS = ("", "Not in the plan {m}", "Tutoring is funded already {m}")
# who must act once a PEP is in QA: member, their card's heading, the notice's name
TO_ACT = {
    "QA": (LUCY, "Quality assurance", "QA card"),
    "PP+": (GWEN, "Pupil Premium Plus request", "PP+ card"),
}

Choice = tuple[Member, Held, dict[str, Any]]


def verb_is(*verbs: str) -> Callable[[Held, dict[str, Any]], bool]:
    return lambda held, action: action.get("verb") in verbs


class AfterMeetingRules:
    """Rules and checks for after the meeting (a mixin of the machine: it relies on its
    run, world, act, choices, choose, marked, say and fail)."""

    # set by the machine
    run: Any
    world: Any
    ledger: Ledger
    after_meeting: bool
    decisions: Decisions
    older: list[Choice]
    choices: Any
    choose: Any
    act: Any
    say: Any
    fail: Any
    marked: Any

    def meeting_was_held(self, known: bool) -> None:
        """Ada's meeting held and finished; the coordinator and the advisor have written
        to the bot before (known: Teams can reach them) or not (e-mail); Harriet asks to
        return the PEP."""
        from tests.unit.builders import complete_raw, meeting_raw

        self.after_meeting = True
        if known:
            for member in (LUCY, GWEN):
                self.say(member, member.personal_chat, "help")
        written, held = complete_raw(), meeting_raw()
        self.run(self.world.meeting_held(MEETING_CHILD, written, held))
        pep = self.run(self.world.stored(self.ada_pep))
        for key in (*written, *held):  # saved, and the meeting finished with them
            self.ledger.confirm(pep, key)
        note(
            "Ada's meeting was held and finished ("
            + (
                "the coordinator and the advisor have written to the bot"
                if known
                else "nobody deciding after the meeting has written to the bot"
            )
            + ")"
        )
        self.say(HARRIET, HARRIET.personal_chat, "return pep LCS100001")

    @precondition(lambda self: self.choices(verb_is(*RETURNING)))
    @rule(data=st.data(), twice=st.booleans())
    def send_to_business_support(self, data: st.DataObject, twice: bool) -> None:
        """ "Send to Business Support", or "Send back for QA" after amendment."""
        member, held, action = self.choose(data, self.choices(verb_is(*RETURNING)))
        self.act(member, held, press(held.card, action), twice=twice)

    @precondition(lambda self: self.choices(verb_is(*QA_DECIDE, QA_ACCEPT_ALL)))
    @rule(
        data=st.data(),
        accept_all=st.booleans(),
        twice=st.booleans(),
        feedback=st.sampled_from(FEEDBACK),
    )
    def quality_assure(
        self, data: st.DataObject, accept_all: bool, twice: bool, feedback: str
    ) -> None:
        """Grade some sections (or none), maybe accept all suggestions, write feedback
        (or not), then approve or return for amendment (twice: a double press)."""
        member, held, _ = self.choose(data, self.choices(verb_is(*QA_DECIDE)))
        typed = {**self.grades(data, held), "qa.feedback": self.marked(feedback, MEETING_CHILD)}
        if accept_all and (button := held.button("Accept all suggestions")):
            self.act(member, held, press(held.card, button, typed))
            now = self.holding(member, held)
            if now is None or not any(a.get("verb") in QA_DECIDE for a in now.buttons):
                return
            held, typed = now, {"qa.feedback": typed["qa.feedback"]}
        self.decide(data, member, held, QA_DECIDE, typed, twice)

    @precondition(lambda self: self.choices(verb_is(*PP_DECIDE)))
    @rule(
        data=st.data(),
        amount=st.sampled_from(AMOUNTS),
        reason=st.sampled_from(REASONS),
        twice=st.booleans(),
    )
    def decide_pupil_premium(
        self, data: st.DataObject, amount: str, reason: str, twice: bool
    ) -> None:
        member, held, _ = self.choose(data, self.choices(verb_is(*PP_DECIDE)))
        typed = {"pp.amount": amount, "pp.reason": self.marked(reason, MEETING_CHILD)}
        self.decide(data, member, held, PP_DECIDE, typed, twice)

    @precondition(lambda self: self.older)
    @rule(data=st.data(), amount=st.sampled_from(AMOUNTS))
    def decide_on_an_older_card(self, data: st.DataObject, amount: str) -> None:
        """A QA or PP+ card replaced since (decided from another card): a stale one."""
        member, held, _ = self.choose(data, self.older)
        typed = (
            {"pp.amount": amount} if "pp.amount" in inputs(held.card) else self.grades(data, held)
        )
        self.decide(data, member, held, DECIDING, typed, twice=False)

    def grades(self, data: st.DataObject, held: Held) -> dict[str, Any]:
        boxes = {
            e["id"]: [c["value"] for c in e.get("choices") or []]
            for e in walk(held.card)
            if str(e.get("id", "")).startswith("g.")
        }
        if not boxes:
            return {}
        if data.draw(st.booleans()):  # a grade for every section
            return {k: data.draw(st.sampled_from(v)) for k, v in boxes.items() if v}
        chosen = data.draw(st.lists(st.sampled_from(sorted(boxes)), max_size=4, unique=True))
        return {k: data.draw(st.sampled_from(boxes[k])) for k in chosen if boxes[k]}

    def decide(
        self,
        data: st.DataObject,
        member: Member,
        held: Held,
        verbs: tuple[str, ...],
        typed: dict[str, Any],
        twice: bool,
    ) -> None:
        buttons = [a for a in held.buttons if a.get("verb") in verbs]
        if not buttons:
            return
        action = data.draw(st.sampled_from(buttons))
        self.act(member, held, press(held.card, action, typed), twice=twice)

    # ---- around every press (called by the machine's act) --------------------------

    def watch(self, member: Member, held: Held, verb: str) -> tuple[set[str], int] | None:
        """Before a press that may decide or return: the outbox keys, the audit length."""
        if not self.after_meeting or verb not in (*DECIDING, *RETURNING):
            return None
        if verb in DECIDING:
            self.older = [c for c in self.older if c[1] is not held][-5:] + [
                (member, held, a) for a in held.buttons if a.get("verb") in DECIDING
            ][:1]
        keys = {e.key for e in self.run(self.world.outbox())}
        return keys, len(self.run(self.world.audit_actions(self.ada_pep)))

    def account(
        self, member: Member, verb: str, outcome: Outcome, before: tuple[set[str], int]
    ) -> None:
        outbox: list[OutboxEntry] = self.run(self.world.outbox())
        new = [e for e in outbox if e.key not in before[0]]
        if verb in RETURNING:
            added = self.run(self.world.audit_actions(self.ada_pep))[before[1] :]
            people = {
                k: v
                for k, v in TO_ACT.items()
                if (k == "QA" and "qa.start" in added) or (k == "PP+" and "pp.request" in added)
            }
            for broken in return_told(people, outcome, outbox):
                self.fail(broken)
            return
        card = outcome.card
        if verb in QA_DECIDE and qa_confirmed(card):
            self.decisions.qa += 1
        elif verb in PP_DECIDE and pp_confirmed(card):
            self.decisions.pp += 1
            request = next(
                (
                    str(a["data"]["request_id"])
                    for a in walk(card or {})
                    if isinstance(a.get("data"), dict) and a["data"].get("request_id")
                ),
                "",
            )
            self.decisions.last[request] = heading(card)
        for broken in notices_sent(member, verb, outcome, new):
            self.fail(broken)

    @property
    def ada_pep(self) -> str:
        return f"{MEETING_CHILD}-2026-autumn"

    @invariant()
    def decisions_are_made_once(self) -> None:
        if not self.after_meeting:
            return
        stored = self.run(self.world.pp_decisions(self.ada_pep))
        for broken in self.decisions.broken(
            self.run(self.world.audit_actions(self.ada_pep)),
            self.run(self.world.qa_rounds(self.ada_pep)),
            {r: decision_words(d) for r, d in stored.items()},
        ):
            self.fail(broken)

    holding: Any
