"""Cache lookups only read; their counts are written later, exactly once, by whoever looked up.

A cache hit used to be a write transaction (`BEGIN IMMEDIATE` on SQLite), so every cached
answer waited for the write lock. Now it answers while another connection holds that lock,
and its count is added when the tally is flushed: exactly once, by each store for its own
lookups, and kept for the next write when the database cannot be reached.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import make_url, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from bifrost.cache import Cached
from bifrost.cache.database import cache_get, cache_put, cache_stats
from bifrost.config import load_settings
from bifrost.errors import ServiceError
from bifrost.store import Store, open_store
from bifrost.store.models import CacheCounter, CacheEntry
from tests.conftest import ADMIN_URL

from .helpers import report

T = TypeVar("T")
ANSWER_WITHIN_S = 5.0
"""A guard against hanging, far below the 15 s a lookup waiting for the write lock would take."""
KEY = "a" * 64
OTHER = "b" * 64
MISSING = "c" * 64
COUNTERS = select(CacheCounter.name, CacheCounter.value).where(
    CacheCounter.name.in_(["hits", "misses"])
)
ENTRIES = select(CacheEntry.key, CacheEntry.hits)


@contextmanager
def write_lock(path: Path) -> Iterator[None]:
    """Another connection, not bifrost's, holding the write lock of the SQLite file."""
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        prober = sqlite3.connect(path, isolation_level=None, timeout=0)
        try:  # the lock is real: nobody else may start writing
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                prober.execute("BEGIN IMMEDIATE")
        finally:
            prober.close()
        yield
    finally:
        if holder.in_transaction:
            holder.execute("ROLLBACK")
        holder.close()


def stored_counts(path: Path) -> dict[str, int]:
    """The counts in the file itself (not this process's pending ones): the hits and misses
    counters and each entry's hits."""
    with sqlite3.connect(path) as connection:
        counters = dict(connection.execute("SELECT name, value FROM cache_counters"))
        entries = dict(connection.execute("SELECT key, hits FROM cache_entries"))
    connection.close()
    return {
        "hits": counters.get("hits", 0),
        "misses": counters.get("misses", 0),
        **{key[:1]: hits for key, hits in entries.items()},
    }


async def while_locked(path: Path, body: Callable[[], Awaitable[T]]) -> T:
    """`body`, run while another connection holds the write lock; fails (once the lock is
    released, so that nothing hangs) when it did not finish within `ANSWER_WITHIN_S`."""
    with write_lock(path):
        task = asyncio.ensure_future(body())
        done, _ = await asyncio.wait({task}, timeout=ANSWER_WITHIN_S)
    if not done:
        with suppress(Exception):  # it goes on once the lock is released
            await task
        pytest.fail(f"no answer within {ANSWER_WITHIN_S} s while the write lock was held")
    return task.result()


def test_a_cache_hit_answers_while_another_connection_holds_the_write_lock(
    tmp_path: Path,
) -> None:
    path = tmp_path / "history.db"
    url = f"sqlite+aiosqlite:///{path}"
    crash = report("crash")

    async def main() -> None:
        async with await open_store(load_settings(database_url=url)) as store:
            await cache_put(store, KEY, crash, None, ttl_s=3600)

            async def look_up() -> None:
                assert await cache_get(store, KEY) == Cached(crash, None)
                assert await cache_get(store, MISSING) is None
                stats = await cache_stats(store)
                assert (stats.entries, stats.hits, stats.misses) == (1, 1, 1)
                assert stored_counts(path) == {"hits": 0, "misses": 0, "a": 0}  # not yet

            await while_locked(path, look_up)
            await store.tally.flush()
            assert stored_counts(path) == {"hits": 1, "misses": 1, "a": 1}
            stats = await cache_stats(store)
            assert (stats.hits, stats.misses) == (1, 1)  # written, and not counted twice
            await store.tally.flush()  # nothing left to write
            assert stored_counts(path) == {"hits": 1, "misses": 1, "a": 1}

    asyncio.run(main())


def test_counts_from_two_stores_on_one_file_add_up_exactly(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    url = f"sqlite+aiosqlite:///{path}"
    crash = report("crash")
    hits, misses = 8, 4  # per store and round

    async def lookups(store: Store, key: str) -> list[Cached | None]:
        return await asyncio.gather(
            *(cache_get(store, key) for _ in range(hits)),
            *(cache_get(store, MISSING) for _ in range(misses)),
        )

    async def main() -> None:
        one = await open_store(load_settings(database_url=url))
        two = await open_store(load_settings(database_url=url))
        try:
            await cache_put(one, KEY, crash, None, ttl_s=3600)
            await cache_put(two, OTHER, crash, None, ttl_s=3600)

            async def both() -> tuple[list[Cached | None], list[Cached | None]]:
                return await asyncio.gather(lookups(one, KEY), lookups(two, KEY))

            for found in await while_locked(path, both):  # neither store could write now
                assert found == [Cached(crash, None)] * hits + [None] * misses
            # Again, now with the first round's counts being written at the same time.
            await asyncio.gather(
                lookups(one, OTHER), one.tally.flush(), lookups(two, OTHER), two.tally.flush()
            )
            await one.tally.flush()
        finally:
            await one.close()  # writes what is left
            await two.close()
        assert stored_counts(path) == {
            "hits": 4 * hits,
            "misses": 4 * misses,
            "a": 2 * hits,
            "b": 2 * hits,
        }
        async with await open_store(load_settings(database_url=url)) as fresh:
            stats = await cache_stats(fresh)
        assert (stats.entries, stats.hits, stats.misses) == (2, 4 * hits, 4 * misses)

    asyncio.run(main())


async def admin(statement: str, **parameters: object) -> None:
    """Run one statement on the server's admin database (never the database under test)."""
    engine = create_async_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement), parameters)
    finally:
        await engine.dispose()


async def refuse_connections(name: str) -> None:
    """The database stops taking connections, and the ones it had are closed."""
    assert name.startswith("bifrost_test_"), "only a throw-away database"
    await admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    await admin(
        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = :name",
        name=name,
    )


async def postgres_counts(url: str) -> dict[str, int]:
    """As `stored_counts`, on PostgreSQL."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            counters = dict((await connection.execute(COUNTERS)).all())
            entries = dict((await connection.execute(ENTRIES)).all())
    finally:
        await engine.dispose()
    return {**counters, **{key[:1]: hits for key, hits in entries.items()}}


def test_counts_pending_while_the_database_is_unreachable_are_kept_for_the_next_write(
    own_postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bifrost.store.tally.FLUSH_EVERY_S", 3600.0)  # only explicit flushes
    name = make_url(own_postgres_url).database
    assert name is not None
    crash = report("crash")

    async def main() -> None:
        async with await open_store(load_settings(database_url=own_postgres_url)) as store:
            await cache_put(store, KEY, crash, None, ttl_s=3600)
            assert await cache_get(store, KEY) == Cached(crash, None)
            assert await cache_get(store, KEY) == Cached(crash, None)
            assert await cache_get(store, MISSING) is None
            await refuse_connections(name)
            try:
                with pytest.raises(ServiceError, match="not currently accepting connections"):
                    await store.tally.flush()
                with pytest.raises(ServiceError):  # and again: nothing is lost on a retry
                    await store.tally.flush()
                pending = store.tally.pending
                assert (pending.hits, pending.misses, dict(pending.entry_hits)) == (2, 1, {KEY: 2})
            finally:
                await admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            await store.tally.flush()
            assert await postgres_counts(own_postgres_url) == {"hits": 2, "misses": 1, "a": 2}
            stats = await cache_stats(store)
            assert (stats.hits, stats.misses) == (2, 1)  # written once, no longer pending
        assert await postgres_counts(own_postgres_url) == {"hits": 2, "misses": 1, "a": 2}

    asyncio.run(main())


def test_the_background_write_tries_again_until_the_database_is_back(
    own_postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = make_url(own_postgres_url).database
    assert name is not None
    crash = report("crash")

    async def main() -> None:
        async with await open_store(load_settings(database_url=own_postgres_url)) as store:
            await cache_put(store, KEY, crash, None, ttl_s=3600)
            assert await cache_get(store, KEY) == Cached(crash, None)  # written within 2 s
            assert await cache_get(store, MISSING) is None
            await refuse_connections(name)
            try:
                monkeypatch.setattr("bifrost.store.tally.FLUSH_EVERY_S", 0.05)  # the next tries
                await asyncio.sleep(2.2)  # the first background write has failed by now
                seen = set()
                for _ in range(50):  # kept, between the tries (each takes them while it runs)
                    seen.add((store.tally.pending.hits, store.tally.pending.misses))
                    await asyncio.sleep(0.01)
                assert (1, 1) in seen
            finally:
                await admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            written = {"hits": 1, "misses": 1, "a": 1}
            for _ in range(100):  # by a background retry, without a flush
                if await postgres_counts(own_postgres_url) == written:
                    break
                await asyncio.sleep(0.1)
            assert await postgres_counts(own_postgres_url) == written
            assert (store.tally.pending.hits, store.tally.pending.misses) == (0, 0)
        assert await postgres_counts(own_postgres_url) == written  # closing wrote nothing more

    asyncio.run(main())
