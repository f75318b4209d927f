"""PEP meetings as a stateful property test. People with their roles do random sequences
of typed commands, opening, saving (twice, and from stale cards), moving through the
sections, adding attendees, uploading the Word form, finishing (twice), the after-meeting
prompt and the return to Business Support — over the real bot, store and HTTP stack
(tests/support/meeting_world.py), pressing cards as Teams does
(tests/support/meeting_cards.py). After every step:

- a value confirmed "Saved" is never lost except by a later confirmed save of it;
- nobody receives a child's details they may not see (tests/support/child_details.py);
- no shared chat receives a child's name, date of birth or PEP content;
- nothing answers 5xx and no exception reaches the log;
- and what a meeting relies on: no internal state name reaches a person, a Save of what
  is stored is never a conflict, nothing typed never blocks moving on, moving on keeps
  what was typed, and a group chat message that does not mention the bot is not answered.

Budget: fixed and derandomised by default (CI); PEP_STATEFUL_EXAMPLES / _STEPS / _SEED
for longer or replayed runs — see "The stateful meeting test" in docs/testing.md.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, note, seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    get_state_machine_test,
    initialize,
    invariant,
    precondition,
    rule,
)

from pep_model.pep import pep_id_for
from pep_model.sections import SECTIONS, FieldKind
from tests.support.after_meeting_rules import AfterMeetingRules
from tests.support.bot_auth import TokenAuthority
from tests.support.child_details import Access, shown_strings, shown_text
from tests.support.decision_checks import Decisions
from tests.support.docx_fill import FormEditor
from tests.support.meeting_cards import (
    ADD,
    FINISH,
    MOVING_ON,
    SAVE,
    SECTION_KEYS,
    START,
    Held,
    conflicted,
    onward,
    press,
    refresh_for,
    shows_errors,
    typing_for,
)
from tests.support.meeting_checks import (
    DoubleClickConflict,
    Ledger,
    Press,
    UnmentionedMessageAnswered,
    delivered,
    pressed,
)
from tests.support.meeting_world import (
    HARRIET,
    MEETING_CHATS,
    MEETING_CHILD,
    MEMBERS,
    Member,
    Outcome,
    World,
    build_template,
)
from tests.support.teams import inputs, walk

CI_EXAMPLES, CI_STEPS = 30, 40  # about 20 s on two cores while every invariant holds
CI_AFTER_MEETING = (20, 25)  # the after-meeting runs: about 20 s more
TERM = "2026-autumn"
PEPS = {c: pep_id_for(c, TERM) for c in (MEETING_CHILD, "LCS100002", "LCS100020")}
COMMANDS = (
    "start pep",
    "start pep",
    "my peps",
    "my peps",
    "open LCS100001",
    "open LCS100001",
    "open LCS100002",
    "open lcs100020",
    "open LCS100040",
    "help",
    "open",
    "my pep",
    "open foo",
    "qa",
    "pp+",
    "return pep",
    "return pep LCS100001",
    "is this thing on?",
)
BY_KEY = {m.key: m for m in MEMBERS}
PEOPLE = st.sampled_from(list(BY_KEY))  # by name: hypothesis prints them in a failing run


def budget(ci_examples: int, ci_steps: int) -> tuple[settings, int | None]:
    """Fixed and derandomised unless PEP_STATEFUL_EXAMPLES / PEP_STATEFUL_SEED say
    otherwise: then from that seed, or a random one (printed, to replay)."""
    examples = int(os.environ.get("PEP_STATEFUL_EXAMPLES") or ci_examples)
    steps = int(os.environ.get("PEP_STATEFUL_STEPS") or ci_steps)
    chosen = os.environ.get("PEP_STATEFUL_SEED")
    longer = "PEP_STATEFUL_EXAMPLES" in os.environ
    run_seed = int(chosen) if chosen else (random.randrange(2**32) if longer else None)
    return settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        derandomize=run_seed is None,
        database=None,
        phases=[p for p in Phase if p is not Phase.explain],
        suppress_health_check=list(HealthCheck),
    ), run_seed


Choice = tuple[Member, Held, dict[str, Any]]  # who, holding which card, presses what
Want = Callable[[Held, dict[str, Any]], bool]


def any_button(held: Held, action: dict[str, Any]) -> bool:
    return True


def section_button(held: Held, action: dict[str, Any]) -> bool:
    return bool(held.boxes) and action.get("verb") in (SAVE, *MOVING_ON)


def leading(held: Held, action: dict[str, Any]) -> bool:
    """Finish on a meeting lead's card (the one with Go)."""
    return action.get("verb") == FINISH and held.button("Go") is not None


class MeetingMachine(AfterMeetingRules, RuleBasedStateMachine):
    def __init__(
        self,
        runner: asyncio.Runner,
        template: Path,
        folder: Path,
        authority: TokenAuthority,
        access: Access | None,
    ) -> None:
        super().__init__()
        self.run = runner.run
        self.world = World(template, folder / f"run-{next(_runs)}", authority)
        self.run(self.world.open())
        self.access = access or self.run(Access.load(self.world.container.uow, MEMBERS))
        self.held: dict[str, list[Held]] = {m.key: [] for m in MEMBERS}
        self.replaced: dict[str, list[Held]] = {m.key: [] for m in MEMBERS}
        self.ledger = Ledger()
        self.typed_for: dict[str, str] = {}  # marker word -> LCS id of its PEP
        self.markers = itertools.count(1)
        self.cards = itertools.count()
        self.after_meeting = False  # Ada's meeting was held before the run began
        self.decisions = Decisions()
        self.older: list[Choice] = []  # QA and PP+ cards decided on, for stale presses

    def teardown(self) -> None:
        self.run(self.world.close())

    # ---- rules -----------------------------------------------------------------------

    @initialize(
        start=st.sampled_from(("walkthrough", "my peps", "after the meeting", "nothing")),
        known=st.booleans(),
    )
    def how_the_day_starts(self, start: str, known: bool) -> None:
        """Most runs begin where the work is: Harriet has started Ada's walkthrough in
        the first meeting chat, or has her list of PEPs, or has held the meeting and
        asks to return the PEP (tests/support/after_meeting_rules.py)."""
        if start == "after the meeting":
            self.meeting_was_held(known)
        elif start == "walkthrough":
            self.say(HARRIET, MEETING_CHATS[0].id, "start pep")
            for member, held, action in self.choices(lambda h, a: a.get("verb") == START):
                if member is HARRIET:
                    self.act(HARRIET, held, press(held.card, action, {"child_id": MEETING_CHILD}))
                    break
        elif start == "my peps":
            self.say(HARRIET, HARRIET.personal_chat, "my peps")

    @rule(
        who=PEOPLE,
        where=st.sampled_from((0, "personal", 1)),
        text=st.sampled_from(COMMANDS),
        mention=st.booleans(),
    )
    def type_a_command(self, who: str, where: Any, text: str, mention: bool) -> None:
        member = BY_KEY[who]
        chat = member.personal_chat if where == "personal" else MEETING_CHATS[where].id
        self.say(member, chat, text, mention=mention)

    @precondition(lambda self: self.choices(any_button))
    @rule(data=st.data(), twice=st.booleans())
    def press_a_button(self, data: st.DataObject, twice: bool) -> None:
        """Any button on any card someone holds; twice: a double click."""
        self.press_on(data, self.choices(any_button), twice)

    @precondition(lambda self: self.choices(any_button))
    @rule(data=st.data())
    def carry_on(self, data: st.DataObject) -> None:
        """A button on the card that came last: following the conversation."""
        found = self.choices(any_button)
        self.press_on(data, [c for c in found if c[1] is found[0][1]], twice=False)

    @precondition(lambda self: self.choices(section_button))
    @rule(data=st.data())
    def type_into_a_section(self, data: st.DataObject) -> None:
        """Type into some boxes and press Save (maybe twice), Previous, Next, Go or
        Finish."""
        self.type_and_press(data, self.choices(section_button))

    @precondition(lambda self: self.choices(section_button, self.replaced))
    @rule(data=st.data())
    def type_into_an_older_card(self, data: st.DataObject) -> None:
        """The same on a card of that section replaced since: a stale version."""
        self.type_and_press(data, self.choices(section_button, self.replaced))

    @precondition(lambda self: self.choices(leading))
    @rule(data=st.data(), twice=st.booleans())
    def record_the_meeting_and_finish(self, data: st.DataObject, twice: bool) -> None:
        """The lead goes to the summary, writes it, goes to the next PEP meeting, sets
        its date and presses Finish (twice: a double click), each on the card the last
        press answered with."""
        member, held, _ = self.choose(data, self.choices(leading))
        go = held.button("Go") or {}
        self.act(member, held, press(held.card, go, {"nav.section": "summary"}))
        for key, box, title in (("summary", "f.summary", "Go"), ("next_pep", "f.date", "Finish")):
            now = self.holding(member, held)
            button = now.button(title) if now else None
            if now is None or button is None or now.section != key:
                return
            typed = {
                box: self.marked(data.draw(typing_for(key, box)), now.child),
                "nav.section": "next_pep",
            }
            self.act(
                member,
                now,
                press(now.card, button, typed),
                typed=True,
                twice=twice and key == "next_pep",
            )

    @precondition(lambda self: self.choices(lambda h, a: a.get("verb") == ADD))
    @rule(
        data=st.data(),
        name=st.sampled_from(
            ("Harriet Pemberton", " harriet  PEMBERTON ", "Rachel Donnelly", "Pat {m}", "")
        ),
        role=st.sampled_from(("designated_teacher", "social_worker", "carer", "senco", "boss", "")),
        attended=st.sampled_from(("teams", "in_person", "phone", "")),
    )
    def add_an_attendee(self, data: st.DataObject, name: str, role: str, attended: str) -> None:
        """Including someone already recorded, and what the form would refuse."""
        member, held, action = self.choose(data, self.choices(lambda h, a: a.get("verb") == ADD))
        typed = {"a.name": self.marked(name, held.child), "a.role": role, "a.attended": attended}
        self.act(member, held, press(held.card, action, typed))

    @rule(who=PEOPLE, child=st.sampled_from(sorted(PEPS)), data=st.data())
    def upload_the_word_form(self, who: str, child: str, data: st.DataObject) -> None:
        """The PEP's Word form as sent today, some boxes typed into in Word, sent back."""
        member = BY_KEY[who]
        form = self.run(self.world.word_form(PEPS[child]))
        if form is None:
            return
        boxes = [
            f"f:{s.key}.{f.name}"
            for s in SECTIONS
            if not s.is_table
            for f in s.fields
            if f.kind in (FieldKind.TEXT, FieldKind.LONG_TEXT)
        ]
        editor = FormEditor(form[1])
        tags = data.draw(st.lists(st.sampled_from(boxes), min_size=1, max_size=3, unique=True))
        for tag in tags:
            editor.fill_text(tag, f"Typed in Word {self.marked('{m}', child)}")
        note(f"{who} sends back the Word form of {child} with {tags} typed into")
        outcome = self.run(self.world.upload(member, form[0], editor.save()))
        # the form names the child: repeating that to the sender tells them nothing new
        self.observe(member, outcome, echo=" ".join(self.access.marks[child].all))
        told = "\n".join(s for seen in outcome.seen for s in shown_strings(seen.payload))
        after = self.run(self.world.stored(PEPS[child]))
        for spec in SECTIONS:  # the sections the answer lists as saved
            if after is not None and "Saved" in told and f"• {spec.title}" in told:
                self.ledger.confirm(after, spec.key)

    @rule(
        chat=st.sampled_from((0, 1)),
        event=st.sampled_from(("meetingStart", "meetingEnd", "meetingParticipantJoin")),
        joining=st.lists(PEOPLE, min_size=1, max_size=3, unique=True),
    )
    def meeting_event(self, chat: int, event: str, joining: list[str]) -> None:
        value = (
            {
                "members": [
                    {
                        "user": {"id": m.user_id, "aadObjectId": m.aad_id, "name": m.name},
                        "meeting": {"inMeeting": True},
                    }
                    for m in map(BY_KEY.get, joining)
                    if m
                ]
            }
            if event.endswith("Join")
            else {}
        )
        note(
            f"Teams: {event} in meeting chat {chat + 1}"
            + (f" (joining: {joining})" if value else "")
        )
        self.observe(
            HARRIET,
            self.run(
                self.world.meeting_event(
                    MEETING_CHATS[chat], f"application/vnd.microsoft.{event}", value
                )
            ),
        )

    @invariant()
    def confirmed_values_are_kept(self) -> None:
        stored = {
            pep_id: self.run(self.world.stored(pep_id)) for pep_id, _ in self.ledger.confirmed
        }
        for broken in self.ledger.lost(stored):
            self.fail(broken)

    # ---- doing and watching ------------------------------------------------------------

    def say(self, who: Member, chat: str, text: str, *, mention: bool = True) -> None:
        note(
            f"{who.key} writes {text!r} in {place(chat)}"
            f"{'' if mention or chat.startswith('a:') else ', not mentioning the bot'}"
        )
        outcome = self.run(self.world.message(who, chat, text, mention=mention))
        for seen in outcome.seen[:1]:
            note(f"  → {shown_text(seen.payload)[:150]!r}".replace("\\n", " | "))
        self.observe(who, outcome, echo=text)
        if not chat.startswith("a:personal-") and not mention and outcome.seen:
            self.fail(
                UnmentionedMessageAnswered(
                    f"{who.key} wrote {text!r} in {chat} without mentioning the bot; it "
                    f"answered: {shown_text(outcome.seen[0].payload)[:200]!r}"
                )
            )

    def choices(self, want: Want, pool: dict[str, list[Held]] | None = None) -> list[Choice]:
        """Who could press what: the latest card first, and on a card the buttons that
        move the work on first (what hypothesis tries first, and shrinks towards)."""
        found = [
            (m, h, a)
            for m in MEMBERS
            for h in (pool or self.held)[m.key]
            for a in h.buttons
            if want(h, a)
        ]
        return sorted(found, key=lambda c: (-c[1].order, onward(c[2])))

    def choose(self, data: st.DataObject, found: list[Choice]) -> Choice:
        return found[data.draw(st.integers(0, len(found) - 1))]

    def press_on(self, data: st.DataObject, found: list[Choice], twice: bool) -> None:
        member, held, action = self.choose(data, found)
        typed: dict[str, Any] = {}
        if action.get("title") == "Go":
            typed["nav.section"] = data.draw(st.sampled_from(SECTION_KEYS))
        children = [
            c["value"]
            for e in walk(held.card)
            if e.get("id") == "child_id"
            for c in e.get("choices") or []
        ]
        if children:
            typed["child_id"] = data.draw(st.sampled_from(children))
        self.act(member, held, press(held.card, action, typed), twice=twice)

    def type_and_press(self, data: st.DataObject, found: list[Choice]) -> None:
        member, held, action = self.choose(data, found)
        typed: dict[str, Any] = {}
        for box in data.draw(st.lists(st.sampled_from(held.boxes), min_size=1, max_size=4)):
            typed[box] = self.marked(data.draw(typing_for(held.section or "", box)), held.child)
        if action.get("title") == "Go":
            typed["nav.section"] = data.draw(st.sampled_from(SECTION_KEYS))
        self.act(
            member,
            held,
            press(held.card, action, typed),
            typed=True,
            twice=action.get("verb") == SAVE and data.draw(st.booleans()),
        )

    def marked(self, text: str, child: str) -> str:
        """The text with its "{m}" made a marker word of that child's PEP."""
        if "{m}" not in text:
            return text
        word = f"zq{next(self.markers):04d}"
        self.typed_for[word] = child
        return text.replace("{m}", word)

    def act(
        self,
        member: Member,
        held: Held,
        value: dict[str, Any],
        *,
        typed: bool = False,
        twice: bool = False,
    ) -> Outcome:
        """Press a button (twice: a double click, the same invoke with a new activity id)
        and check what came of it."""
        verb, data = value["action"]["verb"], value["action"]["data"]
        shown = inputs(held.card)
        typing = {
            k: v if len(str(v)) < 40 else f"{str(v)[:30]}…"
            for k, v in data.items()
            if k not in ("pep_id", "request_id", "round", "version", "section", "current")
            and shown.get(k) != v
        }
        note(
            (
                f"{member.key}'s Teams refreshes"
                if value["trigger"] == "automatic"
                else f"{member.key} presses {value['action'].get('title')!r}"
            )
            + f" ({verb}) on a card of "
            f"{data.get('pep_id') or data.get('request_id') or held.child or 'no PEP'} "
            f"(version {data.get('version')}, {held.section or 'no section'}) in "
            f"{place(held.conversation)}"
            + (f", typed {typing}" if typing else "")
            + (", twice" if twice else "")
        )
        pep_id = str(data.get("pep_id") or "")
        before = self.run(self.world.stored(pep_id)) if pep_id else None
        outcomes: list[Outcome] = []
        for _ in range(2 if twice else 1):
            watched = self.watch(member, held, verb)
            outcome = self.run(self.world.invoke(member, held.conversation, held.message_id, value))
            note(f"  → {shown_text(outcome.card or {})[:150]!r}".replace("\\n", " | "))
            self.observe(member, outcome, held)
            if watched is not None:
                self.account(member, verb, outcome, watched)
            after = self.run(self.world.stored(pep_id)) if pep_id else None
            if before is not None and after is not None:
                for broken in pressed(
                    Press(member, held, value, outcome, before, after, typed),
                    self.ledger,
                    self.access,
                ):
                    self.fail(broken)
            outcomes.append(outcome)
            before = after
        if twice and not shows_errors(outcomes[0].card) and conflicted(outcomes[1].card):
            self.fail(
                DoubleClickConflict(
                    f"{member.key} pressed {value['action'].get('title')!r} twice on the "
                    f"{held.section or 'same'} card: the second answered 'Someone else changed "
                    "this section'"
                )
            )
        return outcomes[0]

    def fail(self, broken: AssertionError) -> None:
        raise broken

    def holding(self, member: Member, held: Held) -> Held | None:
        """What the member now has where `held` was (the card an answer put there)."""
        return next(
            (
                h
                for h in self.held[member.key]
                if (h.conversation, h.message_id) == (held.conversation, held.message_id)
            ),
            None,
        )

    def observe(
        self, actor: Member, outcome: Outcome, on: Held | None = None, echo: str = ""
    ) -> None:
        """Check everything delivered, put the cards in people's hands, and refresh the
        cards that name people, as their Teams does."""
        for broken in delivered(self.access, outcome, self.typed_for, echo):
            self.fail(broken)
        refreshes: list[tuple[Member, Held, dict[str, Any]]] = []
        for seen in outcome.seen:
            if seen.member and seen.payload.get("type") == "AdaptiveCard":
                held = Held(seen.conversation, seen.message_id, seen.payload, next(self.cards))
                self.hold(seen.member, held, on if seen.how == "answer" else None)
                if seen.how != "answer" and (value := refresh_for(held.card, seen.member)):
                    refreshes.append((seen.member, held, value))
        for member, held, value in refreshes:
            self.act(member, held, value)

    def hold(self, member: Member, held: Held, replacing: Held | None) -> None:
        """The card now in front of the member (an answer or an update replaces the card
        it was on; a card with a section's boxes is kept for stale saves)."""
        cards = self.held[member.key]
        for old in [
            h
            for h in cards
            if h is replacing
            or (h.conversation, h.message_id) == (held.conversation, held.message_id)
        ]:
            cards.remove(old)
            if old.boxes:
                self.replaced[member.key] = [*self.replaced[member.key], old][-6:]
        self.held[member.key] = [*cards, held][-8:]


_runs = itertools.count()


def place(conversation: str) -> str:
    """A conversation as the notes of a failing run name it."""
    chat = next((i for i, c in enumerate(MEETING_CHATS, 1) if c.id == conversation), 0)
    return f"meeting chat {chat}" if chat else f"personal chat {conversation[11:]}"


# ---- the test ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return asyncio.run(build_template(tmp_path_factory.mktemp("meeting-template")))


class AfterTheMeeting(MeetingMachine):
    """The same people and rules, every run starting after Ada's meeting: the return,
    QA and PP+ decisions (tests/support/after_meeting_rules.py) get the whole run."""

    @initialize(known=st.booleans())
    def how_the_day_starts(self, known: bool) -> None:
        self.meeting_was_held(known)


def test_meeting_state_machine(template: Path, tmp_path: Path) -> None:
    run_machine(MeetingMachine, template, tmp_path, CI_EXAMPLES, CI_STEPS)


def test_after_the_meeting_state_machine(template: Path, tmp_path: Path) -> None:
    run_machine(AfterTheMeeting, template, tmp_path, *CI_AFTER_MEETING)


def run_machine(
    kind: type[MeetingMachine], template: Path, tmp_path: Path, examples: int, steps: int
) -> None:
    run_settings, run_seed = budget(examples, steps)
    if run_seed is not None:
        print(f"PEP_STATEFUL_SEED={run_seed}")
    with asyncio.Runner() as runner:  # one event loop for the bot and every rule
        authority = TokenAuthority()
        runner.run(authority.__aenter__())
        known: list[Access] = []

        def machine() -> MeetingMachine:
            m = kind(runner, template, tmp_path, authority, known[0] if known else None)
            known[:] = [m.access]
            return m

        # any factory will do (hypothesis's own docs); its annotation says a class
        test = get_state_machine_test(machine, settings=run_settings)  # type: ignore[arg-type]
        try:
            (seed(run_seed)(test) if run_seed is not None else test)()
        finally:
            runner.run(authority.__aexit__(None, None, None))
