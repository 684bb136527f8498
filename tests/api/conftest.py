"""The API in process: the real app and its lifespan, spoken to with httpx; no server process.

A test writes its requests as an async scenario and hands it to `Api.run`, which builds the
app with `create_app(settings)`, runs its lifespan, and gives the scenario a client:

    def test_a_log_is_analysed(api: Api) -> None:
        async def scenario(client: httpx.AsyncClient) -> None:
            response = await client.post(ANALYSES, content=TRAINER)
            assert response.status_code == 201

        api.run(scenario)  # or api.run(scenario, auth=True, max_request_bytes=2048, …)

`api` runs the test on SQLite and on PostgreSQL (a database created for the session, emptied
before each test); `sqlite_api` on SQLite alone, for what does not depend on the database.
The engine runs in a thread (`engine_processes=0`) unless a test asks for the process pool.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, MutableMapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from prometheus_client.parser import text_string_to_metric_families

from bifrost.api.app import create_app
from bifrost.config import Settings
from bifrost.store import ApiKey, create_key, open_store, upgrade
from tests.conftest import empty_database

ROOT = Path(__file__).parents[2]
LOGS = ROOT / "tests/data/logs"
TRAINER = (ROOT / "src/bifrost/samples/trainer.log").read_bytes()
"""A training run killed by CUDA out of memory: verdict failure, first category gpu.cuda_oom."""
MAVEN = (LOGS / "maven-compile.log").read_bytes()
"""A Maven build that fails to compile: category build.java_compile."""
HEALTHY = (LOGS / "healthy.log").read_bytes()
"""Nothing wrong: verdict ok, no findings."""

ANALYSES = "/api/v1/analyses"
KEYS = "/api/v1/keys"
ERROR_FIELDS = {"code", "message", "request_id", "fields"}

Scenario = Callable[[httpx.AsyncClient], Awaitable[None]]


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app for `settings`, started (lifespan) and with a client that talks to it."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            yield client


class Api:
    """Runs scenarios against the app on one history database."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    def settings(self, **overrides: Any) -> Settings:
        """Test settings: this database, the engine in a thread, auth off, no Redis."""
        values: dict[str, Any] = {
            "database_url": self.database_url,
            "engine_processes": 0,
            "auth": False,
            "redis_url": None,
        }
        return Settings(**(values | overrides))

    def run(self, scenario: Scenario, **overrides: Any) -> None:
        """Start the app with these settings, run the scenario, stop the app."""

        async def main() -> None:
            async with serving(self.settings(**overrides)) as client:
                await scenario(client)

        asyncio.run(main())

    async def key(
        self, name: str, scopes: list[str], rate: str | None = None
    ) -> tuple[ApiKey, str]:
        """A new API key in this database (as `bifrost keys create` makes it) and its secret."""
        store = await open_store(Settings(database_url=self.database_url))
        async with store:
            return await create_key(store, name, scopes, rate)


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The one error format: `{"error": {"code", "message", "request_id"[, "fields"]}}`,
    the request id being the response's X-Request-ID. Returns the `error` object."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert {"code", "message", "request_id"} <= set(error) <= ERROR_FIELDS, error
    assert error["code"] == code, error
    assert error["message"]
    assert error["request_id"] == response.headers["x-request-id"]
    return error


def sse_events(body: str) -> list[tuple[str, dict[str, Any]]]:
    """The (event, data) pairs of a Server-Sent Events body, in order; comments skipped."""
    events = []
    for block in body.split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in block.splitlines() if not line.startswith(":")
        )
        if "event" in fields:
            events.append((fields["event"], json.loads(fields["data"])))
    return events


def metric(exposition: str, sample: str, **labels: str) -> float:
    """The sum of the samples named `sample` whose labels include `labels` (0 when none)."""
    return sum(
        value.value
        for family in text_string_to_metric_families(exposition)
        for value in family.samples
        if value.name == sample and labels.items() <= value.labels.items()
    )


@pytest.fixture(autouse=True)
def _no_outside_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come from the test alone, never from the developer's environment."""
    for name in list(os.environ):
        if name.startswith("BIFROST_") or name in ("OLLAMA_HOST", "PROMETHEUS_MULTIPROC_DIR"):
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def service_log() -> Iterator[list[MutableMapping[str, Any]]]:
    """The service's log entries during the test, kept as dicts rather than printed (a
    traceback rendered for the terminal can take seconds)."""
    with structlog.testing.capture_logs() as entries:
        yield entries


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite history database, copied for each test (migrating costs time)."""
    path = tmp_path_factory.mktemp("template") / "history.db"
    asyncio.run(upgrade(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """An empty, migrated SQLite history database of this test's own."""
    path = tmp_path / "history.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """An empty, migrated history database: SQLite, then PostgreSQL."""
    if request.param == "sqlite":
        url: str = request.getfixturevalue("sqlite_url")
        return url
    url = request.getfixturevalue("postgres_session_url")
    asyncio.run(empty_database(url))
    return url


@pytest.fixture
def api(database_url: str) -> Api:
    return Api(database_url)


@pytest.fixture
def sqlite_api(sqlite_url: str) -> Api:
    return Api(sqlite_url)
