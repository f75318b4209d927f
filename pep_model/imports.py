"""Bringing the authority's lists in: roster, staff, last term's finalised PEPs."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from pep_model.access import SYSTEM
from pep_model.errors import NotAllowed, NotFound
from pep_model.people import Assignment, Role
from pep_model.ports import StoredDocument, UnitOfWorkFactory
from pep_model.roster import AttendanceRow, Parsed, RosterRow, RowProblem, StaffRow
from pep_model.services import PepService

PREVIOUS_PEP_PDF = "previous_pep_pdf"


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len({p.row for p in self.problems})


async def import_roster(uow_factory: UnitOfWorkFactory, parsed: Parsed[RosterRow]) -> ImportReport:
    """Good rows are applied, bad rows reported; re-importing updates, never duplicates.

    The social worker and carer of each child are replaced by the roster's; the
    designated teacher is assigned to the school.
    """
    report = ImportReport(problems=list(parsed.problems))
    async with uow_factory() as uow:
        for row in parsed.rows:
            await uow.children.upsert_school(row.school)
            if await uow.children.upsert(row.child):
                report.created += 1
            else:
                report.updated += 1
            child_id = row.child.lcs_id
            await uow.people.upsert(row.designated_teacher)
            await uow.people.assign(
                Assignment(
                    row.designated_teacher.id, Role.DESIGNATED_TEACHER, school_urn=row.school.urn
                )
            )
            await uow.people.upsert(row.social_worker)
            await uow.people.replace_child_role(
                child_id, Role.SOCIAL_WORKER, [row.social_worker.id]
            )
            carers = []
            if row.carer is not None:
                await uow.people.upsert(row.carer)
                carers.append(row.carer.id)
            await uow.people.replace_child_role(child_id, Role.CARER, carers)
        await uow.commit()
    return report


async def import_staff(uow_factory: UnitOfWorkFactory, parsed: Parsed[StaffRow]) -> ImportReport:
    report = ImportReport(problems=list(parsed.problems))
    async with uow_factory() as uow:
        for row in parsed.rows:
            existed = await uow.people.get(row.person.id) is not None
            await uow.people.upsert(row.person)
            await uow.people.assign(row.assignment)
            if existed:
                report.updated += 1
            else:
                report.created += 1
        await uow.commit()
    return report


_LCS_IN_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_]{0,39})(?:[-_ ].*)?$")


@dataclass
class PdfImportReport:
    stored: list[str] = field(default_factory=list)  # LCS ids
    unmatched: list[str] = field(default_factory=list)  # file names
    not_pdf: list[str] = field(default_factory=list)  # file names


async def import_previous_peps(
    uow_factory: UnitOfWorkFactory, term_id: str, files: Iterable[tuple[str, bytes]]
) -> PdfImportReport:
    """Last term's finalised PDFs, matched to children by the LCS id the file name
    starts with (LCS100001.pdf, LCS100001 - summer.pdf). Stored as opaque attachments."""
    report = PdfImportReport()
    async with uow_factory() as uow:
        for name, content in files:
            stem = name.rsplit(".", 1)[0]
            if not name.lower().endswith(".pdf") or not content.startswith(b"%PDF-"):
                report.not_pdf.append(name)
                continue
            match = _LCS_IN_NAME.match(stem)
            child = await uow.children.get(match.group(1)) if match else None
            if child is None:
                report.unmatched.append(name)
                continue
            await uow.documents.put(
                StoredDocument(
                    child.lcs_id, term_id, PREVIOUS_PEP_PDF, name, "application/pdf", content
                )
            )
            report.stored.append(child.lcs_id)
        await uow.commit()
    return report


async def import_attendance(
    service: PepService, term_id: str, parsed: Parsed[AttendanceRow]
) -> ImportReport:
    """Attendance figures into each child's PEP for the term, through the same check
    every save obeys: impossible figures (more sessions attended than possible, …) are
    reported with the rule's own words and nothing is saved for that child. Figures that
    need an explanation (below the threshold, unauthorised absence) are saved without
    one; the readiness check asks for it. Re-importing the same figures changes nothing."""
    report = ImportReport(problems=list(parsed.problems))
    for row in parsed.rows:
        try:
            pep = await service.open_pep(row.lcs_id, term_id)
        except NotFound:
            report.problems.append(
                RowProblem(row.row, "lcs_id", "no child with this LCS id", row.lcs_id)
            )
            continue
        try:
            outcome = await service.record_section(
                pep.id, "attendance", row.values, SYSTEM, pep.version
            )
        except NotAllowed as exc:  # the PEP is past the point where it can change
            report.problems.append(RowProblem(row.row, "lcs_id", str(exc), row.lcs_id))
            continue
        for error in outcome.errors:
            report.problems.append(RowProblem(row.row, error.field, error.message, row.lcs_id))
        if outcome.changed:
            report.updated += 1
    return report
