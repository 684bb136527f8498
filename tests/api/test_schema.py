"""Property-based tests of the API against its own OpenAPI document, with schemathesis.

Every operation in `/openapi.json` is called with generated requests (valid and invalid), in
process over ASGI, and each response must not be a 5xx, and must have a documented status
code, a documented content type and a body that matches the documented schema.

The app is the real one (`create_app`) with auth off, the engine in a thread and its own
SQLite history in a temporary directory. Schemathesis runs the app's lifespan itself: loading
the schema starts it (so `app.state.services` exists), and the module fixture below stops it.
The WebSocket `/api/v1/analyses/ws` is not an OpenAPI operation, so it is not tested here.

The server is configured with an LLM (`llm=ollama`) whose `base_url` is a fake Ollama on
loopback that answers at once with a valid explanation, so every Report carries an `llm`
section to check against the schema, and `/readyz` and `/api/v1/providers` have a provider to
report (OpenAI-style calls to it get a 404). A real but absent Ollama would cost ~2.5 s of
retries per analysis.
"""

from __future__ import annotations

import atexit
import gzip
import json
import shutil
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast, get_args

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    missing_required_header,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from bifrost.api.app import create_app
from bifrost.choices import TextFormat
from bifrost.config import Settings

ANSWER = {
    "summary": "The worker ran out of GPU memory.",
    "root_cause": None,
    "confidence": "low",
    "findings": [],
    "fixes": ["Lower the batch size."],
    "citations": [],
}


class FakeOllama(BaseHTTPRequestHandler):
    """`/api/chat` (streamed or not) and `/api/tags`, as Ollama answers them; 404 otherwise."""

    def do_GET(self) -> None:
        if self.path == "/api/tags":
            self._send(200, json.dumps({"models": [{"name": "qwen2.5:7b"}]}).encode())
        else:
            self._send(404, b'{"error": "not found"}')

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        if self.path != "/api/chat":
            self._send(404, b'{"error": "not found"}')
            return
        request = json.loads(body)
        content = json.dumps(ANSWER)
        done = {"model": request["model"], "done": True, "prompt_eval_count": 50, "eval_count": 20}
        if request.get("stream"):
            lines = [{"message": {"content": content}, "done": False}, done]
            self._send(200, b"".join(json.dumps(line).encode() + b"\n" for line in lines))
        else:
            self._send(200, json.dumps({**done, "message": {"content": content}}).encode())

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        del format, args  # quiet


_llm = ThreadingHTTPServer(("127.0.0.1", 0), FakeOllama)
_llm.daemon_threads = True
threading.Thread(target=_llm.serve_forever, name="fake-ollama", daemon=True).start()

_HOME = Path(tempfile.mkdtemp(prefix="bifrost-schema-"))
# Registered before the schema is loaded, so at exit they run after schemathesis has stopped
# the app (atexit runs the last registered first), in case the module fixture never ran.
atexit.register(shutil.rmtree, _HOME, True)
atexit.register(_llm.shutdown)

app = create_app(
    Settings(
        database_url=f"sqlite+aiosqlite:///{_HOME / 'bifrost.db'}",
        engine_processes=0,
        auth=False,
        # Auth off limits per client address; the default 600/minute would turn many of the
        # generated requests into 429s and leave the routes themselves untested.
        rate_limit="1000000/second",
        allowed_hosts="testserver",  # the name schemathesis's ASGI client sends
        llm="ollama",
        base_url=f"http://127.0.0.1:{_llm.server_address[1]}",
    )
)
# What the engine reads, which JSON Schema cannot say: text that is not mostly control
# characters (`format: log`, the document's own), and such text or its gzip where the
# document says `binary` (a log upload). Arbitrary bytes would be refused with 422.
LOG_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]), min_size=1)
schemathesis.openapi.format("log", LOG_TEXT)
schemathesis.openapi.format(
    "binary", LOG_TEXT.map(str.encode) | LOG_TEXT.map(lambda text: gzip.compress(text.encode()))
)
schema = schemathesis.openapi.from_asgi("/openapi.json", app)

# Not `negative_data_rejection`: a form sends every value as text, so some values it generates
# as wrong (a tag `{}`, an object) arrive as valid text, and are rightly accepted.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    positive_data_acceptance,
    missing_required_header,
    unsupported_method,
    allow_header_conformance,
]


def bounded(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,  # the same requests on every run: a failure is reproducible
        suppress_health_check=list(HealthCheck),
    )


@pytest.fixture(scope="module", autouse=True)
def _stop_app() -> Iterator[None]:
    """Run the app's shutdown (database, cache) when this module's tests are done."""
    yield
    asgi.shutdown_lifespans()


@schema.parametrize()
@bounded(30)
def test_api(case: schemathesis.Case[Any]) -> None:
    case.call_and_validate(checks=CHECKS)


# 100 examples: with 30, a body that is not UTF-8 is generated for these only now and then.
@schema.include(
    name=["POST /api/v1/keys", "POST /api/v1/analyses/{analysis_id}/feedback"]
).parametrize()
@bounded(100)
def test_api_json_bodies(case: schemathesis.Case[Any]) -> None:
    case.call_and_validate(checks=CHECKS)


def post(path: str, body: bytes, content_type: str, **params: str) -> Any:
    """One request to the app through schemathesis's client (so on the lifespan it started);
    a `requests` response."""
    with asgi.get_client(cast(Any, app)) as client:
        return client.post(
            path.format(analysis_id=1),
            params=params,
            data=body,
            headers={"Content-Type": content_type},
        )


def assert_documented_client_error(path: str, response: Any) -> None:
    documented = app.openapi()["paths"][path]["post"]["responses"]
    assert response.status_code < 500, response.text
    assert str(response.status_code) in documented, (response.status_code, sorted(documented))
    assert {"code", "message", "request_id"} <= set(response.json()["error"])


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/analyses",
        "/api/v1/analyses/stream",
        "/api/v1/keys",
        "/api/v1/analyses/{analysis_id}/feedback",
    ],
)
def test_json_that_is_not_utf8_is_a_documented_client_error(path: str) -> None:
    response = post(path, b"\xff\xfe\xfd", "application/json")
    assert_documented_client_error(path, response)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/analyses",
        "/api/v1/analyses/stream",
    ],
)
@pytest.mark.parametrize(
    "content_type", ["multipart/form-data", "multipart/form-data; boundary=xyz"]
)
def test_malformed_multipart_is_a_documented_client_error(path: str, content_type: str) -> None:
    response = post(path, b"not a form", content_type)
    assert_documented_client_error(path, response)


@pytest.mark.parametrize("fmt", get_args(TextFormat))
def test_every_format_has_a_documented_content_type(fmt: str) -> None:
    path = "/api/v1/analyses"
    log = b"2024-05-01 12:00:00 ERROR worker crashed: CUDA out of memory\n"
    response = post(path, log, "text/plain", format=fmt, store="false", cache="false")
    assert response.status_code == 200, response.text
    documented = app.openapi()["paths"][path]["post"]["responses"]["200"]["content"]
    media_type = response.headers["content-type"].split(";")[0].strip()
    assert media_type in documented, (media_type, sorted(documented))
