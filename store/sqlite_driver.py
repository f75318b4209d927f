"""aiosqlite with one trip to its thread per statement.

aiosqlite runs every call on the sqlite3 connection in the connection's own thread, and
SQLAlchemy's adapter makes four such calls per statement: create a cursor, execute,
fetch the rows, close the cursor. Each trip is a queue put, a thread wake-up and an
event-loop callback — on the in-meeting save that was ~15 trips, a sixth of the
request's CPU. Here a cursor does all four in one trip: it executes, fetches every row
(as SQLAlchemy's adapter does anyway for its buffered cursors) and closes the sqlite3
cursor in the driver thread, then serves the rows, rowcount, lastrowid and description
from memory. Statements, transactions and errors are exactly sqlite3's; commit and
rollback are unchanged.

Used through store/database.py's "do_connect" hook for sqlite+aiosqlite engines.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import aiosqlite
from aiosqlite.context import Result


def _run(db: sqlite3.Connection, begin: str | None, sql: str, parameters: Any,
         many: bool) -> tuple[sqlite3.Cursor, list[Any]]:
    """In the driver thread: the whole life of one sqlite3 cursor."""
    cursor = db.cursor()
    try:
        if begin:
            cursor.execute(begin)
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
        rows = cursor.fetchall() if cursor.description else []
    finally:
        cursor.close()  # rowcount, lastrowid and description stay readable
    return cursor, rows


class LeanCursor(aiosqlite.Cursor):
    def __init__(self, conn: LeanConnection) -> None:  # no trip: nothing to open
        self.iter_chunk_size = conn._iter_chunk_size
        self._conn: LeanConnection = conn
        self._done: sqlite3.Cursor | None = None
        self._rows: list[Any] = []
        self._next = 0

    async def _run(self, sql: str, parameters: Any, many: bool) -> LeanCursor:
        conn = self._conn
        begin, conn.begin_first = conn.begin_first, None
        self._done, self._rows = await conn._execute(  # type: ignore[no-untyped-call]
            _run, conn._conn, begin, sql, parameters, many)
        self._next = 0
        return self

    async def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> LeanCursor:
        return await self._run(sql, [] if parameters is None else parameters, False)

    async def executemany(self, sql: str,
                          parameters: Iterable[Iterable[Any]]) -> LeanCursor:
        return await self._run(sql, parameters, True)

    async def executescript(self, sql_script: str) -> LeanCursor:
        self._done = await self._conn._execute(  # type: ignore[no-untyped-call]
            self._conn._conn.executescript, sql_script)
        self._rows, self._next = [], 0
        return self

    async def fetchone(self) -> Any:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        end = self._next + (self.arraysize if size is None else size)
        chunk = self._rows[self._next:end]
        self._next += len(chunk)
        return chunk

    async def fetchall(self) -> list[Any]:
        chunk = self._rows[self._next:]
        self._next = len(self._rows)
        return chunk

    async def close(self) -> None:  # the sqlite3 cursor was closed in its thread
        self._rows, self._next = [], 0

    @property
    def rowcount(self) -> int:
        return -1 if self._done is None else self._done.rowcount

    @property
    def lastrowid(self) -> int | None:
        return None if self._done is None else self._done.lastrowid

    @property
    def arraysize(self) -> int:
        return 1

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        pass

    @property
    def description(self) -> Any:
        return None if self._done is None else self._done.description

    @property
    def connection(self) -> sqlite3.Connection:
        return self._conn._conn


class LeanConnection(aiosqlite.Connection):
    # Set by store/connection.py just before its first write: this statement (BEGIN
    # IMMEDIATE) runs first, in the same trip as the next one sent.
    begin_first: str | None = None

    # sqlite3's commit() and rollback() do nothing when no transaction is open
    # (sqlite3_get_autocommit); that is checked here first, so the pool's rollback when
    # a unit of work that already committed returns its connection costs no trip. The
    # flag is read while no call of this connection is queued (SQLAlchemy awaits each).
    async def commit(self) -> None:
        if self._conn.in_transaction:
            await super().commit()

    async def rollback(self) -> None:
        if self._conn.in_transaction:
            await super().rollback()

    def cursor(self) -> Result[aiosqlite.Cursor]:
        async def make() -> aiosqlite.Cursor:
            self._conn  # noqa: B018 - raises ValueError on a closed connection, as before
            return LeanCursor(self)

        return Result(make())


def connect(database: str | bytes | Path, **kwargs: Any) -> LeanConnection:
    """aiosqlite.connect(), returning a LeanConnection (its thread a daemon, as
    SQLAlchemy sets it for aiosqlite's own)."""
    location = database.decode() if isinstance(database, bytes) else str(database)

    def connector() -> sqlite3.Connection:
        db: sqlite3.Connection = sqlite3.connect(location, **kwargs)
        return db

    conn = LeanConnection(connector, 64)
    conn._thread.daemon = True
    return conn
