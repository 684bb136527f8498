"""Alembic environment for bifrost's history database.

At runtime bifrost passes an open connection (see `bifrost.store.migrate`). Developers can run
the `alembic` command with `migrations/alembic.ini`; the database is then BIFROST_DATABASE_URL
(or the embedded SQLite), reached through the same async engine bifrost uses.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection

from bifrost.store.migrate import include_object
from bifrost.store.models import Base


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_from_settings() -> None:
    from bifrost.config import load_settings  # noqa: PLC0415 — developer path only
    from bifrost.store.database import create_engine, database_url  # noqa: PLC0415

    engine = create_engine(database_url(load_settings()))
    try:
        async with engine.begin() as connection:
            await connection.run_sync(run_migrations)
    finally:
        await engine.dispose()


given = context.config.attributes.get("connection")
if isinstance(given, Connection):
    run_migrations(given)
else:
    asyncio.run(run_from_settings())
