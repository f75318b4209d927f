"""Saving a returned PEP form into its PEP: the use case behind a Word form uploaded in
Teams and `pep-companion forms import`. One unit of work per form; what each section
may do is decided by pep_model/form_merge.py."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pep_model.access import Actor, Capability
from pep_model.child import Child
from pep_model.confirmations import keep_confirmations
from pep_model.errors import FieldError
from pep_model.form_merge import (
    Clearing,
    FormBase,
    Verdict,
    apply_clearings,
    form_problems,
    plan_section,
)
from pep_model.pep import Pep, pep_id_for
from pep_model.ports import AuditEntry, UnitOfWork
from pep_model.rules import number_targets
from pep_model.sections import SECTION_KEYS, Content
from pep_model.services import PepService, load_pep, require
from pep_model.terms import Term
from pep_model.use_cases import retry
from pep_model.workflow import EDITABLE_BEFORE, is_before_meeting, section_editable


@dataclass(frozen=True)
class ReturnedForm:
    """A PEP form as read back: whose and which term, each section's answers
    (normalised), what could not be read, what it was made from."""

    child_id: str
    term_id: str
    sections: Mapping[str, Content]
    problems: Sequence[FieldError] = ()
    base: FormBase = field(default_factory=FormBase)
    outside: Sequence[str] = ()  # sections with text typed outside the boxes

    @property
    def pep_id(self) -> str:
        return pep_id_for(self.child_id, self.term_id)


@dataclass(frozen=True)
class Conflict:
    """A section changed in Teams since the form was made and in the form too: kept."""

    section: str
    stored: Content
    form: Content
    changed_at: datetime | None
    changed_by: str


@dataclass
class ImportOutcome:
    pep: Pep
    child: Child
    term: Term
    current_term: Term
    saved: list[str] = field(default_factory=list)
    problems: list[FieldError] = field(default_factory=list)  # not saved: why
    gaps: list[FieldError] = field(default_factory=list)  # saved, still missing
    conflicts: list[Conflict] = field(default_factory=list)
    kept_newer: list[str] = field(default_factory=list)
    meeting_kept: list[str] = field(default_factory=list)
    not_yet: list[str] = field(default_factory=list)
    clearings: list[Clearing] = field(default_factory=list)
    clear_versions: dict[str, int] = field(default_factory=dict)
    outside: list[str] = field(default_factory=list)
    other_term: bool = False  # for another term than the current one: asked first
    locked: str = ""  # the PEP can no longer be changed: why


@dataclass(frozen=True)
class ClearOutcome:
    pep: Pep
    child: Child
    cleared: list[Clearing]
    stale: list[str]  # sections changed since the question was asked: nothing cleared


class FormImport:
    """Returned forms into their PEPs (the upload, the CLI import)."""

    def __init__(self, service: PepService) -> None:
        self.service = service

    async def import_form(
        self,
        form: ReturnedForm,
        actor: Actor,
        source: str,
        *,
        other_term_confirmed: bool = False,
        dry_run: bool = False,
    ) -> ImportOutcome:
        """Save what the form may change (form_merge), in one unit of work; `source`
        (the file's name and how it came) goes into the audit log with who sent it.
        `dry_run`: decide and report exactly the same, save nothing (`forms read`)."""
        service = self.service

        async def attempt(uow: UnitOfWork) -> ImportOutcome:
            pep, child = await load_pep(uow, form.pep_id)
            require(actor, Capability.EDIT, child)
            term = service.calendar.get(pep.term_id)
            current = service.calendar.get(service.current_term_id())
            out = ImportOutcome(pep, child, term, current, outside=list(form.outside))
            if term.id != current.id and not other_term_confirmed:
                out.other_term = True
                return out
            if pep.status not in EDITABLE_BEFORE:
                out.locked = f"This PEP is '{pep.status.label}', so a form can no longer change it."
                return out
            started = not is_before_meeting(pep.status)
            ctx = service.context(pep, child)
            changes: dict[str, Content] = {}
            for key in SECTION_KEYS:
                stored = pep.sections.get(key)
                plan = plan_section(
                    key,
                    form.sections.get(key),
                    stored,
                    pep.section_versions.get(key, 0),
                    form.base,
                    meeting_started=started,
                    reading_problems=[p for p in form.problems if p.section == key],
                )
                out.clearings.extend(plan.clearings)
                if plan.clearings:
                    out.clear_versions[key] = pep.section_versions.get(key, 0)
                if plan.verdict is Verdict.BAD:
                    out.problems.extend(plan.problems)
                elif plan.verdict is Verdict.CONFLICT:
                    out.conflicts.append(
                        Conflict(key, stored or {}, dict(form.sections[key]), None, "")
                    )
                elif plan.verdict is Verdict.KEPT_NEWER:
                    out.kept_newer.append(key)
                elif plan.verdict is Verdict.MEETING_KEPT:
                    out.meeting_kept.append(key)
                elif plan.verdict is Verdict.NOT_YET:
                    out.not_yet.append(key)
                elif plan.verdict is Verdict.SAVE and plan.content is not None:
                    content = plan.content
                    if key == "targets":
                        content = number_targets(content)
                    content = keep_confirmations(content, stored)
                    blocking, _ = form_problems(ctx, key, content)
                    if blocking or not section_editable(pep.status, False):
                        out.problems.extend(blocking)
                        out.clearings = [c for c in out.clearings if c.section != key]
                        out.clear_versions.pop(key, None)
                        continue
                    ctx = ctx.with_section(key, content)
                    changes[key] = content
            await _who_changed(uow, out)
            # a saved section's gaps, judged with every section the form saves
            out.gaps = [g for key in changes for g in form_problems(ctx, key, ctx.content(key))[1]]
            if not changes or dry_run:
                out.saved = list(changes)
                return out
            read_version = pep.version
            befores = {k: copy.deepcopy(pep.sections.get(k)) for k in changes}
            for key, content in changes.items():
                pep.sections[key] = content
                pep.section_versions[key] = read_version + 1
                if key in out.clear_versions:
                    out.clear_versions[key] = read_version + 1
            service._settle_status(pep, child, actor, ctx)
            await uow.peps.save(pep, read_version)
            now = service.clock.now()
            for key, content in changes.items():
                await uow.audit.append(
                    AuditEntry(now, actor.id, pep.id, "section.save", key, befores[key], content)
                )
            await uow.audit.append(
                AuditEntry(
                    now,
                    actor.id,
                    pep.id,
                    "form.import",
                    None,
                    None,
                    {"source": source, "sections": list(changes)},
                )
            )
            await uow.commit()
            out.saved = list(changes)
            return out

        return await retry(service.uow, attempt)

    async def clear_answers(
        self, pep_id: str, clearings: Sequence[Clearing], versions: Mapping[str, int], actor: Actor
    ) -> ClearOutcome:
        """Clear exactly these answers (the person confirmed), section by section, only
        where the section is still at the version the question was asked about."""
        service = self.service

        async def attempt(uow: UnitOfWork) -> ClearOutcome:
            pep, child = await load_pep(uow, pep_id)
            require(actor, Capability.EDIT, child)
            cleared: list[Clearing] = []
            stale: list[str] = []
            changes: dict[str, Content] = {}
            for key, version in versions.items():
                wanted = [c for c in clearings if c.section == key]
                if not wanted or key not in SECTION_KEYS:
                    continue
                if (
                    pep.section_versions.get(key, 0) != version
                    or not section_editable(pep.status, False)
                    or key not in pep.sections
                ):
                    stale.append(key)
                    continue
                content = apply_clearings(key, pep.sections[key], wanted)
                if key == "targets":
                    content = number_targets(content)
                changes[key] = content
                cleared.extend(wanted)
            if not changes:
                return ClearOutcome(pep, child, [], stale)
            read_version = pep.version
            ctx = service.context(pep, child)
            now = service.clock.now()
            befores = {k: copy.deepcopy(pep.sections.get(k)) for k in changes}
            for key, content in changes.items():
                pep.sections[key] = content
                pep.section_versions[key] = read_version + 1
                ctx = ctx.with_section(key, content)
            service._settle_status(pep, child, actor, ctx)
            await uow.peps.save(pep, read_version)
            for key, content in changes.items():
                await uow.audit.append(
                    AuditEntry(now, actor.id, pep.id, "section.save", key, befores[key], content)
                )
            await uow.audit.append(
                AuditEntry(
                    now, actor.id, pep.id, "form.clear", None, None, [c.as_list() for c in cleared]
                )
            )
            await uow.commit()
            return ClearOutcome(pep, child, cleared, stale)

        return await retry(service.uow, attempt)


async def _who_changed(uow: UnitOfWork, out: ImportOutcome) -> None:
    """When and by whom each conflicting section was last changed (the audit log)."""
    if not out.conflicts:
        return
    last: dict[str, AuditEntry] = {}
    for entry in await uow.audit.for_pep(out.pep.id):
        if entry.action == "section.save" and entry.section:
            last[entry.section] = entry
    named: list[Conflict] = []
    for c in out.conflicts:
        found = last.get(c.section)
        who = ""
        if found is not None:
            person = await uow.people.get(found.actor_id)
            who = person.name if person is not None else found.actor_id
        named.append(
            Conflict(c.section, c.stored, c.form, found.at if found is not None else None, who)
        )
    out.conflicts = named
