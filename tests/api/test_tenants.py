"""Tenants share one server: each sees its own data only, and has its own limits.

The isolation test walks the API's route table (its OpenAPI document), so a route added later
is covered without a line here, or fails until it says which object its parameter names.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bifrost.analysis.tenants import NO_LIMITS, Limits, create_tenant, tenant_named
from bifrost.config import Settings
from bifrost.store import create_key, open_store, save_analysis
from bifrost.store.jobs import create_job
from bifrost.store.tenants import TenantExists
from tests.llm.servers import VALID_ANSWER, FakeServer, Reply
from tests.store.helpers import report

from .conftest import ANALYSES, KEYS, MAVEN, TRAINER, Api, assert_error, metric

MARKER = "b-marker"
"""In every name tenant B gives: a list that shows it to tenant A leaks."""
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/api/v1/analyses/{analysis_id}/feedback"): {"good": False, "note": "no"},
    ("post", "/api/v1/analyses/{analysis_id}/known"): {"finding": "F1", "note": "restart"},
    ("patch", "/api/v1/tenants/{name}"): {"analyses_per_day": 1},
}
"""A valid body for each route that takes one and names an object by its path."""


@dataclass
class World:
    a: dict[str, str]  # headers of tenant A's key (analyze, read, admin)
    b: dict[str, str]  # headers of tenant B's key
    b_objects: dict[str, str]  # each path parameter's value naming one of B's objects


async def _tenant_key(
    api: Api, tenant: str, limits: Limits = NO_LIMITS, name: str = "key"
) -> dict[str, str]:
    """A new tenant (unless it exists) and a key of it with every scope a team admin has."""
    async with await open_store(Settings(database_url=api.database_url)) as store:
        try:
            found = await create_tenant(store, tenant, limits)
        except TenantExists:
            found = await tenant_named(store, tenant)
        _, secret = await create_key(store.for_tenant(found.id), name, ["analyze", "read", "admin"])
    return {"X-API-Key": secret}


async def _world(api: Api, client: httpx.AsyncClient) -> World:
    a = await _tenant_key(api, "team-a")
    b = await _tenant_key(api, "team-b", name=f"key-{MARKER}")
    made = await client.post(
        ANALYSES, params={"service": f"svc-{MARKER}", "store_input": "true"}, content=TRAINER
    )
    assert made.status_code == 401  # no key, no analysis
    made = await client.post(
        ANALYSES,
        params={"service": f"svc-{MARKER}", "store_input": "true"},
        content=TRAINER,
        headers=b,
    )
    assert made.status_code == 201, made.text
    analysis_id = made.headers["location"].rsplit("/", 1)[1]
    said = await client.post(
        f"{ANALYSES}/{analysis_id}/feedback", json={"good": True, "note": MARKER}, headers=b
    )
    assert said.status_code == 204, said.text
    pinned = await client.post(
        f"{ANALYSES}/{analysis_id}/known", json={"finding": "F1", "note": MARKER}, headers=b
    )
    assert pinned.status_code == 201, pinned.text
    async with await open_store(Settings(database_url=api.database_url)) as store:
        b_store = store.for_tenant((await tenant_named(store, "team-b")).id)
        await save_analysis(b_store, report("crash"), experiment=f"exp-{MARKER}", variant="a")
        job, _ = await create_job(b_store, f"req-{MARKER}", "b.log", gzip.compress(b"x\n"))
    keys = (await client.get(KEYS, headers=b)).json()
    return World(
        a=a,
        b=b,
        b_objects={
            "analysis_id": analysis_id,
            "job_id": job.id,
            "key_id": str(keys[0]["id"]),
            "name": f"exp-{MARKER}",
        },
    )


def _routes(document: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    """(method, path, path parameters) of every operation of the API."""
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            params = [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]
            found.append((method, path, params))
    return found


def test_a_tenant_gets_404_for_every_object_of_another_and_lists_only_its_own(api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        world = await _world(api, client)
        document = (await client.get("/openapi.json")).json()
        checked = 0
        for method, path, params in _routes(document):
            if not params:
                continue
            missing = [p for p in params if p not in world.b_objects]
            assert not missing, f"{method} {path}: name one of B's objects for {missing}"
            body = BODIES.get((method, path))
            if method in ("post", "put", "patch"):
                assert body is not None, f"{method} {path}: add a valid body to BODIES"
            url = path.format(**world.b_objects)
            answer = await client.request(method, url, json=body, headers=world.a)
            if answer.status_code == 403 and "`server` scope" in answer.text:
                # a route for admins of the whole server: refused whether or not it exists
                absent = path.format(**dict.fromkeys(params, "no-such-thing-9"))
                other = await client.request(method, absent, json=body, headers=world.a)
                assert other.status_code == 403, (method, path, other.text)
                continue
            assert_error(answer, 404, "not_found")
            checked += 1
        assert checked >= 8  # an analysis (get, delete, feedback, known), a job (2), a key, …

        mine = await client.get(f"{ANALYSES}/{world.b_objects['analysis_id']}", headers=world.b)
        assert mine.status_code == 200  # A's DELETE changed nothing
        assert [entry["good"] for entry in mine.json()["feedback"]] == [True]  # nor its feedback
        assert (await client.get(KEYS, headers=world.b)).json()[0]["revoked_at"] is None

        listed = 0
        for method, path, params in _routes(document):
            if method != "get" or params or not path.startswith("/api/v1/"):
                continue
            theirs = await client.get(path, headers=world.a)
            assert MARKER not in theirs.text, f"{path} shows tenant B's rows to tenant A"
            listed += theirs.status_code == 200
        assert listed >= 5  # analyses, export, experiments, keys, usage, providers
        own = await client.get(ANALYSES, headers=world.b)
        assert MARKER in own.text  # the check above can see a leak
        own_export = await client.get(f"{ANALYSES}/export", headers=world.b)
        assert MARKER in own_export.text

    api.run(scenario, auth=True)


def test_the_same_log_and_request_id_in_two_tenants_are_two_analyses(api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        a = await _tenant_key(api, "team-a")
        b = await _tenant_key(api, "team-b")
        asked = {"X-Request-ID": "build-42"}
        first = await client.post(ANALYSES, content=TRAINER, headers=a | asked)
        second = await client.post(ANALYSES, content=TRAINER, headers=b | asked)
        assert first.status_code == second.status_code == 201, second.text
        assert second.headers["x-bifrost-cache"] == "miss"  # A's cached answer is A's
        assert first.headers["location"] != second.headers["location"]
        again = await client.post(ANALYSES, content=TRAINER, headers=b | asked)
        assert again.headers["location"] == second.headers["location"]  # B's own retry

    api.run(scenario, auth=True)


def test_analyses_per_day_run_out_with_429_and_come_back_the_next_day(api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        a = await _tenant_key(api, "team-a", Limits(analyses_per_day=2))
        b = await _tenant_key(api, "team-b")
        for log in (TRAINER, MAVEN):
            assert (await client.post(ANALYSES, content=log, headers=a)).status_code == 201
        refused = await client.post(ANALYSES, content=TRAINER, headers=a)
        error = assert_error(refused, 429, "quota_exceeded")
        assert "team-a has used its 2 analyses of today" in error["message"]
        assert "T00:00:00Z" in error["message"]
        assert 0 < int(refused.headers["retry-after"]) <= 86_400
        streamed = await client.post(f"{ANALYSES}/stream", content=TRAINER, headers=a)
        assert_error(streamed, 429, "quota_exceeded")  # a status, not an event in a stream
        assert (await client.post(ANALYSES, content=TRAINER, headers=b)).status_code == 201

        usage = (await client.get("/api/v1/usage", headers=a)).json()
        assert usage["name"] == "team-a"
        assert usage["limits"]["analyses_per_day"] == 2
        assert usage["used"]["analyses_today"] == 2

        await _a_day_passes(api.database_url)
        next_day = await client.post(
            ANALYSES, params={"cache": "false"}, content=TRAINER, headers=a
        )
        assert next_day.status_code == 201, next_day.text
        usage = (await client.get("/api/v1/usage", headers=a)).json()
        assert usage["used"]["analyses_today"] == 1

    api.run(scenario, auth=True)


async def _a_day_passes(url: str) -> None:
    """Every stored analysis moved one day back, as if it were made yesterday."""
    engine = create_async_engine(url)
    back = (
        "created_at - interval '1 day'"
        if url.startswith("postgresql")
        else "strftime('%Y-%m-%d %H:%M:%f', created_at, '-1 day')"
    )
    try:
        async with engine.begin() as connection:
            await connection.execute(text(f"UPDATE analyses SET created_at = {back}"))
    finally:
        await engine.dispose()


def test_bytes_kept_run_out_with_403_but_an_unstored_analysis_still_runs(api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        a = await _tenant_key(api, "team-a", Limits(stored_bytes=1000))
        assert (await client.post(ANALYSES, content=TRAINER, headers=a)).status_code == 201
        refused = await client.post(ANALYSES, content=MAVEN, headers=a)
        assert "its limit is 1000" in assert_error(refused, 403, "quota_exceeded")["message"]
        unstored = await client.post(ANALYSES, params={"store": "false"}, content=MAVEN, headers=a)
        assert unstored.status_code == 200, unstored.text
        used = (await client.get("/api/v1/usage", headers=a)).json()["used"]
        assert used["stored_bytes"] > 1000

    api.run(scenario, auth=True)


def test_a_tenant_rate_is_shared_by_all_its_keys(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        first = await _tenant_key(sqlite_api, "team-a", Limits(rate="3/minute"), "one")
        second = await _tenant_key(sqlite_api, "team-a", name="two")
        other = await _tenant_key(sqlite_api, "team-b")
        for headers in (first, second, first):
            assert (await client.get(ANALYSES, headers=headers)).status_code == 200
        refused = await client.get(ANALYSES, headers=second)
        error = assert_error(refused, 429, "rate_limited")
        assert "tenant team-a's rate limit of 3/minute" in error["message"]
        assert int(refused.headers["retry-after"]) >= 1
        assert (await client.get(ANALYSES, headers=other)).status_code == 200

        exposition = (await client.get("/metrics")).text  # auth on: a key is needed
        assert "bifrost_tenant" not in exposition

    sqlite_api.run(scenario, auth=True)


@pytest.fixture
def llm() -> Any:
    with FakeServer() as server:
        yield server


def test_spent_llm_tokens_leave_the_triage_without_the_llm(sqlite_api: Api, llm: Any) -> None:
    llm.reply("/api/chat", Reply(text=VALID_ANSWER))

    async def scenario(client: httpx.AsyncClient) -> None:
        a = await _tenant_key(sqlite_api, "team-a", Limits(llm_tokens_per_month=1))
        explained = await client.post(ANALYSES, content=TRAINER, headers=a)
        assert explained.status_code == 201, explained.text
        assert explained.json()["llm"] is not None
        spent = (await client.get("/api/v1/usage", headers=a)).json()["used"]
        assert spent["llm_tokens_this_month"] >= 1

        plain = await client.post(ANALYSES, content=MAVEN, headers=a)
        assert plain.status_code == 201, plain.text
        assert plain.json()["llm"] is None
        (warning,) = [w for w in plain.json()["warnings"] if "LLM tokens" in w]
        assert "team-a has used its 1 LLM tokens of this month" in warning
        asked = await client.post(ANALYSES, params={"llm": "ollama"}, content=MAVEN, headers=a)
        assert_error(asked, 429, "quota_exceeded")

    sqlite_api.run(scenario, auth=True, llm="ollama", model="test-model", base_url=llm.url)


def test_only_a_server_admin_manages_tenants_and_other_tenants_keys(api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        _, server_secret = await api.key("root", ["admin", "metrics", "server"])
        root = {"X-API-Key": server_secret}
        admin = await _tenant_key(api, "team-a")

        made = await client.post(
            "/api/v1/tenants", json={"name": "team-c", "analyses_per_day": 5}, headers=root
        )
        assert made.status_code == 201, made.text
        assert made.json()["limits"]["analyses_per_day"] == 5
        again = await client.post("/api/v1/tenants", json={"name": "team-c"}, headers=root)
        assert_error(again, 409, "conflict")
        names = [t["name"] for t in (await client.get("/api/v1/tenants", headers=root)).json()]
        assert names == ["default", "team-a", "team-c"]
        changed = await client.patch(
            "/api/v1/tenants/team-c", json={"stored_bytes": 10}, headers=root
        )
        assert changed.json()["limits"] == {
            "rate": None,
            "analyses_per_day": 5,
            "stored_bytes": 10,
            "llm_tokens_per_month": None,
        }
        assert_error(await client.get("/api/v1/tenants", headers=admin), 403, "forbidden")
        assert_error(await client.get("/api/v1/tenants/nope", headers=root), 404, "not_found")

        keyed = await client.post(
            KEYS, json={"name": "c-admin", "scopes": ["admin"], "tenant": "team-c"}, headers=root
        )
        assert keyed.status_code == 201, keyed.text
        assert keyed.json()["tenant"] == "team-c"
        c_admin = {"X-API-Key": keyed.json()["key"]}
        assert [k["name"] for k in (await client.get(KEYS, headers=c_admin)).json()] == ["c-admin"]
        for body in (
            {"name": "x", "tenant": "team-c"},  # another tenant's key
            {"name": "x", "scopes": ["server"]},  # more power than its own
        ):
            assert_error(await client.post(KEYS, json=body, headers=admin), 403, "forbidden")
        own = await client.post(KEYS, json={"name": "ci"}, headers=admin)
        assert own.json()["tenant"] == "team-a"

        await client.get(ANALYSES, headers=admin)
        exposition = (await client.get("/metrics", headers=root)).text
        assert metric(exposition, "bifrost_tenant_requests_total", tenant="team-a") >= 1
        assert_error(await client.get("/metrics", headers=admin), 403, "forbidden")

    api.run(scenario, auth=True)
