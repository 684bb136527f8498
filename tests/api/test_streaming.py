"""Streamed analyses: Server-Sent Events from `POST /api/v1/analyses/stream` and the WebSocket
`/api/v1/analyses/ws` — progress, then the LLM's tokens, then the Report (or an error)."""

from __future__ import annotations

import asyncio
import gzip
import json
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.websockets import WebSocketDisconnect

from bifrost.api.app import create_app
from bifrost.api.intake import IN_MEMORY_BYTES
from tests.api.conftest import ANALYSES, TRAINER, Api, assert_error, metric, sse_events
from tests.llm.servers import FakeServer, Reply

with warnings.catch_warnings():  # "install httpx2": the test client works with httpx as is
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient, WebSocketTestSession

STREAM = f"{ANALYSES}/stream"
SOCKET = f"{ANALYSES}/ws"
EXPLANATION = json.dumps(
    {
        "summary": "The GPU ran out of memory at step 1843.",
        "root_cause": "The batch does not fit in the card's memory.",
        "confidence": "high",
        "findings": [],
        "fixes": ["Halve the micro-batch size."],
        "citations": [],
    }
)

# Server-Sent Events -------------------------------------------------------------------------


def test_the_stream_sends_progress_then_the_report_post_would_answer(api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        response = await client.post(STREAM, params={"cache": False}, content=TRAINER)
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
        assert response.headers["x-accel-buffering"] == "no"
        events = sse_events(response.text)
        assert [name for name, _ in events] == ["progress", "progress", "progress", "report"]
        stages = [data["stage"] for _, data in events[:3]]
        assert stages == ["queued", "analyzing", "analyzed"]

        _, final = events[-1]
        report = final["report"]
        assert final["cached"] is False
        assert events[2][1] == {
            "stage": "analyzed",
            "lines": report["stats"]["lines"],
            "findings": len(report["findings"]),
        }
        plain = (await client.post(ANALYSES, params={"cache": False}, content=TRAINER)).json()
        assert titles(report) == titles(plain)
        assert (report["verdict"], report["summary"]) == (plain["verdict"], plain["summary"])

        stored = await client.get(f"{ANALYSES}/{final['analysis_id']}")
        assert stored.json()["report"] == report

    api.run(scenario)


def test_a_repeat_in_the_stream_comes_from_the_cache(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        first = sse_events((await client.post(STREAM, content=TRAINER)).text)
        repeat = sse_events((await client.post(STREAM, content=TRAINER)).text)
        assert [name for name, _ in repeat] == ["progress", "report"]  # no engine run
        assert repeat[0][1]["stage"] == "queued"
        assert repeat[-1][1]["cached"] is True
        assert repeat[-1][1]["analysis_id"] == first[-1][1]["analysis_id"]

    sqlite_api.run(scenario)


def test_a_log_that_cannot_be_analysed_ends_the_stream_with_an_error(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        response = await client.post(STREAM, content=gzip.compress(b""))  # nothing inside
        assert response.status_code == 200  # the stream had started
        events = sse_events(response.text)
        name, data = events[-1]
        assert name == "error"
        assert "report" not in [name for name, _ in events]
        assert data["error"]["code"] == "input_error"
        assert data["error"]["request_id"] == response.headers["x-request-id"]

    sqlite_api.run(scenario)


@pytest.mark.parametrize(
    "body",
    [bytes(range(256)) * 8, gzip.compress(bytes(range(256)) * 8)],
    ids=["binary", "gzip of binary"],
)
def test_binary_data_is_refused_before_the_stream_starts(
    sqlite_api: Api, body: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not a stream that ends in an error: the status says it, and no spool is left."""
    spools = tmp_path / "spools"
    spools.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spools))
    big = body * (IN_MEMORY_BYTES // len(body) + 1)  # spooled to a file, not held in memory

    async def scenario(client: httpx.AsyncClient) -> None:
        for content in (body, big):
            error = assert_error(await client.post(STREAM, content=content), 422, "input_error")
            assert "binary data" in error["message"]
        assert list(spools.iterdir()) == []

    sqlite_api.run(scenario)


def test_an_empty_body_is_refused_before_the_stream_starts(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        assert_error(await client.post(STREAM, content=b""), 422, "input_error")

    sqlite_api.run(scenario)


def test_bad_options_are_refused_before_the_stream_starts(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        response = await client.post(STREAM, params={"top": 0}, content=TRAINER)
        assert_error(response, 422, "validation_error")

    sqlite_api.run(scenario)


def test_json_nested_too_deeply_is_refused_before_the_stream_starts(sqlite_api: Api) -> None:
    """Not a 500 from the parser's recursion: a 422 like any other JSON it cannot read."""

    async def scenario(client: httpx.AsyncClient) -> None:
        nested = '{"log": "ERROR boom", "tag": ' + "[" * 10_000 + "]" * 10_000 + "}"
        response = await client.post(
            STREAM, content=nested, headers={"content-type": "application/json"}
        )
        error = assert_error(response, 422, "validation_error")
        assert error["message"] == "body: invalid JSON (nested too deeply)"

    sqlite_api.run(scenario)


def test_the_llm_explanation_streams_its_tokens_before_the_report(sqlite_api: Api) -> None:
    pieces = (EXPLANATION[:40], EXPLANATION[40:90], EXPLANATION[90:])

    async def scenario(client: httpx.AsyncClient) -> None:
        before = (await client.get("/metrics")).text
        response = await client.post(STREAM, content=TRAINER)
        events = sse_events(response.text)
        names = [name for name, _ in events]
        assert names[-1] == "report"
        assert names.count("token") == 3
        explaining = names.index("token") - 1
        assert events[explaining] == ("progress", {"stage": "explaining", "provider": "ollama"})
        assert "".join(data["text"] for name, data in events if name == "token") == EXPLANATION

        llm = events[-1][1]["report"]["llm"]
        assert (llm["provider"], llm["model"]) == ("ollama", "test-model")
        assert llm["summary"] == "The GPU ran out of memory at step 1843."
        assert llm["fixes"] == ["Halve the micro-batch size."]

        after = (await client.get("/metrics")).text
        calls = {"provider": "ollama", "model": "test-model", "outcome": "ok"}
        assert (
            metric(after, "bifrost_llm_calls_total", **calls)
            - metric(before, "bifrost_llm_calls_total", **calls)
            == 1
        )
        analysed = {"provider": "ollama", "verdict": "failure"}
        assert (
            metric(after, "bifrost_analyses_total", **analysed)
            - metric(before, "bifrost_analyses_total", **analysed)
            == 1
        )

    with FakeServer() as server:
        server.reply("/api/chat", Reply(text=EXPLANATION, chunks=pieces))
        sqlite_api.run(scenario, llm="ollama", base_url=server.url, model="test-model")
        (sent,) = server.bodies("/api/chat")
    assert sent["stream"] is True
    assert sent["model"] == "test-model"


# WebSocket ----------------------------------------------------------------------------------


@contextmanager
def socket_client(api: Api, **settings: Any) -> Iterator[TestClient]:
    """A test client for the app (its lifespan running), which can open WebSockets."""
    # Its WebSockets go to ws://testserver, whatever its base URL.
    app = create_app(api.settings(**{"allowed_hosts": "testserver", **settings}))
    with TestClient(app) as client:
        yield client


def until_final(socket: WebSocketTestSession) -> list[dict[str, Any]]:
    """The socket's messages up to the last one, `report` or `error`."""
    messages = []
    while True:
        message: dict[str, Any] = socket.receive_json()
        messages.append(message)
        if message["event"] in ("report", "error"):
            return messages


def test_a_websocket_takes_the_log_in_its_first_message(sqlite_api: Api) -> None:
    with socket_client(sqlite_api) as client:
        with client.websocket_connect(SOCKET) as socket:
            socket.send_json({"log": TRAINER.decode(), "service": "trainer", "top": 2})
            messages = until_final(socket)
            assert socket.receive() == {"type": "websocket.close", "code": 1000, "reason": ""}
        stages = [m["stage"] for m in messages if m["event"] == "progress"]
        assert stages == ["queued", "analyzing", "analyzed"]
        final = messages[-1]
        assert final["event"] == "report"
        assert final["report"]["findings"][0]["category"] == "gpu.cuda_oom"
        assert len(final["report"]["findings"]) == 2
        stored = client.get(f"{ANALYSES}/{final['analysis_id']}").json()
        assert stored["service"] == "trainer"


def test_a_websocket_takes_the_log_in_binary_frames(sqlite_api: Api) -> None:
    with socket_client(sqlite_api) as client, client.websocket_connect(SOCKET) as socket:
        socket.send_json({"name": "trainer.log", "cache": False})
        for start in range(0, len(TRAINER), 16_384):
            socket.send_bytes(TRAINER[start : start + 16_384])
        socket.send_json({"end": True})
        final = until_final(socket)[-1]
    assert final["event"] == "report"
    assert final["report"]["input"]["name"] == "trainer.log"
    assert final["report"]["input"]["bytes"] == len(TRAINER)
    assert final["report"]["findings"][0]["category"] == "gpu.cuda_oom"


@pytest.mark.parametrize(
    ("first", "message"),
    [
        ("not json", "invalid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"colour": "red"}', "colour: Extra inputs are not permitted"),
        ('{"log": ""}', "log: String should have at least 1 character"),
        ('{"log": "x", "store": 0}', "store: Input should be a valid boolean"),
        ("[" * 100_000, "nested too deeply"),
    ],
    ids=["not JSON", "not an object", "unknown option", "empty log", "store=0", "nested"],
)
def test_a_bad_first_message_gets_an_error_then_the_socket_closes(
    sqlite_api: Api, first: str, message: str
) -> None:
    with socket_client(sqlite_api) as client, client.websocket_connect(SOCKET) as socket:
        socket.send_text(first)
        error = socket.receive_json()
        assert error["event"] == "error"
        assert error["error"]["code"] == "validation_error"
        assert message in error["error"]["message"]
        assert socket.receive()["code"] == 1008


def test_binary_frames_over_the_limit_end_the_socket(sqlite_api: Api) -> None:
    with socket_client(sqlite_api, max_request_bytes=2048) as client:
        with client.websocket_connect(SOCKET) as socket:
            socket.send_json({})
            socket.send_bytes(TRAINER[:4096])
            error = socket.receive_json()
            assert error["error"]["code"] == "too_large"
            assert socket.receive()["code"] == 1009
        assert client.get(ANALYSES).json()["items"] == []


def test_a_log_in_the_first_message_over_the_limit_ends_the_socket(sqlite_api: Api) -> None:
    with socket_client(sqlite_api, max_request_bytes=2048) as client:
        with client.websocket_connect(SOCKET) as socket:
            socket.send_json({"log": TRAINER[:4096].decode()})
            final = until_final(socket)[-1]
        assert final["event"] == "error"
        assert final["error"]["code"] == "too_large"


def test_with_auth_on_a_socket_needs_a_key_with_the_analyze_scope(sqlite_api: Api) -> None:
    _, reader = asyncio.run(sqlite_api.key("dashboard", ["read"]))
    _, worker = asyncio.run(sqlite_api.key("ci-bot", ["analyze"]))
    with socket_client(sqlite_api, auth=True) as client:
        with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect(SOCKET):
            pass
        assert refused.value.code == 1008
        assert "API key is required" in refused.value.reason

        reading = {"X-API-Key": reader}
        with (
            pytest.raises(WebSocketDisconnect) as refused,
            client.websocket_connect(SOCKET, headers=reading),
        ):
            pass
        assert refused.value.code == 1008
        assert "`analyze`" in refused.value.reason

        with client.websocket_connect(SOCKET, headers={"X-API-Key": worker}) as socket:
            socket.send_json({"log": TRAINER.decode()})
            assert until_final(socket)[-1]["event"] == "report"


def titles(report: dict[str, Any]) -> list[str]:
    return [finding["title"] for finding in report["findings"]]
