"""A made-up authority of any size for the Microsoft 365 tests and bench: schools with a
designated teacher each, children with a social worker, last term's PDFs. Fictional
names and .example addresses only."""

from __future__ import annotations

import random
from datetime import date

from pep_model.child import Child, School, SenStatus, YearGroup
from pep_model.imports import PREVIOUS_PEP_PDF
from pep_model.people import Assignment, Person, Role
from pep_model.ports import StoredDocument, UnitOfWorkFactory

FIRST = ("Ada", "Theo", "Ruby", "Mia", "Noah", "Isla", "Leo", "Ava", "Kai", "Zara")
LAST = ("Fenwick", "Marchbank", "Sokolowska", "O'Rourke", "Ashdown", "Pelham", "Quill")
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]"
    b"/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def child_id(n: int) -> str:
    return f"LCS{500000 + n}"


async def seed_authority(
    uow_factory: UnitOfWorkFactory,
    children: int,
    *,
    schools: int = 0,
    previous_term: str = "2026-summer",
    pdf_every: int = 1,
    teacherless_every: int = 0,
    seed: int = 7,
) -> list[str]:
    """`children` children over `schools` schools (default one per 8 children); every
    `pdf_every`-th child has last term's PDF; every `teacherless_every`-th school has no
    designated teacher (0: all have one). Returns the child ids."""
    rng = random.Random(seed)
    schools = schools or max(1, children // 8)
    ids = []
    async with uow_factory() as uow:
        for s in range(schools):
            urn = f"{990000 + s}"
            await uow.children.upsert_school(School(urn, f"Example School {s}"))
            if not teacherless_every or s % teacherless_every:
                teacher = Person(f"dt{s}@school{s}.sch.example", f"Teacher {s}")
                await uow.people.upsert(teacher)
                await uow.people.assign(
                    Assignment(teacher.id, Role.DESIGNATED_TEACHER, school_urn=urn)
                )
        worker = Person("sw@northvale.example", "Sam Worker")
        await uow.people.upsert(worker)
        for n in range(children):
            lcs = child_id(n)
            year = rng.randint(1, 11)
            await uow.children.upsert(
                Child(
                    lcs_id=lcs,
                    first_name=rng.choice(FIRST),
                    last_name=rng.choice(LAST),
                    date_of_birth=date(2021 - year, 3, 1 + n % 28),
                    year_group=YearGroup(year),
                    school_urn=f"{990000 + n % schools}",
                    sen_status=rng.choice(list(SenStatus)),
                )
            )
            await uow.people.assign(Assignment(worker.id, Role.SOCIAL_WORKER, child_id=lcs))
            if pdf_every and n % pdf_every == 0:
                await uow.documents.put(
                    StoredDocument(
                        lcs,
                        previous_term,
                        PREVIOUS_PEP_PDF,
                        f"{lcs}.pdf",
                        "application/pdf",
                        PDF + rng.randbytes(2048),
                    )
                )
            ids.append(lcs)
        await uow.commit()
    return ids
