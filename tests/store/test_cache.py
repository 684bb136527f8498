"""The database cache on both databases: put, get, expiry, counters, clear, stats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from bifrost.cache import Cached, CacheStats
from bifrost.cache.database import cache_clear, cache_get, cache_put, cache_stats
from bifrost.store import Store, delete_analysis, save_analysis
from bifrost.store.models import CacheEntry

from .helpers import report, with_store

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
KEY = "a" * 64
OTHER = "b" * 64


def test_put_get_hits_and_misses(store_url: str) -> None:
    trainer = report("trainer")

    async def body(store: Store) -> None:
        assert await cache_get(store, KEY, T0) is None
        analysis_id = await save_analysis(store, trainer)
        await cache_put(store, KEY, trainer, analysis_id, ttl_s=3600, now=T0)
        hit = Cached(trainer, analysis_id)  # the Report and the analysis it came from
        assert await cache_get(store, KEY, T0 + timedelta(minutes=59)) == hit
        assert await cache_get(store, KEY, T0 + timedelta(minutes=30)) == hit
        assert await cache_get(store, OTHER, T0) is None
        stats = await cache_stats(store, T0)
        assert stats == CacheStats(entries=1, hits=2, misses=2, oldest=T0, newest=T0)
        await store.tally.flush()  # counted in memory until now
        assert await cache_stats(store, T0) == stats  # written, and not counted twice
        async with store.read() as connection:
            hits = await connection.scalar(select(CacheEntry.hits).where(CacheEntry.key == KEY))
        assert hits == 2

    with_store(store_url, body)


def test_expired_entries_are_misses_and_are_purged(store_url: str) -> None:
    crash = report("crash")

    async def body(store: Store) -> None:
        await cache_put(store, KEY, crash, None, ttl_s=60, now=T0)
        assert await cache_get(store, KEY, T0 + timedelta(seconds=60)) is None
        assert (await cache_stats(store, T0 + timedelta(seconds=60))).entries == 0
        assert (await cache_stats(store, T0)).entries == 1  # still stored until the next put
        await cache_put(store, OTHER, crash, None, ttl_s=60, now=T0 + timedelta(minutes=5))
        assert (await cache_stats(store, T0)).entries == 1  # KEY purged, OTHER live
        assert await cache_get(store, OTHER, T0 + timedelta(minutes=5)) == Cached(crash, None)

    with_store(store_url, body)


def test_put_replaces_and_zero_ttl_caches_nothing(store_url: str) -> None:
    async def body(store: Store) -> None:
        await cache_put(store, KEY, report("crash"), None, ttl_s=60, now=T0)
        await cache_put(store, KEY, report("maven"), None, ttl_s=60, now=T0 + timedelta(seconds=1))
        latest = await cache_get(store, KEY, T0 + timedelta(seconds=2))
        assert latest == Cached(report("maven"), None)
        await cache_put(store, OTHER, report("crash"), None, ttl_s=0, now=T0)
        assert await cache_get(store, OTHER, T0) is None
        stats = await cache_stats(store, T0 + timedelta(seconds=2))
        replaced_at = T0 + timedelta(seconds=1)
        assert (stats.entries, stats.oldest, stats.newest) == (1, replaced_at, replaced_at)

    with_store(store_url, body)


def test_an_unreadable_entry_is_a_miss_and_is_dropped(store_url: str) -> None:
    async def body(store: Store) -> None:
        await cache_put(store, KEY, report("crash"), None, ttl_s=60, now=T0)
        async with store.write() as connection:
            await connection.execute(update(CacheEntry).values(report='{"schema": 2}'))
        assert await cache_get(store, KEY, T0) is None
        stats = await cache_stats(store, T0)
        assert (stats.entries, stats.hits, stats.misses) == (0, 0, 1)

    with_store(store_url, body)


def test_clear_removes_entries_and_resets_counters(store_url: str) -> None:
    async def body(store: Store) -> None:
        for i, key in enumerate((KEY, OTHER)):
            await cache_put(
                store, key, report("crash"), None, ttl_s=60, now=T0 + timedelta(seconds=i)
            )
        await cache_get(store, KEY, T0)
        await cache_get(store, "c" * 64, T0)
        assert await cache_stats(store, T0) == CacheStats(2, 1, 1, T0, T0 + timedelta(seconds=1))
        assert await cache_clear(store) == 2
        assert await cache_stats(store, T0) == CacheStats(0, 0, 0, None, None)
        assert await cache_clear(store) == 0

    with_store(store_url, body)


def test_deleting_the_analysis_removes_its_cache_entry(store_url: str) -> None:
    async def body(store: Store) -> None:
        analysis_id = await save_analysis(store, report("crash"))
        await cache_put(store, KEY, report("crash"), analysis_id, ttl_s=60, now=T0)
        await delete_analysis(store, analysis_id)
        assert await cache_get(store, KEY, T0) is None

    with_store(store_url, body)
