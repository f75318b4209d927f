"""One connection shared by the repositories of a unit of work."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

from sqlalchemy import CursorResult, Executable
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from pep_model.child import Child
from store.prepared import Prepared
from store.sqlite_driver import LeanConnection

log = logging.getLogger(__name__)

WRITE_QUEUE_SECONDS = 10.0

T = TypeVar("T")


class StoreConnection:
    """Reads and writes for one unit of work.

    On SQLite reads run without a transaction (each sees the latest commit) and the
    first write takes the writer lock with BEGIN IMMEDIATE, so a version check in an
    UPDATE always compares against the latest committed row. On PostgreSQL the
    connection is in an ordinary READ COMMITTED transaction from its first statement.
    """

    def __init__(self, conn: AsyncConnection, write_lock: asyncio.Lock | None = None) -> None:
        self.conn = conn
        self.sqlite = conn.dialect.name == "sqlite"
        self.insert = sqlite.insert if self.sqlite else postgresql.insert
        self._writing = False
        # SQLite has one writer at a time. Writers of this process queue here and are
        # woken the moment the lock is free, instead of sleeping in SQLite's busy
        # handler (which made p99 latency under load hundreds of milliseconds).
        self._write_lock = write_lock if self.sqlite else None
        self._holding = False
        # (lcs_id, Child) read by the PEP repository together with the PEP, for the
        # child lookup that follows it; any other statement on this connection drops it
        self.joined_child: tuple[str, Child] | None = None
        self._lean: LeanConnection | None = None

    async def _lean_driver(self) -> LeanConnection | None:
        """The SQLite driver connection of this unit of work (None on PostgreSQL)."""
        if self._lean is None and self.sqlite:
            driver = (await self.conn.get_raw_connection()).driver_connection
            if isinstance(driver, LeanConnection):
                self._lean = driver
        return self._lean

    async def read(
        self, statement: Executable, params: dict[str, Any] | None = None, *, point: bool = False
    ) -> CursorResult[Any]:
        """point: at most a few rows found by key, so on SQLite it runs without a trip
        to the driver thread (store/sqlite_driver.py); other reads keep the event loop
        free while SQLite scans."""
        self.joined_child = None
        driver = await self._lean_driver() if point else None
        if driver is None:
            return await self.conn.execute(statement, params)
        driver.inline_next = True
        try:
            return await self.conn.execute(statement, params)
        finally:
            driver.inline_next = False  # never left for a later statement

    async def write(
        self, statement: Executable, params: dict[str, Any] | None = None
    ) -> CursorResult[Any]:
        return await self._write(lambda: self.conn.execute(statement, params))

    async def fetch(self, prepared: Prepared, params: dict[str, Any]) -> list[Any]:
        """A point read of a prepared statement (store/prepared.py): its rows. On
        SQLite it goes to the driver directly, in this thread."""
        self.joined_child = None
        driver = await self._lean_driver()
        if driver is None:
            return list(await self.conn.execute(prepared.statement, params))
        compiled = prepared.compiled(self.conn.dialect, params)
        with self._as_sqlalchemy_errors(compiled.sql):
            _, rows = await driver.run(compiled.sql, compiled.parameters(params))
        return compiled.rows(rows)

    async def change(self, prepared: Prepared, params: dict[str, Any]) -> int:
        """A write of a prepared statement: how many rows it changed."""
        driver = await self._lean_driver()
        if driver is None:
            return (await self.write(prepared.statement, params)).rowcount
        compiled = prepared.compiled(self.conn.dialect, params)
        values = compiled.parameters(params)
        with self._as_sqlalchemy_errors(compiled.sql):
            cursor, _ = await self._write(lambda: driver.run(compiled.sql, values))
        return cursor.rowcount

    @contextlib.contextmanager
    def _as_sqlalchemy_errors(self, sql: str) -> Iterator[None]:
        """The driver's errors as SQLAlchemy raises them for any other statement
        (sqlalchemy.exc.OperationalError, IntegrityError, ...), values never shown."""
        try:
            yield
        except sqlite3.Error as error:
            raise DBAPIError.instance(
                sql, None, error, sqlite3.Error, hide_parameters=True, dialect=self.conn.dialect
            ) from error

    async def _write(self, run: Callable[[], Awaitable[T]]) -> T:
        """run() the write, on SQLite first taking the writer lock: this process's
        queue, then BEGIN IMMEDIATE sent together with the first write."""
        self.joined_child = None
        if not self.sqlite or self._writing:
            return await run()
        await self._queue_for_writing()
        driver = await self._lean_driver()
        if driver is None:
            try:
                await self.conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                self._release()
                raise
            self._writing = True
            return await run()
        driver.begin_first = "BEGIN IMMEDIATE"
        try:
            return await run()
        finally:
            driver.begin_first = None  # never left for a later statement
            # a failed write may have begun: then rollback() releases the lock
            try:
                self._writing = driver.in_transaction
            except ValueError:  # the connection is gone
                self._writing = False
            if not self._writing:
                self._release()

    async def _queue_for_writing(self) -> None:
        lock = self._write_lock
        if lock is None:
            return
        try:
            await asyncio.wait_for(lock.acquire(), WRITE_QUEUE_SECONDS)
            self._holding = True
        except TimeoutError:
            # never hang: carry on without the queue; SQLite's own busy timeout applies
            log.warning(
                "waited %ss to write; continuing without the write queue", WRITE_QUEUE_SECONDS
            )

    def _release(self) -> None:
        if self._holding and self._write_lock is not None:
            self._holding = False
            self._write_lock.release()

    async def commit(self) -> None:
        await self._end(commit=True)

    async def rollback(self) -> None:
        await self._end(commit=False)

    async def _end(self, *, commit: bool) -> None:
        """Statements run on the driver directly (fetch, change) are not seen by
        SQLAlchemy's transaction bookkeeping, so the driver is told too (its commit and
        rollback do nothing when nothing is open); the writer lock is let go."""
        try:
            await (self.conn.commit() if commit else self.conn.rollback())
            if self._lean is not None:
                await (self._lean.commit() if commit else self._lean.rollback())
        finally:
            if self._writing:
                self._writing = False
                self._release()
