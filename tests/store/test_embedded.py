"""The embedded path (sqlite3, no SQLAlchemy) and `Store` write the same rows and read each
other's: an analysis, its findings, its search entry, a cache entry and its counts."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bifrost.cache import Cached
from bifrost.cache.database import cache_get, cache_put, cache_stats
from bifrost.cache.embedded import EmbeddedCache
from bifrost.store import (
    HistoryFilter,
    Store,
    delete_analysis,
    get_analysis,
    save_analysis,
    search_analyses,
)
from bifrost.store.embedded import EmbeddedStore, sqlite_file, stored_time
from bifrost.store.records import AnalysisMeta

from .helpers import report, with_store

T0 = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
KEY = "c" * 64
META: AnalysisMeta = {
    "service": "checkout",
    "environment": "prod",
    "tags": ["nightly", "gpu"],
    "provider": "ollama",
    "model": "llama3",
    "prompt_version": "7",
    "prompt_tokens": 120,
    "completion_tokens": 30,
    "cache_key": KEY,
    "input_blob": b"\x1f\x8b raw",
    "created_at": T0,
}


def migrated(tmp_path: Path, name: str) -> str:
    """The URL of a new SQLite history at the newest schema (migrated by `Store`)."""
    url = f"sqlite+aiosqlite:///{tmp_path / name}"

    async def nothing(store: Store) -> None:
        del store

    with_store(url, nothing)
    return url


def embedded(url: str) -> EmbeddedStore:
    path = sqlite_file(url)
    assert path is not None
    opened = EmbeddedStore.open(path)
    assert opened is not None
    return opened


def rows(url: str, sql: str) -> list[tuple[object, ...]]:
    path = sqlite_file(url)
    assert path is not None
    with sqlite3.connect(path) as connection:
        return connection.execute(sql).fetchall()


def test_an_analysis_is_stored_as_store_stores_it(tmp_path: Path) -> None:
    crash = report("crash")
    by_store, by_sqlite3 = migrated(tmp_path, "a.db"), migrated(tmp_path, "b.db")
    stored = with_store(by_store, lambda store: save_analysis(store, crash, **META))
    with embedded(by_sqlite3) as history:
        assert asyncio.run(history.save(crash, META)) == stored == 1
    for table in ("analyses", "findings", "analyses_fts"):
        assert rows(by_sqlite3, f"SELECT * FROM {table}") == rows(
            by_store, f"SELECT * FROM {table}"
        )

    back = with_store(by_sqlite3, lambda store: get_analysis(store, 1))
    assert back is not None
    assert back.report == crash
    assert (back.created_at, back.tags, back.has_input) == (T0, ["nightly", "gpu"], True)
    found = with_store(
        by_sqlite3,
        lambda store: search_analyses(store, HistoryFilter(query=crash.findings[0].title)),
    )
    assert [s.id for s in found] == [1]


def test_ids_are_never_reused_after_a_delete(tmp_path: Path) -> None:
    url = migrated(tmp_path, "h.db")
    crash = report("crash")
    with embedded(url) as history:
        first = asyncio.run(history.save(crash, {}))
        second = asyncio.run(history.save(crash, {}))
    with_store(url, lambda store: delete_analysis(store, second))
    with embedded(url) as history:
        assert asyncio.run(history.save(crash, {})) == second + 1 == first + 2


def test_the_cache_is_shared_with_store_and_counts_its_lookups(tmp_path: Path) -> None:
    url = migrated(tmp_path, "h.db")
    trainer = report("trainer")
    with embedded(url) as history:
        analysis_id = asyncio.run(history.save(trainer, {}))
        cache = EmbeddedCache(history, ttl_s=3600)
        assert asyncio.run(cache.get(KEY)) is None
        asyncio.run(cache.put(KEY, trainer, analysis_id))
        assert asyncio.run(cache.get(KEY)) == Cached(trainer, analysis_id)
        cache.close()

    async def check(store: Store) -> None:
        assert await cache_get(store, KEY) == Cached(trainer, analysis_id)
        stats = await cache_stats(store)
        assert (stats.entries, stats.hits, stats.misses) == (1, 2, 1)  # one of the hits is ours

    with_store(url, check)


def test_expired_and_unreadable_entries_are_misses(tmp_path: Path) -> None:
    url = migrated(tmp_path, "h.db")
    trainer = report("trainer")
    long_ago = datetime.now(UTC) - timedelta(days=2)
    with_store(url, lambda store: cache_put(store, KEY, trainer, None, ttl_s=60, now=long_ago))
    with embedded(url) as history:
        cache = EmbeddedCache(history, ttl_s=3600)
        assert asyncio.run(cache.get(KEY)) is None
        asyncio.run(cache.put(KEY, trainer, None))  # and the expired one is purged
        path = sqlite_file(url)
        assert path is not None
        with sqlite3.connect(path) as connection:
            connection.execute("UPDATE cache_entries SET report = '{\"old\": 1}'")
        assert asyncio.run(cache.get(KEY)) is None
        cache.close()
    assert rows(url, "SELECT count(*) FROM cache_entries") == [(0,)]  # dropped when read
    assert rows(url, "SELECT value FROM cache_counters ORDER BY name") == [(0,), (2,)]


def test_a_history_that_is_not_ready_is_left_to_store(tmp_path: Path) -> None:
    assert EmbeddedStore.open(tmp_path / "missing.db") is None
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    assert EmbeddedStore.open(empty) is None  # no schema yet: `Store` migrates it
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"\x00not a database" * 100)
    assert EmbeddedStore.open(garbage) is None  # `Store` says what is wrong
    behind = sqlite_file(migrated(tmp_path, "behind.db"))
    assert behind is not None
    with sqlite3.connect(behind) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0002'")
    assert EmbeddedStore.open(behind) is None


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite+aiosqlite:////abs/h.db", "/abs/h.db"),
        ("sqlite:///relative/h.db", "relative/h.db"),
        ("sqlite+aiosqlite:///:memory:", None),
        ("sqlite://", None),
        ("sqlite:///h.db?mode=ro", None),
        ("postgresql+asyncpg://u@localhost/test", None),
    ],
)
def test_only_a_plain_sqlite_file_takes_the_embedded_path(url: str, path: str | None) -> None:
    assert sqlite_file(url) == (Path(path) if path else None)


def test_times_are_kept_as_sqlalchemy_keeps_them() -> None:
    assert stored_time(T0) == "2025-03-01 12:00:00.123456"
    assert stored_time(datetime(2025, 3, 1, 13, 0, tzinfo=UTC).astimezone()) == (
        "2025-03-01 13:00:00.000000"
    )


def test_analyze_on_the_embedded_history_never_loads_sqlalchemy(tmp_path: Path) -> None:
    """Nor, when the cache answers, the scanner."""
    url = migrated(tmp_path, "h.db")
    code = (
        "import sys\n"
        "from bifrost.cli import main\n"
        "try:\n"
        "    main()\n"
        "finally:\n"
        "    print(*(m in sys.modules for m in ('sqlalchemy', 'bifrost.engine.scan')),"
        " file=sys.stderr)\n"
    )
    env = {**os.environ, "BIFROST_DATABASE_URL": url}
    loaded = []
    for _ in range(2):  # stored, then answered from the cache
        done = subprocess.run(
            [sys.executable, "-c", code, "analyze", "--sample", "--format", "json"],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert done.returncode == 1, done.stderr  # the sample fails
        loaded.append(done.stderr.strip().splitlines()[-1])
    assert loaded == ["False True", "False False"]
    assert rows(url, "SELECT count(*) FROM analyses") == [(1,)]
    assert rows(url, "SELECT value FROM cache_counters ORDER BY name") == [(1,), (1,)]


def test_every_public_name_of_the_store_loads_on_first_use() -> None:
    import bifrost.store  # noqa: PLC0415 — the package, whose names load lazily

    loaded = {name: getattr(bifrost.store, name) for name in bifrost.store.__all__}
    assert loaded["SCOPES"] == ("analyze", "read", "admin", "metrics", "server")
    assert loaded["Store"].__module__ == "bifrost.store.database"
    with pytest.raises(AttributeError, match="no_such_name"):
        getattr(bifrost.store, "no_such_name")  # noqa: B009 — a name known only at run time


def test_the_embedded_path_keeps_one_analysis_per_request(tmp_path: Path) -> None:
    url = migrated(tmp_path, "h.db")
    crash = report("crash")
    with embedded(url) as history:
        first = asyncio.run(history.save(crash, {"request_id": "job-7"}))
        assert asyncio.run(history.save(crash, {"request_id": "job-7"})) == first
        assert asyncio.run(history.for_request("job-7")) == (first, crash)
        assert asyncio.run(history.for_request("job-8")) is None
    assert rows(url, "SELECT count(*) FROM analyses") == [(1,)]
