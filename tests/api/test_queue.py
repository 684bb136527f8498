"""`bifrost serve --queue`: the API queues analyses for a worker on a real broker (Redis
Streams, and Kafka through tansu) and answers from the history the worker writes:
`?wait=false` gives 202 and the job's URL; the default waits for the Report."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from bifrost.analysis import open_cache
from bifrost.analysis.tenants import create_tenant
from bifrost.brokers import Channels, open_transport
from bifrost.config import Settings
from bifrost.store import create_key, open_store
from bifrost.worker.consumer import Context
from bifrost.worker.service import Worker
from tests.test_schemas import assert_valid
from tests.worker.conftest import running

from .conftest import ANALYSES, MAVEN, TRAINER, Api, assert_error, serving, sse_events

JOBS = "/api/v1/jobs"


@asynccontextmanager
async def worker_for(settings: Settings) -> AsyncIterator[None]:
    """A worker in this process on the server's queue and history."""
    assert settings.queue_url is not None
    async with await open_store(settings) as store:
        transport = open_transport(
            settings.queue_url, Channels.prefixed(settings.queue_prefix), reclaim_after_s=1
        )
        worker = Worker(transport, Context(settings, store, open_cache(settings, store)), "w")
        async with running(worker):
            yield


def queued(api: Api, broker_url: str, **overrides: Any) -> Settings:
    prefix = f"test-{uuid.uuid4().hex[:8]}."
    return api.settings(queue_url=broker_url, queue_prefix=prefix, **overrides)


@pytest.fixture(params=["redis", "kafka"])
def broker_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


def test_a_queued_job_is_followed_to_its_analysis(sqlite_api: Api, broker_url: str) -> None:
    settings = queued(sqlite_api, broker_url)

    async def main() -> None:
        async with serving(settings) as client, worker_for(settings):
            ready = await client.get("/readyz")
            assert ready.json()["checks"]["queue"]["ok"] is True, ready.text
            accepted = await client.post(
                ANALYSES, params={"wait": "false", "service": "trainer"}, content=TRAINER
            )
            assert accepted.status_code == 202, accepted.text
            job = accepted.json()
            assert accepted.headers["location"] == job["url"] == f"{JOBS}/{job['id']}"
            assert job["status"] in ("queued", "running", "done")
            events = await client.get(f"{job['url']}/events")
            statuses = [data["status"] for name, data in sse_events(events.text)]
            assert statuses[-1] == "done", statuses
            assert len(statuses) == len(set(statuses))  # one event per change
            done = (await client.get(job["url"])).json()
            assert (done["status"], done["attempts"], done["error"]) == ("done", 1, None)
            stored = await client.get(done["analysis_url"])
            assert stored.status_code == 200
            assert stored.json()["service"] == "trainer"
            assert stored.json()["report"]["findings"][0]["category"] == "gpu.cuda_oom"

            waited = await client.post(ANALYSES, content=MAVEN)  # wait=true: the Report
            assert waited.status_code == 201, waited.text
            assert waited.json()["findings"][0]["category"] == "build.java_compile"
            assert waited.headers["location"].startswith(f"{ANALYSES}/")

    asyncio.run(main())


def test_a_retried_request_queues_one_job(api: Api, redis_url: str) -> None:
    settings = queued(api, redis_url)

    async def main() -> None:
        async with serving(settings) as client:
            asked = {"wait": "false", "request_id": "ci-42"}
            first = await client.post(ANALYSES, params=asked, content=TRAINER)
            again = await client.post(ANALYSES, params=asked, content=MAVEN)
            assert first.status_code == again.status_code == 202
            assert first.json()["id"] == again.json()["id"]
            assert first.json()["request_id"] == "ci-42"
            # One request on the broker, naming the kept log: a few hundred bytes.
            redis = Redis.from_url(redis_url)
            try:
                entries = await redis.xrange(f"{settings.queue_prefix}bifrost.requests")
            finally:
                await redis.aclose()
            ((_, fields),) = entries
            message = fields[b"__data__"]
            assert len(message) < 1000 < len(TRAINER)
            assert_valid("request.v1.schema.json", json.loads(message))
            assert json.loads(message)["log_reference"] == f"job:{first.json()['id']}"
            async with worker_for(settings):
                # Waiting on a request id that has a job: the job's Report, once.
                waited = await client.post(ANALYSES, params={"request_id": "ci-42"}, content=b"x")
            assert waited.status_code == 201, waited.text
            assert waited.json()["findings"][0]["category"] == "gpu.cuda_oom"
            assert len((await client.get(ANALYSES)).json()["items"]) == 1

    asyncio.run(main())


def test_a_job_that_cannot_be_analysed_fails_with_the_reason(
    sqlite_api: Api, redis_url: str
) -> None:
    settings = queued(sqlite_api, redis_url)

    async def main() -> None:
        async with serving(settings) as client, worker_for(settings):
            binary = bytes(range(256)) * 64
            failed = await client.post(ANALYSES, content=binary)
            error = assert_error(failed, 422, "input_error")
            assert "binary" in error["message"]
            accepted = await client.post(ANALYSES, params={"wait": "false"}, content=binary)
            events = await client.get(f"{accepted.json()['url']}/events")
            final = sse_events(events.text)[-1][1]
            assert final["status"] == "failed"
            assert "binary" in final["error"]

    asyncio.run(main())


def test_without_a_worker_the_wait_ends_in_202(sqlite_api: Api, redis_url: str) -> None:
    settings = queued(sqlite_api, redis_url, job_wait_s=0.3)

    async def main() -> None:
        async with serving(settings) as client:
            waited = await client.post(ANALYSES, content=TRAINER)
            assert waited.status_code == 202
            assert waited.json()["status"] == "queued"
            missing = await client.get(f"{JOBS}/{'0' * 32}")
            assert_error(missing, 404, "not_found")
            bad = await client.get(f"{JOBS}/not-an-id")
            assert bad.status_code == 422
            refused = await client.post(ANALYSES, params={"store": "false"}, content=TRAINER)
            assert "always stored" in assert_error(refused, 422, "validation_error")["message"]

    asyncio.run(main())


def test_wait_false_needs_a_queue(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        refused = await client.post(ANALYSES, params={"wait": "false"}, content=TRAINER)
        assert "--queue" in assert_error(refused, 422, "validation_error")["message"]

    sqlite_api.run(scenario)


def test_a_queue_that_is_down_is_a_503_and_not_ready(sqlite_api: Api) -> None:
    settings = queued(sqlite_api, "redis://127.0.0.1:1/0")

    async def main() -> None:
        async with serving(settings) as client:
            refused = await client.post(ANALYSES, params={"wait": "false"}, content=TRAINER)
            assert_error(refused, 503, "unavailable")
            assert refused.headers["retry-after"]
            ready = await client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["checks"]["queue"]["ok"] is False

    asyncio.run(main())


def test_a_worker_stores_each_queued_analysis_for_the_tenant_that_asked(
    api: Api, redis_url: str
) -> None:
    """Two tenants queue logs under one request id: a worker serves both, each into its own
    history, and neither sees the other's job or analysis."""
    settings = queued(api, redis_url, auth=True)

    async def main() -> None:
        async with await open_store(settings) as store:
            keys = {}
            for name in ("team-a", "team-b"):
                tenant = await create_tenant(store, name)
                _, secret = await create_key(store.for_tenant(tenant.id), "ci", ["analyze", "read"])
                keys[name] = {"X-API-Key": secret}
        async with serving(settings) as client, worker_for(settings):
            asked = {"request_id": "build-7"}
            a = await client.post(ANALYSES, params=asked, content=TRAINER, headers=keys["team-a"])
            b = await client.post(ANALYSES, params=asked, content=MAVEN, headers=keys["team-b"])
            assert a.status_code == b.status_code == 201, b.text
            assert a.json()["findings"][0]["category"] == "gpu.cuda_oom"
            assert b.json()["findings"][0]["category"] == "build.java_compile"
            for own, other in (("team-a", "team-b"), ("team-b", "team-a")):
                (mine,) = (await client.get(ANALYSES, headers=keys[own])).json()["items"]
                path = f"{ANALYSES}/{mine['id']}"
                assert (await client.get(path, headers=keys[own])).status_code == 200
                assert (await client.get(path, headers=keys[other])).status_code == 404

    asyncio.run(main())
