"""The database a command works on: only `db upgrade`, `demo-data` and `serve` may create
one. Every other command opens an existing, migrated database or refuses with one line:
"no database at …; run db upgrade or set PEP_DATABASE_URL" (an empty database in the
current folder reporting zeros is worse than no answer).

SQLite: the file must exist (opening a missing file would create it). PostgreSQL: the
database must exist and carry the schema. An existing database one migration behind is
brought up to date, as before; Alembic is imported only then (it costs start-up time).
"""

from __future__ import annotations

import re
from pathlib import Path

MIGRATIONS = Path(__file__).resolve().parent.parent / "store" / "migrations" / "versions"
_REVISION = re.compile(r'^revision(?:: str)? = "([^"]+)"', re.M)
_DOWN = re.compile(r'^down_revision(?:: str \| None)? = "([^"]+)"', re.M)


class NoDatabase(Exception):
    """The database is missing or not set up (the message says which and what to do)."""


def shown(url: str) -> str:
    """The database in a person's words: a SQLite file's full path, or the URL without
    its password."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return str(Path(parsed.database or "").resolve()) if parsed.database else "(memory)"
    return parsed.render_as_string(hide_password=True)


def head_revision() -> str | None:
    """The newest migration, read from the migration files (no Alembic import); None when
    it cannot be told (then the upgrade decides)."""
    revisions: set[str] = set()
    downs: set[str] = set()
    for path in MIGRATIONS.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        if found := _REVISION.search(text):
            revisions.add(found.group(1))
        if found := _DOWN.search(text):
            downs.add(found.group(1))
    heads = revisions - downs
    return heads.pop() if len(heads) == 1 else None


def refusal(url: str, why: str = "") -> NoDatabase:
    reason = f" ({why})" if why else ""
    return NoDatabase(
        f"no database at {shown(url)}{reason}; run db upgrade or set PEP_DATABASE_URL"
    )


async def schema_version(url: str) -> str | None:
    """The database's migration revision; NoDatabase when there is no database there."""
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError
    from sqlalchemy.pool import NullPool

    from store.database import make_engine

    engine = make_engine(url, poolclass=NullPool)
    try:
        try:
            conn = await engine.connect()
        except DBAPIError as exc:
            text = str(exc.orig or exc).lower()
            if "does not exist" in text:
                raise refusal(url, "the database does not exist") from None
            raise NoDatabase(
                f"cannot open the database at {shown(url)}: "
                f"{type(exc.orig or exc).__name__}; check PEP_DATABASE_URL "
                "and that the server is running"
            ) from None
        except OSError as exc:
            raise NoDatabase(
                f"cannot reach the database at {shown(url)}: "
                f"{exc.strerror or type(exc).__name__}; check "
                "PEP_DATABASE_URL and that the server is running"
            ) from None
        try:
            result = await conn.exec_driver_sql("SELECT version_num FROM alembic_version")
            row = result.first()
        except SQLAlchemyError:
            raise refusal(url, "it has no PEP Companion tables") from None
        finally:
            await conn.close()
    finally:
        await engine.dispose()
    if row is None:
        raise refusal(url, "it has no PEP Companion tables")
    return str(row[0])


async def require_database(url: str) -> None:
    """Refuse (NoDatabase) unless the database exists and is set up; bring an older
    schema up to date."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database
        if not path or path == ":memory:" or not Path(path).is_file():
            raise refusal(url)
    version = await schema_version(url)
    if version != head_revision():
        from store.migrate import upgrade

        await upgrade(url)
