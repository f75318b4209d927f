"""store/ on SQLite and PostgreSQL: the ports of pep_model, migrations, the audit log's
immutability, and the use cases' concurrency rule on a real database.

Every test runs on both backends (the `database_url` fixture in conftest.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from pep_model.access import Actor
from pep_model.child import Child, School, SenStatus, YearGroup
from pep_model.errors import ConflictError, StaleVersion
from pep_model.people import Assignment, Person, Role
from pep_model.pep import MeetingLink, Pep
from pep_model.ports import AuditEntry, PepRepository, StoredDocument
from pep_model.rules import PepRules
from pep_model.services import PepService
from pep_model.terms import default_calendar
from pep_model.workflow import PepStatus
from store.database import make_engine
from store.migrate import alembic_config, upgrade, upgrade_sync
from store.tables import metadata
from store.unit_of_work import SqlUnitOfWork, SqlUnitOfWorkFactory

TERM = "2026-autumn"
SCHOOL = School("900001", "Fernhollow Academy")
CHILD = Child(
    lcs_id="LCS1",
    first_name="Test",
    last_name="Child-One",
    date_of_birth=date(2014, 3, 9),
    year_group=YearGroup(7),
    school_urn=SCHOOL.urn,
    placement_type="foster care",
    placement_start=date(2025, 6, 2),
    school_start_date=date(2026, 9, 2),
    carer_name="A Carer",
    legal_status="S31",
    sen_status=SenStatus.SEN_SUPPORT,
    complex_case=True,
    transition_flag=True,
)
DT = Person("DT.One@fernhollow.sch.example", "Teacher One", "entra-dt-1")
DT2 = Person("dt.two@fernhollow.sch.example", "Teacher Two")
VOICE = {"views": "I like maths", "how_gathered": "chat with DT"}
CARER_VIEWS = {"views": "Settled", "role": "reads with her"}


class FixedClock:
    def now(self) -> datetime:
        return datetime(2026, 11, 16, 10, 30, tzinfo=UTC)

    def today(self) -> date:
        return date(2026, 11, 16)


def dt_actor(person: Person = DT) -> Actor:
    return Actor(person, (Assignment(person.id, Role.DESIGNATED_TEACHER, school_urn=SCHOOL.urn),))


@pytest.fixture
def uow(store_engine: AsyncEngine) -> SqlUnitOfWorkFactory:
    return SqlUnitOfWorkFactory(store_engine)


@pytest.fixture
async def seeded(uow: SqlUnitOfWorkFactory) -> SqlUnitOfWorkFactory:
    async with uow() as work:
        await work.children.upsert_school(SCHOOL)
        await work.children.upsert(CHILD)
        await work.commit()
    return uow


@pytest.fixture
def service(seeded: SqlUnitOfWorkFactory) -> PepService:
    return PepService(seeded, default_calendar(), PepRules(), FixedClock())


# ---- migrations ------------------------------------------------------------------------


async def test_migrations_apply_reapply_and_match_the_tables(empty_database_url: str) -> None:
    await upgrade(empty_database_url)
    await upgrade(empty_database_url)  # at head: nothing to do, nothing fails
    engine = make_engine(empty_database_url)
    try:
        async with engine.connect() as conn:
            versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
            names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
            drift = await conn.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c), metadata)
            )
    finally:
        await engine.dispose()
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert versions == [(head,)]
    assert set(metadata.tables) <= names
    assert drift == []


async def test_upgrade_sync_works_from_any_directory(
    empty_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    await asyncio.to_thread(upgrade_sync, empty_database_url)
    await asyncio.to_thread(upgrade_sync, empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM peps"))).scalar() == 0
    finally:
        await engine.dispose()


# ---- children, schools, people, assignments ----------------------------------------------


async def test_children_and_schools_upsert_and_reimport(uow: SqlUnitOfWorkFactory) -> None:
    other = Child("LCS0", "Test", "Child-Zero", date(2018, 1, 1), YearGroup(3), "900002")
    async with uow() as work:
        await work.children.upsert_school(SCHOOL)
        await work.children.upsert_school(School("900002", "Old name"))
        assert await work.children.upsert(CHILD) is True
        assert await work.children.upsert(other) is True
        await work.commit()
    moved = Child(
        **{
            **CHILD.__dict__,
            "year_group": YearGroup(8),
            "carer_name": "B Carer",
            "placement_start": None,
            "complex_case": False,
        }
    )
    async with uow() as work:  # the roster imported again, with changes
        await work.children.upsert_school(School("900002", "New name"))
        assert await work.children.upsert(moved) is False
        assert await work.children.upsert(other) is False
        await work.commit()
    async with uow() as work:
        assert await work.children.list_all() == [other, moved]  # by lcs_id, no duplicates
        assert await work.children.list_all(SCHOOL.urn) == [moved]
        assert await work.children.get("LCS1") == moved
        assert await work.children.get("nobody") is None
        assert await work.children.list_schools() == [SCHOOL, School("900002", "New name")]
        assert await work.children.get_school("900002") == School("900002", "New name")
        assert await work.children.get_school("0") is None


async def test_people_upsert_and_find(uow: SqlUnitOfWorkFactory) -> None:
    async with uow() as work:
        await work.people.upsert(DT)
        # re-imported from a list that has no Entra id and a new display name
        await work.people.upsert(Person("dt.one@FERNHOLLOW.sch.example", "Teacher One B"))
        await work.commit()
    async with uow() as work:
        kept = await work.people.get(DT.id)
        assert kept is not None
        assert (kept.name, kept.entra_object_id) == ("Teacher One B", "entra-dt-1")
        assert await work.people.find(entra_object_id="entra-dt-1") == kept
        assert await work.people.find(email="  Dt.One@Fernhollow.SCH.example") == kept
        assert await work.people.find(entra_object_id="unknown", email=DT.email) == kept
        assert await work.people.find(entra_object_id="unknown") is None
        assert await work.people.find() is None


async def test_assignments_are_idempotent_and_child_roles_replaced(
    seeded: SqlUnitOfWorkFactory,
) -> None:
    a, b, c = (Person(f"p{i}@example.org", f"Person {i}") for i in range(3))
    async with seeded() as work:
        for person in (a, b, c, DT):
            await work.people.upsert(person)
        for _ in range(2):
            await work.people.assign(
                Assignment(DT.id, Role.DESIGNATED_TEACHER, school_urn=SCHOOL.urn)
            )
            await work.people.assign(Assignment(DT.id, Role.PEP_LEAD, child_id="LCS1"))
            await work.people.assign(Assignment(DT.id, Role.VIRTUAL_SCHOOL_OFFICER))
        await work.people.replace_child_role("LCS1", Role.SOCIAL_WORKER, [a.id, b.id])
        await work.people.replace_child_role("LCS1", Role.SOCIAL_WORKER, [b.id, c.email])
        await work.people.replace_child_role("LCS1", Role.CARER, [a.id])
        await work.people.replace_child_role("LCS1", Role.CARER, [])
        await work.commit()
    async with seeded() as work:
        assert await work.people.assignments(DT.id) == [
            Assignment(DT.id, Role.DESIGNATED_TEACHER, school_urn=SCHOOL.urn),
            Assignment(DT.id, Role.PEP_LEAD, child_id="LCS1"),
            Assignment(DT.id, Role.VIRTUAL_SCHOOL_OFFICER),
        ]
        assert await work.people.people_for_child("LCS1", Role.SOCIAL_WORKER) == [b, c]
        assert await work.people.people_for_child("LCS1", Role.CARER) == []
        assert await work.people.people_for_school(SCHOOL.urn, Role.DESIGNATED_TEACHER) == [DT]
        assert await work.people.people_for_school(SCHOOL.urn, Role.PEP_LEAD) == []
        assert await work.people.assignments(a.id) == []


# ---- PEPs --------------------------------------------------------------------------------


def full_pep() -> Pep:
    return Pep(
        child_id="LCS1",
        term_id=TERM,
        status=PepStatus.IN_MEETING,
        sections={
            "voice": dict(VOICE),
            "targets": {
                "rows": [
                    {
                        "ref": "T1",
                        "description": "Read daily",
                        "due": "2026-12-01",
                        "cost_pence": 1500,
                        "met": True,
                        "evidence": None,
                    }
                ]
            },
        },
        section_versions={"voice": 3, "targets": 2},
        current_section="targets",
        meeting=MeetingLink(
            event_id="ev-1",
            join_url="https://teams.example/join/1",
            chat_id="19:meeting_abc@thread.v2",
            starts_at="2026-11-20T10:00:00+00:00",
            card_message_id="m-1",
        ),
        meeting_held_on=date(2026, 11, 20),
        return_due=date(2026, 11, 27),
    )


async def test_pep_round_trip_preserves_every_field(seeded: SqlUnitOfWorkFactory) -> None:
    pep = full_pep()
    pep.version = 7  # add() always starts a PEP at version 0
    bare = Pep(child_id="LCS1", term_id="2027-spring")
    async with seeded() as work:
        await work.peps.add(pep)
        await work.peps.add(bare)
        await work.commit()
    assert pep.version == 0
    async with seeded() as work:
        assert await work.peps.get(pep.id) == pep
        assert await work.peps.get(bare.id) == bare
        assert await work.peps.get("LCS1-1999-autumn") is None
        assert await work.peps.find(term_id=TERM) == [pep]
        assert await work.peps.find(child_ids=["LCS1"]) == [pep, bare]
        many = [f"LCS{i}" for i in range(2, 2500)] + ["LCS1"]  # more ids than one IN list
        assert await work.peps.find(term_id="2027-spring", child_ids=many) == [bare]
        assert await work.peps.find(child_ids=[]) == []
        assert await work.peps.by_chat("19:meeting_abc@thread.v2") == pep
        assert await work.peps.by_chat("19:other") is None


async def test_stale_save_raises_and_leaves_the_row(seeded: SqlUnitOfWorkFactory) -> None:
    async with seeded() as work:
        await work.peps.add(full_pep())
        await work.commit()
    async with seeded() as work:
        first = await work.peps.get(full_pep().id)
        assert first is not None
        first.sections["voice"] = {"views": "first", "how_gathered": None}
        await work.peps.save(first, 0)
        await work.commit()
    assert first.version == 1
    async with seeded() as work:
        late = full_pep()
        late.sections["voice"] = {"views": "late", "how_gathered": None}
        late.meeting = None
        with pytest.raises(StaleVersion):
            await work.peps.save(late, 0)
        assert late.version == 0
        await work.commit()
    async with seeded() as work:
        assert await work.peps.get(first.id) == first


# ---- audit log and documents ----------------------------------------------------------------


async def test_audit_log_appends_and_the_database_refuses_changes(
    uow: SqlUnitOfWorkFactory, store_engine: AsyncEngine
) -> None:
    entries = [
        AuditEntry(datetime(2026, 11, 16, 9, tzinfo=UTC), "system", "P1", "pep.open"),
        AuditEntry(
            datetime(2026, 11, 16, 9, 5, tzinfo=UTC),
            DT.id,
            "P1",
            "section.save",
            "voice",
            None,
            dict(VOICE),
        ),
        AuditEntry(
            datetime(2026, 11, 16, 9, 6, tzinfo=UTC),
            DT.id,
            "P2",
            "status",
            None,
            "draft",
            "in_progress",
        ),
    ]
    async with uow() as work:
        for entry in entries:
            await work.audit.append(entry)
        await work.commit()
    statements = [
        "UPDATE audit_log SET actor_id = 'someone else'",
        "DELETE FROM audit_log WHERE pep_id = 'P1'",
    ]
    if store_engine.dialect.name == "postgresql":
        statements.append("TRUNCATE audit_log")
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"):
            async with store_engine.begin() as conn:
                await conn.execute(text(statement))
    async with uow() as work:
        assert await work.audit.for_pep("P1") == entries[:2]
        assert await work.audit.for_pep("P2") == entries[2:]


async def test_documents_put_get_replace(uow: SqlUnitOfWorkFactory) -> None:
    pdf = StoredDocument(
        "LCS1",
        TERM,
        "previous_pep_pdf",
        "LCS1.pdf",
        "application/pdf",
        b"%PDF-1.7\x00\xff\xfe binary",
    )
    newer = StoredDocument(
        "LCS1", TERM, "previous_pep_pdf", "LCS1 - v2.pdf", "application/pdf", b"%PDF-1.7 second"
    )
    async with uow() as work:
        await work.documents.put(pdf)
        await work.commit()
    async with uow() as work:
        assert await work.documents.get("LCS1", TERM, "previous_pep_pdf") == pdf
        await work.documents.put(newer)
        await work.commit()
    async with uow() as work:
        assert await work.documents.get("LCS1", TERM, "previous_pep_pdf") == newer
        assert await work.documents.get("LCS1", TERM, "final_record_docx") is None


async def test_unit_of_work_rolls_back_what_was_not_committed(uow: SqlUnitOfWorkFactory) -> None:
    async with uow() as work:
        await work.children.upsert_school(School("1", "Never committed"))
    with pytest.raises(RuntimeError):
        async with uow() as work:
            await work.children.upsert_school(School("2", "Failed half way"))
            raise RuntimeError("boom")
    async with uow() as work:
        await work.children.upsert_school(School("3", "Committed"))
        await work.commit()
        await work.children.upsert_school(School("4", "After the commit"))
    async with uow() as work:
        assert await work.children.list_schools() == [School("3", "Committed")]


# ---- the use cases on a real database ---------------------------------------------------


async def test_same_section_from_the_same_version_conflicts(
    service: PepService, seeded: SqlUnitOfWorkFactory
) -> None:
    pep = await service.open_pep("LCS1", TERM)
    read = pep.version
    first = await service.record_section(pep.id, "voice", VOICE, dt_actor(), read)
    assert first.saved and first.changed
    with pytest.raises(ConflictError) as conflict:
        await service.record_section(
            pep.id, "voice", {"views": "I hate maths"}, dt_actor(DT2), read
        )
    current = conflict.value.current
    assert current.version == read + 1
    assert current.sections["voice"]["views"] == "I like maths"
    async with seeded() as work:
        stored = await work.peps.get(pep.id)
        audit = await work.audit.for_pep(pep.id)
    assert stored == first.pep == current
    assert [(e.action, e.actor_id) for e in audit] == [
        ("pep.open", "system"),
        ("section.save", DT.id),
    ]


async def test_different_sections_from_the_same_version_both_save(
    service: PepService, seeded: SqlUnitOfWorkFactory
) -> None:
    pep = await service.open_pep("LCS1", TERM)
    read = pep.version
    await service.record_section(pep.id, "voice", VOICE, dt_actor(), read)
    second = await service.record_section(pep.id, "carer", CARER_VIEWS, dt_actor(DT2), read)
    assert second.saved
    async with seeded() as work:
        stored = await work.peps.get(pep.id)
    assert stored is not None
    assert stored.version == read + 2
    assert stored.sections["voice"]["views"] == "I like maths"
    assert stored.sections["carer"]["role"] == "reads with her"
    assert stored.section_versions == {"voice": read + 1, "carer": read + 2}


class _RacingPeps:
    """Holds every save until all racers have read the PEP and passed the service's
    pre-check, so only the database's compare-and-swap can tell them apart."""

    def __init__(self, inner: PepRepository, barrier: asyncio.Barrier, stale: list[str]) -> None:
        self.inner, self.barrier, self.stale = inner, barrier, stale

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def save(self, pep: Pep, expected_version: int) -> None:
        await self.barrier.wait()
        try:
            await self.inner.save(pep, expected_version)
        except StaleVersion:
            self.stale.append(pep.id)
            raise


async def test_truly_concurrent_saves_exactly_one_wins(
    service: PepService, store_engine: AsyncEngine, seeded: SqlUnitOfWorkFactory
) -> None:
    racers = 5
    barrier = asyncio.Barrier(racers)
    stale: list[str] = []

    class RacingUnitOfWork(SqlUnitOfWork):
        async def __aenter__(self) -> RacingUnitOfWork:
            await super().__aenter__()
            self.peps = _RacingPeps(self.peps, barrier, stale)
            return self

    pep = await service.open_pep("LCS1", TERM)
    racing = PepService(
        lambda: RacingUnitOfWork(store_engine), service.calendar, service.rules, service.clock
    )
    async with asyncio.timeout(30):
        results = await asyncio.gather(
            *(
                racing.record_section(
                    pep.id, "voice", {"views": f"I like maths {i}"}, dt_actor(), pep.version
                )
                for i in range(racers)
            ),
            return_exceptions=True,
        )
    winners = [r for r in results if not isinstance(r, BaseException)]
    conflicts = [r for r in results if isinstance(r, ConflictError)]
    assert len(winners) == 1 and len(conflicts) == racers - 1, results
    assert len(stale) == racers - 1  # refused by the CAS, not by the pre-check
    won = winners[0].pep
    async with seeded() as work:
        stored = await work.peps.get(pep.id)
        saves = [e for e in await work.audit.for_pep(pep.id) if e.action == "section.save"]
    assert stored == won and stored.version == pep.version + 1
    assert all(c.current == won for c in conflicts)
    assert [e.after for e in saves] == [won.sections["voice"]]


async def test_each_save_is_audited_with_before_and_after(
    service: PepService, seeded: SqlUnitOfWorkFactory
) -> None:
    pep = await service.open_pep("LCS1", TERM)
    first = await service.record_section(pep.id, "voice", VOICE, dt_actor(), pep.version)
    second = await service.record_section(
        pep.id, "voice", {**VOICE, "views": "Maths, art"}, dt_actor(DT2), first.pep.version
    )
    async with seeded() as work:
        saves = [e for e in await work.audit.for_pep(pep.id) if e.action == "section.save"]
    assert [(e.actor_id, e.section) for e in saves] == [(DT.id, "voice"), (DT2.id, "voice")]
    assert saves[0].before is None
    assert saves[0].after == first.pep.sections["voice"] == saves[1].before
    assert saves[1].after == second.pep.sections["voice"]
    assert all(e.at == FixedClock().now() for e in saves)
