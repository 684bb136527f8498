"""The cache in the embedded history, through the standard library's sqlite3.

What `DatabaseCache` does on an SQLite file, for the one process of a CLI run: a lookup reads,
and its hit or miss is written when the cache closes (`store/embedded.py` says why this path
exists).
"""

from __future__ import annotations

from contextlib import suppress

from bifrost.cache.base import Cached, entry_row, parse_report
from bifrost.errors import ServiceError
from bifrost.report import Report
from bifrost.store.embedded import EmbeddedStore
from bifrost.store.records import Counts, utcnow


class EmbeddedCache:
    """A `Lookup` on the embedded history; `close()` writes the lookups it counted."""

    def __init__(self, store: EmbeddedStore, ttl_s: int) -> None:
        self._store = store
        self._ttl_s = ttl_s
        self._counts = Counts()

    async def get(self, key: str) -> Cached | None:
        found = self._store.cache_entry(key)
        report = parse_report(found[0]) if found is not None else None
        if found is None or report is None:
            self._counts.misses += 1
            if found is not None:  # written by an incompatible version: drop it
                self._store.drop_cache_entry(key)
            return None
        self._counts.hits += 1
        self._counts.entry_hits[key] += 1
        return Cached(report, found[1])

    async def put(self, key: str, report: Report, analysis_id: int | None) -> None:
        """Cache the Report for the TTL (replacing any entry); a TTL of 0 caches nothing."""
        if self._ttl_s <= 0:
            return
        now = utcnow()
        self._store.put_cache_entry(entry_row(key, report, analysis_id, self._ttl_s, now), now)

    def close(self) -> None:
        """Write the lookups counted (a database that fails now loses only these counts)."""
        counts, self._counts = self._counts, Counts()
        if counts.hits or counts.misses:
            with suppress(ServiceError):
                self._store.add_counts(counts)
