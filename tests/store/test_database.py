"""Reaching the database: its URL, SQLite settings for two writers, one clear line on failure."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text

from bifrost.config import load_settings
from bifrost.errors import ConfigError, ServiceError
from bifrost.store import Store, current, database_url, open_store, search_analyses, upgrade
from bifrost.store.database import normalise_url
from bifrost.store.search import HistoryFilter

from .helpers import with_store

DOWN = [
    "postgresql+asyncpg://bifrost:s3cr3t-pw@127.0.0.1:1/history",
    "postgres://bifrost:s3cr3t-pw@127.0.0.1:1/history",
]


@pytest.mark.parametrize("url", DOWN)
def test_a_database_that_is_down_is_one_clear_line(url: str) -> None:
    for attempt in (
        lambda: open_store(load_settings(database_url=url)),
        lambda: upgrade(url),
        lambda: current(url),
    ):
        with pytest.raises(ServiceError) as caught:
            asyncio.run(attempt())
        message = caught.value.message
        assert message == (
            "cannot reach the database at postgresql+asyncpg://bifrost:***@127.0.0.1:1/history "
            "(connection refused); check BIFROST_DATABASE_URL or start the server"
        )
        assert caught.value.exit_code == 3


def test_wrong_credentials_say_so(postgres_session_url: str) -> None:
    url = postgres_session_url.replace("postgres@", "nobody:pw-xyz@")
    with pytest.raises(ServiceError, match=r'role "nobody" does not exist') as caught:
        asyncio.run(current(url))
    assert "pw-xyz" not in caught.value.message


def test_an_unopenable_sqlite_file_says_where(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'missing-dir' / 'x.db'}"
    with pytest.raises(ServiceError, match=r"cannot reach the database at .*missing-dir/x\.db "):
        asyncio.run(open_store(load_settings(database_url=url)))


def test_sqlite_runs_in_wal_mode_with_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'h.db'}"

    async def body(store: Store) -> list[object]:
        async with store.read() as connection:
            return [
                (await connection.execute(text(f"PRAGMA {name}"))).scalar_one()
                for name in ("journal_mode", "foreign_keys", "busy_timeout")
            ]

    journal, foreign_keys, busy_ms = with_store(url, body)
    assert (journal, foreign_keys) == ("wal", 1)
    assert isinstance(busy_ms, int)
    assert busy_ms >= 5000


def test_a_database_that_fails_mid_use_is_a_service_error(empty_url: str) -> None:
    asyncio.run(upgrade(empty_url))

    async def body(store: Store) -> None:
        async with store.write() as connection:
            await connection.execute(text("DROP TABLE feedback"))
            await connection.execute(text("DROP TABLE findings"))
        with pytest.raises(ServiceError, match=r"^the database at .* failed \("):
            await search_analyses(store, HistoryFilter(category="gpu"))

    with_store(empty_url, body)


def test_database_url_defaults_to_sqlite_in_the_user_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("BIFROST_DATABASE_URL", raising=False)
    url = database_url(load_settings())
    assert url == f"sqlite+aiosqlite:///{tmp_path / 'data' / 'bifrost' / 'bifrost.db'}"
    assert (tmp_path / "data" / "bifrost").is_dir()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db/x", "postgresql+asyncpg://u:p@db/x"),
        ("postgresql://u@db:5433/x", "postgresql+asyncpg://u@db:5433/x"),
        ("postgresql+asyncpg://u@db/x", "postgresql+asyncpg://u@db/x"),
        ("sqlite:////var/x.db", "sqlite+aiosqlite:////var/x.db"),
    ],
)
def test_urls_are_normalised(given: str, expected: str) -> None:
    assert normalise_url(given) == expected
    assert database_url(load_settings(database_url=given)) == expected


def test_unsupported_urls_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unsupported database 'mysql'"):
        normalise_url("mysql://u:secret@db/x")
    with pytest.raises(ConfigError, match="invalid database URL") as caught:
        normalise_url("not a url secret")
    assert "secret" not in caught.value.message


def test_an_unwritable_data_directory_is_a_service_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "file"))
    monkeypatch.delenv("BIFROST_DATABASE_URL", raising=False)
    with pytest.raises(
        ServiceError, match=r"cannot create the data directory .*BIFROST_DATABASE_URL"
    ):
        database_url(load_settings())
