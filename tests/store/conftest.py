"""Every store test runs on SQLite and on the PostgreSQL server (127.0.0.1:5432).

PostgreSQL tests run in a database created for this session and dropped at its end. In CI
(`CI=true`) a PostgreSQL that cannot be reached fails these tests; elsewhere it skips them.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from bifrost.store import upgrade

ADMIN_URL = os.environ.get(
    "BIFROST_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite", "postgresql"]
TABLES = "analyses, findings, cache_entries, feedback"


class Postgres:
    """Creates and drops throw-away databases on the test server."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url

    def create(self) -> str:
        name = f"bifrost_test_{secrets.token_hex(6)}"
        self._admin(f'CREATE DATABASE "{name}"')
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _admin(self, statement: str) -> None:
        async def main() -> None:
            engine = create_async_engine(self.admin_url, isolation_level="AUTOCOMMIT")
            try:
                async with engine.connect() as connection:
                    await connection.execute(text(statement))
            finally:
                await engine.dispose()

        asyncio.run(main())


@pytest.fixture(scope="session")
def postgres() -> Postgres:
    server = Postgres(ADMIN_URL)
    try:
        server.drop(server.create())
    except Exception as exc:
        reason = f"PostgreSQL at {make_url(ADMIN_URL)!r} is not usable: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return server


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
