"""The Redis cache backend: one cache shared by every replica of the service."""

from __future__ import annotations

from typing import Any

from bifrost.cache.base import Cached, CacheStats
from bifrost.report import Report
from bifrost.store.redis import RedisConnection

_PREFIX = "bifrost:cache:"
_HITS = "bifrost:cache-counter:hits"
_MISSES = "bifrost:cache-counter:misses"
# KEYS: the entry, the hits counter, the misses counter. The entry (or nil), counted as a hit
# or a miss: one round trip per lookup, where a GET and then an INCR took two.
_GET_COUNTED = """
local value = redis.call('GET', KEYS[1])
redis.call('INCR', value and KEYS[2] or KEYS[3])
return value
"""


class RedisCache:
    """Reports stored as JSON under `bifrost:cache:<key>`, expiring after the TTL."""

    def __init__(self, url: str, ttl_s: int) -> None:
        self._redis = RedisConnection(url, purpose="the cache")
        self._get_counted: Any = self._redis.client.register_script(_GET_COUNTED)
        self._ttl_s = ttl_s

    async def get(self, key: str) -> Cached | None:
        with self._redis.errors():
            data = await self._get_counted(keys=[_PREFIX + key, _HITS, _MISSES])
        if data is None:
            return None
        stored_id, newline, report = bytes(data).partition(b"\n")
        if not newline:  # written before entries named their analysis
            return Cached(Report.model_validate_json(stored_id), None)
        return Cached(Report.model_validate_json(report), int(stored_id) if stored_id else None)

    async def discard(self, key: str) -> None:
        await self._call("delete", _PREFIX + key)

    async def put(self, key: str, report: Report, analysis_id: int | None) -> None:
        """Stored as `<analysis id>\n<Report JSON>`: the id of the analysis in the history."""
        if self._ttl_s > 0:
            value = f"{analysis_id or ''}\n{report.to_json(indent=None)}"
            await self._call("set", _PREFIX + key, value, ex=self._ttl_s)

    async def clear(self) -> int:
        names = await self._keys()
        removed = await self._call("delete", *names) if names else 0
        await self._call("delete", _HITS, _MISSES)
        return int(removed)

    async def stats(self) -> CacheStats:
        entries = len(await self._keys())
        hits, misses = await self._call("mget", _HITS, _MISSES)
        return CacheStats(entries=entries, hits=int(hits or 0), misses=int(misses or 0))

    async def _keys(self) -> list[bytes]:
        with self._redis.errors():
            client = self._redis.client
            return [name async for name in client.scan_iter(match=_PREFIX + "*", count=500)]

    async def aclose(self) -> None:
        await self._redis.aclose()

    async def _call(self, method: str, *args: object, **kwargs: object) -> Any:
        return await self._redis.call(method, *args, **kwargs)
