"""One Redis connection for Bifrost's uses of it (the shared cache, the rate limits).

The `redis` client is the optional `redis` extra, imported only here; every failure becomes
one `ServiceError` line that names the URL with its password masked.

A Redis that cannot be reached (refused, or hung: no answer within the timeout) is left alone
for `REST_S` seconds: calls fail at once instead of each waiting out the timeout, so the server
goes on at full speed without it (its own rate-limit buckets, no shared cache) until the next
try. Without the rest, every request waited up to the timeout while Redis was away.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

from bifrost.errors import ConfigError, ServiceError
from bifrost.store.database import safe_url

REST_S = 5.0
"""How long an unreachable Redis is left alone before it is tried again."""


class RedisConnection:
    """A pooled client for `url`; `purpose` says in errors what Redis was needed for."""

    def __init__(
        self,
        url: str,
        *,
        purpose: str,
        connect_timeout_s: float = 3,
        timeout_s: float = 5,
        retry_refused: bool = True,
        rest_s: float = REST_S,
    ) -> None:
        try:
            import redis.asyncio as redis  # noqa: PLC0415 — optional: the `redis` extra
            import redis.exceptions as redis_errors  # noqa: PLC0415
            from redis.asyncio.retry import Retry  # noqa: PLC0415
            from redis.backoff import NoBackoff  # noqa: PLC0415
        except ImportError:
            raise ServiceError.said("extra.redis") from None
        retries = 1 if retry_refused else 0
        try:
            self.client: Any = redis.Redis.from_url(
                url,
                socket_connect_timeout=connect_timeout_s,
                socket_timeout=timeout_s,
                retry=Retry(NoBackoff(), retries, (redis_errors.ConnectionError,)),
            )
        except ValueError as exc:
            raise ConfigError.said("redis.bad_url", url=safe_url(url), problem=exc) from None
        self._unreachable = (OSError, redis_errors.ConnectionError, redis_errors.TimeoutError)
        self._failed = redis_errors.RedisError
        self._url = url
        self._purpose = purpose
        self._rest_s = rest_s
        self._resting_until = 0.0

    async def call(self, method: str, *args: object, **kwargs: object) -> Any:
        with self.errors():
            return await getattr(self.client, method)(*args, **kwargs)

    @contextlib.contextmanager
    def errors(self) -> Iterator[None]:
        """Redis failures as one ServiceError line, the password masked; at once, without
        calling Redis, while an unreachable Redis rests."""
        resting = self._resting_until - time.monotonic()
        if resting > 0:
            raise ServiceError.said(
                "redis.resting",
                url=safe_url(self._url),
                purpose=self._purpose,
                seconds=f"{resting:.0f}",
            )
        try:
            yield
        except self._unreachable as exc:
            self._resting_until = time.monotonic() + self._rest_s
            raise ServiceError.said(
                "redis.unreachable", url=safe_url(self._url), purpose=self._purpose, problem=exc
            ) from None
        except self._failed as exc:
            raise ServiceError.said(
                "redis.failed", url=safe_url(self._url), purpose=self._purpose, problem=exc
            ) from None

    async def aclose(self) -> None:
        await self.client.aclose()
