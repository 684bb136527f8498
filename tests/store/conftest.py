"""Every store test runs on SQLite and on the PostgreSQL server (127.0.0.1:5432).

PostgreSQL tests run in a database created for this session and dropped at its end. In CI
(`CI=true`) a PostgreSQL that cannot be reached fails these tests; elsewhere it skips them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bifrost.store import upgrade
from tests.conftest import Postgres

BACKENDS = ["sqlite", "postgresql"]
TABLES = "analyses, findings, cache_entries, feedback, api_keys"


@pytest.fixture(scope="session")
def postgres_session_url(postgres: Postgres) -> Iterator[str]:
    """A migrated database shared by the session's tests (emptied before each of them)."""
    url = postgres.create()
    asyncio.run(upgrade(url))
    yield url
    postgres.drop(url)


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it, not even the schema."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'history.db'}"
        return
    server: Postgres = request.getfixturevalue("postgres")
    url = server.create()
    yield url
    server.drop(url)


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty history database."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'history.db'}"
    url: str = request.getfixturevalue("postgres_session_url")
    asyncio.run(_empty(url))
    return url


async def _empty(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
            await connection.execute(text("UPDATE cache_counters SET value = 0"))
    finally:
        await engine.dispose()
