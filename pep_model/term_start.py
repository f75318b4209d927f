"""Seed step 1: in the first days of each term, every child's designated teacher gets
the new-term Word PEP and last term's finalised PDF by mail, and a notice in Teams.

Resumable: each pack is an outbox message keyed by the PEP ("term-pack:<pep id>"),
queued in the same commit that marks the PEP "pack sent", a batch of children per
commit. A run that stops halfway (a crash, a kill) leaves whole batches queued; the next
run skips every key already in the outbox, so nobody is sent a pack twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from pep_model.access import SYSTEM
from pep_model.child import Child, School
from pep_model.errors import StaleVersion
from pep_model.imports import PREVIOUS_PEP_PDF
from pep_model.m365 import MailAttachment
from pep_model.outbox import OutboxStatus, mail, notice, person_target
from pep_model.people import Person, Role
from pep_model.pep import DOCX, Pep, document_name, pep_id_for
from pep_model.ports import AuditEntry, UnitOfWork
from pep_model.services import PepService
from pep_model.terms import Term
from pep_model.workflow import PepStatus, check_move

KEY_PREFIX = "term-pack:"

# (unit of work, the term's PEP) -> (file name, the new-term Word form)
FormRenderer = Callable[[UnitOfWork, Pep], Awaitable[tuple[str, bytes]]]
Progress = Callable[[int, int], None]  # (children done, children in all)

NO_TEACHER = "no designated teacher email for the school"
NO_PREVIOUS = "no finalised PDF of last term's PEP (import it, then run term-start again)"
NO_SCHOOL = "the child's school is not on record"
ATTEMPTS = 3


def pack_key(pep_id: str) -> str:
    return f"{KEY_PREFIX}{pep_id}"


@dataclass
class TermStartReport:
    term_id: str
    queued: list[str] = field(default_factory=list)  # child ids, queued by this run
    already_queued: list[str] = field(default_factory=list)  # queued by an earlier run
    not_sent: list[tuple[str, str]] = field(default_factory=list)  # (child id, reason)
    # after delivery (status()): child id -> outbox status / failure message
    delivered: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def children(self) -> int:
        return len(self.queued) + len(self.already_queued) + len(self.not_sent)


class TermStart:
    def __init__(
        self,
        service: PepService,
        render_form: FormRenderer,
        *,
        sender: str,
        authority_name: str = "",
        batch_size: int = 50,
    ) -> None:
        self.service = service
        self.uow = service.uow
        self.calendar = service.calendar
        self.clock = service.clock
        self.render_form = render_form
        self.sender = sender
        self.authority_name = authority_name
        self.batch_size = max(1, batch_size)
        self._schools: dict[str, tuple[School | None, list[Person]]] = {}

    def due_term(self) -> Term | None:
        """The term whose packs go out today: the first N school days of a term."""
        today = self.clock.today()
        term = self.calendar.term_for(today)
        if term is None:
            return None
        days = self.calendar.school_days_into(term, today)
        return term if 1 <= days <= self.service.rules.term_pack_school_days else None

    async def run(
        self,
        term_id: str,
        *,
        progress: Progress | None = None,
        only: Sequence[str] | None = None,
        require_previous_pdf: bool = True,
    ) -> TermStartReport:
        term = self.calendar.get(term_id)
        previous = self.calendar.previous(term)
        report = TermStartReport(term.id)
        async with self.uow() as uow:
            children = await uow.children.list_all()
        if only is not None:
            wanted = set(only)
            children = [c for c in children if c.lcs_id in wanted]
        total = len(children)
        async with self.uow() as uow:
            opened = {p.child_id for p in await uow.peps.find(term_id=term.id)}
        if any(c.lcs_id not in opened for c in children):
            await self.service.open_term(term.id)  # opens the missing ones at once
        self._schools = {}
        for start in range(0, total, self.batch_size):
            batch = children[start : start + self.batch_size]
            await self._batch(batch, term, previous, report, require_previous_pdf)
            if progress is not None:
                progress(min(start + len(batch), total), total)
        return report

    async def _batch(
        self,
        batch: list[Child],
        term: Term,
        previous: Term | None,
        report: TermStartReport,
        require_previous_pdf: bool,
    ) -> None:
        """One commit for the batch; done again if a PEP changed under it meanwhile."""
        for attempt in range(ATTEMPTS):
            try:
                await self._batch_once(batch, term, previous, report, require_previous_pdf)
                return
            except StaleVersion:
                if attempt == ATTEMPTS - 1:
                    raise

    async def _batch_once(
        self,
        batch: list[Child],
        term: Term,
        previous: Term | None,
        report: TermStartReport,
        require_previous_pdf: bool,
    ) -> None:
        keys = {c.lcs_id: pack_key(pep_id_for(c.lcs_id, term.id)) for c in batch}
        queued: list[str] = []
        already: list[str] = []
        not_sent: list[tuple[str, str]] = []
        notified: set[str] = set()
        ids = [c.lcs_id for c in batch]  # their PEPs were all opened by run()
        async with self.uow() as uow:
            done = await uow.outbox.existing(list(keys.values()))
            peps = {p.child_id: p for p in await uow.peps.find(term_id=term.id, child_ids=ids)}
            for child in batch:
                key = keys[child.lcs_id]
                if key in done:
                    already.append(child.lcs_id)
                    continue
                reason = await self._queue(
                    uow,
                    child,
                    peps[child.lcs_id],
                    term,
                    previous,
                    key,
                    require_previous_pdf,
                    notified,
                )
                if reason:
                    not_sent.append((child.lcs_id, reason))
                else:
                    queued.append(child.lcs_id)
            await uow.commit()
        report.queued += queued
        report.already_queued += already
        report.not_sent += not_sent

    async def _queue(
        self,
        uow: UnitOfWork,
        child: Child,
        pep: Pep,
        term: Term,
        previous: Term | None,
        key: str,
        require_previous_pdf: bool,
        notified: set[str],
    ) -> str:
        """Queue one child's pack; the reason it cannot be sent, or ""."""
        now = self.clock.now()
        school, teachers = await self._school(uow, child.school_urn)
        if school is None:
            return NO_SCHOOL
        if not teachers:
            return NO_TEACHER
        pdf = (
            await uow.documents.get(child.lcs_id, previous.id, PREVIOUS_PEP_PDF)
            if previous is not None
            else None
        )
        if pdf is None and require_previous_pdf:
            return NO_PREVIOUS
        name, form = await self.render_form(uow, pep)
        attachments = [MailAttachment(name, DOCX, form)]
        if pdf is not None and previous is not None:
            attachments.append(
                MailAttachment(
                    document_name(child.lcs_id, previous.id, "pdf"), pdf.media_type, pdf.content
                )
            )
        await uow.outbox.add(
            mail(
                key,
                sender=self.sender,
                to=[t.email for t in teachers],
                subject=f"PEP pack for {term.label}: {child.initials} ({child.lcs_id})",
                body=self._body(child, school.name, term, pdf is not None),
                attachments=attachments,
                pep_id=pep.id,
            ),
            now,
        )
        if pep.status is PepStatus.DRAFT:
            check_move(pep.status, PepStatus.PACK_SENT, SYSTEM.capabilities(child))
            read_version = pep.version
            pep.status = PepStatus.PACK_SENT
            await uow.peps.save(pep, read_version)
        await uow.audit.append(
            AuditEntry(
                now, SYSTEM.id, pep.id, "pack.queued", None, None, {"recipients": len(teachers)}
            )
        )
        for teacher in teachers:
            if teacher.id in notified:
                continue
            notified.add(teacher.id)
            await uow.outbox.add(
                notice(
                    f"term-pack-notice:{term.id}:{teacher.id}",
                    person_target(teacher.id),
                    "term_pack",
                    {"term_id": term.id, "mailbox": teacher.email},
                ),
                now,
            )
        return ""

    async def _school(self, uow: UnitOfWork, urn: str) -> tuple[School | None, list[Person]]:
        """The school and its designated teachers with an address, once per run."""
        known = self._schools.get(urn)
        if known is None:
            teachers = [
                p
                for p in await uow.people.people_for_school(urn, Role.DESIGNATED_TEACHER)
                if "@" in p.email
            ]
            known = self._schools[urn] = (await uow.children.get_school(urn), teachers)
        return known

    def _body(self, child: Child, school: str, term: Term, with_pdf: bool) -> str:
        by = f"{self.authority_name} " if self.authority_name else ""
        previous = (
            "\n- last term's finalised PEP (PDF), for reference"
            if with_pdf
            else "\n(there is no finalised PEP from last term on record)"
        )
        return (
            f"Dear Designated Teacher,\n\n"
            f"Attached is the Personal Education Plan pack for {term.label} for the "
            f"child with LCS id {child.lcs_id} ({child.initials}) at {school}:\n"
            f"- the new-term PEP form (Word), with last term's targets carried forward"
            f"{previous}\n\n"
            "Please complete the form in full before the PEP meeting, except the "
            "meeting summary and actions, or complete it in Teams with PEP Companion.\n\n"
            f"{by}Social Care Business Support"
        )

    async def status(self, term_id: str, *, require_previous_pdf: bool = True) -> TermStartReport:
        """Where every child's pack stands now: delivered, waiting, failed, or not sent
        (with the reason it could not be)."""
        term = self.calendar.get(term_id)
        previous = self.calendar.previous(term)
        report = TermStartReport(term.id)
        async with self.uow() as uow:
            children = await uow.children.list_all()
            entries = {e.key: e for e in await uow.outbox.find(key_prefix=KEY_PREFIX)}
            for child in children:
                entry = entries.get(pack_key(pep_id_for(child.lcs_id, term.id)))
                if entry is None:
                    reason = await self._why_not(uow, child, previous, require_previous_pdf)
                    report.not_sent.append((child.lcs_id, reason or "not queued yet"))
                elif entry.status is OutboxStatus.DELIVERED:
                    report.delivered.append(child.lcs_id)
                elif entry.status is OutboxStatus.PENDING:
                    report.pending.append(child.lcs_id)
                else:
                    report.failed.append((child.lcs_id, entry.last_error or entry.status))
        return report

    async def _why_not(
        self, uow: UnitOfWork, child: Child, previous: Term | None, require_previous_pdf: bool
    ) -> str:
        if await uow.children.get_school(child.school_urn) is None:
            return NO_SCHOOL
        if not [
            p
            for p in await uow.people.people_for_school(child.school_urn, Role.DESIGNATED_TEACHER)
            if "@" in p.email
        ]:
            return NO_TEACHER
        if require_previous_pdf and (
            previous is None
            or await uow.documents.get(child.lcs_id, previous.id, PREVIOUS_PEP_PDF) is None
        ):
            return NO_PREVIOUS
        return ""
