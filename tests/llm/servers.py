"""Loopback fake LLM servers: real HTTP on 127.0.0.1 speaking the Ollama and OpenAI wire protocols.

Tests talk to these over real sockets, so the providers' HTTP, streaming, timeout and error
handling run for real; nothing in Bifrost is patched.

API::

    from tests.llm.servers import FakeServer, Reply, unused_url

    with FakeServer(models=("test-model",), api_key=None) as server:  # free port, own thread
        server.url            # "http://127.0.0.1:PORT" — an Ollama base URL
        server.openai_url     # server.url + "/v1"     — an OpenAI-compatible base URL
        server.reply("/api/chat", Reply(status=500), Reply(text='{"summary": "…"}'))
        ...                   # run the provider / the CLI against it
        server.requests       # every request received, in order: list[Recorded] with
                              #   .method .path .headers (lower-case names) .raw (bytes)
                              #   .body (parsed JSON or None) .at (time.monotonic())
        server.bodies("/api/chat")  # the parsed JSON bodies sent to one path

Routes: ``POST /api/chat`` (stream and not, as the request's ``"stream"`` asks), ``GET /api/tags``,
``POST /v1/chat/completions`` (SSE when ``"stream": true``; a usage event when
``stream_options.include_usage``), ``GET /v1/models``. Anything else answers 404.

Each request to a path takes the next scripted ``Reply`` for that path; with none left it gets
``Reply()``: a success whose answer is ``DEFAULT_ANSWER``. A chat request for a model not in
``models`` gets the server's real "model not found" 404. With ``api_key`` set, ``/v1`` routes
demand ``Authorization: Bearer <api_key>`` and answer 401 otherwise, as OpenAI does.

``Reply`` fields: ``text`` the answer (wrapped in the route's protocol), ``status`` and ``body``
(sent verbatim — JSON for a dict or list, as is for str or bytes — instead of an answer),
``delay`` seconds before answering, ``chunks`` the streamed pieces (default: ``text`` in three),
``chunk_delay`` seconds between them, ``prompt_tokens`` and ``completion_tokens`` the usage.

As a fixture: ``@pytest.fixture`` ``def server(): with FakeServer() as fake: yield fake``.

``unused_url()`` is the URL of a loopback port with nothing listening (a server that is down).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

DEFAULT_ANSWER = '{"summary": "the disk is full", "root_cause": null}'
VALID_SUMMARY = "The GPU ran out of memory."
VALID_ANSWER = json.dumps(
    {"summary": VALID_SUMMARY, "root_cause": None, "confidence": "high"}
    | {"findings": [], "fixes": [], "citations": []}
)
"""An answer that follows the explanation's schema whole (`DEFAULT_ANSWER` lacks fields)."""


@dataclass(frozen=True)
class Reply:
    """One scripted answer to one request (see the module docstring)."""

    text: str = DEFAULT_ANSWER
    status: int = 200
    body: Any = None
    delay: float = 0.0
    chunks: tuple[str, ...] | None = None
    chunk_delay: float = 0.0
    prompt_tokens: int = 11
    completion_tokens: int = 7

    def pieces(self) -> tuple[str, ...]:
        if self.chunks is not None:
            return self.chunks
        third = max(1, len(self.text) // 3)
        return tuple(self.text[i : i + third] for i in range(0, len(self.text), third))


@dataclass(frozen=True)
class Recorded:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    raw: bytes  # the body as sent; `body` is it parsed as JSON
    at: float = field(default_factory=time.monotonic)

    @property
    def body(self) -> Any:
        return json.loads(self.raw) if self.raw else None


class FakeServer:
    """A scriptable Ollama + OpenAI-compatible server on a free loopback port."""

    def __init__(self, models: tuple[str, ...] = ("test-model",), api_key: str | None = None):
        self.models = models
        self.api_key = api_key
        self.requests: list[Recorded] = []
        self._replies: dict[str, deque[Reply]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def openai_url(self) -> str:
        return self.url + "/v1"

    def reply(self, path: str, *replies: Reply) -> None:
        """Queue answers for the next requests to `path`, in order."""
        with self._lock:
            self._replies[path].extend(replies)

    def bodies(self, path: str) -> list[Any]:
        return [r.body for r in self.requests if r.path == path]

    def next_reply(self, path: str) -> Reply:
        with self._lock:
            queue = self._replies[path]
            return queue.popleft() if queue else Reply()

    def pause(self, seconds: float) -> None:
        """Sleep, but wake up when the server stops (so a slow reply never outlives a test)."""
        self._closing.wait(seconds)

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closing.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()


def unused_url() -> str:
    """A loopback URL nothing listens on: the port was free a moment ago and is closed now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _handler(server: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            """Keep pytest output clean."""

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {name.lower(): value for name, value in self.headers.items()}
            record = Recorded(self.command, self.path, headers, raw)
            server.requests.append(record)
            # The client may have given up (a timeout test): nothing to answer then.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._answer(record)

        def _answer(self, record: Recorded) -> None:
            routes = {
                ("POST", "/api/chat"): self._ollama_chat,
                ("GET", "/api/tags"): self._ollama_tags,
                ("POST", "/v1/chat/completions"): self._openai_chat,
                ("GET", "/v1/models"): self._openai_models,
            }
            route = routes.get((record.method, record.path))
            if route is None:
                self._send(404, b"404 page not found", "text/plain")
                return
            if record.path.startswith("/v1/") and not self._authorized():
                error = {"message": "Incorrect API key provided", "code": "invalid_api_key"}
                self._send_json(401, {"error": error})
                return
            reply = server.next_reply(record.path)
            server.pause(reply.delay)
            if reply.status != 200 or reply.body is not None:
                self._send_verbatim(reply)
                return
            route(record, reply)

        def _authorized(self) -> bool:
            if server.api_key is None:
                return True
            return self.headers.get("Authorization") == f"Bearer {server.api_key}"

        def _ollama_tags(self, record: Recorded, reply: Reply) -> None:
            models = [{"name": m, "model": m, "size": 1, "details": {}} for m in server.models]
            self._send_json(200, {"models": models})

        def _openai_models(self, record: Recorded, reply: Reply) -> None:
            models = [{"id": m, "object": "model", "owned_by": "fake"} for m in server.models]
            self._send_json(200, {"object": "list", "data": models})

        def _ollama_chat(self, record: Recorded, reply: Reply) -> None:
            request = record.body
            model = request.get("model")
            if model not in server.models:
                error = f'model "{model}" not found, try pulling it first'
                self._send_json(404, {"error": error})
                return
            done = {
                "model": model,
                "done": True,
                "done_reason": "stop",
                "prompt_eval_count": reply.prompt_tokens,
                "eval_count": reply.completion_tokens,
            }
            if not request.get("stream", True):  # Ollama streams unless told not to
                message = {"role": "assistant", "content": reply.text}
                self._send_json(200, {**done, "message": message})
                return
            lines = [
                {"model": model, "message": {"role": "assistant", "content": p}, "done": False}
                for p in reply.pieces()
            ]
            lines.append({**done, "message": {"role": "assistant", "content": ""}})
            events = [json.dumps(line).encode() + b"\n" for line in lines]
            self._send_stream(events, "application/x-ndjson", reply.chunk_delay)

        def _openai_chat(self, record: Recorded, reply: Reply) -> None:
            request = record.body
            model = request.get("model")
            if model not in server.models:
                error = {"message": f"The model `{model}` does not exist.", "code": 404}
                self._send_json(404, {"object": "error", **error})
                return
            usage = {
                "prompt_tokens": reply.prompt_tokens,
                "completion_tokens": reply.completion_tokens,
                "total_tokens": reply.prompt_tokens + reply.completion_tokens,
            }
            if not request.get("stream"):
                message = {"role": "assistant", "content": reply.text}
                choice = {"index": 0, "message": message, "finish_reason": "stop"}
                body = {"object": "chat.completion", "model": model, "choices": [choice]}
                self._send_json(200, {**body, "usage": usage})
                return

            def chunk(delta: dict[str, str], finish: str | None = None) -> dict[str, Any]:
                choice = {"index": 0, "delta": delta, "finish_reason": finish}
                return {"object": "chat.completion.chunk", "model": model, "choices": [choice]}

            data = [chunk({"role": "assistant", "content": ""})]
            data += [chunk({"content": p}) for p in reply.pieces()]
            data.append(chunk({}, "stop"))
            if (request.get("stream_options") or {}).get("include_usage"):
                data.append({"object": "chat.completion.chunk", "choices": [], "usage": usage})
            events = [f"data: {json.dumps(d)}\n\n".encode() for d in data]
            events.append(b"data: [DONE]\n\n")
            self._send_stream(events, "text/event-stream", reply.chunk_delay)

        def _send_verbatim(self, reply: Reply) -> None:
            if isinstance(reply.body, bytes | str):
                body = reply.body.encode() if isinstance(reply.body, str) else reply.body
                self._send(reply.status, body, "text/plain")
            else:
                self._send_json(reply.status, reply.body if reply.body is not None else {})

        def _send_json(self, status: int, obj: Any) -> None:
            self._send(status, json.dumps(obj).encode(), "application/json")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _send_stream(self, events: list[bytes], content_type: str, delay: float) -> None:
            """Chunked transfer encoding, one chunk per event, flushed — as the real servers do."""
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i, event in enumerate(events):
                if i:
                    server.pause(delay)
                self.wfile.write(f"{len(event):X}\r\n".encode() + event + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    return Handler
