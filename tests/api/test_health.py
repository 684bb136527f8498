"""What every answer has in common (the error format, request ids, security headers, CORS),
and what operators watch: liveness, readiness and the Prometheus metrics."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.api.conftest import ANALYSES, KEYS, TRAINER, Api, assert_error, metric

DOWN_DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:1/x"
DOWN_REDIS = "redis://127.0.0.1:1/0"

# The error format ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "request_args", "status", "code"),
    [
        ("GET", "/no/such/route", {}, 404, "not_found"),
        ("DELETE", "/healthz", {}, 405, "method_not_allowed"),
        ("GET", f"{ANALYSES}/12345", {}, 404, "not_found"),
        ("POST", ANALYSES, {"params": {"top": 0}, "content": TRAINER}, 422, "validation_error"),
        ("POST", ANALYSES, {"content": b""}, 422, "input_error"),
        ("POST", KEYS, {"json": {"name": "x", "rate": "fast"}}, 422, "validation_error"),
    ],
    ids=["unknown route", "wrong method", "unknown analysis", "bad query", "no log", "bad rate"],
)
def test_every_error_has_the_one_format(
    sqlite_api: Api,
    method: str,
    path: str,
    request_args: dict[str, Any],
    status: int,
    code: str,
) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        response = await client.request(method, path, **request_args)
        assert_error(response, status, code)

    sqlite_api.run(scenario)


def test_unknown_routes_and_methods_say_where_to_look(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        error = assert_error(await client.get("/api/v2/analyses"), 404, "not_found")
        assert error["message"] == "no such route: /api/v2/analyses; the routes are listed at /docs"
        response = await client.delete("/healthz")
        error = assert_error(response, 405, "method_not_allowed")
        assert error["message"] == "DELETE is not allowed on /healthz; see /docs"
        assert response.headers["allow"] == "GET, OPTIONS"

    sqlite_api.run(scenario)


def test_a_valid_request_id_is_echoed_and_a_bad_one_replaced(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        response = await client.get("/no/such/route", headers={"X-Request-ID": "ci-run.42_a"})
        assert response.headers["x-request-id"] == "ci-run.42_a"
        assert assert_error(response, 404, "not_found")["request_id"] == "ci-run.42_a"

        for bad in ("has spaces", "x" * 65, "semi;colon"):
            response = await client.get("/healthz", headers={"X-Request-ID": bad})
            assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])

        first, second = await client.get("/healthz"), await client.get("/healthz")
        assert first.headers["x-request-id"] != second.headers["x-request-id"]

    sqlite_api.run(scenario)


# Headers ------------------------------------------------------------------------------------


def test_security_headers_are_on_every_answer(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        answers = [
            await client.post(ANALYSES, content=TRAINER),
            await client.get(ANALYSES),
            await client.get("/no/such/route"),
            await client.get("/healthz"),
        ]
        for response in answers:
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["x-frame-options"] == "DENY"
            assert response.headers["content-security-policy"] == (
                "default-src 'none'; frame-ancestors 'none'"
            )
            assert response.headers["referrer-policy"] == "no-referrer"
        for response in answers[:2]:  # the API's answers are never cached
            assert response.headers["cache-control"] == "no-store"
        docs = await client.get("/docs")
        assert docs.status_code == 200
        assert "script-src 'self'" in docs.headers["content-security-policy"]

    sqlite_api.run(scenario)


PREFLIGHT = {
    "Origin": "https://ui.example",
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "X-API-Key",
}


def test_cors_is_off_by_default(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        preflight = await client.options(ANALYSES, headers=PREFLIGHT)
        assert "access-control-allow-origin" not in preflight.headers
        simple = await client.get(ANALYSES, headers={"Origin": "https://ui.example"})
        assert "access-control-allow-origin" not in simple.headers

    sqlite_api.run(scenario)


def test_cors_allows_the_configured_origins(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        preflight = await client.options(ANALYSES, headers=PREFLIGHT)
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://ui.example"
        assert "POST" in preflight.headers["access-control-allow-methods"]
        assert "x-api-key" in preflight.headers["access-control-allow-headers"].lower()

        simple = await client.get(ANALYSES, headers={"Origin": "https://ui.example"})
        assert simple.headers["access-control-allow-origin"] == "https://ui.example"
        assert "location" in simple.headers["access-control-expose-headers"].lower()

        stranger = {**PREFLIGHT, "Origin": "https://evil.example"}
        refused = await client.options(ANALYSES, headers=stranger)
        assert "access-control-allow-origin" not in refused.headers

    sqlite_api.run(scenario, cors_origins=["https://ui.example"])


# Liveness and readiness ---------------------------------------------------------------------


def test_live_and_ready_on_a_live_database(api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        live = await client.get("/healthz")
        assert (live.status_code, live.json()) == (200, {"status": "ok"})
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json() == {
            "status": "ready",
            "checks": {"database": {"ok": True, "required": True, "detail": "current schema"}},
        }

    api.run(scenario)


def test_a_down_database_makes_the_service_unready_but_it_still_analyses() -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        body = ready.json()
        assert body["status"] == "not ready"
        assert body["checks"]["database"]["ok"] is False
        assert body["checks"]["database"]["detail"] == "the database is unavailable (see the log)"
        assert "127.0.0.1" not in ready.text  # where it is goes to the server log only

        assert (await client.get("/healthz")).status_code == 200

        response = await client.post(ANALYSES, content=TRAINER)
        assert response.status_code == 200
        assert "location" not in response.headers
        report = response.json()
        assert report["findings"][0]["category"] == "gpu.cuda_oom"
        assert any(warning.startswith("not stored: ") for warning in report["warnings"])

    Api(DOWN_DATABASE).run(scenario)


def test_a_down_redis_makes_the_service_unready(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        checks = ready.json()["checks"]
        assert checks["database"]["ok"] is True
        assert checks["cache"]["ok"] is False
        assert checks["cache"]["required"] is True
        assert "127.0.0.1" not in ready.text
        assert (await client.get("/healthz")).status_code == 200

    sqlite_api.run(scenario, redis_url=DOWN_REDIS)


# Metrics ------------------------------------------------------------------------------------


def test_metrics_count_analyses_requests_and_the_cache(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        before = (await client.get("/metrics")).text
        assert (await client.post(ANALYSES, content=TRAINER)).status_code == 201
        response = await client.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        after = response.text

        failures = {"verdict": "failure", "cache": "miss", "provider": "none"}
        assert re.search(r'^bifrost_analyses_total\{[^}]*verdict="failure"', after, re.M)
        counted = metric(after, "bifrost_analyses_total", **failures)
        assert counted - metric(before, "bifrost_analyses_total", **failures) == 1

        created = {"method": "POST", "route": ANALYSES, "status": "201"}
        assert (
            metric(after, "bifrost_http_requests_total", **created)
            - metric(before, "bifrost_http_requests_total", **created)
            == 1
        )
        timed = {"method": "POST", "route": ANALYSES, "le": "+Inf"}
        assert (
            metric(after, "bifrost_http_request_duration_seconds_bucket", **timed)
            - metric(before, "bifrost_http_request_duration_seconds_bucket", **timed)
            == 1
        )
        misses = metric(after, "bifrost_cache_requests_total", result="miss")
        assert misses - metric(before, "bifrost_cache_requests_total", result="miss") == 1

    sqlite_api.run(scenario)


def test_cache_lookups_of_unstored_analyses_are_counted(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        before = (await client.get("/metrics")).text
        first = await client.post(ANALYSES, params={"store": False}, content=TRAINER)
        stored = await client.post(ANALYSES, content=TRAINER)  # not stored: not cached either
        repeat = await client.post(ANALYSES, params={"store": False}, content=TRAINER)
        assert [r.headers["x-bifrost-cache"] for r in (first, stored, repeat)] == [
            "miss",
            "miss",
            "hit",
        ]
        after = (await client.get("/metrics")).text
        hits = metric(after, "bifrost_cache_requests_total", result="hit")
        misses = metric(after, "bifrost_cache_requests_total", result="miss")
        assert hits - metric(before, "bifrost_cache_requests_total", result="hit") == 1
        assert misses - metric(before, "bifrost_cache_requests_total", result="miss") == 2

    sqlite_api.run(scenario)


# Allowed methods ----------------------------------------------------------------------------

ALLOWED = [
    ("/healthz", "GET, OPTIONS"),
    (ANALYSES, "GET, OPTIONS, POST"),
    (f"{ANALYSES}/1", "DELETE, GET, OPTIONS"),
]


def test_options_answers_which_methods_a_path_allows(sqlite_api: Api) -> None:
    """OPTIONS is answered (204, no body) with every method of the path, not refused."""

    async def scenario(client: httpx.AsyncClient) -> None:
        for path, allow in ALLOWED:
            response = await client.options(path)
            assert response.status_code == 204, (path, response.text)
            assert response.headers["allow"] == allow, path
            assert response.content == b""

    sqlite_api.run(scenario)


def test_a_405_names_every_method_of_the_path(sqlite_api: Api) -> None:
    """FastAPI makes a route per method; the 405's Allow must list them all, not the first."""

    async def scenario(client: httpx.AsyncClient) -> None:
        for path, allow in ALLOWED:
            response = await client.request("PATCH", path)
            assert_error(response, 405, "method_not_allowed")
            assert response.headers["allow"] == allow, path

    sqlite_api.run(scenario)
