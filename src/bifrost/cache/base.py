"""What every cache backend is: the `Cache` protocol, its records, and the key.

The key covers everything that changes the answer — the input's content hash, the engine
version, the LLM provider, model and prompt version, and the options that shape the Report —
so a cached answer is never stale in any way but age.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from pydantic import ValidationError

from bifrost import __version__
from bifrost.config import Settings
from bifrost.engine.signatures import knowledge_version
from bifrost.report import Report


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


class Lookup(Protocol):
    """What an analysis needs of a cache: answer a key, and keep an answer."""

    async def get(self, key: str) -> Cached | None: ...

    async def put(self, key: str, report: Report, analysis_id: int | None) -> None: ...


class Cache(Lookup, Protocol):
    """Where cached Reports live."""

    async def discard(self, key: str) -> None:
        """Forget the entry (its analysis was deleted)."""

    async def clear(self) -> int: ...

    async def stats(self) -> CacheStats: ...


def cache_key(content_hash: str, settings: Settings, **llm: str | None) -> str:
    """SHA-256 over the content hash and every setting that changes the answer: `llm` is
    the LLM set-up's identity (`analysis.explain.llm_identity`: provider, model, prompt, and
    the reranker and experiment when they are on)."""
    parts: dict[str, object] = {
        "content": content_hash,
        "engine": __version__,
        "knowledge": knowledge_version(),
        "provider": llm.pop("provider", None),
        "model": llm.pop("model", None),
        "prompt": llm.pop("prompt_version", None),
        "top": settings.top,
        "context_lines": settings.context_lines,
        "max_line_bytes": settings.max_line_bytes,
    }
    parts |= {name: value for name, value in llm.items() if value is not None}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def entry_row(
    key: str, report: Report, analysis_id: int | None, ttl_s: int, now: datetime
) -> dict[str, object]:
    """The `cache_entries` row that keeps `report` for `ttl_s` seconds from `now`."""
    return {
        "key": key,
        "analysis_id": analysis_id,
        "report": report.to_json(indent=None),
        "created_at": now,
        "expires_at": now + timedelta(seconds=ttl_s),
        "hits": 0,
    }


def parse_report(text: str) -> Report | None:
    """A cached Report, or None when it was written by an incompatible version."""
    try:
        return Report.model_validate_json(text)
    except ValidationError:
        return None
