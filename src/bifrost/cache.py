"""The analysis cache: the same input with the same settings is answered from memory.

The key covers everything that changes the answer — the input's content hash, the engine
version, the LLM provider, model and prompt version, and the options that shape the Report —
so a cached answer is never stale in any way but age. Two backends: the database (the
default, nothing to run) and Redis (`BIFROST_REDIS_URL`, shared by service replicas).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from bifrost import __version__
from bifrost.config import Settings
from bifrost.engine.signatures import knowledge_version
from bifrost.report import Report

if TYPE_CHECKING:
    from bifrost.store import Store


@dataclass(frozen=True)
class CacheStats:
    entries: int
    hits: int
    misses: int
    oldest: datetime | None = None
    newest: datetime | None = None


@dataclass(frozen=True)
class Cached:
    """A cached Report and the stored analysis it came from (None: it was not stored)."""

    report: Report
    analysis_id: int | None


class Cache(Protocol):
    """Where cached Reports live."""

    async def get(self, key: str) -> Cached | None: ...

    async def put(self, key: str, report: Report, analysis_id: int | None) -> None: ...
    async def discard(self, key: str) -> None:
        """Forget the entry (its analysis was deleted)."""

    async def clear(self) -> int: ...

    async def stats(self) -> CacheStats: ...


def cache_key(
    content_hash: str,
    settings: Settings,
    *,
    provider: str | None = None,
    model: str | None = None,
    prompt_version: str | None = None,
) -> str:
    """SHA-256 over the content hash and every setting that changes the answer."""
    parts = {
        "content": content_hash,
        "engine": __version__,
        "knowledge": knowledge_version(),
        "provider": provider,
        "model": model,
        "prompt": prompt_version,
        "top": settings.top,
        "context_lines": settings.context_lines,
        "max_line_bytes": settings.max_line_bytes,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


class DatabaseCache:
    """The cache in the history database: nothing more to run."""

    def __init__(self, store: Store, ttl_s: int) -> None:
        self._store = store
        self._ttl_s = ttl_s

    async def get(self, key: str) -> Cached | None:
        from bifrost.store import cache_get  # noqa: PLC0415 — the store loads only when used

        return await cache_get(self._store, key)

    async def put(self, key: str, report: Report, analysis_id: int | None) -> None:
        from bifrost.store import cache_put  # noqa: PLC0415

        await cache_put(self._store, key, report, analysis_id, self._ttl_s)

    async def discard(self, key: str) -> None:
        del key  # the entry goes with its analysis (ON DELETE CASCADE)

    async def clear(self) -> int:
        from bifrost.store import cache_clear  # noqa: PLC0415

        return await cache_clear(self._store)

    async def stats(self) -> CacheStats:
        from bifrost.store import cache_stats  # noqa: PLC0415

        return await cache_stats(self._store)


def make_cache(settings: Settings, store: Store) -> Cache:
    """Redis when `BIFROST_REDIS_URL` is set (shared by replicas), else the database."""
    if settings.redis_url:
        from bifrost.redis_cache import RedisCache  # noqa: PLC0415 — the optional `redis` extra

        return RedisCache(settings.redis_url, settings.cache_ttl_s)
    return DatabaseCache(store, settings.cache_ttl_s)
