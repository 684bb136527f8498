"""What a server process holds for its lifetime: the database, the cache, the rate limiter, the
engine's process pool and the analysis slots. Built at start-up, closed at shutdown."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field

from bifrost.analysis import Cache, Engine, in_thread, open_cache
from bifrost.analysis.notify import Notifier
from bifrost.analysis.pool import EnginePool
from bifrost.analysis.tenants import TenantRecord
from bifrost.api import metrics
from bifrost.api.errors import ApiError
from bifrost.api.logs import log
from bifrost.api.queue import Queue
from bifrost.api.ratelimit import Limiter, MemoryLimiter, make_limiter
from bifrost.config import Settings
from bifrost.errors import ServiceError
from bifrost.store import Store, database_url, open_store
from bifrost.store.database import create_engine, safe_url
from bifrost.times import Rate


class Slots:
    """At most `size` engine runs at once in this process; a request that cannot get a slot
    within `timeout_s` is answered 503 with Retry-After instead of piling up."""

    def __init__(self, size: int, timeout_s: float) -> None:
        self._semaphore = asyncio.Semaphore(size)
        self._timeout_s = timeout_s

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        metrics.ANALYSES_WAITING.inc()
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._semaphore.acquire()
        except TimeoutError:
            metrics.ANALYSES_REJECTED.inc()
            raise ApiError.said(
                503,
                "busy",
                "api.busy",
                headers={"Retry-After": str(max(1, round(self._timeout_s)))},
            ) from None
        finally:
            metrics.ANALYSES_WAITING.dec()
        metrics.ANALYSES_RUNNING.inc()
        try:
            yield
        finally:
            metrics.ANALYSES_RUNNING.dec()
            self._semaphore.release()


@dataclass
class Services:
    settings: Settings
    auth: bool
    store: Store
    cache: Cache
    limiter: Limiter
    default_rate: Rate
    engine: Engine
    slots: Slots
    notifier: Notifier
    pool: EnginePool | None = None
    queue: Queue | None = None
    fallback_limiter: MemoryLimiter = field(default_factory=MemoryLimiter)
    tenants: dict[int, tuple[float, TenantRecord]] = field(default_factory=dict)
    """Each tenant's name and limits, with when they were read (`auth.py`)."""

    async def close(self) -> None:
        await self.notifier.aclose(timeout_s=10)
        if self.queue is not None:
            with suppress(Exception):
                await self.queue.close()
        if self.pool is not None:
            await asyncio.to_thread(self.pool.close)
        with suppress(Exception):
            await self.limiter.aclose()
        closer = getattr(self.cache, "aclose", None)
        if closer is not None:
            with suppress(Exception):
                await closer()
        await self.store.close()


async def start_services(settings: Settings, *, auth: bool) -> Services:
    """Everything a server process needs; a database that is down now is reported by /readyz
    and retried on every request, it does not stop the server from starting."""
    default_rate = Rate.parse(settings.rate_limit)
    try:
        store = await open_store(settings)
    except ServiceError as exc:
        log.warning("database not ready", problem=exc.message)
        store = Store(create_engine(database_url(settings)))
    pool = EnginePool(settings.engine_processes) if settings.engine_processes else None
    log.info(
        "ready to serve",
        database=safe_url(store.engine.url),
        auth=auth,
        engine_processes=settings.engine_processes,
        max_analyses=settings.max_analyses,
        pid=os.getpid(),
    )
    return Services(
        settings=settings,
        auth=auth,
        store=store,
        cache=open_cache(settings, store),
        limiter=make_limiter(settings.redis_url),
        default_rate=default_rate,
        engine=pool or in_thread,
        slots=Slots(settings.max_analyses, settings.queue_timeout_s),
        notifier=Notifier(settings, store),
        pool=pool,
        queue=Queue(settings) if settings.queue_url else None,
    )
