"""The use cases the bot and the CLI call: one unit of work each, rules from rules.py."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any

from pep_model.access import Actor, Capability
from pep_model.child import Child
from pep_model.errors import ConflictError, FieldError, NotAllowed, NotFound, StaleVersion
from pep_model.pep import MeetingLink, Pep, pep_id_for
from pep_model.ports import AuditEntry, Clock, UnitOfWork, UnitOfWorkFactory
from pep_model.rules import (
    PepContext,
    PepRules,
    check_section,
    finish_problems,
    number_targets,
    readiness_problems,
    return_deadline,
    transition_reasons,
)
from pep_model.sections import (
    SECTION_KEYS,
    Content,
    Stage,
    empty_content,
    normalise_section,
    raw_from_content,
    section_spec,
)
from pep_model.terms import TermCalendar, british_date
from pep_model.workflow import (
    EDITABLE_BEFORE,
    EDITABLE_MEETING,
    PepStatus,
    check_move,
    is_before_meeting,
    section_editable,
)


@dataclass
class SaveOutcome:
    """The result of a save: the PEP as it now stands and the errors, if refused."""

    pep: Pep
    child: Child
    errors: list[FieldError] = field(default_factory=list)
    changed: bool = False

    @property
    def saved(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class PepView:
    """A PEP with its child and the rules' verdicts, for cards and lists. The verdicts
    are worked out when first asked for (most cards shown in the meeting never need
    them), from the PEP as it stands then: a view is made to be shown at once."""

    pep: Pep
    child: Child
    context: PepContext = field(repr=False, compare=False)

    @cached_property
    def problems(self) -> tuple[FieldError, ...]:
        """What the readiness rule still asks for before the meeting."""
        return tuple(readiness_problems(self.context))

    def editable_by(self, actor: Actor, key: str) -> bool:
        """Whether this person can change this section now (else they see it read-only)."""
        return actor.can(Capability.EDIT, self.child) and section_editable(
            self.pep.status, section_spec(key).stage is Stage.MEETING)

    @cached_property
    def transition_reasons(self) -> tuple[str, ...]:
        ctx = self.context
        return tuple(transition_reasons(self.child, ctx.term, ctx.rules, ctx.today))


class PepService:
    def __init__(self, uow: UnitOfWorkFactory, calendar: TermCalendar, rules: PepRules,
                 clock: Clock) -> None:
        self.uow = uow
        self.calendar = calendar
        self.rules = rules
        self.clock = clock

    # ---- reading ---------------------------------------------------------------

    def context(self, pep: Pep, child: Child) -> PepContext:
        return PepContext(child=child, term=self.calendar.get(pep.term_id),
                          calendar=self.calendar, rules=self.rules,
                          today=self.clock.today(), sections=pep.sections)

    def current_term_id(self) -> str:
        return self.calendar.current_or_next(self.clock.today()).id

    def view(self, pep: Pep, child: Child) -> PepView:
        return PepView(pep, child, self.context(pep, child))

    async def get(self, pep_id: str, actor: Actor,
                  capability: Capability = Capability.VIEW) -> PepView:
        async with self.uow() as uow:
            pep, child = await load_pep(uow, pep_id)
        require(actor, capability, child)
        return self.view(pep, child)

    async def my_peps(self, actor: Actor, term_id: str | None = None) -> list[PepView]:
        """Every PEP this term for the children the actor may see. Reading creates
        nothing: a child whose PEP is not opened yet is shown as it would open."""
        term_id = term_id or self.current_term_id()
        async with self.uow() as uow:
            children = actor.visible(await uow.children.list_all())
            peps = {p.child_id: p for p in await uow.peps.find(
                term_id=term_id, child_ids=[c.lcs_id for c in children])}
            return [self.view(peps.get(child.lcs_id) or
                              await self._new_pep(uow, child, term_id), child)
                    for child in children]

    async def open_term(self, term_id: str) -> None:
        """Open every child's PEP for the term that is not open yet (term start)."""
        async with self.uow() as uow:
            children = await uow.children.list_all()
            opened = {p.child_id for p in await uow.peps.find(
                term_id=term_id, child_ids=[c.lcs_id for c in children])}
            for child in children:
                if child.lcs_id not in opened:
                    await self._open(uow, child, term_id)
            await uow.commit()

    async def pep_or_preview(self, child_id: str, term_id: str,
                             actor: Actor) -> PepView:
        """The child's PEP for the term as the actor may see it: opened (stored) when
        they can complete it; for someone who only reads, the stored PEP or, if nobody
        has opened it yet, how it would open — nothing is written for a reader."""
        async with self.uow() as uow:
            child = await uow.children.get(child_id)
            if child is None or not actor.can(Capability.VIEW, child):
                raise NotAllowed(f"You do not have access to a PEP for {child_id}.")
            pep = await uow.peps.get(pep_id_for(child_id, term_id))
            if pep is None and actor.can(Capability.EDIT, child):
                pep = await self._open(uow, child, term_id)
                await uow.commit()
            elif pep is None:
                pep = await self._new_pep(uow, child, term_id)
        return self.view(pep, child)

    # ---- opening a term's PEP ---------------------------------------------------

    async def open_pep(self, child_id: str, term_id: str) -> Pep:
        async with self.uow() as uow:
            child = await uow.children.get(child_id)
            if child is None:
                raise NotFound(f"There is no child {child_id}.")
            existing = await uow.peps.get(pep_id_for(child_id, term_id))
            if existing:
                return existing
            pep = await self._open(uow, child, term_id)
            await uow.commit()
            return pep

    async def _new_pep(self, uow: UnitOfWork, child: Child, term_id: str) -> Pep:
        """A term's PEP as it opens, not stored: child details come from the roster;
        last term's current targets arrive in 'review of previous targets' (nothing
        typed twice)."""
        term = self.calendar.get(term_id)
        pep = Pep(child_id=child.lcs_id, term_id=term_id)
        previous_term = self.calendar.previous(term)
        if previous_term is not None:
            previous = await uow.peps.get(pep_id_for(child.lcs_id, previous_term.id))
            if previous is not None:
                pep.sections["previous_targets"] = carry_forward_targets(previous)
        pep.sections.setdefault("send", {**empty_content("send"),
                                         "status": child.sen_status.value})
        return pep

    async def _open(self, uow: UnitOfWork, child: Child, term_id: str) -> Pep:
        """Open (store) a term's PEP; one opened meanwhile by another request wins."""
        pep = await self._new_pep(uow, child, term_id)
        if not await uow.peps.add(pep):
            existing = await uow.peps.get(pep.id)
            assert existing is not None
            return existing
        await uow.audit.append(AuditEntry(self.clock.now(), "system", pep.id, "pep.open"))
        return pep

    # ---- saving a section --------------------------------------------------------

    async def record_section(self, pep_id: str, key: str, raw: Mapping[str, Any],
                             actor: Actor, expected_version: int) -> SaveOutcome:
        spec = section_spec(key)
        async with self.uow() as uow:
            pep, child = await load_pep(uow, pep_id)
            require(actor, Capability.EDIT, child)
            editable = EDITABLE_MEETING if spec.stage is Stage.MEETING else EDITABLE_BEFORE
            if pep.status not in editable:
                raise NotAllowed(f"'{spec.title}' cannot be changed while the PEP is "
                                 f"'{pep.status.label}'.")
            content, errors = normalise_section(key, raw)
            if key == "targets":
                content = number_targets(content)
            ctx = self.context(pep, child).with_section(key, content)
            unreadable = {(e.field, e.row) for e in errors}  # one message per field
            errors += [e for e in check_section(ctx, key, content)
                       if (e.field, e.row) not in unreadable]
            if errors:
                return SaveOutcome(pep, child, errors)
            if expected_version != pep.version and \
                    pep.section_versions.get(key, 0) > expected_version:
                raise ConflictError(pep)
            if pep.sections.get(key) == content:
                return SaveOutcome(pep, child)
            before = copy.deepcopy(pep.sections.get(key))
            read_version = pep.version
            pep.sections[key] = content
            pep.section_versions[key] = read_version + 1
            self._settle_status(pep, child, actor, ctx)
            await self._save(uow, pep, read_version)
            await uow.audit.append(AuditEntry(self.clock.now(), actor.id, pep.id,
                                              "section.save", key, before, content))
            await uow.commit()
            return SaveOutcome(pep, child, changed=True)

    def _settle_status(self, pep: Pep, child: Child, actor: Actor, ctx: PepContext) -> None:
        """Before the meeting, the status follows the readiness rule (ctx: the PEP's rule
        context with the section just saved)."""
        if not is_before_meeting(pep.status):
            return
        ready = not readiness_problems(ctx)
        target = PepStatus.READY_FOR_MEETING if ready else PepStatus.IN_PROGRESS
        if target != pep.status:
            check_move(pep.status, target, actor.capabilities(child))
            pep.status = target

    async def _save(self, uow: UnitOfWork, pep: Pep, read_version: int) -> None:
        try:
            await uow.peps.save(pep, read_version)
        except StaleVersion:
            fresh = await uow.peps.get(pep.id)
            raise ConflictError(fresh) from None

    # ---- the meeting ------------------------------------------------------------

    async def _move(self, pep_id: str, actor: Actor, target: PepStatus,
                    action: str, **changes: Any) -> Pep:
        async with self.uow() as uow:
            pep, child = await load_pep(uow, pep_id)
            check_move(pep.status, target, actor.capabilities(child))
            before = pep.status.value
            read_version = pep.version
            pep.status = target
            for name, value in changes.items():
                setattr(pep, name, value)
            await self._save(uow, pep, read_version)
            await uow.audit.append(AuditEntry(self.clock.now(), actor.id, pep.id, action,
                                              None, before, target.value))
            await uow.commit()
            return pep

    async def start_meeting(self, pep_id: str, actor: Actor,
                            chat_id: str | None = None) -> Pep:
        """Idempotent: a PEP already in its meeting is returned as it is."""
        async with self.uow() as uow:
            pep, child = await load_pep(uow, pep_id)
            require(actor, Capability.LEAD_MEETING, child)
            if pep.status is PepStatus.IN_MEETING:
                return pep
        if chat_id:
            await self.link_chat(pep_id, chat_id)
        return await self._move(pep_id, actor, PepStatus.IN_MEETING, "meeting.start",
                                current_section=SECTION_KEYS[0])

    async def navigate(self, pep_id: str, key: str, actor: Actor) -> Pep:
        """Move everyone's walkthrough to another section (the lead drives)."""
        section_spec(key)
        async with self.uow() as uow:
            pep, child = await load_pep(uow, pep_id)
            require(actor, Capability.LEAD_MEETING, child)
            if pep.current_section == key:
                return pep
            read_version = pep.version
            pep.current_section = key
            await self._save(uow, pep, read_version)
            await uow.commit()
            return pep

    async def _update_meeting(self, pep_id: str,
                              change: Callable[[MeetingLink], bool]) -> Pep:
        """Apply a change to the meeting link; retried on a concurrent write, since the
        link is bookkeeping that no person edits."""
        for _ in range(5):
            async with self.uow() as uow:
                pep, _ = await load_pep(uow, pep_id)
                read_version = pep.version
                meeting = copy.copy(pep.meeting) or MeetingLink()
                if not change(meeting):
                    return pep
                pep.meeting = meeting
                try:
                    await uow.peps.save(pep, read_version)
                except StaleVersion:
                    continue
                await uow.commit()
                return pep
        raise ConflictError(pep)

    async def set_card_message(self, pep_id: str, chat_id: str, message_id: str) -> Pep:
        def change(meeting: MeetingLink) -> bool:
            meeting.chat_id, meeting.card_message_id = chat_id, message_id
            return True

        return await self._update_meeting(pep_id, change)

    async def join_audience(self, pep_id: str, user_id: str, max_size: int = 60) -> Pep:
        """Remember a Teams user allowed to see this PEP in the meeting, so their card
        refreshes to their own view (Teams allows 60 such users)."""
        def change(meeting: MeetingLink) -> bool:
            ids = meeting.audience_ids()
            if not user_id or user_id in ids or len(ids) >= max_size:
                return False
            meeting.audience = ",".join([*ids, user_id])
            return True

        return await self._update_meeting(pep_id, change)

    async def link_chat(self, pep_id: str, chat_id: str, meeting_id: str = "") -> Pep:
        def change(meeting: MeetingLink) -> bool:
            if meeting.chat_id == chat_id and (not meeting_id or
                                               meeting.meeting_id == meeting_id):
                return False
            meeting.chat_id = chat_id
            meeting.meeting_id = meeting_id or meeting.meeting_id
            return True

        return await self._update_meeting(pep_id, change)

    async def record_attendee(self, pep_id: str, name: str, role: str, attended: str,
                              actor: Actor) -> SaveOutcome:
        """Add one attendee unless someone of that name is already recorded."""
        for _ in range(3):  # a join event may race a hand edit: re-read and retry
            async with self.uow() as uow:
                pep, child = await load_pep(uow, pep_id)
            rows = list(pep.section("attendees").get("rows") or [])
            if any(_same_name(str(r.get("name") or ""), name) for r in rows):
                return SaveOutcome(pep, child)
            raw_rows = raw_from_content("attendees", {"rows": rows})["rows"]
            raw_rows.append({"name": name, "role": role, "attended": attended})
            try:
                return await self.record_section(pep_id, "attendees", {"rows": raw_rows},
                                                 actor, pep.version)
            except ConflictError:
                continue
        raise ConflictError(pep)

    def finish_problems(self, pep: Pep, child: Child) -> list[FieldError]:
        return finish_problems(self.context(pep, child))

    async def finish_meeting(self, pep_id: str, actor: Actor) -> tuple[Pep, list[FieldError]]:
        """Refused (problems returned, nothing changed) until the meeting rule is met."""
        async with self.uow() as uow:
            pep, child = await load_pep(uow, pep_id)
            require(actor, Capability.LEAD_MEETING, child)
        problems = self.finish_problems(pep, child)
        if problems:
            return pep, problems
        held_on = self.clock.today()
        pep = await self._move(pep_id, actor, PepStatus.AWAITING_RETURN, "meeting.finish",
                               meeting_held_on=held_on,
                               return_due=return_deadline(held_on, self.calendar, self.rules))
        return pep, []

    async def readiness(self, pep_id: str, actor: Actor) -> list[FieldError]:
        view = await self.get(pep_id, actor)
        return list(view.problems)


def carry_forward_targets(previous: Pep) -> Content:
    rows = []
    for row in previous.section("targets").get("rows") or []:
        owner = f" (owner: {row['owner']})" if row.get("owner") else ""
        due = f" by {british_date(date.fromisoformat(row['due']))}" \
            if row.get("due") else ""
        rows.append({"target": f"{row.get('ref', '')}: {row.get('description', '')}"
                     f"{owner}{due}".strip(": "),
                     "outcome": None, "evidence": None})
    return {"rows": rows}


def _same_name(a: str, b: str) -> bool:
    """Names as stored: spaces collapsed (as normalise_section does), any case."""
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


async def load_pep(uow: UnitOfWork, pep_id: str) -> tuple[Pep, Child]:
    """A PEP and its child, or NotFound."""
    pep = await uow.peps.get(pep_id)
    if pep is None:
        raise NotFound(f"There is no PEP {pep_id}.")
    child = await uow.children.get(pep.child_id)
    if child is None:  # pragma: no cover - the store keeps them together
        raise NotFound(f"There is no child {pep.child_id}.")
    return pep, child


def require(actor: Actor, capability: Capability, child: Child) -> None:
    """The actor holds this capability for the child, or NotAllowed."""
    if not actor.can(capability, child):
        raise NotAllowed("You do not have access to this child's PEP.")
