"""The worker process: a FastStream broker on Redis Streams, and running it until stopped.

Requests are read from one stream by a consumer group, so any number of workers share them.
Each worker has two subscribers on it: one reads new requests, the other claims requests that
another consumer took and did not acknowledge within `reclaim_after_s` (it died mid-job), so
nothing taken is lost. A request is acknowledged once its result or dead letter is written.
Results and dead letters are written as plain JSON in the `__data__` field, so any Redis
client reads them; a request is sent the same way (`XADD bifrost.requests * __data__ JSON`).
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from dataclasses import dataclass

from faststream import AckPolicy
from faststream.redis import RedisBroker, StreamSub
from faststream.redis.annotations import RedisStreamMessage
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from bifrost.messages import dump
from bifrost.worker.consumer import Context, handle

GROUP = "bifrost-workers"
DATA = "__data__"
KEEP_ENTRIES = 100_000
"""Results and dead letters kept per stream (older ones are trimmed, approximately)."""


@dataclass(frozen=True)
class Streams:
    """The three streams of the contract; `prefix` keeps deployments (and tests) apart."""

    requests: str = "bifrost.requests"
    results: str = "bifrost.results"
    dead_letters: str = "bifrost.dead-letters"

    @classmethod
    def prefixed(cls, prefix: str) -> Streams:
        return cls(*(f"{prefix}{name}" for name in (cls.requests, cls.results, cls.dead_letters)))


@dataclass(frozen=True)
class Worker:
    """A worker ready to run: its broker, the client results are written with, its streams."""

    broker: RedisBroker
    writer: Redis
    streams: Streams

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set; the request in hand is finished first."""
        try:
            await self._join()
            await self.broker.start()
            await stop.wait()
        finally:
            await self.broker.stop()
            with suppress(Exception):
                await self.writer.aclose()

    async def _join(self) -> None:
        """Create the consumer group from the stream's start, if it is new: requests sent
        before any worker ever ran are analysed too (a group made at `$` would skip them)."""
        try:
            await self.writer.xgroup_create(self.streams.requests, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise


def make_worker(
    url: str,
    consumer: str,
    context: Context,
    *,
    streams: Streams = Streams(),
    reclaim_after_s: float = 60.0,
) -> Worker:
    """A worker with its two subscribers on the request stream."""
    broker = RedisBroker(url)
    writer: Redis = Redis.from_url(url)

    async def on_request(message: RedisStreamMessage) -> None:
        entry = message.raw_message["message_ids"][0].decode()
        attempt = await message.get_delivery_count()
        handled = await handle(message.body, attempt, context, origin=entry)
        answer = handled.result or handled.dead
        stream = streams.results if handled.result else streams.dead_letters
        assert answer is not None
        await writer.xadd(stream, {DATA: dump(answer)}, maxlen=KEEP_ENTRIES, approximate=True)

    fresh = StreamSub(streams.requests, group=GROUP, consumer=consumer)
    claimed = StreamSub(
        streams.requests,
        group=GROUP,
        consumer=consumer,
        min_idle_time=int(reclaim_after_s * 1000),
    )
    for stream in (fresh, claimed):
        broker.subscriber(stream=stream, ack_policy=AckPolicy.NACK_ON_ERROR)(on_request)
    return Worker(broker, writer, streams)
