"""The repository ports of pep_model, in SQLAlchemy Core over a StoreConnection."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, func, or_, select, update

from pep_model.child import Child, School, SenStatus, YearGroup
from pep_model.errors import StaleVersion
from pep_model.people import Assignment, Person, Role, person_id_for
from pep_model.pep import MeetingLink, Pep
from pep_model.ports import AuditEntry, StoredDocument
from pep_model.workflow import PepStatus
from store.connection import StoreConnection
from store.prepared import Prepared
from store.tables import assignments, audit_log, children, documents, people, peps, schools

# Ids per IN (...) list: far below SQLite's 32766 and asyncpg's 32767 bind limits.
IN_CHUNK = 900


def in_chunks(ids: Iterable[str]) -> Iterator[list[str]]:
    """The distinct ids, sorted, IN_CHUNK at a time (one IN (...) list each)."""
    wanted = sorted(set(ids))
    for start in range(0, len(wanted), IN_CHUNK):
        yield wanted[start : start + IN_CHUNK]


def lease_free(lease_until: ColumnElement[datetime], now: datetime) -> ColumnElement[bool]:
    """A row nobody holds: never leased, or its lease ran out."""
    return or_(lease_until.is_(None), lease_until < now)


def _now() -> datetime:
    return datetime.now(UTC)


# The statements of the in-meeting save (read the PEP and its child, the version-checked
# UPDATE, the audit row), built once with bind parameters and compiled once per dialect
# (store/prepared.py) instead of on every call: building a Core statement cost more CPU
# than executing it, and SQLAlchemy's execution of it as much again.
_CHILD_COLUMNS = [c for c in children.c if c.name != "updated_at"]
_CHILD_BY_ID = Prepared(select(*_CHILD_COLUMNS).where(children.c.lcs_id == bindparam("lcs_id")))
# A PEP is nearly always read to be shown or changed together with its child, so the
# child's row comes with it (one statement, one consistent snapshot, instead of two
# statements). The outer join keeps a PEP whose child row is missing readable as before.
_PEP_BY_ID = Prepared(
    select(peps, *_CHILD_COLUMNS)
    .join_from(peps, children, children.c.lcs_id == peps.c.child_id, isouter=True)
    .where(peps.c.id == bindparam("pep_id"))
)
# executed with the new column values as parameters, which become the SET clause
_PEP_CAS = Prepared(
    update(peps).where(
        peps.c.id == bindparam("cas_id"), peps.c.version == bindparam("cas_expected")
    )
)
_AUDIT_INSERT = Prepared(audit_log.insert())


# ---- children and schools ------------------------------------------------------------


def _child_values(child: Child) -> dict[str, Any]:
    return {
        "lcs_id": child.lcs_id,
        "first_name": child.first_name,
        "last_name": child.last_name,
        "date_of_birth": child.date_of_birth,
        "year_group": child.year_group.number,
        "school_urn": child.school_urn,
        "placement_type": child.placement_type,
        "placement_start": child.placement_start,
        "school_start_date": child.school_start_date,
        "carer_name": child.carer_name,
        "legal_status": child.legal_status,
        "sen_status": child.sen_status.value,
        "complex_case": child.complex_case,
        "transition_flag": child.transition_flag,
        "updated_at": _now(),
    }


def _child_from(row: Any) -> Child:
    return Child(
        lcs_id=row.lcs_id,
        first_name=row.first_name,
        last_name=row.last_name,
        date_of_birth=row.date_of_birth,
        year_group=YearGroup(row.year_group),
        school_urn=row.school_urn,
        placement_type=row.placement_type,
        placement_start=row.placement_start,
        school_start_date=row.school_start_date,
        carer_name=row.carer_name,
        legal_status=row.legal_status,
        sen_status=SenStatus(row.sen_status),
        complex_case=row.complex_case,
        transition_flag=row.transition_flag,
    )


class SqlChildRepository:
    def __init__(self, db: StoreConnection) -> None:
        self.db = db

    async def get(self, lcs_id: str) -> Child | None:
        joined = self.db.joined_child
        if joined is not None and joined[0] == lcs_id:
            # read with the PEP by the statement just before this call on the same
            # connection (StoreConnection drops it when any other statement runs), so
            # this is what a SELECT here would return, minus the round trip; nothing is
            # kept beyond that one statement of this unit of work
            self.db.joined_child = None
            return joined[1]
        rows = await self.db.fetch(_CHILD_BY_ID, {"lcs_id": lcs_id})
        return _child_from(rows[0]) if rows else None

    async def list_all(self, school_urn: str | None = None) -> list[Child]:
        query = select(children).order_by(children.c.lcs_id)
        if school_urn is not None:
            query = query.where(children.c.school_urn == school_urn)
        return [_child_from(row) for row in await self.db.read(query)]

    async def upsert(self, child: Child) -> bool:
        values = _child_values(child)
        created = (
            await self.db.write(
                self.db.insert(children)
                .values(values)
                .on_conflict_do_nothing(index_elements=["lcs_id"])
                .returning(children.c.lcs_id)
            )
        ).first()
        if created is not None:
            return True
        await self.db.write(
            update(children).where(children.c.lcs_id == child.lcs_id).values(values)
        )
        return False

    async def get_school(self, urn: str) -> School | None:
        row = (await self.db.read(select(schools).where(schools.c.urn == urn), point=True)).first()
        return School(row.urn, row.name) if row else None

    async def upsert_school(self, school: School) -> None:
        insert = self.db.insert(schools).values(urn=school.urn, name=school.name)
        await self.db.write(
            insert.on_conflict_do_update(
                index_elements=["urn"], set_={"name": insert.excluded.name}
            )
        )

    async def list_schools(self) -> list[School]:
        rows = await self.db.read(select(schools).order_by(schools.c.urn))
        return [School(row.urn, row.name) for row in rows]


# ---- people and their assignments ----------------------------------------------------


def _person_from(row: Any) -> Person:
    return Person(email=row.email, name=row.name, entra_object_id=row.entra_object_id)


def _assignment_from(row: Any) -> Assignment:
    return Assignment(
        person_id=row.person_id,
        role=Role(row.role),
        child_id=row.child_id,
        school_urn=row.school_urn,
    )


class SqlPeopleRepository:
    def __init__(self, db: StoreConnection) -> None:
        self.db = db

    async def get(self, person_id: str) -> Person | None:
        row = (
            await self.db.read(
                select(people).where(people.c.id == person_id_for(person_id)), point=True
            )
        ).first()
        return _person_from(row) if row else None

    async def find(
        self, *, entra_object_id: str | None = None, email: str | None = None
    ) -> Person | None:
        if entra_object_id:
            row = (
                await self.db.read(
                    select(people).where(people.c.entra_object_id == entra_object_id), point=True
                )
            ).first()
            if row:
                return _person_from(row)
        if email:
            return await self.get(email)
        return None

    async def upsert(self, person: Person) -> None:
        insert = self.db.insert(people).values(
            id=person.id,
            email=person.email.strip(),
            name=person.name,
            entra_object_id=person.entra_object_id or None,
        )
        await self.db.write(
            insert.on_conflict_do_update(
                index_elements=["id"],
                set_={
                    "email": insert.excluded.email,
                    "name": insert.excluded.name,
                    # a roster row without the Entra id never forgets the one we know
                    "entra_object_id": func.coalesce(
                        insert.excluded.entra_object_id, people.c.entra_object_id
                    ),
                },
            )
        )

    async def assignments(self, person_id: str) -> list[Assignment]:
        rows = await self.db.read(
            select(assignments)
            .where(assignments.c.person_id == person_id_for(person_id))
            .order_by(assignments.c.id),
            point=True,
        )
        return [_assignment_from(row) for row in rows]

    async def assign(self, assignment: Assignment) -> None:
        child_id = assignment.child_id or None
        await self.db.write(
            self.db.insert(assignments)
            .values(
                person_id=person_id_for(assignment.person_id),
                role=assignment.role.value,
                child_id=child_id,
                school_urn=None if child_id else (assignment.school_urn or None),
            )
            .on_conflict_do_nothing(index_elements=["person_id", "role", "scope"])
        )

    async def replace_child_role(
        self, child_id: str, role: Role, person_ids: Sequence[str]
    ) -> None:
        keep = sorted({person_id_for(p) for p in person_ids})
        await self.db.write(
            assignments.delete().where(
                assignments.c.child_id == child_id,
                assignments.c.role == role.value,
                assignments.c.person_id.not_in(keep),
            )
        )
        for person_id in keep:
            await self.assign(Assignment(person_id, role, child_id=child_id))

    async def people_for_child(self, child_id: str, role: Role) -> list[Person]:
        return await people_in_scope(self.db, Assignment("", role, child_id=child_id))

    async def people_for_school(self, school_urn: str, role: Role) -> list[Person]:
        return await people_in_scope(self.db, Assignment("", role, school_urn=school_urn))


async def people_in_scope(db: StoreConnection, scope: Assignment) -> list[Person]:
    """The people holding scope.role in scope.scope (a child, a school, the authority)."""
    rows = await db.read(
        select(people)
        .join(assignments, assignments.c.person_id == people.c.id)
        .where(assignments.c.scope == scope.scope, assignments.c.role == scope.role.value)
        .order_by(people.c.id)
    )
    return [_person_from(row) for row in rows]


# ---- PEPs --------------------------------------------------------------------------


def _pep_values(pep: Pep) -> dict[str, Any]:
    meeting = pep.meeting.as_dict() if pep.meeting else None
    return {
        "child_id": pep.child_id,
        "term_id": pep.term_id,
        "status": pep.status.value,
        "sections": pep.sections,
        "section_versions": pep.section_versions,
        "current_section": pep.current_section,
        "meeting": meeting,
        "chat_id": (pep.meeting.chat_id or None) if pep.meeting else None,
        "meeting_held_on": pep.meeting_held_on,
        "return_due": pep.return_due,
        "updated_at": _now(),
    }


def _pep_from(row: Any) -> Pep:
    return Pep(
        child_id=row.child_id,
        term_id=row.term_id,
        status=PepStatus(row.status),
        version=row.version,
        sections=dict(row.sections or {}),
        section_versions={k: int(v) for k, v in (row.section_versions or {}).items()},
        current_section=row.current_section,
        meeting=MeetingLink.from_dict(row.meeting),
        meeting_held_on=row.meeting_held_on,
        return_due=row.return_due,
    )


class SqlPepRepository:
    def __init__(self, db: StoreConnection) -> None:
        self.db = db

    async def get(self, pep_id: str) -> Pep | None:
        rows = await self.db.fetch(_PEP_BY_ID, {"pep_id": pep_id})
        if not rows:
            return None
        row = rows[0]
        if row.lcs_id is not None:
            self.db.joined_child = (row.lcs_id, _child_from(row))
        return _pep_from(row)

    async def add(self, pep: Pep) -> bool:
        result = await self.db.write(
            self.db.insert(peps)
            .values(id=pep.id, version=0, **_pep_values(pep))
            .on_conflict_do_nothing(index_elements=[peps.c.id])
        )
        pep.version = 0
        return result.rowcount == 1

    async def save(self, pep: Pep, expected_version: int) -> None:
        changed = await self.db.change(
            _PEP_CAS,
            {
                "cas_id": pep.id,
                "cas_expected": expected_version,
                "version": expected_version + 1,
                **_pep_values(pep),
            },
        )
        if changed != 1:
            raise StaleVersion(f"PEP {pep.id} is no longer at version {expected_version}")
        pep.version = expected_version + 1

    async def find(
        self, *, term_id: str | None = None, child_ids: Sequence[str] | None = None
    ) -> list[Pep]:
        conditions = [] if term_id is None else [peps.c.term_id == term_id]
        order = (peps.c.child_id, peps.c.term_id)
        if child_ids is None:
            rows = await self.db.read(select(peps).where(*conditions).order_by(*order))
            return [_pep_from(row) for row in rows]
        found: list[Pep] = []
        for chunk in in_chunks(child_ids):
            rows = await self.db.read(
                select(peps).where(and_(peps.c.child_id.in_(chunk), *conditions)).order_by(*order)
            )
            found.extend(_pep_from(row) for row in rows)
        return found

    async def by_chat(self, chat_id: str) -> Pep | None:
        row = (
            await self.db.read(
                select(peps)
                .where(peps.c.chat_id == chat_id)
                .order_by(peps.c.updated_at.desc(), peps.c.id)
                .limit(1),
                point=True,
            )
        ).first()
        return _pep_from(row) if row else None


# ---- the audit log and stored documents -----------------------------------------------


class SqlAuditLog:
    """Append-only; the database refuses UPDATE and DELETE on audit_log (triggers)."""

    def __init__(self, db: StoreConnection) -> None:
        self.db = db

    async def append(self, entry: AuditEntry) -> None:
        await self.db.change(
            _AUDIT_INSERT,
            {
                "at": entry.at,
                "actor_id": entry.actor_id,
                "pep_id": entry.pep_id,
                "action": entry.action,
                "section": entry.section,
                "before": entry.before,
                "after": entry.after,
            },
        )

    async def for_pep(self, pep_id: str) -> list[AuditEntry]:
        rows = await self.db.read(
            select(audit_log).where(audit_log.c.pep_id == pep_id).order_by(audit_log.c.id)
        )
        return [
            AuditEntry(
                at=row.at,
                actor_id=row.actor_id,
                pep_id=row.pep_id,
                action=row.action,
                section=row.section,
                before=row.before,
                after=row.after,
            )
            for row in rows
        ]


class SqlDocumentStore:
    def __init__(self, db: StoreConnection) -> None:
        self.db = db

    async def put(self, document: StoredDocument) -> None:
        insert = self.db.insert(documents).values(
            child_id=document.child_id,
            term_id=document.term_id,
            kind=document.kind,
            filename=document.filename,
            media_type=document.media_type,
            content=document.content,
            stored_at=_now(),
        )
        await self.db.write(
            insert.on_conflict_do_update(
                index_elements=["child_id", "term_id", "kind"],
                set_={
                    name: insert.excluded[name]
                    for name in ("filename", "media_type", "content", "stored_at")
                },
            )
        )

    async def get(self, child_id: str, term_id: str, kind: str) -> StoredDocument | None:
        row = (
            await self.db.read(
                select(documents).where(
                    documents.c.child_id == child_id,
                    documents.c.term_id == term_id,
                    documents.c.kind == kind,
                )
            )
        ).first()
        if row is None:
            return None
        return StoredDocument(
            row.child_id, row.term_id, row.kind, row.filename, row.media_type, bytes(row.content)
        )
