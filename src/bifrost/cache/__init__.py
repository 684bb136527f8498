"""The analysis cache: the same input with the same settings is answered from memory.

The key (`cache_key`) covers everything that changes the answer, so a cached answer is never
stale in any way but age. Two backends behind one protocol (`base.Cache`): the history
database (`database.py`, the default, nothing to run) and Redis (`redis.py`,
`BIFROST_REDIS_URL`, shared by service replicas).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bifrost.cache.base import Cache, Cached, CacheStats, Lookup, cache_key
from bifrost.config import Settings

if TYPE_CHECKING:
    from bifrost.store import Store

__all__ = ["Cache", "CacheStats", "Cached", "Lookup", "cache_key", "make_cache"]


def make_cache(settings: Settings, store: Store) -> Cache:
    """Redis when `BIFROST_REDIS_URL` is set (shared by replicas), else the database."""
    # Each backend loads only when chosen: Redis is an optional extra, and the database
    # backend brings SQLAlchemy, which a run without a history does not need.
    if settings.redis_url:
        from bifrost.cache.redis import RedisCache  # noqa: PLC0415

        return RedisCache(settings.redis_url, settings.cache_ttl_s)
    from bifrost.cache.database import DatabaseCache  # noqa: PLC0415

    return DatabaseCache(store, settings.cache_ttl_s)
