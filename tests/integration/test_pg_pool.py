"""PostgreSQL connections in the pool (store/database.py): one the server dropped
while it sat idle (a restart, an idle timeout) is found before use and replaced, so the
next unit of work works; a connection handed back moments ago is reused without the
ping's round trips."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from store.database import make_engine
from store.migrate import upgrade
from store.unit_of_work import SqlUnitOfWorkFactory
from tests.integration.conftest import (
    create_postgres_database,
    drop_postgres_database,
    postgres_server_url,
)

IDLE_S = 0.2


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    server = postgres_server_url()
    url = await create_postgres_database(server)
    try:
        await upgrade(url)
        yield url
    finally:
        await drop_postgres_database(server, url)


async def _backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def _terminate(url: str, pid: int) -> None:
    """The server drops the connection, as a restart or an idle timeout would."""
    admin = make_engine(url)
    try:
        async with admin.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            await conn.commit()
    finally:
        await admin.dispose()


async def test_a_connection_dropped_while_idle_is_replaced_before_use(pg_url: str) -> None:
    engine = make_engine(pg_url, ping_after_idle_s=IDLE_S, pool_size=1, max_overflow=0)
    try:
        dropped = await _backend_pid(engine)
        await _terminate(pg_url, dropped)
        await asyncio.sleep(IDLE_S * 2)
        factory = SqlUnitOfWorkFactory(engine)
        async with factory() as uow:  # would fail on the dead connection without the ping
            assert await uow.children.list_all() == []
        replaced = await _backend_pid(engine)
        assert replaced != dropped
    finally:
        await engine.dispose()


async def test_only_a_connection_idle_for_a_while_is_pinged(pg_url: str) -> None:
    engine = make_engine(pg_url, ping_after_idle_s=IDLE_S, pool_size=1, max_overflow=0)
    dialect = engine.sync_engine.dialect
    pings: list[object] = []
    ping = dialect.do_ping

    def counted(dbapi_connection: object) -> bool:
        pings.append(dbapi_connection)
        return ping(dbapi_connection)

    dialect.do_ping = counted  # type: ignore[method-assign]
    try:
        first = await _backend_pid(engine)  # a new connection: no ping
        for _ in range(5):  # handed back and out again at once: no ping, the same one
            assert await _backend_pid(engine) == first
        assert pings == []
        await asyncio.sleep(IDLE_S * 2)
        assert await _backend_pid(engine) == first  # idle: pinged, alive, kept
        assert len(pings) == 1
    finally:
        await engine.dispose()
