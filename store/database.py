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

from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from store import sqlite_driver

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./pep-companion.sqlite3"

# Execution option a unit of work sets on its connection: do not BEGIN at the
# first statement; the unit of work emits BEGIN IMMEDIATE before its first write.
LAZY_BEGIN = "pep_lazy_begin"


def is_sqlite(engine_or_url: AsyncEngine | str) -> bool:
    if isinstance(engine_or_url, str):
        return make_url(engine_or_url).get_backend_name() == "sqlite"
    return engine_or_url.dialect.name == "sqlite"


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine for `url` (sqlite+aiosqlite:// or postgresql+asyncpg://)."""
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
        kwargs.setdefault("pool_pre_ping", True)
        return create_async_engine(parsed, **kwargs)
    raise ValueError(f"unsupported database URL scheme '{parsed.drivername}': "
                     "use sqlite+aiosqlite:// or postgresql+asyncpg://")


def _configure_sqlite(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "do_connect")
    def _connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        # aiosqlite with at most one driver-thread trip per statement (sqlite_driver.py)
        return dialect.loaded_dbapi.connect(*cargs, async_creator_fn=sqlite_driver.connect,
                                            **cparams)

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
