"""The database cache backend: Reports in the history database under their cache key, with a
TTL and hit counters; nothing more to run.

A lookup is one read (on SQLite it never waits for a writer, nor makes one wait): its hit or
miss is counted in memory and written now and then (`store/tally.py`). Expired entries are
ignored on read and removed on the next write.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Insert, Row, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from bifrost.cache.base import Cached, CacheStats, entry_row, parse_report
from bifrost.report import Report
from bifrost.store.database import Store
from bifrost.store.models import CacheCounter, CacheEntry
from bifrost.store.records import utcnow


async def cache_get(store: Store, key: str, now: datetime | None = None) -> Cached | None:
    """The cached Report for the key if it has not expired; counts a hit or a miss."""
    now = now or utcnow()
    found = select(CacheEntry.report, CacheEntry.analysis_id).where(
        CacheEntry.key == key, CacheEntry.expires_at > now
    )

    async def body(connection: AsyncConnection) -> Row[str, int | None] | None:
        return (await connection.execute(found)).first()

    row = await store.transact(body, write=False)
    report = parse_report(row.report) if row is not None else None
    if row is None or report is None:
        store.tally.miss()
        if row is not None:  # written by an incompatible version: drop it
            await _drop(store, key)
        return None
    store.tally.hit(key)
    return Cached(report, row.analysis_id)


async def cache_put(
    store: Store,
    key: str,
    report: Report,
    analysis_id: int | None,
    ttl_s: int,
    now: datetime | None = None,
) -> None:
    """Cache the Report for `ttl_s` seconds (replacing any entry); a TTL of 0 caches nothing."""
    if ttl_s <= 0:
        return
    now = now or utcnow()
    upsert = _upsert(store.dialect, entry_row(key, report, analysis_id, ttl_s, now))

    async def body(connection: AsyncConnection) -> None:
        await connection.execute(delete(CacheEntry).where(CacheEntry.expires_at <= now))
        await connection.execute(upsert)

    await store.transact(body)


async def cache_clear(store: Store) -> int:
    """Remove every entry and reset the hit and miss counters (this process's not yet written
    too); returns how many were removed."""
    async with store.write() as connection:
        removed = (await connection.execute(delete(CacheEntry))).rowcount
        await connection.execute(update(CacheCounter).values(value=0))
    store.tally.forget()
    return removed


async def cache_stats(store: Store, now: datetime | None = None) -> CacheStats:
    """Live entries (not expired), the oldest and newest of them, and lifetime hits and misses:
    those written by every process, and this process's not written yet."""
    now = now or utcnow()
    live = select(
        func.count(), func.min(CacheEntry.created_at), func.max(CacheEntry.created_at)
    ).where(CacheEntry.expires_at > now)
    async with store.read() as connection:
        entries, oldest, newest = (await connection.execute(live)).one()
        counters = dict(
            (await connection.execute(select(CacheCounter.name, CacheCounter.value))).all()
        )
    pending = store.tally.pending
    return CacheStats(
        entries=entries,
        hits=counters.get("hits", 0) + pending.hits,
        misses=counters.get("misses", 0) + pending.misses,
        oldest=oldest,
        newest=newest,
    )


async def _drop(store: Store, key: str) -> None:
    async with store.write() as connection:
        await connection.execute(delete(CacheEntry).where(CacheEntry.key == key))


def _upsert(dialect: str, values: dict[str, object]) -> Insert:
    """INSERT … ON CONFLICT (key) DO UPDATE, in the database's own dialect."""
    replace = [name for name in values if name != "key"]
    if dialect == "postgresql":
        pg = postgresql.insert(CacheEntry).values(values)
        return pg.on_conflict_do_update(
            index_elements=[CacheEntry.key], set_={n: pg.excluded[n] for n in replace}
        )
    lite = sqlite.insert(CacheEntry).values(values)
    return lite.on_conflict_do_update(
        index_elements=[CacheEntry.key], set_={n: lite.excluded[n] for n in replace}
    )


class DatabaseCache:
    """The cache in the history database: nothing more to run."""

    def __init__(self, store: Store, ttl_s: int) -> None:
        self._store = store
        self._ttl_s = ttl_s

    async def get(self, key: str) -> Cached | None:
        return await cache_get(self._store, key)

    async def put(self, key: str, report: Report, analysis_id: int | None) -> None:
        await cache_put(self._store, key, report, analysis_id, self._ttl_s)

    async def discard(self, key: str) -> None:
        del key  # the entry goes with its analysis (ON DELETE CASCADE)

    async def clear(self) -> int:
        return await cache_clear(self._store)

    async def stats(self) -> CacheStats:
        return await cache_stats(self._store)
