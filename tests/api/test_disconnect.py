"""A client that goes away in the middle of sending its request: nothing to answer and nothing
to fix, so not a server error — not in the log, not in the 5xx metrics — but a request line
with nginx's status for it, 499.

The app is driven as a server would drive it (ASGI): the body's first piece arrives, then
the disconnect, which no HTTP client can be made to do on cue.
"""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from starlette.types import Message, Scope

from bifrost.api import metrics
from bifrost.api.app import create_app
from tests.api.conftest import ANALYSES, KEYS, Api

STREAM = f"{ANALYSES}/stream"
MULTIPART = "multipart/form-data; boundary=xyz"


def server_errors() -> float:
    """The requests answered with a 5xx so far, in this process (every route)."""
    exposition = metrics.exposition()[0].decode()
    return sum(
        sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == "bifrost_http_requests_total" and sample.labels["status"][0] == "5"
    )


def scope_of(path: str, content_type: str) -> Scope:
    """An HTTP/1.1 POST announcing a body far longer than what will come."""
    headers = [
        (b"host", b"localhost:8000"),
        (b"content-type", content_type.encode()),
        (b"content-length", b"1000000"),
    ]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def send_part_then_leave(app: FastAPI, scope: Scope, first: bytes) -> list[Message]:
    """Run the request: `first`, more to come, then the client is gone. What the app sent."""
    pending: list[Message] = [{"type": "http.request", "body": first, "more_body": True}]
    sent: list[Message] = []

    async def receive() -> Message:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


@pytest.mark.parametrize(
    ("path", "content_type", "first"),
    [
        (ANALYSES, "text/plain", b"2024-05-01 12:00:00 ERROR worker crashed\n"),
        (ANALYSES, "application/json", b'{"log": "2024-05-01 12:00:00 ERROR worker'),
        (
            ANALYSES,
            MULTIPART,
            b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.log"\r\n\r\n'
            b"2024-05-01 12:00:00 ERROR worker crashed\n",
        ),
        (STREAM, "text/plain", b"2024-05-01 12:00:00 ERROR worker crashed\n"),
        (KEYS, "application/json", b'{"name": "ci-'),  # a body FastAPI reads itself
    ],
    ids=["raw log", "JSON log", "multipart log", "streamed analysis", "new key"],
)
def test_a_client_gone_mid_upload_is_499_not_a_server_error(
    sqlite_api: Api,
    service_log: list[MutableMapping[str, Any]],
    path: str,
    content_type: str,
    first: bytes,
) -> None:
    async def main() -> list[Message]:
        app = create_app(sqlite_api.settings())
        async with app.router.lifespan_context(app):
            before = server_errors()
            sent = await send_part_then_leave(app, scope_of(path, content_type), first)
            assert server_errors() == before
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as c:
                assert (await c.get(ANALYSES)).json()["items"] == []
                assert (await c.get(KEYS)).json() == []
        return sent

    sent = asyncio.run(main())
    statuses = [message["status"] for message in sent if "status" in message]
    assert [status for status in statuses if status >= 500] == []
    assert [entry for entry in service_log if entry["log_level"] == "error"] == []
    [access] = [e for e in service_log if e["event"] == "request" and e["method"] == "POST"]
    assert (access["path"], access["status"]) == (path, 499)
