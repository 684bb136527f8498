"""The Redis cache backend against the real Redis on 127.0.0.1:6379 (database 15).

In CI (`CI=true`) a Redis that cannot be reached fails these tests; elsewhere they skip.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from bifrost.analysis import analyze
from bifrost.cache import Cached
from bifrost.cache.redis import RedisCache
from bifrost.config import load_settings
from bifrost.errors import ServiceError
from tests.conftest import DATA, Run


def test_put_get_stats_and_clear(redis_url: str) -> None:
    report = analyze([str(DATA / "logs" / "service-crash.log")], load_settings())

    async def scenario() -> tuple[object, ...]:
        cache = RedisCache(redis_url, ttl_s=60)
        try:
            missing = await cache.get("k" * 64)
            await cache.put("k" * 64, report, analysis_id=42)
            found = await cache.get("k" * 64)
            stats = await cache.stats()
            removed = await cache.clear()
            after = await cache.stats()
            return missing, found, stats, removed, after
        finally:
            await cache.aclose()

    missing, found, stats, removed, after = asyncio.run(scenario())
    assert missing is None
    assert found == Cached(report, 42)  # the Report and the analysis it came from
    assert (stats.entries, stats.hits, stats.misses) == (1, 1, 1)  # type: ignore[attr-defined]
    assert removed == 1
    assert (after.entries, after.hits, after.misses) == (0, 0, 0)  # type: ignore[attr-defined]


def test_entries_expire(redis_url: str) -> None:
    report = analyze([str(DATA / "logs" / "healthy.log")], load_settings())

    async def scenario() -> object:
        cache = RedisCache(redis_url, ttl_s=1)
        try:
            await cache.put("e" * 64, report, analysis_id=None)
            await asyncio.sleep(1.5)
            return await cache.get("e" * 64)
        finally:
            await cache.aclose()

    assert asyncio.run(scenario()) is None


def test_an_unreachable_redis_is_a_service_error() -> None:
    async def scenario() -> None:
        cache = RedisCache("redis://:hunter2@127.0.0.1:1/0", ttl_s=60)
        try:
            await cache.get("x" * 64)
        finally:
            await cache.aclose()

    with pytest.raises(ServiceError, match="cannot reach Redis") as caught:
        asyncio.run(scenario())
    assert "hunter2" not in caught.value.message


def test_the_command_uses_redis_when_configured(bifrost: Run, redis_url: str) -> None:
    env = {"BIFROST_REDIS_URL": redis_url}
    log = str(DATA / "logs" / "service-crash.log")
    first = json.loads(bifrost("analyze", log, "-f", "json", env=env).stdout)
    second = json.loads(bifrost("analyze", log, "-f", "json", env=env).stdout)
    assert first["findings"] == second["findings"]
    stats = bifrost("cache", "stats", env=env).stdout
    assert "entries: 1" in stats
    assert "hits: 1" in stats


def test_discard_forgets_an_entry_and_old_entries_still_read(redis_url: str) -> None:
    report = analyze([str(DATA / "logs" / "healthy.log")], load_settings())

    async def scenario() -> tuple[object, object]:
        cache = RedisCache(redis_url, ttl_s=60)
        try:
            await cache.put("d" * 64, report, analysis_id=7)
            await cache.discard("d" * 64)
            gone = await cache.get("d" * 64)
            # An entry written before entries named their analysis: the Report alone.
            await cache._redis.client.set("bifrost:cache:" + "o" * 64, report.to_json(indent=None))
            old = await cache.get("o" * 64)
            return gone, old
        finally:
            await cache.aclose()

    gone, old = asyncio.run(scenario())
    assert gone is None
    assert old == Cached(report, None)
