"""`POST /api/v1/filter`: the options of `bifrost filter`, a streamed answer, the `analyze`
scope, the limits, and the errors before the stream begins."""

from __future__ import annotations

import gzip
import json

import httpx

from tests.api.conftest import ANALYSES, TRAINER, Api, assert_error
from tests.conftest import DATA

FILTER = "/api/v1/filter"
APP_LOG = (DATA / "logs" / "api-traceback.log").read_bytes()
LINES = APP_LOG.decode().splitlines()


def test_the_lines_kept_stream_as_text(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        async with client.stream(
            "POST", FILTER, params={"level": "error"}, content=APP_LOG
        ) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/plain")
            lines = [line async for line in response.aiter_lines()]
        assert lines == [*LINES[3:8], LINES[10]]  # the traceback whole

    sqlite_api.run(scenario)


def test_jsonl_dedupe_and_stats(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        response = await client.post(
            FILTER, params={"format": "jsonl", "regexp": "request ok"}, content=APP_LOG
        )
        assert response.headers["content-type"] == "application/x-ndjson"
        rows = [json.loads(line) for line in response.text.splitlines()]
        assert [r["line"] for r in rows] == [9, 10, 12]
        assert set(rows[0]) == {"line", "level", "time", "template_id", "source", "text"}

        deduped = await client.post(
            FILTER, params={"format": "jsonl", "dedupe": "true", "level": "info"}, content=APP_LOG
        )
        counts = [r["count"] for r in map(json.loads, deduped.text.splitlines()) if "count" in r]
        assert sorted(counts) == [1, 1, 1, 1, 3]  # "request ok" thrice

        stats = (await client.post(FILTER, params={"stats": "true"}, content=APP_LOG)).json()
        levels = {"info": 4, "debug": 1, "warning": 1, "error": 2}
        assert (stats["events"], stats["levels"]) == (8, levels)

    sqlite_api.run(scenario)


def test_around_a_finding_of_a_stored_analysis(api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        missing = await client.post(FILTER, params={"around": "F1"}, content=TRAINER)
        assert "no stored analysis" in assert_error(missing, 404, "not_found")["message"]
        report = (await client.post(ANALYSES, content=TRAINER)).json()
        evidence = report["findings"][0]["evidence"][0]
        response = await client.post(
            FILTER, params={"around": "F1", "format": "jsonl"}, content=TRAINER
        )
        shown = [json.loads(line)["line"] for line in response.text.splitlines()]
        assert shown[0] <= evidence["line"] <= evidence["end_line"] <= shown[-1]

    api.run(scenario)


def test_the_filter_needs_the_analyze_scope(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        _, reader = await sqlite_api.key("dashboard", ["read"])
        _, worker = await sqlite_api.key("ci-bot", ["analyze"])
        assert_error(await client.post(FILTER, content=APP_LOG), 401, "unauthorized")
        refused = await client.post(FILTER, content=APP_LOG, headers={"X-API-Key": reader})
        assert "`analyze`" in assert_error(refused, 403, "forbidden")["message"]
        allowed = await client.post(FILTER, content=APP_LOG, headers={"X-API-Key": worker})
        assert allowed.text.splitlines() == LINES

    sqlite_api.run(scenario, auth=True)


def test_bad_options_are_refused_before_the_stream(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        since = await client.post(FILTER, params={"since": "yesterday"}, content=APP_LOG)
        assert "10:02:30" in assert_error(since, 422, "usage_error")["message"]
        regex = await client.post(FILTER, params={"regexp": "(unclosed"}, content=APP_LOG)
        assert_error(regex, 422, "usage_error")
        level = await client.post(FILTER, params={"level": "loud"}, content=APP_LOG)
        assert_error(level, 422, "validation_error")

    sqlite_api.run(scenario)


def test_the_limits_hold(sqlite_api: Api) -> None:
    bomb = gzip.compress(b"ERROR the same line again\n" * 100_000)  # 2.6 MB in 10 kB

    async def scenario(client: httpx.AsyncClient) -> None:
        expanded = await client.post(FILTER, content=bomb)
        error = assert_error(expanded, 422, "input_error")
        assert "more than 1,000,000 bytes once decompressed" in error["message"]
        too_large = await client.post(FILTER, content=b"INFO a line\n" * 3000)
        assert_error(too_large, 413, "too_large")
        binary = await client.post(FILTER, content=bytes(range(32)) * 100)
        assert_error(binary, 422, "input_error")

    sqlite_api.run(scenario, max_input_bytes=1_000_000, max_request_bytes=30_000)
