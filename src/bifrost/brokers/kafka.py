"""Kafka through FastStream: `kafka://HOST:PORT[,HOST:PORT…]`.

Three topics: requests (partitioned, so workers share them: one consumer of the group per
partition), results and dead letters, every message keyed by its request id. A request's
offset is committed once its answer is published, so a worker killed mid-job leaves it to the
group's next owner of that partition. Kafka counts no deliveries, so a try that fails in a way
a later one may not (the database is down) is tried again in place, with a growing pause,
and after `MAX_ATTEMPTS` tries goes to the dead letters; the partition waits meanwhile, as
Kafka's order requires. Exactly-once effect comes from the history (one analysis per request
id), not from Kafka transactions.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from bifrost.brokers.base import (
    GROUP,
    MAX_ATTEMPTS,
    Channels,
    DeadEntry,
    Handled,
    OnRequest,
    Transport,
    TryAgain,
    origin_of,
)
from bifrost.messages import MAX_INLINE_LOG, DeadLetter
from bifrost.store.records import NotFound

REQUEST_PARTITIONS = 12
"""Up to this many workers share the requests (a partition has one consumer in a group)."""
MAX_MESSAGE_BYTES = 6 * MAX_INLINE_LOG
"""What the producer sends at most, before compression (a log of `MAX_INLINE_LOG` characters,
as escaped JSON). Messages are gzipped: a log shrinks some tenfold, so most fit a broker's
default `message.max.bytes` of 1 MB; raise that on the broker for larger ones."""
FETCH_WAIT_MS = 100
"""How long a fetch waits for new requests on the broker (aiokafka's 500 ms, with a broker
that answers a fetch only then, adds up to half a second to a request's latency)."""
RETRY_PAUSE_S = 1.0
"""The pause before the second try; it doubles before each next one."""
_READ_TIMEOUT_S = 10.0


class Kafka(Transport):
    def __init__(self, url: str, channels: Channels) -> None:
        super().__init__(url, channels)
        self.servers = url.split("://", 1)[1].split(",")
        self._broker = KafkaBroker(
            self.servers, compression_type="gzip", max_request_size=MAX_MESSAGE_BYTES
        )
        self._clients: tuple[AIOKafkaAdminClient, AIOKafkaConsumer] | None = None

    def subscribe(self, on_request: OnRequest, consumer: str, concurrency: int) -> None:
        del consumer  # the group coordinator names its members itself

        async def on_message(message: KafkaMessage) -> None:
            record: ConsumerRecord[bytes, bytes] = message.raw_message
            origin = f"{record.partition}:{record.offset}"
            await self.answer(await _tried(on_request, message.body, origin))

        subscriber = self._broker.subscriber(
            self.channels.requests,
            group_id=GROUP,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=FETCH_WAIT_MS,
            ack_policy=AckPolicy.ACK,
            max_workers=concurrency,
        )
        subscriber(on_message)

    async def start(self) -> None:
        # aiokafka's clients belong to the event loop they are made in: made here, not before.
        admin = AIOKafkaAdminClient(bootstrap_servers=self.servers)
        reader = AIOKafkaConsumer(bootstrap_servers=self.servers, enable_auto_commit=False)
        self._clients = (admin, reader)
        await admin.start()
        await self._create_topics()
        await reader.start()
        await self._broker.start()

    @property
    def _admin(self) -> AIOKafkaAdminClient:
        assert self._clients is not None, "start() first"
        return self._clients[0]

    @property
    def _reader(self) -> AIOKafkaConsumer:
        """A consumer outside the group, to look messages up and count offsets."""
        assert self._clients is not None, "start() first"
        return self._clients[1]

    async def _create_topics(self) -> None:
        wanted = {
            self.channels.requests: REQUEST_PARTITIONS,
            self.channels.results: 1,
            self.channels.dead_letters: 1,
        }
        existing = set(await self._admin.list_topics())
        for name, partitions in wanted.items():
            if name in existing:
                continue
            with suppress(TopicAlreadyExistsError):  # another worker made it meanwhile
                await self._admin.create_topics([NewTopic(name, partitions, 1)])

    async def close(self) -> None:
        try:
            await self._broker.stop()
        finally:
            if self._clients is not None:
                admin, reader = self._clients
                await reader.stop()
                await admin.close()

    async def publish(self, channel: str, body: bytes, key: str | None = None) -> str:
        sent = await self._broker.publish(
            body, channel, key=key.encode() if key is not None else None
        )
        return f"{sent.partition}:{sent.offset}"

    async def ping(self) -> None:
        await self._admin.list_topics()

    async def backlog(self) -> int:
        partitions = await self._partitions(self.channels.requests)
        if not partitions:
            return 0
        ends = await self._reader.end_offsets(partitions)
        starts = await self._reader.beginning_offsets(partitions)
        committed = await self._admin.list_consumer_group_offsets(GROUP, partitions=partitions)
        waiting = 0
        for partition in partitions:
            done = committed.get(partition)
            read = done.offset if done is not None and done.offset >= 0 else starts[partition]
            waiting += max(0, ends[partition] - read)
        return waiting

    async def dead_letters(self, limit: int) -> list[DeadEntry]:
        partitions = await self._partitions(self.channels.dead_letters)
        if not partitions:
            return []
        ends = await self._reader.end_offsets(partitions)
        starts = await self._reader.beginning_offsets(partitions)
        self._reader.assign(partitions)
        records: list[ConsumerRecord[bytes, bytes]] = []
        for partition in partitions:
            first = max(starts[partition], ends[partition] - limit)
            self._reader.seek(partition, first)
            while first < ends[partition]:
                batch = await self._reader.getmany(partition, timeout_ms=1000)
                read = batch.get(partition, [])
                if not read:
                    break
                records.extend(read)
                first = read[-1].offset + 1
        records.sort(key=lambda record: (record.timestamp, record.offset), reverse=True)
        return [_dead_entry(record) for record in records[:limit]]

    async def send_again(self, entry_id: str) -> str:
        record = await self._read(self.channels.dead_letters, entry_id)
        if record is None:
            raise NotFound.said("dead.missing", id=entry_id)
        letter = _dead_entry(record).letter
        origin = origin_of(entry_id, letter)
        request = await self._read(self.channels.requests, origin)
        if request is None or request.value is None:
            raise NotFound.said(
                "dead.gone", id=entry_id, origin=origin, channel=self.channels.requests
            )
        # A topic cannot forget a message: the dead letter stays, and sending it again twice
        # is harmless (one analysis per request id).
        return await self.publish(self.channels.requests, request.value, letter.request_id)

    async def _read(self, topic: str, where: str) -> ConsumerRecord[bytes, bytes] | None:
        """The message at `PARTITION:OFFSET` of a topic, if it is still there."""
        try:
            partition_text, offset_text = where.split(":")
            partition, offset = TopicPartition(topic, int(partition_text)), int(offset_text)
        except ValueError:
            return None
        if partition not in await self._partitions(topic):
            return None
        ends = await self._reader.end_offsets([partition])
        if not 0 <= offset < ends[partition]:
            return None
        self._reader.assign([partition])
        self._reader.seek(partition, offset)
        record = await asyncio.wait_for(self._reader.getone(partition), _READ_TIMEOUT_S)
        return record if record.offset == offset else None

    async def _partitions(self, topic: str) -> list[TopicPartition]:
        """The topic's partitions (none when it does not exist yet)."""
        (described,) = await self._admin.describe_topics([topic])
        numbers = sorted(part["partition"] for part in described.get("partitions", []))
        return [TopicPartition(topic, number) for number in numbers]


async def _tried(on_request: OnRequest, body: bytes, origin: str) -> Handled:
    """Tried in place until answered; the last try answers with a dead letter itself."""
    pause = RETRY_PAUSE_S
    for attempt in range(1, MAX_ATTEMPTS):
        try:
            return await on_request(body, attempt, origin)
        except TryAgain:
            await asyncio.sleep(pause)
            pause *= 2
    return await on_request(body, MAX_ATTEMPTS, origin)


def _dead_entry(record: ConsumerRecord[bytes, bytes]) -> DeadEntry:
    at = datetime.fromtimestamp(record.timestamp / 1000, UTC)
    letter = DeadLetter.model_validate_json(record.value or b"")
    return DeadEntry(f"{record.partition}:{record.offset}", at, letter)
