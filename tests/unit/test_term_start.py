"""Term-start packs on the in-memory store: who gets what, the reasons when not, PEPs
marked "pack sent", one Teams notice per teacher, and a second run that queues nothing."""

from __future__ import annotations

from datetime import date

import pytest

from pep_model.imports import PREVIOUS_PEP_PDF
from pep_model.outbox import OutboxKind
from pep_model.pep import Pep, pep_id_for
from pep_model.ports import StoredDocument, UnitOfWork
from pep_model.services import PepService
from pep_model.term_start import NO_PREVIOUS, NO_TEACHER, TermStart, pack_key
from pep_model.workflow import PepStatus
from tests.unit.conftest import DT, OTHER_DT
from tests.unit.fakes import FixedClock, InMemoryUnitOfWorkFactory

TERM = "2026-autumn"
PDF = StoredDocument(
    "LCS100001", "2026-summer", PREVIOUS_PEP_PDF, "LCS100001.pdf", "application/pdf", b"%PDF-1.4 x"
)


async def render(uow: UnitOfWork, pep: Pep) -> tuple[str, bytes]:
    return f"PEP-{pep.child_id}-{pep.term_id}.docx", b"PK docx " + pep.child_id.encode()


@pytest.fixture
def term_start(service: PepService) -> TermStart:
    return TermStart(
        service,
        render,
        sender="bs@northvale.example",
        authority_name="Northvale County Council",
        batch_size=2,
    )


async def test_packs_reasons_and_a_second_run(
    term_start: TermStart, factory: InMemoryUnitOfWorkFactory
) -> None:
    factory.state.documents[("LCS100001", "2026-summer", PREVIOUS_PEP_PDF)] = PDF
    seen: list[tuple[int, int]] = []
    report = await term_start.run(TERM, progress=lambda d, t: seen.append((d, t)))
    assert report.queued == ["LCS100001"]
    assert sorted(report.not_sent) == [("LCS100002", NO_PREVIOUS), ("LCS100003", NO_PREVIOUS)]
    assert seen == [(2, 3), (3, 3)]
    pack = factory.state.outbox[pack_key(pep_id_for("LCS100001", TERM))]
    assert pack.kind is OutboxKind.MAIL and pack.payload["to"] == [DT.email]
    assert [a.name for a in pack.attachments] == [
        "PEP-LCS100001-2026-autumn.docx",
        "PEP-LCS100001-2026-summer.pdf",
    ]
    assert "Fenwick" not in pack.payload["subject"] and "AF" in pack.payload["subject"]
    assert factory.stored_pep(pep_id_for("LCS100001", TERM)).status is PepStatus.PACK_SENT
    assert factory.stored_pep(pep_id_for("LCS100003", TERM)).status is PepStatus.DRAFT
    assert f"term-pack-notice:{TERM}:{DT.id}" in factory.state.outbox
    again = await term_start.run(TERM)
    assert again.queued == [] and again.already_queued == ["LCS100001"]
    assert len([k for k in factory.state.outbox if k.startswith("term-pack:")]) == 1


async def test_without_last_terms_pdf_when_allowed(
    term_start: TermStart, factory: InMemoryUnitOfWorkFactory
) -> None:
    report = await term_start.run(TERM, require_previous_pdf=False)
    assert sorted(report.queued) == ["LCS100001", "LCS100002", "LCS100003"]
    packs = [e for k, e in factory.state.outbox.items() if k.startswith("term-pack:")]
    assert all(len(p.attachments) == 1 for p in packs)
    notices = sorted(k for k in factory.state.outbox if k.startswith("term-pack-notice:"))
    assert notices == [
        f"term-pack-notice:{TERM}:{DT.id}",
        f"term-pack-notice:{TERM}:{OTHER_DT.id}",
    ], "one per teacher"
    status = await term_start.status(TERM, require_previous_pdf=False)
    assert sorted(status.pending) == ["LCS100001", "LCS100002", "LCS100003"]


async def test_no_designated_teacher(
    term_start: TermStart, factory: InMemoryUnitOfWorkFactory
) -> None:
    factory.state.assignments = {
        a: None for a in factory.state.assignments if a.person_id != OTHER_DT.id
    }
    report = await term_start.run(TERM, require_previous_pdf=False)
    assert ("LCS100002", NO_TEACHER) in report.not_sent
    status = await term_start.status(TERM, require_previous_pdf=False)
    assert ("LCS100002", NO_TEACHER) in status.not_sent


def test_due_only_in_the_first_school_days(term_start: TermStart, clock: FixedClock) -> None:
    clock.set_today(date(2026, 9, 2))
    assert term_start.due_term().id == TERM  # type: ignore[union-attr]
    clock.set_today(date(2026, 9, 15))  # 10th school day
    assert term_start.due_term() is not None
    clock.set_today(date(2026, 9, 16))
    assert term_start.due_term() is None
    clock.set_today(date(2026, 8, 20))  # holiday
    assert term_start.due_term() is None
