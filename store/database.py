"""Engines for the embedded default (SQLite, aiosqlite) and shared deployments
(PostgreSQL, asyncpg), configured so the same store code runs on both.

SQLite transaction control is taken away from the Python driver (which would
otherwise decide on its own when to emit BEGIN): every connection runs in the
driver's autocommit mode and we emit BEGIN ourselves. A unit of work asks for
"lazy" begin: its reads run without holding a snapshot and it takes the single
writer lock (BEGIN IMMEDIATE) just before its first write. That gives SQLite the
same read-committed shape PostgreSQL has by default, so the version
compare-and-swap is what decides between concurrent writers on both.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from store import sqlite_driver

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./pep-companion.sqlite3"

# Execution option a unit of work sets on its connection: do not BEGIN at the
# first statement; the unit of work emits BEGIN IMMEDIATE before its first write.
LAZY_BEGIN = "pep_lazy_begin"

# PostgreSQL: a pooled connection idle this long is pinged before it is handed out
PING_AFTER_IDLE_S = 2.0
_IDLE_SINCE = "pep_idle_since"


def make_engine(
    url: str, *, ping_after_idle_s: float = PING_AFTER_IDLE_S, **kwargs: Any
) -> AsyncEngine:
    """An async engine for `url` (sqlite+aiosqlite:// or postgresql+asyncpg://).
    PostgreSQL: a pooled connection idle for ping_after_idle_s or more is checked before
    it is handed out (see _ping_idle_connections)."""
    parsed = make_url(url)
    # errors must never carry bound values (a child's name, date of birth) into logs
    kwargs.setdefault("hide_parameters", True)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.drivername == "sqlite":
            parsed = parsed.set(drivername="sqlite+aiosqlite")
        engine = create_async_engine(parsed, **kwargs)
        _configure_sqlite(engine)
        return engine
    if backend == "postgresql":
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+asyncpg")
        engine = create_async_engine(parsed, **kwargs)
        if not kwargs.get("pool_pre_ping"):
            _ping_idle_connections(engine, ping_after_idle_s)
        return engine
    raise ValueError(
        f"unsupported database URL scheme '{parsed.drivername}': "
        "use sqlite+aiosqlite:// or postgresql+asyncpg://"
    )


def _ping_idle_connections(engine: AsyncEngine, after_s: float) -> None:
    """Check a pooled PostgreSQL connection before use only when it has been idle.

    SQLAlchemy's pool_pre_ping checks every connection at every checkout: on asyncpg
    that is BEGIN, a ping and ROLLBACK — three round trips to the server, ~260 µs and
    ~180 µs of CPU per unit of work, more than the in-meeting save's own statements.
    A connection handed back moments ago is as alive as a ping would show; one idle
    for `after_s` (a restarted server, a firewall or idle timeout that dropped it) is
    pinged, and a dead one invalidates the pool (every connection older than now is
    replaced), as pool_pre_ping does. A new connection is never pinged.
    """
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "checkin")
    def _checkin(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(sync_engine, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is None or time.monotonic() - since < after_s:
            return  # new (the record's info is cleared when it reconnects), or just used
        dialect = sync_engine.dialect
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                raise InvalidatePoolError("pooled connection found closed") from error
            raise


def _configure_sqlite(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "do_connect")
    def _connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        # aiosqlite with at most one driver-thread trip per statement (sqlite_driver.py)
        return dialect.loaded_dbapi.connect(
            *cargs, async_creator_fn=sqlite_driver.connect, **cparams
        )

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # the driver never emits BEGIN itself
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(LAZY_BEGIN):
            return
        conn.exec_driver_sql("BEGIN")


async def ping(engine: AsyncEngine) -> bool:
    """True when the database answers a trivial query (for /readyz)."""
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
