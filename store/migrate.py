"""Bring a database to the newest schema. Safe to run at every start: at head it does
nothing. Works from any working directory and from an installed wheel (the
migrations travel inside the store package)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from store.database import LAZY_BEGIN, make_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# PostgreSQL: one instance migrates at a time (a transaction-scoped advisory lock).
_PG_MIGRATION_LOCK = 0x5E9_C0DE


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    if url:
        config.attributes["url"] = url
    return config


def _upgrade_on(connection: Connection, config: Config, revision: str) -> None:
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def upgrade(url: str, revision: str = "head") -> None:
    """Apply every migration not yet applied, in one transaction, holding the
    database's writer lock (SQLite) or an advisory lock (PostgreSQL)."""
    engine = make_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                conn = await conn.execution_options(**{LAZY_BEGIN: True})
                await conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                await conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
            await conn.run_sync(_upgrade_on, alembic_config(url), revision)
            await conn.commit()
    finally:
        await engine.dispose()


def upgrade_sync(url: str, revision: str = "head") -> None:
    """For the CLI and scripts (not from inside a running event loop)."""
    asyncio.run(upgrade(url, revision))
