"""aiosqlite with at most one trip to its thread per statement, and none for the short ones.

aiosqlite runs every call on the sqlite3 connection in the connection's own thread, and
SQLAlchemy's adapter makes four such calls per statement: create a cursor, execute,
fetch the rows, close the cursor. Each trip is a queue put, a thread wake-up and an
event-loop callback (~70 µs of CPU, half of it in the kernel). Here a cursor does all
four in one go: it executes, fetches every row (as SQLAlchemy's adapter does anyway for
its buffered cursors) and closes the sqlite3 cursor, then serves the rows, rowcount,
lastrowid and description from memory.

Where that go runs:
* in the event loop's own thread, no trip at all, for the statements that are short by
  construction: everything inside a write transaction (the writer lock is held, so
  nothing waits; writes are single rows or small batches), the statement that opens it
  (BEGIN IMMEDIATE, sent with the first write), ROLLBACK, and reads the store marks as
  point reads (one row by key, `inline_next`);
* in the driver thread, one trip, for COMMIT — its fsync of the WAL, and the WAL
  checkpoint SQLite runs in the committing call every 1,000 pages, stay off the event
  loop (committing inline made p99 at 32 concurrent saves ~0.4–1 s instead of 85 ms) —
  and for every other read (lists, the overview, exports), so a long scan never stalls
  the event loop.
SQLite's busy handler would sleep inside the call, so connections run with
busy_timeout 0 and a statement refused with SQLITE_BUSY (another process holds the
writer lock) is retried here after an asyncio sleep, with SQLite's own back-off steps,
for up to `busy_timeout_s` — the event loop never blocks on a lock. A refused statement
had no effect, so retrying it is safe. Statements, transactions and errors are
otherwise exactly sqlite3's.

Used through store/database.py's "do_connect" hook for sqlite+aiosqlite engines.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite
from aiosqlite.context import Result


def _run(
    db: sqlite3.Connection, begin: str | None, sql: str, parameters: Any, many: bool
) -> tuple[sqlite3.Cursor, list[Any]]:
    """The whole life of one sqlite3 cursor (in this thread or the driver thread)."""
    cursor = db.cursor()
    try:
        if begin and not db.in_transaction:  # (a retried statement has begun already)
            cursor.execute(begin)
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
        rows = cursor.fetchall() if cursor.description else []
    finally:
        cursor.close()  # rowcount, lastrowid and description stay readable
    return cursor, rows


T = TypeVar("T")

DEFAULT_BUSY_TIMEOUT_S = 5.0

# SQLite's default busy handler sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50 then
# 100 ms at a time (sqliteDefaultBusyCallback); the same steps, as asyncio sleeps.
BUSY_STEPS_S = (0.001, 0.002, 0.005, 0.010, 0.015, 0.020, 0.025, 0.025, 0.025, 0.050, 0.050, 0.100)


def _busy(error: sqlite3.OperationalError) -> bool:
    """Refused for a lock another connection holds: worth waiting for. Not
    SQLITE_BUSY_SNAPSHOT: a transaction that read an older snapshot can never write, so
    waiting would not help (SQLite's busy handler is not called for it either)."""
    code = getattr(error, "sqlite_errorcode", 0)
    return (code & 0xFF) == sqlite3.SQLITE_BUSY and code != sqlite3.SQLITE_BUSY_SNAPSHOT


async def _until_not_busy(attempt: Callable[[], Awaitable[T]], timeout_s: float) -> T:
    """await attempt(); while SQLite answers SQLITE_BUSY, wait (an asyncio sleep, the
    event loop carries on) and try again, for up to timeout_s in all."""
    waited, step = 0.0, 0
    while True:
        try:
            return await attempt()
        except sqlite3.OperationalError as error:
            if not _busy(error) or waited >= timeout_s:
                raise
        pause = BUSY_STEPS_S[min(step, len(BUSY_STEPS_S) - 1)]
        await asyncio.sleep(pause)
        waited += pause
        step += 1


class LeanCursor(aiosqlite.Cursor):
    def __init__(self, conn: LeanConnection) -> None:  # no trip: nothing to open
        self.iter_chunk_size = conn._iter_chunk_size
        self._conn: LeanConnection = conn
        self._done: sqlite3.Cursor | None = None
        self._rows: list[Any] = []
        self._next = 0

    async def _run(self, sql: str, parameters: Any, many: bool) -> LeanCursor:
        conn = self._conn
        inline, conn.inline_next = conn.inline_next, False
        if inline or conn.begin_first or conn._conn.in_transaction:
            self._done, self._rows = await conn.run(sql, parameters, many)
        else:

            async def trip() -> tuple[sqlite3.Cursor, list[Any]]:
                return await conn._execute(  # type: ignore[no-untyped-call,no-any-return]
                    _run, conn._conn, None, sql, parameters, many
                )

            self._done, self._rows = await _until_not_busy(trip, conn.busy_timeout_s)
        self._next = 0
        return self

    async def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> LeanCursor:
        return await self._run(sql, [] if parameters is None else parameters, False)

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> LeanCursor:
        return await self._run(sql, parameters, True)

    async def executescript(self, sql_script: str) -> LeanCursor:
        self._done = await self._conn._execute(  # type: ignore[no-untyped-call]
            self._conn._conn.executescript, sql_script
        )
        self._rows, self._next = [], 0
        return self

    async def fetchone(self) -> Any:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        end = self._next + (self.arraysize if size is None else size)
        chunk = self._rows[self._next : end]
        self._next += len(chunk)
        return chunk

    async def fetchall(self) -> list[Any]:
        chunk = self._rows[self._next :]
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
    # IMMEDIATE) runs first, together with the next one sent.
    begin_first: str | None = None
    # Set by store/connection.py just before a point read: run it in this thread.
    inline_next = False
    # How long a statement refused with SQLITE_BUSY is retried: sqlite3's `timeout`.
    busy_timeout_s = DEFAULT_BUSY_TIMEOUT_S

    # Calls are made one at a time (SQLAlchemy and store/connection.py await each), so
    # the sqlite3 connection is never used by this thread and the driver thread at once.

    async def run(
        self, sql: str, parameters: Any, many: bool = False
    ) -> tuple[sqlite3.Cursor, list[Any]]:
        """One statement in this thread, with `begin_first` before it when set: the
        finished sqlite3 cursor (rowcount, lastrowid) and every row. Cursors call it,
        and store/connection.py directly for its prepared statements."""
        begin, self.begin_first = self.begin_first, None
        db = self._conn

        async def attempt() -> tuple[sqlite3.Cursor, list[Any]]:
            return _run(db, begin, sql, parameters, many)

        return await _until_not_busy(attempt, self.busy_timeout_s)

    # commit() and rollback() do nothing when no transaction is open
    # (sqlite3_get_autocommit), so the pool's rollback after a unit of work that
    # committed costs nothing.
    async def commit(self) -> None:
        db = self._conn
        if db.in_transaction:

            async def attempt() -> None:
                await self._execute(db.commit)  # type: ignore[no-untyped-call]

            await _until_not_busy(attempt, self.busy_timeout_s)

    async def rollback(self) -> None:
        db = self._conn
        if db.in_transaction:
            db.rollback()

    def cursor(self) -> Result[aiosqlite.Cursor]:
        async def make() -> aiosqlite.Cursor:
            self._conn  # noqa: B018 - raises ValueError on a closed connection, as before
            return LeanCursor(self)

        return Result(make())


def connect(database: str | bytes | Path, **kwargs: Any) -> LeanConnection:
    """aiosqlite.connect(), returning a LeanConnection (its thread a daemon, as
    SQLAlchemy sets it for aiosqlite's own)."""
    location = database.decode() if isinstance(database, bytes) else str(database)
    # sqlite3's `timeout` is how long its busy handler sleeps in the call; here it is
    # how long _until_not_busy retries, and SQLite itself never waits (busy_timeout 0)
    busy_timeout_s = float(kwargs.pop("timeout", DEFAULT_BUSY_TIMEOUT_S))

    def connector() -> sqlite3.Connection:
        # used from the event loop's thread too (one call at a time, see LeanConnection)
        db: sqlite3.Connection = sqlite3.connect(
            location, **{**kwargs, "timeout": 0, "check_same_thread": False}
        )
        return db

    conn = LeanConnection(connector, 64)
    conn.busy_timeout_s = busy_timeout_s
    conn._thread.daemon = True
    return conn
