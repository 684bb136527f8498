"""The message brokers requests and results travel on, one file each behind
`base.Transport` (used by `bifrost worker`, `bifrost serve --queue` and `bifrost jobs`):

- `redis_streams.py`: Redis Streams (`redis://`, `rediss://`, `unix://`), the default.
- `kafka.py`: Kafka (`kafka://`; the `kafka` extra).
"""

from __future__ import annotations

import importlib.util

from bifrost.brokers.base import (
    GROUP,
    MAX_ATTEMPTS,
    Channels,
    DeadEntry,
    Handled,
    OnRequest,
    Transport,
    TryAgain,
)
from bifrost.errors import UsageError

__all__ = [
    "GROUP",
    "MAX_ATTEMPTS",
    "Channels",
    "DeadEntry",
    "Handled",
    "OnRequest",
    "Transport",
    "TryAgain",
    "open_transport",
]

SCHEMES = {"redis": "redis", "rediss": "redis", "unix": "redis", "kafka": "kafka"}


def open_transport(url: str, channels: Channels, *, reclaim_after_s: float = 60.0) -> Transport:
    """The transport of a broker URL (not connected yet: `start` connects)."""
    scheme = url.split("://", 1)[0] if "://" in url else ""
    kind = SCHEMES.get(scheme)
    if kind is None:
        raise UsageError.said("broker.unsupported", url=repr(url))
    if kind == "kafka":
        if importlib.util.find_spec("aiokafka") is None:
            raise UsageError.said("extra.kafka")
        from bifrost.brokers.kafka import Kafka  # noqa: PLC0415 — an extra

        return Kafka(url, channels)
    if importlib.util.find_spec("faststream") is None:
        raise UsageError.said("extra.worker")
    from bifrost.brokers.redis_streams import RedisStreams  # noqa: PLC0415

    return RedisStreams(url, channels, reclaim_after_s=reclaim_after_s)
