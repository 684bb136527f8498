"""What wraps every request: its id, security headers, metrics, the access log, the size limit.

Plain ASGI middleware (not `BaseHTTPMiddleware`), so streamed responses pass through untouched
and nothing is buffered.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bifrost.api import metrics
from bifrost.api.errors import ApiError, error_response
from bifrost.api.logs import log

_GOOD_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_DOCS = "/docs"
_API_CSP = "default-src 'none'; frame-ancestors 'none'"
# Swagger UI, served by the package: scripts from the server only (its start-up script is a
# file too); inline styles and `data:` images because its bundle and stylesheet use them.
_DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}


class RequestContext:
    """Request id, security and rate-limit headers, metrics, access log, and the last resort
    for unexpected errors: a 500 that shows only the request id (the traceback is logged)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        rid = incoming if incoming and _GOOD_ID.fullmatch(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        method = scope.get("method", "WS")
        started = time.perf_counter()
        status = 500
        response_started = False
        in_flight: str | None = None

        def routed() -> None:
            nonlocal in_flight
            if in_flight is None and (route := _route_of(scope)) is not None:
                in_flight = route
                metrics.HTTP_IN_FLIGHT.labels(route).inc()

        async def receive_routed() -> Message:
            routed()
            return await receive()

        async def send_with_headers(message: Message) -> None:
            nonlocal status, response_started
            routed()
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = list(message.get("headers", []))
                headers += _extra_headers(scope, rid)
                message = {**message, "headers": headers}
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=rid)
        try:
            await self.app(scope, receive_routed, send_with_headers)
        except Exception:
            log.exception("unhandled error", method=method, path=scope["path"])
            if scope["type"] == "http" and not response_started:
                response = error_response(
                    500,
                    "internal_error",
                    f"an internal error occurred; quote request id {rid} when reporting it",
                    rid,
                )
                await response(scope, receive, send_with_headers)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_of(scope) or "unmatched"
            if in_flight is not None:
                metrics.HTTP_IN_FLIGHT.labels(in_flight).dec()
            if scope["type"] == "http":
                metrics.HTTP_REQUESTS.labels(method, route, str(status)).inc()
                metrics.HTTP_LATENCY.labels(method, route).observe(elapsed)
            log.info(
                "request",
                method=method,
                path=scope["path"],
                route=route,
                status=status if scope["type"] == "http" else None,
                duration_ms=round(elapsed * 1000, 2),
                key=scope["state"].get("key_name"),
                client=(scope.get("client") or ("-",))[0],
            )
            structlog.contextvars.unbind_contextvars("request_id")


class BodyLimit:
    """Refuse request bodies over `max_bytes` with 413: at once when Content-Length says so,
    else as soon as the streamed body passes the limit. Inside `RequestContext`, so the 413
    has the one error format and the request id."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            rid = scope.get("state", {}).get("request_id")
            await error_response(413, "too_large", self.message, rid)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise ApiError(413, "too_large", self.message)
            return message

        await self.app(scope, counted, send)

    @property
    def message(self) -> str:
        return (
            f"the request body is larger than {self.max_bytes:,} bytes; send a smaller log "
            "(gzip it) or raise BIFROST_MAX_REQUEST_BYTES on the server"
        )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _route_of(scope: Scope) -> str | None:
    """The matched route's template (`/api/v1/analyses/{analysis_id}`): bounded label values.

    Known once the router has run, so a request counts as in flight from then on.
    """
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else None


def _extra_headers(scope: Scope, rid: str) -> list[tuple[bytes, bytes]]:
    path: str = scope["path"]
    csp = _DOCS_CSP if path.startswith(_DOCS) else _API_CSP
    extra = {**SECURITY_HEADERS, "content-security-policy": csp, "x-request-id": rid}
    if path.startswith("/api/"):
        extra["cache-control"] = "no-store"
    extra.update(scope["state"].get("rate_headers", {}))
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in extra.items()]
