"""One connection shared by the repositories of a unit of work."""

from __future__ import annotations

from typing import Any

from sqlalchemy import CursorResult, Executable
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


class StoreConnection:
    """Reads and writes for one unit of work.

    On SQLite reads run without a transaction (each sees the latest commit) and the
    first write takes the writer lock with BEGIN IMMEDIATE, so a version check in an
    UPDATE always compares against the latest committed row. On PostgreSQL the
    connection is in an ordinary READ COMMITTED transaction from its first statement.
    """

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.sqlite = conn.dialect.name == "sqlite"
        self.insert = sqlite.insert if self.sqlite else postgresql.insert
        self._writing = False

    async def read(self, statement: Executable,
                   params: dict[str, Any] | None = None) -> CursorResult[Any]:
        return await self.conn.execute(statement, params)

    async def write(self, statement: Executable,
                    params: dict[str, Any] | None = None) -> CursorResult[Any]:
        if self.sqlite and not self._writing:
            await self.conn.exec_driver_sql("BEGIN IMMEDIATE")
            self._writing = True
        return await self.conn.execute(statement, params)

    async def commit(self) -> None:
        await self.conn.commit()
        self._writing = False

    async def rollback(self) -> None:
        await self.conn.rollback()
        self._writing = False
