"""Redis Streams through FastStream: `redis://HOST:PORT/DB` (the default transport).

Requests are read from one stream by a consumer group, so any number of workers share them.
Each worker has two subscribers on it: one reads new requests, the other claims requests that
a consumer took and did not acknowledge within `reclaim_after_s` (it died mid-job, or a try
failed in a way a later one may not), so nothing taken is lost; the stream's delivery count
numbers the tries. A request the worker is still answering (a slow LLM) may be claimed back
by its own claiming subscriber: that copy is left alone, not answered twice. Messages are
plain JSON in an entry's `__data__` field, so any Redis client sends a request
(`XADD bifrost.requests * __data__ JSON`) and reads results.
"""

from __future__ import annotations

from datetime import UTC, datetime

from faststream import AckPolicy
from faststream.redis import RedisBroker, StreamSub
from faststream.redis.annotations import RedisStreamMessage
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from bifrost.brokers.base import (
    GROUP,
    Channels,
    DeadEntry,
    OnRequest,
    Transport,
    origin_of,
)
from bifrost.messages import DeadLetter
from bifrost.store.records import NotFound

DATA = "__data__"
KEEP_ENTRIES = 100_000
"""Results and dead letters kept per stream (older ones are trimmed, approximately)."""


class RedisStreams(Transport):
    def __init__(self, url: str, channels: Channels, *, reclaim_after_s: float = 60.0) -> None:
        super().__init__(url, channels)
        self.client: Redis = Redis.from_url(url)
        self._broker: RedisBroker | None = None
        self._reclaim_after_ms = int(reclaim_after_s * 1000)

    def subscribe(self, on_request: OnRequest, consumer: str, concurrency: int) -> None:
        broker = self._broker = RedisBroker(self.url)
        working: set[str] = set()  # entries this worker is answering now

        async def on_message(message: RedisStreamMessage) -> None:
            entry = message.raw_message["message_ids"][0].decode()
            if entry in working:  # claimed back from this very worker, only because it is
                await message.nack()  # slow (an LLM): left pending, acknowledged when done
                return
            working.add(entry)
            try:
                attempt = await message.get_delivery_count()
                await self.answer(await on_request(message.body, attempt, entry))
                await message.ack()  # while still `working`: a claim in between would retake it
            finally:
                working.discard(entry)

        # A read takes only what this worker can begin now: what it cannot stays in the
        # stream for the other workers (XREADGROUP without COUNT takes every waiting entry).
        fresh = StreamSub(
            self.channels.requests, group=GROUP, consumer=consumer, max_records=concurrency
        )
        claimed = StreamSub(
            self.channels.requests,
            group=GROUP,
            consumer=consumer,
            min_idle_time=self._reclaim_after_ms,
        )
        for stream in (fresh, claimed):
            subscriber = broker.subscriber(
                stream=stream, ack_policy=AckPolicy.NACK_ON_ERROR, max_workers=concurrency
            )
            subscriber(on_message)

    async def start(self) -> None:
        # The group starts at the stream's beginning, so requests sent before any worker ever
        # ran are analysed too (FastStream's own group, made at `$`, would skip them).
        try:
            await self.client.xgroup_create(self.channels.requests, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        if self._broker is not None:
            await self._broker.start()

    async def close(self) -> None:
        try:
            if self._broker is not None:
                await self._broker.stop()
        finally:
            await self.client.aclose()

    async def publish(self, channel: str, body: bytes, key: str | None = None) -> str:
        del key  # a stream has no keys: one stream is one ordered log
        # Requests are never trimmed: one not answered yet would be lost.
        limit = None if channel == self.channels.requests else KEEP_ENTRIES
        entry: bytes = await self.client.xadd(channel, {DATA: body}, maxlen=limit)
        return entry.decode()

    async def ping(self) -> None:
        await self.client.ping()

    async def backlog(self) -> int:
        try:
            groups = await self.client.xinfo_groups(self.channels.requests)
        except ResponseError:  # no stream yet: nothing waits
            return 0
        for group in groups:
            if group["name"].decode() == GROUP:
                lag = group.get("lag")  # None when Redis cannot tell (after a deletion)
                waiting = lag if lag is not None else await self.client.xlen(self.channels.requests)
                return int(waiting) + int(group["pending"])
        return int(await self.client.xlen(self.channels.requests))

    async def dead_letters(self, limit: int) -> list[DeadEntry]:
        found = await self.client.xrevrange(self.channels.dead_letters, count=limit)
        return [_dead_entry(entry.decode(), fields) for entry, fields in found]

    async def send_again(self, entry_id: str) -> str:
        found = await self.client.xrange(self.channels.dead_letters, min=entry_id, max=entry_id)
        if not found:
            raise NotFound.said("dead.missing", id=entry_id)
        letter = _dead_entry(entry_id, found[0][1]).letter
        origin = origin_of(entry_id, letter)
        original = await self.client.xrange(self.channels.requests, min=origin, max=origin)
        if not original:
            raise NotFound.said(
                "dead.gone", id=entry_id, origin=origin, channel=self.channels.requests
            )
        new_id = await self.publish(self.channels.requests, original[0][1][DATA.encode()])
        await self.client.xdel(self.channels.dead_letters, entry_id)
        return new_id


def _dead_entry(entry_id: str, fields: dict[bytes, bytes]) -> DeadEntry:
    """A stream entry's id starts with its time in milliseconds."""
    at = datetime.fromtimestamp(int(entry_id.split("-", maxsplit=1)[0]) / 1000, UTC)
    return DeadEntry(entry_id, at, DeadLetter.model_validate_json(fields[DATA.encode()]))
