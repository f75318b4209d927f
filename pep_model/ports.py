"""What the core needs from outside, as protocols. Adapters live in other rooms."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self

from pep_model.child import Child, School
from pep_model.meetings import MeetingRepository
from pep_model.outbox import OutboxRepository
from pep_model.people import Assignment, Person, Role
from pep_model.pep import Pep

if TYPE_CHECKING:  # these modules use the ports at run time; the protocols are theirs
    from pep_model.overview_service import OverviewRepository
    from pep_model.pupil_premium_service import PupilPremiumRepository
    from pep_model.qa_service import QaRepository, StaffDirectory


class Clock(Protocol):
    def now(self) -> datetime: ...  # timezone-aware

    def today(self) -> date: ...  # the date in Europe/London


class ChildRepository(Protocol):
    async def get(self, lcs_id: str) -> Child | None: ...

    async def list_all(self, school_urn: str | None = None) -> list[Child]: ...

    async def upsert(self, child: Child) -> bool: ...  # True when new

    async def get_school(self, urn: str) -> School | None: ...

    async def upsert_school(self, school: School) -> None: ...

    async def list_schools(self) -> list[School]: ...


class PeopleRepository(Protocol):
    async def get(self, person_id: str) -> Person | None: ...

    async def find(
        self, *, entra_object_id: str | None = None, email: str | None = None
    ) -> Person | None: ...

    async def upsert(self, person: Person) -> None: ...

    async def assignments(self, person_id: str) -> list[Assignment]: ...

    async def assign(self, assignment: Assignment) -> None: ...  # idempotent

    async def replace_child_role(
        self, child_id: str, role: Role, person_ids: Sequence[str]
    ) -> None: ...

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

    async def find(
        self, *, term_id: str | None = None, child_ids: Sequence[str] | None = None
    ) -> list[Pep]: ...

    async def by_chat(self, chat_id: str) -> Pep | None: ...


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor_id: str
    pep_id: str
    action: str  # e.g. "section.save", "status", "meeting.start"
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
    kind: str  # "previous_pep_pdf", "final_record_docx", "returned_form_docx"
    filename: str
    media_type: str
    content: bytes = field(repr=False)


class DocumentStore(Protocol):
    async def put(self, document: StoredDocument) -> None: ...  # replaces same key

    async def get(self, child_id: str, term_id: str, kind: str) -> StoredDocument | None: ...


@dataclass(frozen=True)
class InvokeAnswer:
    """What an invoke was answered with (the invoke status, the card, or the message),
    kept so that a retry of the same activity gets the same answer on any instance."""

    status: int = 200
    card: dict[str, Any] | None = None
    message: str = ""


@dataclass(frozen=True)
class InvokeClaim:
    """Who answers an invoke: this request (`mine`), nobody again (`answer`: answered
    before), or someone else still working on it (`running`). `foreign`: the key was
    used by another sender."""

    mine: bool = False
    answer: InvokeAnswer | None = None
    running: bool = False
    foreign: bool = False


class InvokeAnswerLog(Protocol):
    """Invokes by (conversation id, activity id): claimed before they run, answered
    after. A claim not answered by `lease_until` (its instance died) may be taken over."""

    async def claim(
        self,
        conversation_id: str,
        activity_id: str,
        user_id: str,
        now: datetime,
        lease_until: datetime,
    ) -> InvokeClaim: ...

    async def answer(
        self, conversation_id: str, activity_id: str, answer: InvokeAnswer
    ) -> None: ...

    async def release(self, conversation_id: str, activity_id: str) -> None:
        """Forget a claim that was not answered (the invoke failed): a retry runs."""
        ...

    async def sweep(self, before: datetime) -> int:
        """Forget invokes created before `before`; how many."""
        ...


class UnitOfWork(Protocol):
    children: ChildRepository
    people: PeopleRepository
    peps: PepRepository
    audit: AuditLog
    documents: DocumentStore
    outbox: OutboxRepository  # pep_model/outbox.py: mail and calendar, sent after commit
    meetings: MeetingRepository  # pep_model/meetings.py: scheduled PEP meetings
    qa: QaRepository  # pep_model/qa_service.py: QA rounds
    staff: StaffDirectory  # pep_model/qa_service.py: authority-wide staff by role
    pupil_premium: PupilPremiumRepository  # pep_model/pupil_premium_service.py
    overview: OverviewRepository  # pep_model/overview_service.py: lean rows per child

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back whatever was not committed."""

    async def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...
