"""The use cases the bot and the CLI call: one unit of work each, rules from rules.py."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any

from pep_model.access import Actor, Capability
from pep_model.child import Child
from pep_model.confirmations import keep_confirmations
from pep_model.errors import (
    CardOutOfStep,
    ConflictError,
    FieldError,
    NotAllowed,
    NotFound,
    NotInThisChat,
)
from pep_model.meeting_use_cases import Attendance, AttendeeOutcome, MeetingUseCases
from pep_model.pep import Pep, pep_id_for
from pep_model.ports import AuditEntry, Clock, UnitOfWork, UnitOfWorkFactory
from pep_model.rules import (
    PepContext,
    PepRules,
    check_section,
    number_targets,
    readiness_problems,
    transition_reasons,
)
from pep_model.sections import (
    Content,
    Stage,
    empty_content,
    normalise_section,
    section_spec,
)
from pep_model.terms import TermCalendar, british_date
from pep_model.use_cases import SaveOutcome, load_pep, require, retry
from pep_model.workflow import PepStatus, check_move, is_before_meeting, section_editable

# importers of these names from here: the meeting's outcomes, and the shared helpers
__all__ = [
    "Attendance",
    "AttendeeOutcome",
    "PepService",
    "PepView",
    "SaveOutcome",
    "carry_forward_targets",
    "load_pep",
    "require",
]


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
            self.pep.status, section_spec(key).stage is Stage.MEETING
        )

    @cached_property
    def transition_reasons(self) -> tuple[str, ...]:
        ctx = self.context
        return tuple(transition_reasons(self.child, ctx.term, ctx.rules, ctx.today))


class PepService(MeetingUseCases):
    """The PEP's use cases; the meeting's are in pep_model/meeting_use_cases.py."""

    def __init__(
        self, uow: UnitOfWorkFactory, calendar: TermCalendar, rules: PepRules, clock: Clock
    ) -> None:
        self.uow = uow
        self.calendar = calendar
        self.rules = rules
        self.clock = clock

    # ---- reading ---------------------------------------------------------------

    def context(self, pep: Pep, child: Child) -> PepContext:
        return PepContext(
            child=child,
            term=self.calendar.get(pep.term_id),
            calendar=self.calendar,
            rules=self.rules,
            today=self.clock.today(),
            sections=pep.sections,
        )

    def current_term_id(self) -> str:
        return self.calendar.current_or_next(self.clock.today()).id

    def view(self, pep: Pep, child: Child) -> PepView:
        return PepView(pep, child, self.context(pep, child))

    async def get(
        self, pep_id: str, actor: Actor, capability: Capability = Capability.VIEW
    ) -> PepView:
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
            peps = {
                p.child_id: p
                for p in await uow.peps.find(
                    term_id=term_id, child_ids=[c.lcs_id for c in children]
                )
            }
            return [
                self.view(peps.get(child.lcs_id) or await self._new_pep(uow, child, term_id), child)
                for child in children
            ]

    async def open_term(self, term_id: str) -> None:
        """Open every child's PEP for the term that is not open yet (term start)."""
        async with self.uow() as uow:
            children = await uow.children.list_all()
            opened = {
                p.child_id
                for p in await uow.peps.find(
                    term_id=term_id, child_ids=[c.lcs_id for c in children]
                )
            }
            for child in children:
                if child.lcs_id not in opened:
                    await self._open(uow, child, term_id)
            await uow.commit()

    async def pep_or_preview(self, child_id: str, term_id: str, actor: Actor) -> PepView:
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
        pep.sections.setdefault("send", {**empty_content("send"), "status": child.sen_status.value})
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

    async def record_section(
        self,
        pep_id: str,
        key: str,
        raw: Mapping[str, Any],
        actor: Actor,
        expected_version: int,
        in_chat: str | None = None,
    ) -> SaveOutcome:
        """Save one section as typed on a card showing `expected_version`.

        What equals the stored content is "saved" whoever sends it and whatever version
        the card showed (a double click, a retry), and writes nothing. Otherwise it is
        refused as a conflict only when *this section* changed since that version; when
        another section changed meanwhile (the row's version check fails) the PEP is read
        again and the save applied to it. A version newer than the stored one is a card
        out of step (CardOutOfStep). `in_chat`: the save comes from a meeting card in that
        chat, which may change the PEP only while its walkthrough runs there
        (NotInThisChat)."""
        spec = section_spec(key)

        async def attempt(uow: UnitOfWork) -> SaveOutcome:
            pep, child = await load_pep(uow, pep_id)
            require(actor, Capability.EDIT, child)
            if in_chat is not None and not pep.walkthrough_in(in_chat):
                raise NotInThisChat(pep)
            if not section_editable(pep.status, spec.stage is Stage.MEETING):
                raise NotAllowed(
                    f"'{spec.title}' cannot be changed while the PEP is '{pep.status.label}'."
                )
            if expected_version > pep.version:
                raise CardOutOfStep()
            content, errors = normalise_section(key, raw)
            if key == "targets":
                content = number_targets(content)
            content = keep_confirmations(content, pep.sections.get(key))
            if not errors and pep.sections.get(key) == content:
                # stored as typed already (a double click, or moving on from a section
                # nobody touched): nothing to write, nothing to check again
                return SaveOutcome(pep, child)
            ctx = self.context(pep, child).with_section(key, content)
            unreadable = {(e.field, e.row) for e in errors}  # one message per field
            errors += [
                e for e in check_section(ctx, key, content) if (e.field, e.row) not in unreadable
            ]
            if errors:
                return SaveOutcome(pep, child, errors)
            if pep.section_versions.get(key, 0) > expected_version:
                raise ConflictError(pep)
            before = copy.deepcopy(pep.sections.get(key))
            read_version = pep.version
            pep.sections[key] = content
            pep.section_versions[key] = read_version + 1
            self._settle_status(pep, child, actor, ctx)
            await uow.peps.save(pep, read_version)
            await uow.audit.append(
                AuditEntry(self.clock.now(), actor.id, pep.id, "section.save", key, before, content)
            )
            await uow.commit()
            return SaveOutcome(pep, child, changed=True)

        return await retry(self.uow, attempt)

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

    async def readiness(self, pep_id: str, actor: Actor) -> list[FieldError]:
        view = await self.get(pep_id, actor)
        return list(view.problems)


def carry_forward_targets(previous: Pep) -> Content:
    rows = []
    for row in previous.section("targets").get("rows") or []:
        owner = f" (owner: {row['owner']})" if row.get("owner") else ""
        due = f" by {british_date(date.fromisoformat(row['due']))}" if row.get("due") else ""
        rows.append(
            {
                "target": f"{row.get('ref', '')}: {row.get('description', '')}{owner}{due}".strip(
                    ": "
                ),
                "outcome": None,
                "evidence": None,
            }
        )
    return {"rows": rows}
