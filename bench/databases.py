"""Throwaway databases for the benchmarks: a SQLite file, or a fresh PostgreSQL database
created on the given server and dropped afterwards."""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine


@asynccontextmanager
async def sqlite_database() -> AsyncIterator[str]:
    with tempfile.TemporaryDirectory(prefix="pep-bench-") as folder:
        yield f"sqlite+aiosqlite:///{Path(folder) / 'bench.sqlite3'}"


@asynccontextmanager
async def postgres_database(server: str) -> AsyncIterator[str]:
    name = f"pep_bench_{secrets.token_hex(6)}"
    admin = create_async_engine(server, isolation_level="AUTOCOMMIT",
                                connect_args={"timeout": 5})
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
