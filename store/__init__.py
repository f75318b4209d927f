"""Persistence behind pep_model's ports: SQLAlchemy Core (async) on SQLite or PostgreSQL.

database.py   make_engine(url), ping(engine), DEFAULT_DATABASE_URL
sqlite_driver.py   aiosqlite with one driver-thread trip per statement (make_engine uses it)
tables.py     the schema (metadata)
migrate.py    upgrade(url) / upgrade_sync(url): Alembic, migrations inside this package
repositories.py, unit_of_work.py   SqlUnitOfWorkFactory(engine) for the use cases
"""
