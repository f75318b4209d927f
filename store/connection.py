"""One connection shared by the repositories of a unit of work."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import CursorResult, Executable
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from pep_model.child import Child
from store.sqlite_driver import LeanConnection

log = logging.getLogger(__name__)

WRITE_QUEUE_SECONDS = 10.0


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

    async def read(self, statement: Executable, params: dict[str, Any] | None = None,
                   *, point: bool = False) -> CursorResult[Any]:
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

    async def write(self, statement: Executable,
                    params: dict[str, Any] | None = None) -> CursorResult[Any]:
        self.joined_child = None
        if self.sqlite and not self._writing:
            await self._queue_for_writing()
            driver = await self._lean_driver()
            if driver is not None:
                # BEGIN IMMEDIATE goes to SQLite together with this first write, just
                # before it
                driver.begin_first = "BEGIN IMMEDIATE"
                try:
                    return await self.conn.execute(statement, params)
                finally:
                    driver.begin_first = None  # never left for a later statement
                    # a failed write may have begun: then rollback() releases the lock
                    try:
                        self._writing = driver.in_transaction
                    except ValueError:  # the connection is gone
                        self._writing = False
                    if not self._writing:
                        self._release()
            try:
                await self.conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                self._release()
                raise
            self._writing = True
        return await self.conn.execute(statement, params)

    async def _queue_for_writing(self) -> None:
        lock = self._write_lock
        if lock is None:
            return
        try:
            await asyncio.wait_for(lock.acquire(), WRITE_QUEUE_SECONDS)
            self._holding = True
        except TimeoutError:
            # never hang: carry on without the queue; SQLite's own busy timeout applies
            log.warning("waited %ss to write; continuing without the write queue",
                        WRITE_QUEUE_SECONDS)

    def _release(self) -> None:
        if self._holding and self._write_lock is not None:
            self._holding = False
            self._write_lock.release()

    async def commit(self) -> None:
        try:
            await self.conn.commit()
        finally:
            if self._writing:
                self._writing = False
                self._release()

    async def rollback(self) -> None:
        try:
            await self.conn.rollback()
        finally:
            if self._writing:
                self._writing = False
                self._release()
