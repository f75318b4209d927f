"""In-memory implementations of every port in pep_model/ports.py.

Faithful to the protocols, so the core and the bot can be tested without a database:

* repositories hand out copies and keep copies, so a caller can never change stored
  state except through the port;
* InMemoryPepRepository.save is a real compare-and-swap on the version
  (StaleVersion otherwise);
* a unit of work writes through to the shared state and keeps an undo journal;
  commit() forgets the journal, leaving the block without commit undoes every write
  made since the last commit. Two interleaved units of work therefore see each other's
  writes the moment they happen, and a compare-and-swap against a newer version fails,
  as it would against a row-locking database.

Seed and inspect state without a unit of work through the factory's own repositories
(`factory.children`, `factory.peps`, ...) or `factory.seed(...)`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from types import TracebackType
from typing import Any, Self

from pep_model import ports
from pep_model.child import Child, School
from pep_model.errors import NotFound, StaleVersion
from pep_model.meetings import MeetingRepository
from pep_model.outbox import OutboxRepository
from pep_model.overview_service import OverviewRepository
from pep_model.people import Assignment, Person, Role, person_id_for
from pep_model.pep import Pep
from pep_model.ports import AuditEntry, StoredDocument
from pep_model.pupil_premium_service import PupilPremiumRepository
from pep_model.qa_service import QaRepository, StaffDirectory
from tests.unit.fakes_after_meeting import (
    InMemoryOverviewRepository,
    InMemoryPupilPremiumRepository,
    InMemoryQaRepository,
    InMemoryStaffDirectory,
)
from tests.unit.fakes_m365 import InMemoryMeetingRepository, InMemoryOutboxRepository

_MISSING: Any = object()
_PERSONAL_ROLES = (Role.CARER, Role.CHILD)


class FixedClock:
    """A clock that stands still until told to move. now() is aware (UTC)."""

    def __init__(self, today: date = date(2026, 11, 16), at: time = time(10, 0)) -> None:
        self._now = datetime.combine(today, at, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def today(self) -> date:
        return self._now.date()

    def set_today(self, day: date) -> None:
        self._now = datetime.combine(day, self._now.timetz())

    def advance(self, days: int = 0, **delta: float) -> None:
        self._now += timedelta(days=days, **delta)


@dataclass
class InMemoryState:
    """Everything the fakes store. Keys: lcs_id, urn, person id, pep id."""

    children: dict[str, Child] = field(default_factory=dict)
    schools: dict[str, School] = field(default_factory=dict)
    people: dict[str, Person] = field(default_factory=dict)
    assignments: dict[Assignment, None] = field(default_factory=dict)  # an ordered set
    peps: dict[str, Pep] = field(default_factory=dict)
    audit: list[AuditEntry] = field(default_factory=list)
    documents: dict[tuple[str, str, str], StoredDocument] = field(default_factory=dict)
    # after the meeting (tests/unit/fakes_after_meeting.py)
    qa_rounds: dict[tuple[str, int], Any] = field(default_factory=dict)  # (pep id, n)
    pp_requests: dict[str, Any] = field(default_factory=dict)  # request id -> StoredRequest
    pp_schedules: dict[str, Any] = field(default_factory=dict)  # term -> FrozenSchedule|None
    # Microsoft 365 (tests/unit/fakes_m365.py)
    outbox: dict[str, Any] = field(default_factory=dict)  # key -> OutboxEntry
    outbox_leases: dict[str, Any] = field(default_factory=dict)  # key -> (owner, until)
    meetings: dict[str, Any] = field(default_factory=dict)  # pep id -> PepMeeting


class _Journal:
    """Writes to the shared state, remembering how to undo each one."""

    def __init__(self) -> None:
        self._undo: list[Callable[[], None]] = []

    @property
    def pending(self) -> bool:
        return bool(self._undo)

    def set(self, store: dict[Any, Any], key: Any, value: Any) -> None:
        old = store.get(key, _MISSING)
        store[key] = value

        def undo() -> None:
            if old is _MISSING:
                store.pop(key, None)
            else:
                store[key] = old

        self._undo.append(undo)

    def delete(self, store: dict[Any, Any], key: Any) -> None:
        if key not in store:
            return
        old = store.pop(key)
        self._undo.append(lambda: store.__setitem__(key, old))

    def append(self, items: list[Any], item: Any) -> None:
        items.append(item)

        def undo() -> None:
            for i in range(len(items) - 1, -1, -1):
                if items[i] is item:
                    del items[i]
                    return

        self._undo.append(undo)

    def forget(self) -> None:
        self._undo.clear()

    def rollback(self) -> None:
        while self._undo:
            self._undo.pop()()


class _Direct(_Journal):
    """Writes with nothing to undo: for seeding and inspecting outside a unit of work."""

    def set(self, store: dict[Any, Any], key: Any, value: Any) -> None:
        store[key] = value

    def delete(self, store: dict[Any, Any], key: Any) -> None:
        store.pop(key, None)

    def append(self, items: list[Any], item: Any) -> None:
        items.append(item)


class InMemoryChildRepository:
    def __init__(self, state: InMemoryState, journal: _Journal | None = None) -> None:
        self._state = state
        self._journal = journal or _Direct()

    async def get(self, lcs_id: str) -> Child | None:
        return self._state.children.get(lcs_id)

    async def list_all(self, school_urn: str | None = None) -> list[Child]:
        return [
            c
            for _, c in sorted(self._state.children.items())
            if school_urn is None or c.school_urn == school_urn
        ]

    async def upsert(self, child: Child) -> bool:
        new = child.lcs_id not in self._state.children
        self._journal.set(self._state.children, child.lcs_id, child)
        return new

    async def get_school(self, urn: str) -> School | None:
        return self._state.schools.get(urn)

    async def upsert_school(self, school: School) -> None:
        self._journal.set(self._state.schools, school.urn, school)

    async def list_schools(self) -> list[School]:
        return [s for _, s in sorted(self._state.schools.items())]


class InMemoryPeopleRepository:
    def __init__(self, state: InMemoryState, journal: _Journal | None = None) -> None:
        self._state = state
        self._journal = journal or _Direct()

    async def get(self, person_id: str) -> Person | None:
        return self._state.people.get(person_id)

    async def find(
        self, *, entra_object_id: str | None = None, email: str | None = None
    ) -> Person | None:
        """By Entra object id first, then by email (case-insensitive)."""
        if entra_object_id:
            for person in self._state.people.values():
                if person.entra_object_id == entra_object_id:
                    return person
        if email:
            return self._state.people.get(person_id_for(email))
        return None

    async def upsert(self, person: Person) -> None:
        self._journal.set(self._state.people, person.id, person)

    async def assignments(self, person_id: str) -> list[Assignment]:
        return [a for a in self._state.assignments if a.person_id == person_id]

    async def assign(self, assignment: Assignment) -> None:
        if assignment not in self._state.assignments:
            self._journal.set(self._state.assignments, assignment, None)

    async def replace_child_role(
        self, child_id: str, role: Role, person_ids: Sequence[str]
    ) -> None:
        """The child's `role` is held by exactly these people afterwards (child scope)."""
        for a in list(self._state.assignments):
            if a.child_id == child_id and a.role == role and a.person_id not in person_ids:
                self._journal.delete(self._state.assignments, a)
        for person_id in dict.fromkeys(person_ids):
            await self.assign(Assignment(person_id, role, child_id=child_id))

    async def people_for_child(self, child_id: str, role: Role) -> list[Person]:
        """Who holds `role` for this child: assigned to the child, or (except carers and
        the child) to the child's school. Authority-wide assignments are not listed."""
        child = self._state.children.get(child_id)
        urn = child.school_urn if child else None
        ids = [
            a.person_id
            for a in self._state.assignments
            if a.role == role
            and (
                a.child_id == child_id
                or (
                    not a.child_id
                    and urn is not None
                    and a.school_urn == urn
                    and role not in _PERSONAL_ROLES
                )
            )
        ]
        return self._people(ids)

    async def people_for_school(self, school_urn: str, role: Role) -> list[Person]:
        ids = [
            a.person_id
            for a in self._state.assignments
            if a.role == role and not a.child_id and a.school_urn == school_urn
        ]
        return self._people(ids)

    def _people(self, ids: Iterable[str]) -> list[Person]:
        return [self._state.people[i] for i in dict.fromkeys(ids) if i in self._state.people]


class InMemoryPepRepository:
    def __init__(self, state: InMemoryState, journal: _Journal | None = None) -> None:
        self._state = state
        self._journal = journal or _Direct()

    async def get(self, pep_id: str) -> Pep | None:
        stored = self._state.peps.get(pep_id)
        return copy.deepcopy(stored) if stored is not None else None

    async def add(self, pep: Pep) -> bool:
        if pep.id in self._state.peps:
            return False
        pep.version = 0
        self._journal.set(self._state.peps, pep.id, copy.deepcopy(pep))
        return True

    async def save(self, pep: Pep, expected_version: int) -> None:
        """Write pep with version expected_version + 1, only if the stored version is
        still expected_version; else raise StaleVersion. Sets pep.version."""
        stored = self._state.peps.get(pep.id)
        if stored is None:
            raise NotFound(f"There is no PEP {pep.id}.")
        if stored.version != expected_version:
            raise StaleVersion(
                f"PEP {pep.id} is at version {stored.version}, not {expected_version}"
            )
        pep.version = expected_version + 1
        self._journal.set(self._state.peps, pep.id, copy.deepcopy(pep))

    async def find(
        self, *, term_id: str | None = None, child_ids: Sequence[str] | None = None
    ) -> list[Pep]:
        """None means any; an empty child_ids means none."""
        wanted = set(child_ids) if child_ids is not None else None
        return [
            copy.deepcopy(p)
            for _, p in sorted(self._state.peps.items())
            if (term_id is None or p.term_id == term_id)
            and (wanted is None or p.child_id in wanted)
        ]

    async def by_chat(self, chat_id: str) -> Pep | None:
        for pep in self._state.peps.values():
            if chat_id and pep.meeting is not None and pep.meeting.chat_id == chat_id:
                return copy.deepcopy(pep)
        return None


class InMemoryAuditLog:
    def __init__(self, state: InMemoryState, journal: _Journal | None = None) -> None:
        self._state = state
        self._journal = journal or _Direct()

    async def append(self, entry: AuditEntry) -> None:
        self._journal.append(self._state.audit, copy.deepcopy(entry))

    async def for_pep(self, pep_id: str) -> list[AuditEntry]:
        return [copy.deepcopy(e) for e in self._state.audit if e.pep_id == pep_id]


class InMemoryDocumentStore:
    def __init__(self, state: InMemoryState, journal: _Journal | None = None) -> None:
        self._state = state
        self._journal = journal or _Direct()

    async def put(self, document: StoredDocument) -> None:
        key = (document.child_id, document.term_id, document.kind)
        self._journal.set(self._state.documents, key, document)

    async def get(self, child_id: str, term_id: str, kind: str) -> StoredDocument | None:
        return self._state.documents.get((child_id, term_id, kind))


class InMemoryUnitOfWork:
    def __init__(self, factory: InMemoryUnitOfWorkFactory) -> None:
        self._factory = factory
        self._journal = _Journal()
        state = factory.state
        self.children: ports.ChildRepository = InMemoryChildRepository(state, self._journal)
        self.people: ports.PeopleRepository = InMemoryPeopleRepository(state, self._journal)
        self.peps: ports.PepRepository = InMemoryPepRepository(state, self._journal)
        self.audit: ports.AuditLog = InMemoryAuditLog(state, self._journal)
        self.documents: ports.DocumentStore = InMemoryDocumentStore(state, self._journal)
        self.qa: QaRepository = InMemoryQaRepository(state, self._journal)
        self.staff: StaffDirectory = InMemoryStaffDirectory(state)
        self.pupil_premium: PupilPremiumRepository = InMemoryPupilPremiumRepository(
            state, self._journal
        )
        self.overview: OverviewRepository = InMemoryOverviewRepository(state)
        self.outbox: OutboxRepository = InMemoryOutboxRepository(state, self._journal)
        self.meetings: MeetingRepository = InMemoryMeetingRepository(state, self._journal)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back whatever was not committed."""
        if self._journal.pending:
            self._journal.rollback()
            self._factory.rollbacks += 1

    async def commit(self) -> None:
        self._journal.forget()
        self._factory.commits += 1

    async def rollback(self) -> None:
        self._journal.rollback()


class InMemoryUnitOfWorkFactory:
    """Call it for a unit of work; its own repositories read and write the state directly."""

    def __init__(self, state: InMemoryState | None = None) -> None:
        self.state = state or InMemoryState()
        self.commits = 0
        self.rollbacks = 0  # units of work left with uncommitted writes
        self.children = InMemoryChildRepository(self.state)
        self.people = InMemoryPeopleRepository(self.state)
        self.peps = InMemoryPepRepository(self.state)
        self.audit = InMemoryAuditLog(self.state)
        self.documents = InMemoryDocumentStore(self.state)
        self.qa = InMemoryQaRepository(self.state, _Direct())
        self.pupil_premium = InMemoryPupilPremiumRepository(self.state, _Direct())
        self.outbox = InMemoryOutboxRepository(self.state, _Direct())
        self.meetings = InMemoryMeetingRepository(self.state, _Direct())

    def __call__(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self)

    def seed(
        self,
        *,
        schools: Iterable[School] = (),
        children: Iterable[Child] = (),
        people: Iterable[Person] = (),
        assignments: Iterable[Assignment] = (),
        peps: Iterable[Pep] = (),
    ) -> Self:
        """Put things in the store without a unit of work (test setup)."""
        for school in schools:
            self.state.schools[school.urn] = school
        for child in children:
            self.state.children[child.lcs_id] = child
        for person in people:
            self.state.people[person.id] = person
        for assignment in assignments:
            self.state.assignments[assignment] = None
        for pep in peps:
            self.state.peps[pep.id] = copy.deepcopy(pep)
        return self

    def stored_pep(self, pep_id: str) -> Pep:
        """A copy of the PEP as stored now (KeyError when there is none)."""
        return copy.deepcopy(self.state.peps[pep_id])

    def audit_entries(self, pep_id: str | None = None) -> list[AuditEntry]:
        return [e for e in self.state.audit if pep_id is None or e.pep_id == pep_id]


def _conforms_to_the_ports(factory: InMemoryUnitOfWorkFactory) -> None:
    """Never called: `mypy tests/unit/fakes.py` checks the fakes against the protocols."""
    _factory: ports.UnitOfWorkFactory = factory
    _uow: ports.UnitOfWork = factory()
    _clock: ports.Clock = FixedClock()
    _children: ports.ChildRepository = factory.children
    _people: ports.PeopleRepository = factory.people
    _peps: ports.PepRepository = factory.peps
    _audit: ports.AuditLog = factory.audit
    _documents: ports.DocumentStore = factory.documents
    _qa: QaRepository = factory.qa
    _staff: StaffDirectory = InMemoryStaffDirectory(factory.state)
    _pp: PupilPremiumRepository = factory.pupil_premium
    _overview: OverviewRepository = InMemoryOverviewRepository(factory.state)
