"""`/api/v1/analyses`: a log in any form becomes a Report, stored, cached, listed, exported,
deleted and given feedback — on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import csv
import gzip
import io
import json
import random
import tempfile
import uuid
from collections.abc import AsyncIterator, MutableMapping
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
from prometheus_client import REGISTRY

from bifrost.api.intake import IN_MEMORY_BYTES
from bifrost.config import Settings
from bifrost.store import open_store
from bifrost.store.repository import get_input_blob
from tests.api.conftest import (
    ANALYSES,
    HEALTHY,
    MAVEN,
    TRAINER,
    Api,
    assert_error,
)

# Creating an analysis ------------------------------------------------------------------------


def test_a_raw_body_is_analysed_stored_and_located(api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        response = await client.post(ANALYSES, content=TRAINER)
        assert response.status_code == 201
        assert response.headers["content-type"] == "application/json"
        analysis_id = response.headers["x-bifrost-analysis-id"]
        assert response.headers["location"] == f"{ANALYSES}/{analysis_id}"
        assert response.headers["x-bifrost-cache"] == "miss"
        report = response.json()
        assert report["schema"] == "bifrost.report/v1"
        assert report["verdict"] == "failure"
        assert report["findings"][0]["category"] == "gpu.cuda_oom"
        assert len(report["findings"]) == 5  # the server's default top
        assert report["input"]["name"] == "upload"
        assert report["input"]["bytes"] == len(TRAINER)

        stored = await client.get(response.headers["location"])
        assert stored.status_code == 200
        analysis = stored.json()
        assert analysis["id"] == int(analysis_id)
        assert analysis["report"] == report
        assert analysis["verdict"] == "failure"
        assert analysis["input_name"] == "upload"
        assert analysis["top_title"] == report["findings"][0]["title"]
        assert (analysis["feedback"], analysis["has_input"]) == ([], False)

    api.run(scenario)


def test_a_repeat_is_answered_from_the_cache_and_points_at_the_first(api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        first = await client.post(ANALYSES, content=TRAINER)
        repeat = await client.post(ANALYSES, content=TRAINER)
        assert (first.status_code, repeat.status_code) == (201, 200)
        assert repeat.headers["x-bifrost-cache"] == "hit"
        assert repeat.headers["location"] == first.headers["location"]
        assert repeat.headers["x-bifrost-analysis-id"] == first.headers["x-bifrost-analysis-id"]
        assert repeat.json()["findings"] == first.json()["findings"]
        listed = await client.get(ANALYSES)
        assert len(listed.json()["items"]) == 1  # a repeat is not stored again

    api.run(scenario)


def test_a_gzip_body_is_read_as_the_log_it_holds(api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        plain = await client.post(ANALYSES, params={"cache": False}, content=TRAINER)
        packed = await client.post(
            ANALYSES, params={"cache": False}, content=gzip.compress(TRAINER)
        )
        assert (plain.status_code, packed.status_code) == (201, 201)
        assert packed.json()["input"] == plain.json()["input"]  # decompressed size and hash
        assert titles(packed.json()) == titles(plain.json())

    api.run(scenario)


def test_a_gzip_body_that_expands_past_the_limit_is_refused(sqlite_api: Api) -> None:
    bomb = gzip.compress(b"ERROR the same line again\n" * 100_000)  # 2.6 MB in 10 kB

    async def scenario(client: httpx.AsyncClient) -> None:
        for route in (ANALYSES, ANALYSES + "/stream"):
            response = await client.post(route, content=bomb)
            if route == ANALYSES:
                error = assert_error(response, 422, "input_error")
                assert "more than 1,000,000 bytes once decompressed" in error["message"]
            else:  # the stream has begun: the refusal is its last event
                assert "event: error" in response.text
                assert "more than 1,000,000 bytes once decompressed" in response.text
        assert (await client.get(ANALYSES)).json()["items"] == []

    sqlite_api.run(scenario, max_input_bytes=1_000_000)


def test_a_json_body_carries_the_log_and_options(api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        response = await client.post(ANALYSES, json={"log": TRAINER.decode(), "service": "gpu"})
        assert response.status_code == 201
        assert response.json()["findings"][0]["category"] == "gpu.cuda_oom"
        stored = (await client.get(response.headers["location"])).json()
        assert stored["service"] == "gpu"

    api.run(scenario)


def test_a_multipart_upload_is_named_after_its_file(api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        response = await client.post(ANALYSES, files={"file": ("trainer.log", TRAINER)})
        assert response.status_code == 201
        report = response.json()
        assert report["input"]["name"] == "trainer.log"
        assert report["findings"][0]["category"] == "gpu.cuda_oom"

    api.run(scenario)


def test_a_multipart_upload_of_two_files_is_one_analysis_of_both(api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        response = await client.post(
            ANALYSES,
            files=[("file", ("trainer.log", TRAINER)), ("file", ("build.log", MAVEN))],
            data={"service": "nightly", "tag": ["gpu", "java"]},
        )
        assert response.status_code == 201
        report = response.json()
        assert report["input"]["files"] == ["trainer.log", "build.log"]
        assert report["input"]["name"] == "2 files"
        assert report["input"]["bytes"] == len(TRAINER) + len(MAVEN)
        categories = {finding["category"] for finding in report["findings"]}
        assert {"gpu.cuda_oom", "build.java_compile"} <= categories
        stored = (await client.get(response.headers["location"])).json()
        assert (stored["service"], stored["tags"]) == ("nightly", ["gpu", "java"])

    api.run(scenario)


def test_query_options_label_name_and_trim_the_analysis(api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        options: dict[str, Any] = {
            "service": "trainer",
            "env": "prod",
            "tag": ["gpu", "nightly"],
            "top": 2,
            "name": "run-42.log",
            "store_input": True,
        }
        response = await client.post(ANALYSES, params=options, content=TRAINER)
        assert response.status_code == 201
        report = response.json()
        assert len(report["findings"]) == 2
        assert report["input"]["name"] == "run-42.log"
        stored = (await client.get(response.headers["location"])).json()
        assert stored["service"] == "trainer"
        assert stored["environment"] == "prod"
        assert stored["tags"] == ["gpu", "nightly"]
        assert stored["input_name"] == "run-42.log"
        assert stored["has_input"] is True

    api.run(scenario)


def test_json_body_fields_override_the_query(api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        response = await client.post(
            ANALYSES,
            params={"service": "from-query", "top": 5, "env": "staging"},
            json={"log": TRAINER.decode(), "service": "from-body", "top": 1},
        )
        assert response.status_code == 201
        assert len(response.json()["findings"]) == 1
        stored = (await client.get(response.headers["location"])).json()
        assert stored["service"] == "from-body"
        assert stored["environment"] == "staging"  # not in the body: the query's stands

    api.run(scenario)


def test_store_false_answers_the_report_and_keeps_nothing(api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        response = await client.post(ANALYSES, params={"store": False}, content=TRAINER)
        assert response.status_code == 200
        assert "location" not in response.headers
        assert "x-bifrost-analysis-id" not in response.headers
        assert response.json()["findings"][0]["category"] == "gpu.cuda_oom"
        assert (await client.get(ANALYSES)).json()["items"] == []

    api.run(scenario)


def test_cache_false_analyses_and_stores_every_time(api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        first = await client.post(ANALYSES, params={"cache": False}, content=TRAINER)
        second = await client.post(ANALYSES, params={"cache": False}, content=TRAINER)
        assert (first.status_code, second.status_code) == (201, 201)
        assert [first.headers["x-bifrost-cache"], second.headers["x-bifrost-cache"]] == [
            "miss",
            "miss",
        ]
        assert first.headers["location"] != second.headers["location"]

    api.run(scenario)


def test_a_log_first_sent_with_store_false_is_stored_when_asked_later(api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        await client.post(ANALYSES, params={"store": False}, content=TRAINER)
        response = await client.post(ANALYSES, content=TRAINER)  # store=true: keep it
        assert response.status_code == 201
        assert "location" in response.headers
        assert len((await client.get(ANALYSES)).json()["items"]) == 1

    api.run(scenario)


def check_markdown(body: str) -> None:
    assert body.startswith("## ✗ Failure — GPU out of memory")


def check_sarif(body: str) -> None:
    sarif = json.loads(body)
    assert sarif["version"] == "2.1.0"
    assert sarif["runs"][0]["tool"]["driver"]["rules"][0]["id"] == "gpu.cuda_oom"


def check_junit(body: str) -> None:
    root = ElementTree.fromstring(body)
    assert root.tag == "testsuites"
    case = root.find("testsuite/testcase")
    assert case is not None
    assert case.get("classname") == "gpu.cuda_oom"
    assert case.find("failure") is not None


def check_github(body: str) -> None:
    first = body.splitlines()[0]
    assert first.startswith("::error file=upload,line=431,")
    assert "title=GPU out of memory" in first


@pytest.mark.parametrize(
    ("fmt", "content_type", "check"),
    [
        ("markdown", "text/markdown; charset=utf-8", check_markdown),
        ("sarif", "application/sarif+json", check_sarif),
        ("junit", "application/xml", check_junit),
        ("github", "text/plain; charset=utf-8", check_github),
    ],
)
def test_the_report_can_be_rendered(
    sqlite_api: Api, fmt: str, content_type: str, check: Any
) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        response = await client.post(ANALYSES, params={"format": fmt}, content=TRAINER)
        assert response.status_code == 201
        assert response.headers["content-type"] == content_type
        assert response.headers["location"].startswith(f"{ANALYSES}/")
        check(response.text)

    sqlite_api.run(scenario)


def test_the_engine_process_pool_analyses_too(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        response = await client.post(ANALYSES, content=TRAINER)
        assert response.status_code == 201
        assert response.json()["findings"][0]["category"] == "gpu.cuda_oom"

    sqlite_api.run(scenario, engine_processes=1)


@pytest.mark.parametrize("engine_processes", [0, 1], ids=["in process", "engine process"])
def test_bodies_held_in_memory_or_spooled_are_analysed_alike_and_leave_no_file(
    sqlite_api: Api, engine_processes: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A small body stays in memory, a large one goes to a temporary file (removed after)."""
    spools = tmp_path / "spools"
    spools.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spools))  # where spools go, to watch it
    small = TRAINER
    large = TRAINER + b"2024-05-01 12:00:00 INFO step done\n" * (IN_MEMORY_BYTES // 30)
    assert len(small) <= IN_MEMORY_BYTES < len(large)

    async def scenario(client: httpx.AsyncClient) -> None:
        for body in (small, large):
            response = await client.post(ANALYSES, content=body, params={"store_input": True})
            assert response.status_code == 201
            report = response.json()
            assert report["input"]["bytes"] == len(body)
            assert report["findings"][0]["category"] == "gpu.cuda_oom"
            analysis_id = int(response.headers["x-bifrost-analysis-id"])
            async with await open_store(Settings(database_url=sqlite_api.database_url)) as store:
                assert gzip.decompress(await get_input_blob(store, analysis_id) or b"") == body
        assert list(spools.iterdir()) == []

    sqlite_api.run(scenario, engine_processes=engine_processes)


def varied_log(lines: int) -> bytes:
    """A log of many different lines: slow to mine (about a second for 8,000 lines)."""
    rng = random.Random(42)
    words = ["disk", "queue", "shard", "lease", "worker", "socket", "batch", "replica", "index"]
    return "".join(
        f"2024-05-01 12:00:{i % 60:02d} ERROR {' '.join(rng.sample(words, 5))} failed #{i}\n"
        for i in range(lines)
    ).encode()


def test_when_every_slot_is_taken_the_next_request_is_told_to_retry(sqlite_api: Api) -> None:
    """One engine slot, held by a long analysis: the next request waits `queue_timeout_s` for
    the slot, then gets 503 with Retry-After."""

    async def scenario(client: httpx.AsyncClient) -> None:
        holder = asyncio.create_task(client.post(ANALYSES, content=varied_log(60_000)))
        while not REGISTRY.get_sample_value("bifrost_analyses_running"):
            await asyncio.sleep(0.005)  # until the first analysis holds the slot
        response = await client.post(ANALYSES, content=MAVEN)
        error = assert_error(response, 503, "busy")
        assert "slot" in error["message"]
        assert response.headers["retry-after"] == "1"
        assert (await holder).status_code == 201

    sqlite_api.run(scenario, max_analyses=1, queue_timeout_s=0.05)


# Refused requests ---------------------------------------------------------------------------

JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    ("request_args", "code", "field"),
    [
        ({"params": {"top": 0}, "content": TRAINER}, "validation_error", "query.top"),
        ({"params": {"format": "pdf"}, "content": TRAINER}, "validation_error", "query.format"),
        ({"json": {"log": "x", "colour": "red"}}, "validation_error", "body.colour"),
        ({"json": {"service": "api"}}, "validation_error", "body.log"),
        ({"json": {"log": ""}}, "validation_error", "body.log"),
        ({"json": {"log": "x", "top": 101}}, "validation_error", "body.top"),
        ({"content": bytes(range(256)) * 16}, "input_error", None),
        ({"content": b""}, "input_error", None),
    ],
    ids=[
        "top=0",
        "unknown format",
        "unknown JSON field",
        "JSON without log",
        "JSON with an empty log",
        "JSON top too large",
        "binary garbage",
        "empty body",
    ],
)
def test_a_request_that_cannot_be_analysed_is_422(
    sqlite_api: Api, request_args: dict[str, Any], code: str, field: str | None
) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        error = assert_error(await client.post(ANALYSES, **request_args), 422, code)
        if field is not None:
            assert field in [problem["field"] for problem in error["fields"]]
            assert error["message"].startswith(f"{field}: ")
        assert (await client.get(ANALYSES)).json()["items"] == []

    sqlite_api.run(scenario)


@pytest.mark.parametrize(
    ("configured", "asked", "says"),
    [(None, "ollama", "has no LLM configured"), ("ollama", "openai", "explains with ollama only")],
)
def test_a_caller_cannot_pick_a_provider_the_operator_did_not_configure(
    sqlite_api: Api, configured: str | None, asked: str, says: str
) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        response = await client.post(ANALYSES, params={"llm": asked}, content=TRAINER)
        error = assert_error(response, 422, "validation_error")
        assert says in error["message"]
        assert (await client.get(ANALYSES)).json()["items"] == []

    sqlite_api.run(scenario, llm=configured)


def test_a_nul_byte_in_a_label_or_filter_is_422_on_every_database(api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        created = await client.post(ANALYSES, params={"service": "a\x00b"}, content=TRAINER)
        assert assert_error(created, 422, "validation_error")["fields"][0]["field"] == (
            "query.service"
        )
        listed = await client.get(ANALYSES, params={"q": "a\x00b"})
        assert_error(listed, 422, "validation_error")
        assert (await client.get(ANALYSES)).json()["items"] == []

    api.run(scenario)


def test_invalid_json_is_422_and_says_so(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        response = await client.post(ANALYSES, content=b'{"log": ', headers=JSON)
        error = assert_error(response, 422, "validation_error")
        assert error["message"].startswith("body: invalid JSON")

    sqlite_api.run(scenario)


def test_json_that_is_not_utf8_is_422(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        response = await client.post(ANALYSES, content=b'{"log": "\xff"}', headers=JSON)
        error = assert_error(response, 422, "validation_error")
        assert error["message"].startswith("body: invalid JSON")

    sqlite_api.run(scenario)


@pytest.mark.parametrize(
    "body",
    [
        "[" * 10_000,
        '{"log": "ERROR boom", "tag": ' + "[" * 10_000 + "]" * 10_000 + "}",
        '{"log": ' + '{"log": ' * 10_000 + '"x"' + "}" * 10_001,
    ],
    ids=["unclosed arrays", "nested tag", "nested objects"],
)
def test_json_nested_too_deeply_is_422_not_a_server_error(
    sqlite_api: Api, body: str, service_log: list[MutableMapping[str, Any]]
) -> None:
    """The parser recurses once per level: a small body nested 10,000 deep must not reach
    the last-resort 500 (and its traceback in the log)."""

    async def scenario(client: httpx.AsyncClient) -> None:
        response = await client.post(ANALYSES, content=body, headers=JSON)
        error = assert_error(response, 422, "validation_error")
        assert error["message"].startswith("body: invalid JSON")
        assert (await client.get(ANALYSES)).json()["items"] == []

    sqlite_api.run(scenario)
    assert [entry for entry in service_log if entry["log_level"] == "error"] == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("store", 0),
        ("store", "false"),
        ("cache", 1),
        ("cache", "true"),
        ("store_input", 1),
        ("store_input", "yes"),
    ],
)
def test_json_booleans_must_be_true_or_false(sqlite_api: Api, field: str, value: object) -> None:
    """The document says boolean: `0` or `"false"` is a mistake to report, not a guess to make
    (and `"yes"` read leniently would do what the caller may not have meant)."""

    async def scenario(client: httpx.AsyncClient) -> None:
        response = await client.post(ANALYSES, json={"log": TRAINER.decode(), field: value})
        error = assert_error(response, 422, "validation_error")
        assert error["fields"][0]["field"] == f"body.{field}"
        assert (await client.get(ANALYSES)).json()["items"] == []

    sqlite_api.run(scenario)


def test_a_form_without_a_file_part_is_422(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        response = await client.post(ANALYSES, files={"attachment": ("trainer.log", TRAINER)})
        error = assert_error(response, 422, "validation_error")
        assert error["message"].startswith("body.file: ")

    sqlite_api.run(scenario)


def test_a_bad_since_on_the_list_is_422(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        response = await client.get(ANALYSES, params={"since": "yesterday"})
        error = assert_error(response, 422, "validation_error")
        assert "cannot read the time 'yesterday'" in error["message"]

    sqlite_api.run(scenario)


def test_an_analysis_id_must_be_a_positive_number(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        error = assert_error(await client.get(f"{ANALYSES}/0"), 422, "validation_error")
        assert error["fields"][0]["field"] == "path.analysis_id"
        # Not a number: no route (so `DELETE …/export` is 405, not a bad id).
        assert_error(await client.get(f"{ANALYSES}/abc"), 404, "not_found")

    sqlite_api.run(scenario)


# Too large ----------------------------------------------------------------------------------

LIMIT = 2048
BIG = b"2024-05-01 12:00:00 ERROR worker crashed: CUDA out of memory\n" * 100  # 6,200 bytes


async def in_pieces(data: bytes, size: int = 512) -> AsyncIterator[bytes]:
    """The body as an async generator: sent chunked, without a Content-Length."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


def too_large_request(how: str) -> dict[str, Any]:
    if how == "chunked":
        return {"content": in_pieces(BIG)}
    if how == "json":
        return {"json": {"log": BIG.decode()}}
    return {"content": BIG}  # httpx sends Content-Length


@pytest.mark.parametrize("how", ["content-length", "chunked", "json"])
def test_a_body_over_the_limit_is_refused_with_413(sqlite_api: Api, how: str) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        response = await client.post(ANALYSES, **too_large_request(how))
        assert response.status_code == 413
        assert (await client.get(ANALYSES)).json()["items"] == []

    sqlite_api.run(scenario, max_request_bytes=LIMIT)


@pytest.mark.parametrize(
    "how",
    [
        "content-length",
        "json",
        "chunked",
    ],
)
def test_the_413_is_in_the_error_format(
    sqlite_api: Api, how: str, service_log: list[MutableMapping[str, Any]]
) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        response = await client.post(ANALYSES, **too_large_request(how))
        assert_error(response, 413, "too_large")
        assert response.headers["x-content-type-options"] == "nosniff"

    sqlite_api.run(scenario, max_request_bytes=LIMIT)
    assert [entry for entry in service_log if entry["log_level"] == "error"] == []


# The history: list, search, export ----------------------------------------------------------


async def seed(client: httpx.AsyncClient) -> dict[str, int]:
    """Three stored analyses, oldest first: a GPU failure, a build failure, a healthy run."""
    ids = {}
    for name, body, options in (
        ("trainer", TRAINER, {"service": "trainer", "env": "prod", "tag": "gpu"}),
        ("maven", MAVEN, {"service": "build", "env": "ci"}),
        ("healthy", HEALTHY, {"service": "web", "env": "prod"}),
    ):
        response = await client.post(ANALYSES, params=options, content=body)
        assert response.status_code == 201, response.text
        ids[name] = int(response.headers["x-bifrost-analysis-id"])
    return ids


async def listed(client: httpx.AsyncClient, **filters: Any) -> list[int]:
    """The ids the list route answers for these filters."""
    response = await client.get(ANALYSES, params=filters)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_the_list_is_newest_first_and_filters_like_history(api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        ids = await seed(client)
        trainer, maven, healthy = ids["trainer"], ids["maven"], ids["healthy"]
        page = (await client.get(ANALYSES)).json()
        assert [item["id"] for item in page["items"]] == [healthy, maven, trainer]
        assert (page["page"], page["limit"], page["next_page"]) == (1, 20, None)
        first = page["items"][2]
        assert first["top_title"] == "GPU out of memory (CUDA out of memory)"
        assert (first["service"], first["environment"], first["tags"]) == (
            "trainer",
            "prod",
            ["gpu"],
        )

        assert await listed(client, service="trainer") == [trainer]
        assert await listed(client, env="prod") == [healthy, trainer]
        assert await listed(client, tag="gpu") == [trainer]
        assert await listed(client, verdict="ok") == [healthy]
        assert await listed(client, verdict="failure") == [maven, trainer]
        assert await listed(client, q="memory") == [trainer]
        assert await listed(client, q="compilation") == [maven]
        assert await listed(client, category="gpu") == [trainer]
        assert await listed(client, category="gpu.cuda_oom") == [trainer]
        assert await listed(client, category="gp") == []  # a prefix is whole dotted parts
        assert await listed(client, since="1h") == [healthy, maven, trainer]
        assert await listed(client, until="1h") == []
        assert await listed(client, since="2099-01-01") == []

    api.run(scenario)


def test_the_list_is_paged(api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        ids = await seed(client)
        pages = []
        number: int | None = 1
        while number is not None:
            response = await client.get(ANALYSES, params={"limit": 1, "page": number})
            page = response.json()
            assert (page["page"], page["limit"]) == (number, 1)
            pages.append([item["id"] for item in page["items"]])
            number = page["next_page"]
        assert pages == [[ids["healthy"]], [ids["maven"]], [ids["trainer"]]]
        beyond = (await client.get(ANALYSES, params={"limit": 1, "page": 4})).json()
        assert (beyond["items"], beyond["next_page"]) == ([], None)

    api.run(scenario)


def test_the_history_exports_as_csv_jsonl_and_json(api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        ids = await seed(client)
        failures = [ids["maven"], ids["trainer"]]  # newest first
        export = f"{ANALYSES}/export"

        response = await client.get(export, params={"format": "csv", "verdict": "failure"})
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        disposition = 'attachment; filename="bifrost-analyses.csv"'
        assert response.headers["content-disposition"] == disposition
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert [int(row["id"]) for row in rows] == failures
        assert rows[1]["tags"] == "gpu"

        response = await client.get(export, params={"format": "jsonl", "verdict": "failure"})
        assert response.headers["content-type"] == "application/x-ndjson"
        lines = response.text.splitlines()
        assert [json.loads(line)["id"] for line in lines] == failures

        response = await client.get(export, params={"format": "json"})
        assert response.headers["content-type"] == "application/json"
        assert [row["id"] for row in response.json()] == [ids["healthy"], *failures]

        response = await client.get(export, params={"format": "json", "service": "nobody"})
        assert response.json() == []

    api.run(scenario)


def test_the_csv_export_neutralises_formulas_in_labels(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        labels = {"service": "+1+cmd|' /C calc'!A0", "env": "-2+3"}
        await client.post(ANALYSES, params=labels, content=TRAINER)
        response = await client.get(f"{ANALYSES}/export", params={"format": "csv"})
        [row] = list(csv.DictReader(io.StringIO(response.text)))
        assert (row["service"], row["environment"]) == ("'+1+cmd|' /C calc'!A0", "'-2+3")

    sqlite_api.run(scenario)


def test_a_deleted_analysis_is_gone(api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        location = (await client.post(ANALYSES, content=TRAINER)).headers["location"]
        deleted = await client.delete(location)
        assert deleted.status_code == 204
        assert deleted.content == b""
        assert_error(await client.get(location), 404, "not_found")
        assert_error(await client.delete(location), 404, "not_found")
        assert await listed(client) == []

    api.run(scenario)


def test_a_log_sent_again_after_its_analysis_was_deleted_is_analysed_anew(api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        first = await client.post(ANALYSES, content=TRAINER)
        assert (await client.delete(first.headers["location"])).status_code == 204
        again = await client.post(ANALYSES, content=TRAINER)
        assert again.status_code == 201
        assert again.headers["x-bifrost-cache"] == "miss"  # the cache entry went with it
        assert (await client.get(again.headers["location"])).status_code == 200

    api.run(scenario)


def test_with_redis_a_repeat_of_a_deleted_analysis_is_not_located_at_it(
    sqlite_api: Api, redis_url: str
) -> None:
    log = TRAINER + f"{uuid.uuid4()} ERROR one more line\n".encode()  # a cache key of its own

    async def scenario(client: httpx.AsyncClient) -> None:
        first = await client.post(ANALYSES, content=log)
        assert (await client.delete(first.headers["location"])).status_code == 204
        again = await client.post(ANALYSES, content=log)
        assert "location" in again.headers
        assert (await client.get(again.headers["location"])).status_code == 200

    sqlite_api.run(scenario, redis_url=redis_url)


def test_an_analysis_id_is_never_given_again(api: Api) -> None:
    """A Location handed out once must not later name another analysis."""

    async def scenario(client: httpx.AsyncClient) -> None:
        first = await client.post(ANALYSES, content=TRAINER)
        assert (await client.delete(first.headers["location"])).status_code == 204
        second = await client.post(ANALYSES, content=MAVEN)
        assert second.headers["location"] != first.headers["location"]

    api.run(scenario)


def test_feedback_is_kept_with_the_analysis(api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        location = (await client.post(ANALYSES, content=TRAINER)).headers["location"]
        said = await client.post(
            f"{location}/feedback", json={"good": False, "note": "the NCCL timeout came first"}
        )
        assert said.status_code == 204
        assert (await client.post(f"{location}/feedback", json={"good": True})).status_code == 204
        feedback = (await client.get(location)).json()["feedback"]
        assert [(entry["good"], entry["note"]) for entry in feedback] == [
            (False, "the NCCL timeout came first"),
            (True, None),
        ]
        assert_error(
            await client.post(f"{ANALYSES}/999/feedback", json={"good": True}), 404, "not_found"
        )
        error = assert_error(
            await client.post(f"{location}/feedback", json={"note": "no verdict"}),
            422,
            "validation_error",
        )
        assert error["fields"][0]["field"] == "body.good"

    api.run(scenario)


def test_feedback_must_say_true_or_false(sqlite_api: Api) -> None:
    """`good` is a boolean: `0`, `1` or `"true"` is refused, not read as a verdict."""

    async def scenario(client: httpx.AsyncClient) -> None:
        location = (await client.post(ANALYSES, content=TRAINER)).headers["location"]
        for good in (0, 1, "true", "no"):
            response = await client.post(f"{location}/feedback", json={"good": good})
            error = assert_error(response, 422, "validation_error")
            assert error["fields"][0]["field"] == "body.good"
        assert (await client.get(location)).json()["feedback"] == []

    sqlite_api.run(scenario)


def titles(report: dict[str, Any]) -> list[str]:
    return [finding["title"] for finding in report["findings"]]
