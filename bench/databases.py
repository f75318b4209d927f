"""Throwaway databases for the benchmarks: a SQLite file, or a fresh PostgreSQL database
created on the given server and dropped afterwards."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

POSTGRES_DEFAULT = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


@asynccontextmanager
async def sqlite_database() -> AsyncIterator[str]:
    with tempfile.TemporaryDirectory(prefix="pep-bench-") as folder:
        yield f"sqlite+aiosqlite:///{Path(folder) / 'bench.sqlite3'}"


@asynccontextmanager
async def postgres_database(server: str) -> AsyncIterator[str]:
    name = f"pep_bench_{secrets.token_hex(6)}"
    admin = create_async_engine(server, isolation_level="AUTOCOMMIT", connect_args={"timeout": 5})
    try:
        async with admin.connect() as conn:
            await conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield make_url(server).set(database=name).render_as_string(hide_password=False)
        finally:
            async with admin.connect() as conn:
                await conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.dispose()


async def backends(only: str | None) -> AsyncIterator[tuple[str, str]]:
    """("SQLite", url) then ("PostgreSQL", url), or the one named by `only`; each a
    throwaway database. PostgreSQL is the server at PEP_TEST_POSTGRES_URL (default
    POSTGRES_DEFAULT); when it is not reachable that is said and it is left out."""
    if only in (None, "sqlite"):
        async with sqlite_database() as url:
            yield "SQLite", url
    if only in (None, "postgresql"):
        server = os.environ.get("PEP_TEST_POSTGRES_URL") or POSTGRES_DEFAULT
        database = postgres_database(server)
        try:
            url = await database.__aenter__()
        except Exception as error:
            shown = make_url(server).render_as_string(hide_password=True)
            print(f"PostgreSQL  skipped: not reachable at {shown} ({type(error).__name__})")
            return
        try:
            yield "PostgreSQL", url
        finally:
            await database.__aexit__(None, None, None)
