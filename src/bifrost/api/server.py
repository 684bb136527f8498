"""The HTTP server around the app: uvicorn, with the limits and the shutdown it lacks.

`Protocol` is uvicorn's h11 protocol (the one whose request head has a size limit,
`h11_max_incomplete_event_size`), plus:

- a deadline to receive each request, headers and body. uvicorn only times out idle kept-alive
  connections, so a client that sends a header byte a second holds a connection for ever;
- a drain that drops no request. When the server stops, every answer says `Connection:
  close`, and a connection with no request in progress is closed after a short settle, so a
  request already on its way is answered.

`Supervisor` is uvicorn's supervisor of worker processes (`--workers N`), which stops
listening when it is told to stop. uvicorn's keeps the listening socket open until it exits:
while the workers drain, the kernel still accepts connections that no worker will serve, and
resets them at the end.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sys
import uuid
from typing import Any

import h11
import uvicorn
from starlette.types import Message, Receive, Scope, Send
from uvicorn.config import STARTUP_FAILURE
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState
from uvicorn.supervisors.multiprocess import SIGNALS, Multiprocess

from bifrost.api.logs import log
from bifrost.config import Settings

GRACE_S = 30
"""How long a stopping server lets its requests in flight finish."""
_SETTLE_S = 0.5
"""How long a draining connection with no request in progress stays open, for a request that
is already on its way; far longer than a sent request takes to arrive."""


def server_config(settings: Settings, *, host: str, port: int, workers: int) -> ServerConfig:
    """The app under uvicorn, with the limits of the settings."""
    proxies = settings.forwarded_allow_ips
    return ServerConfig(
        "bifrost.api.app:serve_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http=Protocol,
        h11_max_incomplete_event_size=settings.max_header_bytes,
        request_read_timeout_s=settings.request_read_timeout_s,
        timeout_keep_alive=settings.keepalive_timeout_s,
        # uvicorn answers 503 when the open connections, the request's own included, reach it.
        limit_concurrency=settings.max_connections + 1,
        # X-Forwarded-* from configured proxies only: uvicorn believes 127.0.0.1 by default, so
        # any local client could pick its address (its rate-limit bucket, the access log's).
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or None,
        timeout_graceful_shutdown=GRACE_S,
        log_level="warning",
        access_log=False,
        server_header=False,
    )


def serve(config: ServerConfig) -> None:
    """Serve until SIGINT or SIGTERM, let the requests in flight finish, then raise the signal
    again for the caller's handler (uvicorn does it with one process, `Supervisor` with
    several)."""
    if config.workers > 1:
        Supervisor(config, [config.bind_socket()]).run()
        return
    server = uvicorn.Server(config)
    server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)


class ServerConfig(uvicorn.Config):
    """uvicorn's configuration, and the request read timeout `Protocol` keeps (the worker
    processes get a pickled copy)."""

    def __init__(self, app: str, *, request_read_timeout_s: float, **options: Any) -> None:
        super().__init__(app, **options)
        self.request_read_timeout_s = request_read_timeout_s


class Protocol(H11Protocol):
    """HTTP/1.1 with a deadline to receive each request, and a drain that drops none."""

    def __init__(
        self,
        config: ServerConfig,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.read_timeout_s = config.request_read_timeout_s
        self.deadline: asyncio.TimerHandle | None = None
        self.draining = False
        self.inner_app = self.app
        self.app = self.answer

    async def answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The app, whose answers begun while draining say `Connection: close`: a client that
        reused the connection would find it closed, and could not tell whether its request
        had been handled."""

        async def closing_when_draining(message: Message) -> None:
            if message["type"] == "http.response.start" and self.draining:
                headers = [*message.get("headers", []), (b"connection", b"close")]
                message = {**message, "headers": headers}
            await send(message)

        await self.inner_app(scope, receive, closing_when_draining)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.deadline = self.loop.call_later(self.read_timeout_s, self.too_slow)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self.follow_request()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self.follow_request()  # a pipelined request may have begun

    def connection_lost(self, exc: Exception | None) -> None:
        self.clear_deadline()
        super().connection_lost(exc)

    def follow_request(self) -> None:
        """A deadline from a request's first byte to its last (from connecting, for the first
        request: set by `connection_made`); none while it is answered or while the connection
        is idle, which uvicorn's keep-alive timeout bounds."""
        if not self.receiving():
            self.clear_deadline()
        elif self.deadline is None:
            self.deadline = self.loop.call_later(self.read_timeout_s, self.too_slow)

    def receiving(self) -> bool:
        """Part of a request is in, and the rest is awaited from the client."""
        if self.transport.get_protocol() is not self:  # upgraded to a WebSocket
            return False
        state = self.conn.their_state
        return state is h11.SEND_BODY or (state is h11.IDLE and bool(self.conn.trailing_data[0]))

    def clear_deadline(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def too_slow(self) -> None:
        """The deadline passed: close, with a 408 when a request has begun and its answer has
        not (an answer already begun, to a request whose body is late, is cut short)."""
        self.deadline = None
        if self.transport.is_closing():
            return
        if self.receiving() and self.conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
            request_id = uuid.uuid4().hex
            self.transport.write(self.request_timeout(request_id))
            client = self.client[0] if self.client else None
            log.warning("request too slow", client=client, request_id=request_id)
        self.transport.close()

    def request_timeout(self, request_id: str) -> bytes:
        """A 408 in the API's error format, written straight to the socket: the request may
        not even have a complete head for the app to answer it."""
        message = (
            f"the request did not arrive within {self.read_timeout_s:g} s; send it without "
            "pauses, or raise BIFROST_REQUEST_READ_TIMEOUT_S on the server"
        )
        error = {"code": "request_timeout", "message": message, "request_id": request_id}
        body = json.dumps({"error": error}).encode()
        head = (
            "HTTP/1.1 408 Request Timeout\r\n"
            "content-type: application/json\r\n"
            f"content-length: {len(body)}\r\n"
            f"x-request-id: {request_id}\r\n"
            "connection: close\r\n\r\n"
        )
        return head.encode("latin-1") + body

    def shutdown(self) -> None:
        """The server stops (uvicorn calls this on every connection once it has stopped
        listening): answers say `Connection: close` from now on, and the connection is closed
        once it has no request in progress, after a settle for a request already sent."""
        self.draining = True
        self.loop.call_later(_SETTLE_S, self.close_when_idle)

    def close_when_idle(self) -> None:
        if not self.transport.is_closing():
            super().shutdown()


class Supervisor(Multiprocess):
    """uvicorn's supervisor of worker processes, which closes its listening socket before it
    stops the workers, so that new connections are refused rather than left to wait for a
    worker, and which then raises the signal that stopped it again, as uvicorn does with one
    process."""

    def __init__(self, config: uvicorn.Config, sockets: list[socket.socket]) -> None:
        self.handlers = {sig: signal.getsignal(sig) for sig in SIGNALS}
        super().__init__(config, sockets)  # replaces those handlers with its own
        self.stopped_by: list[signal.Signals] = []

    def handle_int(self) -> None:
        self.stopped_by.append(signal.SIGINT)
        super().handle_int()

    def handle_term(self) -> None:
        self.stopped_by.append(signal.SIGTERM)
        super().handle_term()

    def terminate_all(self) -> None:
        for listening in self.sockets:
            listening.close()
        super().terminate_all()

    def run(self) -> None:
        super().run()
        for sig, handler in self.handlers.items():
            if handler is not None:  # None: not set from Python, so left as it is
                signal.signal(sig, handler)
        for sig in self.stopped_by[-1:]:
            signal.raise_signal(sig)
