"""Per-key rate limits: a token bucket, in Redis when replicas share it, in process otherwise.

Each key (an API key, or a client address) owns a bucket of `rate.limit` tokens refilled evenly
over `rate.period_s`; a request takes one token and is refused when less than one is left.
A token bucket allows short bursts up to the limit yet holds the long-run rate, and its whole
state is two numbers per key, so it fits a dict entry or a small Redis hash.

`MemoryLimiter` counts per server process: right for one process, wrong for replicas (each would
allow the full rate). `RedisLimiter` keeps the buckets in Redis so every replica and worker
process draws from the same bucket. `make_limiter` picks one from the configuration.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from bifrost.errors import UsageError
from bifrost.store.redis import RedisConnection
from bifrost.times import Rate


@dataclass(frozen=True)
class Decision:
    """The answer for one request, with what the client needs to pace itself."""

    allowed: bool
    limit: int  # bucket size (rate.limit)
    remaining: int  # whole tokens left after this request (>= 0)
    reset_s: float  # seconds until the bucket is full again
    retry_after_s: float  # 0.0 when allowed; else seconds until one token is available

    def headers(self) -> dict[str, str]:
        """IETF RateLimit header fields, plus Retry-After when refused.

        Seconds are whole and rounded up: a client that waits the advertised time must find
        its token there, never one second short of it.
        """
        fields = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(_whole_seconds(self.reset_s)),
        }
        if not self.allowed:
            fields["Retry-After"] = str(max(1, _whole_seconds(self.retry_after_s)))
        return fields


def _whole_seconds(seconds: float) -> int:
    # Rounded to the microsecond first, so float noise (20.000000000000004) does not add a second.
    return max(0, math.ceil(round(seconds, 6)))


def _check(rate: Rate) -> None:
    # `Rate.parse` refuses these, but a Rate built by hand would divide by zero below.
    if rate.limit < 1 or rate.period_s <= 0:
        raise UsageError.said("usage.bad_rate_object", rate=repr(rate))


def _decision(rate: Rate, tokens: float, *, allowed: bool) -> Decision:
    """The Decision for a bucket holding `tokens` after this request (taken or not)."""
    # `* period / limit` rather than `/ (limit / period)`: exact for whole numbers of tokens.
    return Decision(
        allowed=allowed,
        limit=rate.limit,
        remaining=max(0, math.floor(tokens)),
        reset_s=max(0.0, (rate.limit - tokens) * rate.period_s / rate.limit),
        retry_after_s=0.0 if allowed else max(0.0, (1 - tokens) * rate.period_s / rate.limit),
    )


class Limiter(Protocol):
    """What the API needs from a rate limiter, whichever keeps the buckets."""

    async def hit(self, key: str, rate: Rate) -> Decision:
        """Take one token from `key`'s bucket, if there is one."""
        ...

    async def aclose(self) -> None:
        """Release connections; the limiter is not used afterwards."""
        ...


@dataclass(slots=True)
class _Bucket:
    tokens: float  # tokens held at `updated`
    updated: float  # clock reading of the last take
    full_at: float  # clock reading when the refill makes it full, and so forgettable


class MemoryLimiter:
    """Token buckets in a dict, for one server process.

    `hit` never awaits, so under asyncio the read-refill-take of a bucket cannot interleave
    with another request's. A bucket that has refilled is the same as no bucket, so memory is
    bounded by forgetting: at `max_keys` buckets, the full ones go first, then the least
    recently used (which only makes the limit lenient for keys idle the longest).
    """

    def __init__(
        self, *, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if max_keys < 1:
            raise ValueError(f"max_keys must be at least 1, not {max_keys}")
        self._max_keys = max_keys
        # Evict down to 90% of the cap, so the O(n) sweep runs once per many new keys.
        self._low_water = max_keys - max(1, max_keys // 10)
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()  # least recently used first

    def __len__(self) -> int:
        """Buckets held now (for tests and metrics)."""
        return len(self._buckets)

    async def hit(self, key: str, rate: Rate) -> Decision:
        return self.take(key, rate)

    def take(self, key: str, rate: Rate) -> Decision:
        """`hit` without the coroutine: the whole check-and-take, with no await inside."""
        _check(rate)
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            tokens = float(rate.limit)
        else:
            refill = max(0.0, now - bucket.updated) * rate.limit / rate.period_s
            tokens = min(float(rate.limit), bucket.tokens + refill)
            self._buckets.move_to_end(key)
        if tokens < 1:
            return _decision(rate, tokens, allowed=False)  # refused: the bucket is unchanged
        tokens -= 1
        full_at = now + (rate.limit - tokens) * rate.period_s / rate.limit
        if bucket is None:
            self._make_room(now)
            self._buckets[key] = _Bucket(tokens, now, full_at)
        else:
            bucket.tokens, bucket.updated, bucket.full_at = tokens, now, full_at
        return _decision(rate, tokens, allowed=True)

    def _make_room(self, now: float) -> None:
        """Keep at most `max_keys` buckets: drop the full ones, then the oldest."""
        if len(self._buckets) < self._max_keys:
            return
        for key in [key for key, bucket in self._buckets.items() if bucket.full_at <= now]:
            del self._buckets[key]
        while len(self._buckets) > self._low_water:
            self._buckets.popitem(last=False)

    async def aclose(self) -> None:
        self._buckets.clear()


# KEYS[1]: the bucket hash; ARGV[1]: limit; ARGV[2]: period in seconds.
# Returns {1 if taken else 0, tokens left as a string} (Lua numbers reply as integers).
# One script, so the read-refill-take is atomic across every client; Redis' own clock, so the
# clocks of the replicas do not matter. A refusal writes nothing. The hash expires after one
# period, by when it would be full again, which is what a missing hash means.
_TAKE = """
redis.replicate_commands()
local limit = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) + tonumber(time[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = limit
else
  tokens = math.min(limit, tokens + math.max(0, now - ts) * limit / period)
end
if tokens < 1 then
  return {0, string.format('%.17g', tokens)}
end
tokens = tokens - 1
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens),
           'ts', string.format('%.6f', now))
redis.call('EXPIRE', KEYS[1], period)
return {1, string.format('%.17g', tokens)}
"""


class RedisLimiter:
    """Token buckets in Redis hashes under `prefix + key`, shared by every process using it.

    Timeouts are short and a timed-out call is not retried (it may have taken a token): a
    dead Redis fails the request within about two seconds instead of hanging it. A refused
    connection is retried once at once, which covers a pooled connection Redis has dropped.
    """

    def __init__(self, url: str, prefix: str = "bifrost:rate:") -> None:
        self._redis = RedisConnection(
            url, purpose="rate limits", connect_timeout_s=1, timeout_s=2, retry_refused=True
        )
        self._script: Any = self._redis.client.register_script(_TAKE)
        self._prefix = prefix

    async def hit(self, key: str, rate: Rate) -> Decision:
        _check(rate)
        with self._redis.errors():
            taken, tokens = await self._script(
                keys=[self._prefix + key], args=[rate.limit, rate.period_s]
            )
        return _decision(rate, float(tokens), allowed=bool(taken))

    async def aclose(self) -> None:
        await self._redis.aclose()


def make_limiter(redis_url: str | None) -> Limiter:
    """Redis when a URL is given (replicas share the limits), else this process's memory."""
    return RedisLimiter(redis_url) if redis_url else MemoryLimiter()
