"""Looking after the history database and the cache: migrations and cache statistics."""

from __future__ import annotations

from bifrost.cache import CacheStats, make_cache
from bifrost.config import Settings
from bifrost.store import current, database_url, open_store, upgrade


async def upgrade_database(settings: Settings) -> str:
    """Apply every pending migration; the schema revision now current."""
    return await upgrade(database_url(settings))


async def database_revision(settings: Settings) -> str | None:
    """The schema revision of the database; None when it is empty."""
    return await current(database_url(settings))


async def cache_stats(settings: Settings) -> CacheStats:
    """Entries, hits and misses of the cache in use (Redis, or the database)."""
    async with await open_store(settings) as store:
        return await make_cache(settings, store).stats()


async def clear_cache(settings: Settings) -> int:
    """Forget every cached answer (the history stays); how many there were."""
    async with await open_store(settings) as store:
        return await make_cache(settings, store).clear()
