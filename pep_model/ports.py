"""What the core needs from outside, as protocols. Adapters live in other rooms."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from types import TracebackType
from typing import Any, Protocol, Self

from pep_model.child import Child, School
from pep_model.people import Assignment, Person, Role
from pep_model.pep import Pep


class Clock(Protocol):
    def now(self) -> datetime: ...  # timezone-aware

    def today(self) -> date: ...    # the date in Europe/London


class ChildRepository(Protocol):
    async def get(self, lcs_id: str) -> Child | None: ...

    async def list_all(self, school_urn: str | None = None) -> list[Child]: ...

    async def upsert(self, child: Child) -> bool: ...  # True when new

    async def get_school(self, urn: str) -> School | None: ...

    async def upsert_school(self, school: School) -> None: ...

    async def list_schools(self) -> list[School]: ...


class PeopleRepository(Protocol):
    async def get(self, person_id: str) -> Person | None: ...

    async def find(self, *, entra_object_id: str | None = None,
                   email: str | None = None) -> Person | None: ...

    async def upsert(self, person: Person) -> None: ...

    async def assignments(self, person_id: str) -> list[Assignment]: ...

    async def assign(self, assignment: Assignment) -> None: ...  # idempotent

    async def replace_child_role(self, child_id: str, role: Role,
                                 person_ids: Sequence[str]) -> None: ...

    async def people_for_child(self, child_id: str, role: Role) -> list[Person]: ...

    async def people_for_school(self, school_urn: str, role: Role) -> list[Person]: ...


class PepRepository(Protocol):
    async def get(self, pep_id: str) -> Pep | None: ...

    async def add(self, pep: Pep) -> bool:
        """Insert at version 0; False (nothing written) when the PEP already exists."""
        ...

    async def save(self, pep: Pep, expected_version: int) -> None:
        """Write pep with version expected_version + 1, only if the stored version is
        still expected_version; else raise StaleVersion. Sets pep.version."""
        ...

    async def find(self, *, term_id: str | None = None,
                   child_ids: Sequence[str] | None = None) -> list[Pep]: ...

    async def by_chat(self, chat_id: str) -> Pep | None: ...


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor_id: str
    pep_id: str
    action: str                 # e.g. "section.save", "status", "meeting.start"
    section: str | None = None
    before: Any = None
    after: Any = None


class AuditLog(Protocol):
    async def append(self, entry: AuditEntry) -> None: ...

    async def for_pep(self, pep_id: str) -> list[AuditEntry]: ...


@dataclass(frozen=True)
class StoredDocument:
    child_id: str
    term_id: str
    kind: str            # "previous_pep_pdf", "final_record_docx", "returned_form_docx"
    filename: str
    media_type: str
    content: bytes = field(repr=False)


class DocumentStore(Protocol):
    async def put(self, document: StoredDocument) -> None: ...  # replaces same key

    async def get(self, child_id: str, term_id: str, kind: str) -> StoredDocument | None: ...


class UnitOfWork(Protocol):
    children: ChildRepository
    people: PeopleRepository
    peps: PepRepository
    audit: AuditLog
    documents: DocumentStore

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        """Roll back whatever was not committed."""

    async def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...
