"""`bifrost worker` on the real Redis (127.0.0.1:6379, database 15): requests in, results out,
one analysis per request id, dead letters, a request left by a dead worker taken over, and a
database that goes away mid-run. Each test has streams of its own (a random prefix).

In CI (`CI=true`) a Redis that cannot be reached fails these tests; elsewhere it skips them.
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

import httpx
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from bifrost.analysis import open_cache
from bifrost.brokers import GROUP, MAX_ATTEMPTS, Channels
from bifrost.brokers.redis_streams import DATA, RedisStreams
from bifrost.config import Settings
from bifrost.store import Store, get_analysis, open_store, search_analyses, upgrade
from bifrost.worker.consumer import Context
from bifrost.worker.health import health_app
from bifrost.worker.service import Worker
from tests.conftest import Postgres, free_port
from tests.llm.servers import VALID_ANSWER, VALID_SUMMARY, FakeServer, Reply
from tests.test_schemas import assert_valid
from tests.worker.conftest import jobs_command, request, running


class Harness:
    """A worker running in this process on streams of its own, and a client to talk to it."""

    def __init__(self, redis_url: str, store: Store, settings: Settings) -> None:
        self.url = redis_url
        self.store = store
        self.streams = Channels.prefixed(f"test-{uuid.uuid4().hex[:8]}:")
        self.client = Redis.from_url(redis_url)
        self.context = Context(settings, store, open_cache(settings, store))

    @asynccontextmanager
    async def worker(self, name: str = "w1", reclaim_after_s: float = 60.0) -> AsyncIterator[None]:
        transport = RedisStreams(self.url, self.streams, reclaim_after_s=reclaim_after_s)
        async with running(Worker(transport, self.context, name)):
            yield

    async def send(self, body: bytes) -> None:
        await self.client.xadd(self.streams.requests, {DATA: body})

    async def wait_for(
        self, stream: str, count: int, timeout_s: float = 30
    ) -> list[dict[str, Any]]:
        """The first `count` messages of a stream, waiting for them to be written."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            entries = await self.client.xrange(stream)
            if len(entries) >= count:
                return [json.loads(fields[DATA.encode()]) for _, fields in entries]
            assert asyncio.get_running_loop().time() < deadline, f"{stream}: {len(entries)} only"
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        for stream in (self.streams.requests, self.streams.results, self.streams.dead_letters):
            await self.client.delete(stream)
        await self.client.aclose()


Scenario = Callable[[Harness], Awaitable[None]]


def run_with_worker(
    redis_url: str, database_url: str, scenario: Scenario, **overrides: Any
) -> None:
    base = {"database_url": database_url, "engine_processes": 0, "redis_url": None}
    settings = Settings.model_validate(base | overrides)

    async def main() -> None:
        async with await open_store(settings) as store:
            harness = Harness(redis_url, store, settings)
            try:
                await scenario(harness)
            finally:
                await harness.close()

    asyncio.run(main())


def test_a_request_is_answered_once_per_request_id(redis_url: str, sqlite_url: str) -> None:
    async def scenario(harness: Harness) -> None:
        async with harness.worker():
            await harness.send(request("ci-1", labels={"service": "trainer", "tags": ["gpu"]}))
            await harness.send(request("ci-1"))  # sent twice: one analysis
            await harness.send(request("ci-2", log="all good\n"))
            results = await harness.wait_for(harness.streams.results, 3)
        first, again, other = results
        assert (first["request_id"], first["verdict"], first["cached"]) == (
            "ci-1",
            "failure",
            False,
        )
        assert first["report"]["findings"][0]["category"] == "gpu.cuda_oom"
        assert (again["analysis_id"], again["cached"]) == (first["analysis_id"], True)
        assert other["verdict"] == "ok"
        for result in results:
            assert_valid("result.v1.schema.json", result)
        assert_valid("request.v1.schema.json", json.loads(request("ci-1")))
        stored = await search_analyses(harness.store)
        assert sorted(s.id for s in stored) == sorted({first["analysis_id"], other["analysis_id"]})
        kept = await get_analysis(harness.store, first["analysis_id"])
        assert kept is not None
        assert (kept.service, kept.tags, kept.input_name) == ("trainer", ["gpu"], "alerts")
        pending = await harness.client.xpending(harness.streams.requests, GROUP)
        assert pending["pending"] == 0  # every request acknowledged

    run_with_worker(redis_url, sqlite_url, scenario)


def test_what_cannot_be_analysed_is_a_dead_letter_and_the_worker_goes_on(
    redis_url: str, sqlite_url: str
) -> None:
    async def scenario(harness: Harness) -> None:
        async with harness.worker():
            await harness.send(b"\x00\xff not json")
            await harness.send(json.dumps({"schema": "bifrost.request/v9"}).encode())
            await harness.send(request("bin-1", log="\x00\x01\x02\x03" * 500))
            await harness.send(request("ok-1"))
            dead = await harness.wait_for(harness.streams.dead_letters, 3)
            results = await harness.wait_for(harness.streams.results, 1)
        assert [d["request_id"] for d in dead] == [None, None, "bin-1"]
        assert dead[0]["reason"].startswith("not a bifrost.request/v1 message")
        assert "schema" in dead[1]["reason"]
        assert "binary" in dead[2]["reason"]
        for letter in dead:
            assert_valid("dead-letter.v1.schema.json", letter)
        assert results[0]["request_id"] == "ok-1"

    run_with_worker(redis_url, sqlite_url, scenario)


def test_a_request_left_by_a_dead_worker_is_taken_over(redis_url: str, sqlite_url: str) -> None:
    async def scenario(harness: Harness) -> None:
        streams = harness.streams
        await harness.client.xgroup_create(streams.requests, GROUP, id="0", mkstream=True)
        await harness.send(request("orphan"))
        # Another worker takes it and dies before acknowledging it (it stays pending).
        taken = await harness.client.xreadgroup(GROUP, "died", {streams.requests: ">"}, count=1)
        assert taken
        async with harness.worker(reclaim_after_s=0.2):
            (result,) = await harness.wait_for(streams.results, 1)
        assert result["request_id"] == "orphan"
        assert (await harness.client.xpending(streams.requests, GROUP))["pending"] == 0

    run_with_worker(redis_url, sqlite_url, scenario)


def test_a_database_that_goes_away_is_retried_then_a_dead_letter(
    redis_url: str, postgres: Postgres
) -> None:
    database_url = postgres.create()
    asyncio.run(upgrade(database_url))

    async def scenario(harness: Harness) -> None:
        await asyncio.to_thread(postgres.drop, database_url)  # the history goes away
        async with harness.worker(reclaim_after_s=0.2):
            await harness.send(request("lost-db"))
            (dead,) = await harness.wait_for(harness.streams.dead_letters, 1)
        assert dead["request_id"] == "lost-db"
        assert dead["attempts"] == MAX_ATTEMPTS
        assert f"after {MAX_ATTEMPTS} tries" in dead["reason"]
        assert (await harness.client.xlen(harness.streams.results)) == 0

    try:
        run_with_worker(redis_url, database_url, scenario)
    finally:
        postgres.drop(database_url)


def test_a_worker_takes_only_what_it_works_on(redis_url: str, sqlite_url: str) -> None:
    """Requests a worker has not begun stay in the stream for the other workers: a busy
    worker holds one request, not the whole burst (XREADGROUP without COUNT would give it
    every waiting request, and the others would idle)."""
    with FakeServer() as llm:
        llm.reply("/api/chat", Reply(text=VALID_ANSWER, delay=3))  # the first request takes a while

        async def scenario(harness: Harness) -> None:
            for number in range(4):
                await harness.send(request(f"burst-{number}", options={"explain": True}))
            async with harness.worker("busy"):
                deadline = asyncio.get_running_loop().time() + 30
                while not llm.bodies("/api/chat"):  # the first is being explained
                    assert asyncio.get_running_loop().time() < deadline, "never taken"
                    await asyncio.sleep(0.02)
                assert await pending(harness.client, harness.streams.requests) == 1
                await harness.wait_for(harness.streams.results, 4)

        run_with_worker(
            redis_url,
            sqlite_url,
            scenario,
            llm="ollama",
            model="test-model",
            base_url=llm.url,
        )


class Processes:
    """`bifrost worker` processes on streams of their own, a history, and a slow LLM (a real
    Ollama-protocol server on loopback), so that a worker is caught mid-job for certain: it
    waits on the LLM's first answer."""

    def __init__(self, redis_url: str, tmp_path: Path, llm: FakeServer) -> None:
        self.redis_url = redis_url
        self.prefix = f"test-{uuid.uuid4().hex[:8]}:"
        self.streams = Channels.prefixed(self.prefix)
        self.llm = llm
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("BIFROST_")},
            "BIFROST_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'history.db'}",
            "BIFROST_CONFIG": str(tmp_path / "none.toml"),
            "BIFROST_LLM": "ollama",
            "BIFROST_MODEL": "test-model",
            "BIFROST_BASE_URL": llm.url,
        }
        (tmp_path / "none.toml").write_text("", encoding="utf-8")
        subprocess.run([sys.executable, "-m", "bifrost", "db", "upgrade"], env=self.env, check=True)

    def worker(self, name: str, *more: str) -> subprocess.Popen[bytes]:
        command = ["worker", "--broker", self.redis_url, "--prefix", self.prefix, "--name", name]
        return subprocess.Popen(
            [sys.executable, "-m", "bifrost", *command, "--reclaim-after", "1", *more],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    async def send_and_wait_until_taken(self, client: Redis, request_id: str) -> None:
        asking = request(request_id, options={"explain": True})
        await client.xadd(self.streams.requests, {DATA: asking})
        deadline = asyncio.get_running_loop().time() + 60
        while not self.llm.bodies("/api/chat"):  # taken, and being explained
            assert asyncio.get_running_loop().time() < deadline, "never taken"
            await asyncio.sleep(0.02)

    async def results(self, client: Redis, count: int) -> list[Any]:
        deadline = asyncio.get_running_loop().time() + 60
        while await client.xlen(self.streams.results) < count:
            assert asyncio.get_running_loop().time() < deadline, "no result"
            await asyncio.sleep(0.05)
        entries = await client.xrange(self.streams.results)
        return [json.loads(fields[DATA.encode()]) for _, fields in entries]

    def stored(self) -> int:
        settings = Settings(database_url=self.env["BIFROST_DATABASE_URL"], redis_url=None)

        async def count() -> int:
            async with await open_store(settings) as store:
                return len(await search_analyses(store))

        return asyncio.run(count())

    async def forget(self, client: Redis) -> None:
        for stream in (self.streams.requests, self.streams.results, self.streams.dead_letters):
            await client.delete(stream)
        await client.aclose()


def test_a_worker_killed_mid_job_leaves_it_to_another(redis_url: str, tmp_path: Path) -> None:
    """Two `bifrost worker` processes: the first is killed (SIGKILL) while it works on a
    request; the second takes it over, and one analysis is stored."""
    with FakeServer() as llm:
        llm.reply("/api/chat", Reply(delay=120), Reply(text=VALID_ANSWER))
        processes = Processes(redis_url, tmp_path, llm)

        async def scenario() -> None:
            client = Redis.from_url(redis_url)
            first = processes.worker("first")
            try:
                await processes.send_and_wait_until_taken(client, "big")
                first.send_signal(signal.SIGKILL)  # mid-job: taken, not acknowledged
                first.wait()
                assert await pending(client, processes.streams.requests) == 1
                port = free_port()
                second = processes.worker("second", "-c", "2", "--port", str(port))
                try:
                    (result,) = await processes.results(client, 1)
                    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                        ready = await http.get("/readyz")
                        page = await http.get("/metrics")
                    assert ready.status_code == 200, ready.text
                    assert 'bifrost_worker_requests_total{outcome="result"} 1.0' in page.text
                finally:
                    second.terminate()
                    assert second.wait(timeout=30) == 0  # SIGTERM: a clean stop
                assert (result["request_id"], result["report"]["llm"]["summary"]) == (
                    "big",
                    VALID_SUMMARY,
                )
                assert await pending(client, processes.streams.requests) == 0
            finally:
                first.kill()  # killed already, unless the test failed before
                first.wait()
                await processes.forget(client)

        asyncio.run(scenario())
    assert processes.stored() == 1


def test_sigterm_finishes_the_request_in_hand(redis_url: str, tmp_path: Path) -> None:
    """A worker told to stop (SIGTERM) while it works on a request answers it first, then
    exits cleanly: nothing is left pending."""
    with FakeServer() as llm:
        llm.reply("/api/chat", Reply(text=VALID_ANSWER, delay=2))
        processes = Processes(redis_url, tmp_path, llm)

        async def scenario() -> None:
            client = Redis.from_url(redis_url)
            worker = processes.worker("stopping")
            try:
                await processes.send_and_wait_until_taken(client, "in-hand")
                worker.terminate()
                assert await asyncio.to_thread(worker.wait, 30) == 0
                (result,) = await processes.results(client, 1)
                assert result["request_id"] == "in-hand"
                assert result["report"]["llm"]["summary"] == VALID_SUMMARY
                assert await pending(client, processes.streams.requests) == 0
            finally:
                worker.kill()
                worker.wait()
                await processes.forget(client)

        asyncio.run(scenario())
    assert processes.stored() == 1


async def pending(client: Redis, stream: str) -> int:
    """Requests taken and not acknowledged (0 before the first worker made the group)."""
    try:
        return int((await client.xpending(stream, GROUP))["pending"])
    except ResponseError:
        return 0


def test_dead_letters_are_listed_and_a_request_is_sent_again(
    redis_url: str, sqlite_url: str
) -> None:
    """`bifrost jobs dead` and `bifrost jobs retry`, as a user runs them."""

    def jobs(harness: Harness, *args: str) -> subprocess.CompletedProcess[str]:
        return jobs_command(redis_url, harness.streams, *args)

    async def scenario(harness: Harness) -> None:
        async with harness.worker():
            await harness.send(b"not json")
            await harness.send(request("bin-1", log="\x00\x01\x02\x03" * 500))
            letters = await harness.wait_for(harness.streams.dead_letters, 2)
            assert all(letter["origin"] for letter in letters)
            listed = await asyncio.to_thread(jobs, harness, "dead", "--json")
            rows = [json.loads(line) for line in listed.stdout.splitlines()]
            assert [r["request_id"] for r in rows] == ["bin-1", None]  # newest first
            poison, binary = rows[1]["id"], rows[0]["id"]
            refused = await asyncio.to_thread(jobs, harness, "retry", poison)
            assert refused.returncode != 0
            assert "is not a request" in refused.stderr
            missing = await asyncio.to_thread(jobs, harness, "retry", "1-0")
            assert "no dead letter 1-0" in missing.stderr
            sent = await asyncio.to_thread(jobs, harness, "retry", binary)
            assert sent.returncode == 0, sent.stderr
            # The worker reads it again (and, the log being binary, sets it aside again).
            again = await harness.wait_for(harness.streams.dead_letters, 2)
            ids = [e.decode() for e, _ in await harness.client.xrange(harness.streams.dead_letters)]
        assert binary not in ids
        assert [letter["request_id"] for letter in again] == [None, "bin-1"]
        assert await harness.client.xlen(harness.streams.requests) == 3

    run_with_worker(redis_url, sqlite_url, scenario)


def test_a_workers_probes_and_metrics(redis_url: str, sqlite_url: str) -> None:
    """`/readyz` says whether the broker and the database answer; `/metrics` counts answers
    and dead letters and shows how many requests wait."""

    async def scenario(harness: Harness) -> None:
        transport = RedisStreams(harness.url, harness.streams)
        worker = Worker(transport, harness.context, "probed")
        async with client_of(worker) as http:
            assert (await http.get("/healthz")).status_code == 200
            ready = await http.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert ready.json()["checks"] == {"broker": "ok", "database": "ok"}
            before = metric(await http.get("/metrics"), 'requests_total{outcome="result"}')
            await harness.send(request("m-1"))
            await harness.send(request("m-2"))
            await harness.send(b"not json")
            assert metric(await http.get("/metrics"), "backlog") == 3  # no worker yet
            async with harness.worker():
                await harness.wait_for(harness.streams.results, 2)
                await harness.wait_for(harness.streams.dead_letters, 1)
            page = await http.get("/metrics")
        assert metric(page, 'requests_total{outcome="result"}') == before + 2
        assert metric(page, "backlog") == 0

        down = RedisStreams(unused_redis_url(), harness.streams)
        async with client_of(Worker(down, harness.context, "cut-off")) as http:
            ready = await http.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["broker"].startswith("unavailable")
        assert ready.json()["checks"]["database"] == "ok"

    run_with_worker(redis_url, sqlite_url, scenario)


@asynccontextmanager
async def client_of(worker: Worker) -> AsyncIterator[httpx.AsyncClient]:
    app = health_app(worker)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://worker"
    ) as client:
        yield client


def metric(page: httpx.Response, name: str) -> float:
    """A sample's value from the Prometheus text (`bifrost_worker_` + `name`)."""
    for line in page.text.splitlines():
        if line.startswith(f"bifrost_worker_{name} "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no bifrost_worker_{name} in /metrics")


def unused_redis_url() -> str:
    return f"redis://127.0.0.1:{free_port()}/0"


def test_a_slow_request_is_not_taken_back_by_the_worker_on_it(
    redis_url: str, sqlite_url: str
) -> None:
    """A request that takes longer than the reclaim time (a slow LLM) is answered once: the
    worker's claiming subscriber leaves alone what the worker is still working on."""
    with FakeServer() as llm:
        llm.reply("/api/chat", Reply(text=VALID_ANSWER, delay=1.5))

        async def scenario(harness: Harness) -> None:
            async with harness.worker(reclaim_after_s=0.2):
                await harness.send(request("slow", options={"explain": True}))
                (result,) = await harness.wait_for(harness.streams.results, 1)
                await asyncio.sleep(2.0)  # time to answer it twice, were it taken twice
            assert result["report"]["llm"]["summary"] == VALID_SUMMARY
            assert await harness.client.xlen(harness.streams.results) == 1
            requests = harness.streams.requests
            assert (await harness.client.xpending(requests, GROUP))["pending"] == 0

        run_with_worker(
            redis_url, sqlite_url, scenario, llm="ollama", model="test-model", base_url=llm.url
        )
