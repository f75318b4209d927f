"""Persistence behind pep_model's ports: SQLAlchemy Core (async) on SQLite or PostgreSQL.

database.py   make_engine(url), ping(engine), DEFAULT_DATABASE_URL
sqlite_driver.py   aiosqlite: short statements in the event loop's thread, the rest one
              trip to the driver thread; SQLITE_BUSY waited out (make_engine uses it)
prepared.py   Core statements compiled once per dialect (the in-meeting save's)
connection.py StoreConnection: one unit of work's reads and writes, SQLite's writer lock
tables.py     the schema (metadata)
migrate.py    upgrade(url) / upgrade_sync(url): Alembic, migrations inside this package
repositories.py, unit_of_work.py   SqlUnitOfWorkFactory(engine) for the use cases
"""
