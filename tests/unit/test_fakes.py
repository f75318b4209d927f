"""The in-memory fakes keep the ports' promises (other tiers rely on them)."""

from __future__ import annotations

from datetime import UTC, date

import pytest

from pep_model.child import Child, School
from pep_model.errors import StaleVersion
from pep_model.people import Assignment, Person, Role
from pep_model.pep import MeetingLink, Pep
from pep_model.ports import AuditEntry, StoredDocument
from tests.unit.builders import make_child
from tests.unit.fakes import FixedClock, InMemoryUnitOfWorkFactory


def pep(child_id: str = "LCS100001", term_id: str = "2026-autumn") -> Pep:
    return Pep(child_id, term_id, sections={"voice": {"views": "Hello"}})


async def test_save_is_a_compare_and_swap_on_the_version() -> None:
    factory = InMemoryUnitOfWorkFactory()
    await factory.peps.add(pep())
    mine = await factory.peps.get("LCS100001-2026-autumn")
    theirs = await factory.peps.get("LCS100001-2026-autumn")
    assert mine is not None and theirs is not None
    await factory.peps.save(mine, 0)
    assert mine.version == 1
    with pytest.raises(StaleVersion):
        await factory.peps.save(theirs, 0)
    assert factory.stored_pep(mine.id).version == 1
    with pytest.raises(StaleVersion):
        await factory.peps.save(mine, 0)


async def test_stored_peps_cannot_be_changed_through_copies() -> None:
    factory = InMemoryUnitOfWorkFactory()
    original = pep()
    await factory.peps.add(original)
    original.sections["voice"]["views"] = "changed after add"
    got = await factory.peps.get(original.id)
    assert got is not None and got.sections["voice"]["views"] == "Hello"
    got.sections["voice"]["views"] = "changed after get"
    await factory.peps.save(got, 0)
    got.sections["voice"]["views"] = "changed after save"
    assert factory.stored_pep(original.id).sections["voice"]["views"] == "changed after get"
    found = await factory.peps.find(term_id="2026-autumn")
    found[0].sections.clear()
    assert factory.stored_pep(original.id).sections


async def test_adding_a_pep_twice_writes_nothing_the_second_time() -> None:
    factory = InMemoryUnitOfWorkFactory()
    first = pep()
    first.sections["voice"] = {"views": "kept", "how_gathered": None}
    assert await factory.peps.add(first) is True
    assert await factory.peps.add(pep()) is False
    assert factory.stored_pep(first.id).sections["voice"]["views"] == "kept"


async def test_find_filters_by_term_and_children() -> None:
    factory = InMemoryUnitOfWorkFactory().seed(
        peps=[pep("A", "2026-autumn"), pep("B", "2026-autumn"), pep("A", "2027-spring")]
    )
    ids = [p.id for p in await factory.peps.find(term_id="2026-autumn")]
    assert ids == ["A-2026-autumn", "B-2026-autumn"]
    assert [p.id for p in await factory.peps.find(child_ids=["A"])] == [
        "A-2026-autumn",
        "A-2027-spring",
    ]
    assert await factory.peps.find(term_id="2026-autumn", child_ids=[]) == []


async def test_by_chat_finds_the_pep_of_a_meeting_chat() -> None:
    meeting = Pep("A", "2026-autumn", meeting=MeetingLink(chat_id="19:x@thread.v2"))
    factory = InMemoryUnitOfWorkFactory().seed(peps=[pep("B"), meeting])
    found = await factory.peps.by_chat("19:x@thread.v2")
    assert found is not None and found.id == "A-2026-autumn"
    assert await factory.peps.by_chat("19:other") is None
    assert await factory.peps.by_chat("") is None


async def test_a_committed_unit_of_work_keeps_its_writes() -> None:
    factory = InMemoryUnitOfWorkFactory()
    async with factory() as uow:
        await uow.peps.add(pep())
        await uow.audit.append(AuditEntry(FixedClock().now(), "x", "p", "pep.open"))
        await uow.commit()
    assert list(factory.state.peps) == ["LCS100001-2026-autumn"]
    assert len(factory.state.audit) == 1
    assert (factory.commits, factory.rollbacks) == (1, 0)


async def test_leaving_a_unit_of_work_without_commit_discards_every_write() -> None:
    factory = InMemoryUnitOfWorkFactory().seed(peps=[pep()])
    school = School("100001", "Northvale Academy")
    async with factory() as uow:
        stored = await uow.peps.get("LCS100001-2026-autumn")
        assert stored is not None
        stored.sections["voice"] = {"views": "uncommitted"}
        await uow.peps.save(stored, 0)
        await uow.peps.add(pep("LCS100002"))
        await uow.children.upsert_school(school)
        await uow.children.upsert(make_child())
        await uow.people.upsert(Person("a@b.example", "A"))
        await uow.people.assign(Assignment("a@b.example", Role.VIRTUAL_SCHOOL_OFFICER))
        await uow.audit.append(AuditEntry(FixedClock().now(), "x", "p", "pep.open"))
        await uow.documents.put(
            StoredDocument("C", "T", "kind", "f.pdf", "application/pdf", b"%PDF")
        )
    after = factory.stored_pep("LCS100001-2026-autumn")
    assert after.version == 0 and after.sections["voice"] == {"views": "Hello"}
    assert list(factory.state.peps) == ["LCS100001-2026-autumn"]
    assert not factory.state.schools and not factory.state.children
    assert not factory.state.people
    assert not factory.state.assignments and not factory.state.audit
    assert not factory.state.documents
    assert factory.rollbacks == 1


async def test_an_error_inside_a_unit_of_work_rolls_it_back() -> None:
    factory = InMemoryUnitOfWorkFactory()
    with pytest.raises(RuntimeError):
        async with factory() as uow:
            await uow.peps.add(pep())
            raise RuntimeError("boom")
    assert factory.state.peps == {}


async def test_writes_after_a_commit_need_another_commit() -> None:
    factory = InMemoryUnitOfWorkFactory()
    async with factory() as uow:
        await uow.peps.add(pep("A"))
        await uow.commit()
        await uow.peps.add(pep("B"))
    assert list(factory.state.peps) == ["A-2026-autumn"]


async def test_interleaved_units_of_work_cannot_both_save_the_same_version() -> None:
    factory = InMemoryUnitOfWorkFactory().seed(peps=[pep()])
    async with factory() as first, factory() as second:
        a = await first.peps.get("LCS100001-2026-autumn")
        b = await second.peps.get("LCS100001-2026-autumn")
        assert a is not None and b is not None
        await first.peps.save(a, 0)
        with pytest.raises(StaleVersion):
            await second.peps.save(b, 0)
        await first.commit()
    assert factory.stored_pep(a.id).version == 1


async def test_a_rollback_does_not_undo_another_units_commit() -> None:
    factory = InMemoryUnitOfWorkFactory()
    async with factory() as failing:
        await failing.peps.add(pep("A"))
        async with factory() as other:
            await other.peps.add(pep("B"))
            await other.commit()
    assert list(factory.state.peps) == ["B-2026-autumn"]


async def test_children_and_schools_are_upserted() -> None:
    factory = InMemoryUnitOfWorkFactory()
    child = make_child()
    assert await factory.children.upsert(child) is True
    assert await factory.children.upsert(child) is False
    await factory.children.upsert(make_child("LCS100002", urn="100002"))
    assert [c.lcs_id for c in await factory.children.list_all("100001")] == ["LCS100001"]
    assert len(await factory.children.list_all()) == 2
    await factory.children.upsert_school(School("100002", "B"))
    await factory.children.upsert_school(School("100001", "A"))
    assert [s.urn for s in await factory.children.list_schools()] == ["100001", "100002"]
    assert await factory.children.get_school("100001") == School("100001", "A")
    assert await factory.children.get("nobody") is None


async def test_people_are_found_by_entra_id_or_email() -> None:
    factory = InMemoryUnitOfWorkFactory()
    person = Person("Ada@School.example", "Ada", entra_object_id="oid-1")
    await factory.people.upsert(person)
    assert await factory.people.get("ada@school.example") == person
    assert await factory.people.find(entra_object_id="oid-1") == person
    assert await factory.people.find(email="ADA@school.example") == person
    assert await factory.people.find(entra_object_id="oid-2") is None
    assert await factory.people.find() is None


async def test_assignments_are_idempotent_and_child_roles_replaceable() -> None:
    child: Child = make_child()
    a, b, c = (Person(f"{n}@x.example", n) for n in "abc")
    factory = InMemoryUnitOfWorkFactory().seed(children=[child], people=[a, b, c])
    people = factory.people
    sw = Assignment(a.id, Role.SOCIAL_WORKER, child_id=child.lcs_id)
    await people.assign(sw)
    await people.assign(sw)
    assert await people.assignments(a.id) == [sw]
    await people.replace_child_role(child.lcs_id, Role.SOCIAL_WORKER, [b.id, c.id])
    assert await people.people_for_child(child.lcs_id, Role.SOCIAL_WORKER) == [b, c]
    assert await people.assignments(a.id) == []


async def test_people_for_a_child_include_school_staff_but_not_a_schools_carers() -> None:
    child = make_child(urn="100001")
    dt, carer, vso = (Person(f"{n}@x.example", n) for n in ("dt", "carer", "vso"))
    factory = InMemoryUnitOfWorkFactory().seed(
        children=[child],
        people=[dt, carer, vso],
        assignments=[
            Assignment(dt.id, Role.DESIGNATED_TEACHER, school_urn="100001"),
            Assignment(carer.id, Role.CARER, school_urn="100001"),
            Assignment(vso.id, Role.VIRTUAL_SCHOOL_OFFICER),
        ],
    )
    people = factory.people
    assert await people.people_for_child(child.lcs_id, Role.DESIGNATED_TEACHER) == [dt]
    assert await people.people_for_child(child.lcs_id, Role.CARER) == []
    assert await people.people_for_child(child.lcs_id, Role.VIRTUAL_SCHOOL_OFFICER) == []
    assert await people.people_for_school("100001", Role.DESIGNATED_TEACHER) == [dt]
    assert await people.people_for_school("100002", Role.DESIGNATED_TEACHER) == []


async def test_documents_replace_the_same_key() -> None:
    factory = InMemoryUnitOfWorkFactory()
    first = StoredDocument("C", "2026-autumn", "previous_pep_pdf", "a.pdf", "application/pdf", b"1")
    second = StoredDocument(
        "C", "2026-autumn", "previous_pep_pdf", "b.pdf", "application/pdf", b"2"
    )
    await factory.documents.put(first)
    await factory.documents.put(second)
    assert await factory.documents.get("C", "2026-autumn", "previous_pep_pdf") == second
    assert await factory.documents.get("C", "2026-autumn", "final_record_docx") is None


async def test_audit_entries_are_kept_in_order_and_as_written() -> None:
    factory = InMemoryUnitOfWorkFactory()
    after = {"views": "x"}
    now = FixedClock().now()
    await factory.audit.append(AuditEntry(now, "a", "P1", "section.save", "voice", None, after))
    await factory.audit.append(AuditEntry(now, "a", "P2", "pep.open"))
    after["views"] = "changed later"
    entries = await factory.audit.for_pep("P1")
    assert [e.action for e in entries] == ["section.save"]
    assert entries[0].after == {"views": "x"}


def test_the_fixed_clock_stands_still_until_moved() -> None:
    clock = FixedClock(today=date(2026, 11, 16))
    assert clock.today() == date(2026, 11, 16)
    assert clock.now().tzinfo is UTC and clock.now().date() == date(2026, 11, 16)
    clock.advance(days=1)
    assert clock.today() == date(2026, 11, 17)
    clock.set_today(date(2027, 1, 5))
    assert clock.today() == date(2027, 1, 5) and clock.now().tzinfo is UTC
