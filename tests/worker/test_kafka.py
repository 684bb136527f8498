"""`bifrost worker --broker kafka://…` on a real Kafka-protocol broker (tansu, from the
`kafka_url` fixture): results keyed by request id, one analysis per request id, dead letters
listed and sent again, tries in place while the database is away, and a killed worker's
request finished by another. Each test has topics of its own (a random prefix).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer

from bifrost.analysis import open_cache
from bifrost.brokers import MAX_ATTEMPTS, Channels
from bifrost.brokers import kafka as kafka_transport
from bifrost.brokers.kafka import Kafka
from bifrost.config import Settings
from bifrost.store import Store, open_store, search_analyses, upgrade
from bifrost.worker.consumer import Context
from bifrost.worker.service import Worker
from tests.conftest import Postgres
from tests.llm.servers import VALID_ANSWER, VALID_SUMMARY, FakeServer, Reply
from tests.test_schemas import assert_valid
from tests.worker.conftest import jobs_command, request, running


class Harness:
    """A worker in this process on topics of its own, and a transport to talk to it."""

    def __init__(self, url: str, store: Store, settings: Settings) -> None:
        self.url = url
        self.store = store
        self.channels = Channels.prefixed(f"test-{uuid.uuid4().hex[:8]}.")
        self.context = Context(settings, store, open_cache(settings, store))
        self.sender = Kafka(url, self.channels)

    @asynccontextmanager
    async def worker(self) -> AsyncIterator[None]:
        async with running(Worker(Kafka(self.url, self.channels), self.context, "w1")):
            yield

    async def send(self, body: bytes, key: str | None = None) -> None:
        await self.sender.publish(self.channels.requests, body, key)

    async def wait_for(self, topic: str, count: int, timeout_s: float = 60) -> list[Any]:
        """The first `count` messages of a topic (JSON, with their keys), waiting for them."""
        return [json.loads(value) for _, value in await read(self.url, topic, count, timeout_s)]


async def read(url: str, topic: str, count: int, timeout_s: float) -> list[tuple[bytes, bytes]]:
    """The keys and values of a topic's first `count` messages, read as any consumer would."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=url.removeprefix("kafka://"), auto_offset_reset="earliest"
    )
    await consumer.start()
    found: list[tuple[bytes, bytes]] = []
    try:
        async with asyncio.timeout(timeout_s):
            while len(found) < count:
                async for message in consumer:
                    found.append((message.key, message.value))
                    break
    except TimeoutError:
        pytest.fail(f"{topic}: {len(found)} of {count} messages")
    finally:
        await consumer.stop()
    return found


Scenario = Callable[[Harness], Awaitable[None]]


def run_with_worker(url: str, database_url: str, scenario: Scenario) -> None:
    settings = Settings(database_url=database_url, engine_processes=0, redis_url=None)

    async def main() -> None:
        async with await open_store(settings) as store:
            harness = Harness(url, store, settings)
            await harness.sender.start()
            try:
                await scenario(harness)
            finally:
                await harness.sender.close()

    asyncio.run(main())


def test_results_are_keyed_by_request_and_a_repeat_is_not_analysed_again(
    kafka_url: str, sqlite_url: str
) -> None:
    async def scenario(harness: Harness) -> None:
        # Sent before any worker ran: the group starts from the topic's beginning.
        await harness.send(request("ci-1", labels={"service": "trainer"}), "ci-1")
        await harness.send(request("ci-1"), "ci-1")  # sent twice: one analysis
        await harness.send(request("ci-2", log="all good\n"), "ci-2")
        assert await harness.sender.backlog() == 3
        async with harness.worker():
            found = await read(harness.url, harness.channels.results, 3, 60)
        assert await harness.sender.backlog() == 0
        results: dict[str, list[Any]] = {key.decode(): [] for key, _ in found}
        for key, value in found:
            results[key.decode()].append(json.loads(value))
        first, again = results["ci-1"]
        assert (first["verdict"], first["cached"]) == ("failure", False)
        assert first["report"]["findings"][0]["category"] == "gpu.cuda_oom"
        assert (again["analysis_id"], again["cached"]) == (first["analysis_id"], True)
        (other,) = results["ci-2"]
        assert other["verdict"] == "ok"
        for result in (first, again, other):
            assert_valid("result.v1.schema.json", result)
        stored = await search_analyses(harness.store)
        assert sorted(s.id for s in stored) == sorted({first["analysis_id"], other["analysis_id"]})

    run_with_worker(kafka_url, sqlite_url, scenario)


def test_dead_letters_are_listed_and_sent_again_while_the_worker_goes_on(
    kafka_url: str, sqlite_url: str
) -> None:
    """A poison message and a binary log are set aside at once; `bifrost jobs dead` lists
    them and `bifrost jobs retry` sends the request again."""

    def jobs(harness: Harness, *args: str) -> subprocess.CompletedProcess[str]:
        return jobs_command(kafka_url, harness.channels, *args)

    async def scenario(harness: Harness) -> None:
        async with harness.worker():
            await harness.send(b"\x00\xff not json")
            await harness.send(request("bin-1", log="\x00\x01\x02\x03" * 500), "bin-1")
            await harness.send(request("ok-1"), "ok-1")
            dead = await harness.wait_for(harness.channels.dead_letters, 2)
            (result,) = await harness.wait_for(harness.channels.results, 1)
            # Partitions keep no order between them: which was set aside first may vary.
            reasons = {d["request_id"]: d["reason"] for d in dead}
            assert sorted(reasons, key=str) == [None, "bin-1"]
            assert reasons[None].startswith("not a bifrost.request/v1 message")
            assert "binary" in reasons["bin-1"]
            for letter in dead:
                assert_valid("dead-letter.v1.schema.json", letter)
            assert result["request_id"] == "ok-1"

            listed = await asyncio.to_thread(jobs, harness, "dead", "--json")
            assert listed.returncode == 0, listed.stderr
            rows = [json.loads(line) for line in listed.stdout.splitlines()]
            newest_first = [d["request_id"] for d in reversed(dead)]
            assert [r["request_id"] for r in rows] == newest_first
            poison, binary = (r["id"] for r in sorted(rows, key=lambda r: str(r["request_id"])))
            refused = await asyncio.to_thread(jobs, harness, "retry", poison)
            assert "is not a request" in refused.stderr
            missing = await asyncio.to_thread(jobs, harness, "retry", "0:999")
            assert "no dead letter 0:999" in missing.stderr
            sent = await asyncio.to_thread(jobs, harness, "retry", binary)
            assert sent.returncode == 0, sent.stderr
            # The worker reads it again (and, the log being binary, sets it aside again).
            again = await harness.wait_for(harness.channels.dead_letters, 3)
        assert again[2]["request_id"] == "bin-1"

    run_with_worker(kafka_url, sqlite_url, scenario)


def test_a_database_that_goes_away_is_tried_again_then_a_dead_letter(
    kafka_url: str, postgres: Postgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kafka_transport, "RETRY_PAUSE_S", 0.1)  # a setting, not our logic
    database_url = postgres.create()
    asyncio.run(upgrade(database_url))

    async def scenario(harness: Harness) -> None:
        await asyncio.to_thread(postgres.drop, database_url)  # the history goes away
        async with harness.worker():
            await harness.send(request("lost-db"), "lost-db")
            (dead,) = await harness.wait_for(harness.channels.dead_letters, 1)
            await harness.send(request("after"), "after")  # the partition goes on
            (after,) = (await harness.wait_for(harness.channels.dead_letters, 2))[1:]
        assert dead["request_id"] == "lost-db"
        assert dead["attempts"] == MAX_ATTEMPTS
        assert f"after {MAX_ATTEMPTS} tries" in dead["reason"]
        assert after["request_id"] == "after"

    try:
        run_with_worker(kafka_url, database_url, scenario)
    finally:
        postgres.drop(database_url)


def test_a_worker_killed_mid_job_leaves_it_to_another(kafka_url: str, tmp_path: Path) -> None:
    """A `bifrost worker` process is killed (SIGKILL) while it waits on the LLM (a slow
    server on loopback) for a request; a second worker joins the group, is handed the
    partition, reads the request again from the last committed offset and answers it. One
    analysis is stored."""
    channels = Channels.prefixed(f"test-{uuid.uuid4().hex[:8]}.")
    prefix = channels.requests.removesuffix("bifrost.requests")

    async def scenario(llm: FakeServer, env: dict[str, str]) -> None:
        def worker(name: str) -> subprocess.Popen[bytes]:
            command = ["worker", "--broker", kafka_url, "--prefix", prefix, "--name", name]
            return subprocess.Popen(
                [sys.executable, "-m", "bifrost", *command],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

        sender = Kafka(kafka_url, channels)
        await sender.start()
        slow, answer = Reply(delay=120), Reply(text=VALID_ANSWER)
        llm.reply("/api/chat", slow, answer)  # the first worker waits on the slow one
        first = worker("first")
        second: subprocess.Popen[bytes] | None = None
        try:
            asking = request("big", options={"explain": True})
            await sender.publish(channels.requests, asking, "big")
            deadline = asyncio.get_running_loop().time() + 60
            while not llm.bodies("/api/chat"):  # taken, and being explained
                assert asyncio.get_running_loop().time() < deadline, "never taken"
                await asyncio.sleep(0.05)
            first.send_signal(signal.SIGKILL)  # mid-job: its offset is not committed
            first.wait()
            second = worker("second")
            (key, value), *_ = await read(kafka_url, channels.results, 1, 120)
            result = json.loads(value)
            assert (key, result["request_id"], result["cached"]) == (b"big", "big", False)
            assert result["report"]["llm"]["summary"] == VALID_SUMMARY
            assert len(llm.bodies("/api/chat")) == 2  # asked again by the second worker
            second.terminate()
            assert second.wait(timeout=30) == 0  # SIGTERM: a clean stop
        finally:
            for process in (first, second):
                if process is not None:
                    process.kill()
                    process.wait()
            await sender.close()

    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("BIFROST_")},
        "BIFROST_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'history.db'}",
        "BIFROST_CONFIG": str(tmp_path / "none.toml"),
        "BIFROST_LLM": "ollama",
        "BIFROST_MODEL": "test-model",
    }
    (tmp_path / "none.toml").write_text("", encoding="utf-8")
    subprocess.run([sys.executable, "-m", "bifrost", "db", "upgrade"], env=env, check=True)
    with FakeServer() as llm:
        asyncio.run(scenario(llm, {**env, "BIFROST_BASE_URL": llm.url}))
    settings = Settings(database_url=env["BIFROST_DATABASE_URL"], redis_url=None)

    async def stored() -> int:
        async with await open_store(settings) as store:
            return len(await search_analyses(store))

    assert asyncio.run(stored()) == 1
