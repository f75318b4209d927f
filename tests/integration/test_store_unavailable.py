"""A database out of reach is told to the use cases as StoreUnavailable (pep_model's
word for "try again later"), whichever backend, so the bot can say so; the driver's
own error stays attached for the log."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from pep_model.errors import StoreUnavailable
from store.database import make_engine
from store.unit_of_work import SqlUnitOfWorkFactory


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+asyncpg://postgres@127.0.0.1:1/pep",  # nothing listens on port 1
        "sqlite+aiosqlite:///{missing}/pep.sqlite3",  # a folder that does not exist
    ],
)
async def test_a_database_out_of_reach_is_store_unavailable(url: str, tmp_path: Path) -> None:
    engine = make_engine(url.format(missing=tmp_path / "no-such-folder"))
    try:
        with pytest.raises(StoreUnavailable) as refused:
            async with SqlUnitOfWorkFactory(engine)() as uow:
                await uow.children.list_all()
        assert refused.value.__cause__ is not None
    finally:
        await engine.dispose()


async def test_a_fault_in_what_was_asked_is_not_called_unavailable(tmp_path: Path) -> None:
    """SQLite reports a missing table as an 'operational' error too; that is a fault to
    fix (here: the database was never migrated), not a reason to try again later."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}")
    try:
        with pytest.raises(OperationalError, match="no such table"):
            async with SqlUnitOfWorkFactory(engine)() as uow:
                await uow.children.list_all()
    finally:
        await engine.dispose()
