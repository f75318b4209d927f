"""The unit of work the use cases run in: one connection, one transaction."""

from __future__ import annotations

import asyncio
import sqlite3
from types import TracebackType
from typing import Self

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from pep_model.errors import StoreUnavailable
from pep_model.meetings import MeetingRepository
from pep_model.outbox import OutboxRepository
from pep_model.overview_service import OverviewRepository
from pep_model.ports import (
    AuditLog,
    ChildRepository,
    DocumentStore,
    InvokeAnswerLog,
    PeopleRepository,
    PepRepository,
)
from pep_model.pupil_premium_service import PupilPremiumRepository
from pep_model.qa_service import QaRepository, StaffDirectory
from store.connection import StoreConnection
from store.database import LAZY_BEGIN
from store.invokes import SqlInvokeAnswers
from store.jobs import SqlJobRepository
from store.meetings import SqlConversationRefs, SqlMeetingRepository
from store.outbox import SqlOutboxRepository
from store.overview import SqlOverviewRepository
from store.pupil_premium import SqlPupilPremiumRepository
from store.qa import SqlQaRepository, SqlStaffDirectory
from store.repositories import (
    SqlAuditLog,
    SqlChildRepository,
    SqlDocumentStore,
    SqlPeopleRepository,
    SqlPepRepository,
)


def unavailable(error: BaseException, *, connecting: bool = False) -> bool:
    """A database that is busy or out of reach, not a fault in what was asked of it:
    SQLite's "database is locked" after the wait, a refused or dropped connection. A
    bare OSError counts only while connecting (asyncpg raises the socket's own error);
    inside a unit of work it may come from anything else (a file being written)."""
    if isinstance(error, DBAPIError):
        code = getattr(error.orig, "sqlite_errorcode", None)
        if code is not None:  # SQLite says "operational" of programming faults too
            return code & 0xFF in _SQLITE_OUT_OF_REACH
        return isinstance(error, OperationalError) or error.connection_invalidated
    return connecting and isinstance(error, (OSError, TimeoutError))


# busy or locked past the wait, cannot open the file, I/O error, disk full
_SQLITE_OUT_OF_REACH = frozenset(
    {
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_FULL,
    }
)


class SqlUnitOfWork:
    """`async with` opens a connection; commit() makes the work durable; leaving the
    block rolls back whatever was not committed and returns the connection."""

    children: ChildRepository
    people: PeopleRepository
    peps: PepRepository
    audit: AuditLog
    documents: DocumentStore
    qa: QaRepository
    staff: StaffDirectory
    pupil_premium: PupilPremiumRepository
    overview: OverviewRepository
    outbox: OutboxRepository
    meetings: MeetingRepository
    jobs: SqlJobRepository
    conversations: SqlConversationRefs
    invokes: InvokeAnswerLog  # bot/invoke_replay.py: a retried invoke is answered once

    def __init__(self, engine: AsyncEngine, write_lock: asyncio.Lock | None = None) -> None:
        self._engine = engine
        self._write_lock = write_lock
        self._db: StoreConnection | None = None

    async def __aenter__(self) -> Self:
        if self._db is not None:
            raise RuntimeError("a unit of work is entered once; ask the factory for another")
        try:
            conn = await self._engine.connect()
        except Exception as error:
            if unavailable(error, connecting=True):
                raise StoreUnavailable("The PEP records cannot be reached.") from error
            raise
        sync = conn.sync_connection  # set once connected
        if (
            conn.dialect.name == "sqlite"
            and sync is not None
            and not sync.get_execution_options().get(LAZY_BEGIN)
        ):
            conn = await conn.execution_options(**{LAZY_BEGIN: True})
        db = self._db = StoreConnection(conn, self._write_lock)
        self.children = SqlChildRepository(db)
        self.people = SqlPeopleRepository(db)
        self.peps = SqlPepRepository(db)
        self.audit = SqlAuditLog(db)
        self.documents = SqlDocumentStore(db)
        self.qa = SqlQaRepository(db)
        self.staff = SqlStaffDirectory(db)
        self.pupil_premium = SqlPupilPremiumRepository(db)
        self.overview = SqlOverviewRepository(db)
        self.outbox = SqlOutboxRepository(db)
        self.meetings = SqlMeetingRepository(db)
        self.jobs = SqlJobRepository(db)
        self.conversations = SqlConversationRefs(db)
        self.invokes = SqlInvokeAnswers(db)
        return self

    async def commit(self) -> None:
        if self._db is None:
            raise RuntimeError("commit() outside 'async with'")
        await self._db.commit()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._db is None:
            return
        try:
            await self._db.rollback()
        finally:
            await self._db.conn.close()
        if exc is not None and unavailable(exc):
            raise StoreUnavailable("The PEP records are busy or cannot be reached.") from exc


class SqlUnitOfWorkFactory:
    """pep_model.ports.UnitOfWorkFactory: a fresh SqlUnitOfWork per call."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.write_lock = asyncio.Lock()  # used on SQLite only
        # the same pool; on SQLite its connections come with LAZY_BEGIN already set,
        # instead of copying the connection with the option in every unit of work
        self._uow_engine = (
            engine.execution_options(**{LAZY_BEGIN: True})
            if engine.dialect.name == "sqlite"
            else engine
        )

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._uow_engine, self.write_lock)
