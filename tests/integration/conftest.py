"""Fixtures for the integration tier. Each room keeps its fixtures in its own section."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import NoReturn

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.support.tools import unavailable

# =====================================================================================
# store: databases (SQLite file and a fresh PostgreSQL database per test)
# =====================================================================================

POSTGRES_ENV = "PEP_TEST_POSTGRES_URL"
POSTGRES_DEFAULT = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


def postgres_server_url() -> str:
    return os.environ.get(POSTGRES_ENV) or POSTGRES_DEFAULT


def _unreachable(url: str, error: BaseException) -> NoReturn:
    shown = make_url(url).render_as_string(hide_password=True)
    message = (
        f"PostgreSQL not reachable at {shown} ({type(error).__name__}): "
        f"install postgresql or set {POSTGRES_ENV}"
    )
    unavailable(message)


def _admin_engine(server_url: str) -> AsyncEngine:
    return create_async_engine(
        server_url, isolation_level="AUTOCOMMIT", connect_args={"timeout": 5}
    )


async def create_postgres_database(server_url: str) -> str:
    """A new empty database on the server; returns its URL."""
    name = f"pep_test_{secrets.token_hex(6)}"
    admin = _admin_engine(server_url)
    try:
        try:
            conn = await admin.connect()
        except Exception as error:  # refused, timed out, no such role: all "unreachable"
            _unreachable(server_url, error)
        try:
            await conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
    finally:
        await admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


async def drop_postgres_database(server_url: str, database_url: str) -> None:
    name = make_url(database_url).database
    admin = _admin_engine(server_url)
    try:
        async with admin.connect() as conn:
            await conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database with nothing in it, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'pep-test.sqlite3'}"
        return
    server = postgres_server_url()
    url = await create_postgres_database(server)
    try:
        yield url
    finally:
        await drop_postgres_database(server, url)


@pytest.fixture
async def database_url(empty_database_url: str) -> str:
    """A database migrated to the newest schema, on each backend."""
    from store.migrate import upgrade

    await upgrade(empty_database_url)
    return empty_database_url


@pytest.fixture
async def store_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    from store.database import make_engine

    engine = make_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()
