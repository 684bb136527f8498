"""A worker: requests from a broker's transport, answered by `consumer.handle`, counted.

The transport (`bifrost/brokers/`) delivers each request and publishes its answer; this module
adds the metrics and runs it all until told to stop.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from bifrost.brokers import Handled, Transport, TryAgain
from bifrost.worker import metrics
from bifrost.worker.consumer import Context, handle


@dataclass
class Worker:
    """`concurrency` requests at a time from `transport`, as `consumer` of the group."""

    transport: Transport
    context: Context
    consumer: str
    concurrency: int = 1

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set; the requests in hand are finished first."""
        self.transport.subscribe(self.on_request, self.consumer, self.concurrency)
        try:
            await self.transport.start()
            await stop.wait()
        finally:
            await self.transport.close()

    async def on_request(self, body: bytes, attempt: int, origin: str) -> Handled:
        started = time.perf_counter()
        metrics.IN_FLIGHT.inc()
        try:
            handled = await handle(body, attempt, self.context, origin)
        except TryAgain:
            metrics.RETRIES.inc()
            raise
        finally:
            metrics.IN_FLIGHT.dec()
        metrics.record(handled, time.perf_counter() - started)
        return handled
