"""Cache hits and misses, counted in memory and added to the database now and then.

Counting each lookup in its own write transaction made every cache hit take SQLite's write
lock (`BEGIN IMMEDIATE`): cached answers queued one behind another, so throughput stayed flat
whatever the concurrency. Now a lookup only reads. Its count waits here, and a background task
adds every count since the last one in one write transaction at most `FLUSH_EVERY_S` later; the
rest is written when the store closes. Each process adds its own counts, so the totals stay
exact across processes; another process sees them up to `FLUSH_EVERY_S` late, and counts not
yet written when a process dies are lost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from sqlalchemy import bindparam, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bifrost.errors import ServiceError
from bifrost.store.models import CacheCounter, CacheEntry
from bifrost.store.records import Counts

FLUSH_EVERY_S = 2.0

Writer = Callable[[], AbstractAsyncContextManager[AsyncConnection]]
"""Opens a write transaction (`Store.write`)."""


class HitTally:
    """The counts of one store's cache lookups, written by `writer` within `FLUSH_EVERY_S`."""

    def __init__(self, writer: Writer) -> None:
        self._writer = writer
        self.pending = Counts()
        self._timer: asyncio.TimerHandle | None = None
        self._writes: set[asyncio.Task[None]] = set()

    def hit(self, key: str) -> None:
        self.pending.hits += 1
        self.pending.entry_hits[key] += 1
        self._schedule()

    def miss(self) -> None:
        self.pending.misses += 1
        self._schedule()

    def forget(self) -> None:
        """Drop the counts not yet written (the counters were just reset)."""
        self.pending = Counts()

    async def flush(self) -> None:
        """Write every count now: the writes under way, then what is left (the store closes)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        await asyncio.gather(*self._writes)
        await self._write()

    def _schedule(self) -> None:
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(FLUSH_EVERY_S, self._start)

    def _start(self) -> None:
        self._timer = None
        task = asyncio.get_running_loop().create_task(self._write_later())
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _write_later(self) -> None:
        """In the background: a database that is away now gets the counts on a later try."""
        try:
            await self._write()
        except ServiceError:
            self._schedule()

    async def _write(self) -> None:
        counts, self.pending = self.pending, Counts()
        if not (counts.hits or counts.misses):
            return
        try:
            async with self._writer() as connection:
                await _add(connection, counts)
        except BaseException:
            self.pending.add(counts)  # kept for the next write
            raise


async def _add(connection: AsyncConnection, counts: Counts) -> None:
    """Add to each entry's hits, then to the counters: rows in one order (the order of
    `cache_clear` too), so that two processes writing at once on PostgreSQL wait for each
    other instead of deadlocking."""
    if counts.entry_hits:
        bump = (
            update(CacheEntry)
            .where(CacheEntry.key == bindparam("entry_key"))
            .values(hits=CacheEntry.hits + bindparam("entry_hits"))
        )
        rows = [{"entry_key": k, "entry_hits": n} for k, n in sorted(counts.entry_hits.items())]
        await connection.execute(bump, rows)
    for name, value in (("hits", counts.hits), ("misses", counts.misses)):
        if value:
            await connection.execute(
                update(CacheCounter)
                .where(CacheCounter.name == name)
                .values(value=CacheCounter.value + value)
            )
