"""What wraps every request: its id, security headers, metrics, the access log, the size limit,
and the checks that keep web pages the user visits from driving the API (Host and Origin).

Plain ASGI middleware (not `BaseHTTPMiddleware`), so streamed responses pass through untouched
and nothing is buffered.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import time
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import structlog
from starlette.requests import ClientDisconnect, HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bifrost.api import metrics
from bifrost.api.errors import ApiError, api_error_response
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
CLIENT_CLOSED = 499
"""nginx's status for a request whose client went away before the answer: not a server error."""
_LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
_STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


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
        socket_closed = False
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
            nonlocal status, response_started, socket_closed
            routed()
            socket_closed = socket_closed or message["type"] == "websocket.close"
            if message["type"] in ("http.response.start", "websocket.http.response.start"):
                response_started = True
                status = message["status"]
                headers = list(message.get("headers", []))
                headers += _extra_headers(scope, rid, {name.lower() for name, _ in headers})
                message = {**message, "headers": headers}
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=rid)
        try:
            await self.app(scope, receive_routed, send_with_headers)
        except ClientDisconnect:
            status = CLIENT_CLOSED  # nobody to answer, nothing to fix: the request line says it
        except Exception:
            log.exception("unhandled error", method=method, path=scope["path"])
            if scope["type"] == "http" and not response_started:
                failed = ApiError.said(500, "internal_error", "api.internal_error", id=rid)
                response = api_error_response(HTTPConnection(scope), failed)
                await response(scope, receive, send_with_headers)
            elif scope["type"] == "websocket" and not socket_closed:
                # Refused before the handshake is accepted, closed with "internal error" after:
                # either way the client learns it is over instead of waiting for ever.
                with contextlib.suppress(Exception):
                    await send({"type": "websocket.close", "code": 1011})
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
                status=status if scope["type"] == "http" or response_started else None,
                duration_ms=round(elapsed * 1000, 2),
                key=scope["state"].get("key_name"),
                client=(scope.get("client") or ("-",))[0],
            )
            structlog.contextvars.unbind_contextvars("request_id")


class HostAndOrigin:
    """Refuse what a web page the user visits could send without the user meaning to.

    Such a page may send requests to the API (on loopback, with auth off, nothing else stops
    it), but it cannot choose their Host or Origin headers:
    - DNS rebinding: a page of `attacker.example`, whose name now resolves to 127.0.0.1, reads
      the API as its own origin; its requests say `Host: attacker.example`. So the Host must be
      a loopback name, an IP address (no name, so nothing to rebind: this covers the address
      the server listens on, and ones forwarded to it), or one of `allowed_hosts` (`*`: any);
      else 400, on every request.
    - Cross-site requests: a form or `fetch` with a simple content type reaches the API with no
      preflight, and so does a WebSocket handshake. A state-changing request (POST, PUT, PATCH,
      DELETE) or a handshake whose Origin is neither the server's own (the host and port of its
      Host) nor one of `cors_origins` gets 403. A browser that withholds the Origin still says
      `Sec-Fetch-Site`: `cross-site` or `same-site` is refused the same way. A request with
      neither comes from no browser (curl, the CLI, scripts), and goes on.

    Reads (GET, HEAD, OPTIONS) are not checked for origin: the browser does not show their
    answers to another origin unless CORS allows it, and links to the API keep working. Both
    checks hold with auth on too: a page cannot send a key without CORS, but they cost nothing.
    """

    def __init__(self, app: ASGIApp, allowed_hosts: str | None, cors_origins: Iterable[str]):
        self.app = app
        names = {_split_host(name)[0] for name in (allowed_hosts or "").split(",") if name.strip()}
        self.any_host = "*" in names
        self.hosts = _LOOPBACK_NAMES | {name for name in names if not name.startswith("*.")}
        self.domains = tuple(name[1:] for name in names if name.startswith("*."))
        self.origins = frozenset(cors_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        refusal = self._host_refusal(scope) or self._origin_refusal(scope)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        log.warning(
            "refused a request a web page may have sent",
            code=refusal.code,
            host=_header(scope, b"host"),
            origin=_header(scope, b"origin"),
            sec_fetch_site=_header(scope, b"sec-fetch-site"),
        )
        if scope["type"] == "websocket" and "websocket.http.response" not in scope.get(
            "extensions", {}
        ):
            await send({"type": "websocket.close", "code": 1008})  # the server answers 403
            return
        await api_error_response(HTTPConnection(scope), refusal)(scope, receive, send)

    def _host_refusal(self, scope: Scope) -> ApiError | None:
        host = _header(scope, b"host")
        if host is None or self.any_host:  # no Host: HTTP/1.0, never a browser
            return None
        name, _ = _split_host(host)
        if name in self.hosts or name.endswith(self.domains) or _is_ip(name):
            return None
        return ApiError.said(400, "host_not_allowed", "api.host_not_allowed", host=repr(name[:100]))

    def _origin_refusal(self, scope: Scope) -> ApiError | None:
        if scope["type"] == "http" and scope["method"] not in _STATE_CHANGING:
            return None
        origin = _header(scope, b"origin")
        if origin is None:
            site = _header(scope, b"sec-fetch-site")
            if site not in ("cross-site", "same-site"):
                return None
            return ApiError.said(403, "origin_not_allowed", "api.other_site_not_allowed", site=site)
        if self._trusted(origin, _header(scope, b"host")):
            return None
        return ApiError.said(
            403, "origin_not_allowed", "api.origin_not_allowed", origin=origin[:100]
        )

    def _trusted(self, origin: str, host: str | None) -> bool:
        return "*" in self.origins or origin in self.origins or _same_host(origin, host)


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
            await api_error_response(HTTPConnection(scope), self.refusal)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise self.refusal
            return message

        await self.app(scope, counted, send)

    @property
    def refusal(self) -> ApiError:
        return ApiError.said(413, "too_large", "api.body_too_large", limit=f"{self.max_bytes:,}")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _split_host(host: str) -> tuple[str, int | None]:
    """A Host header's name (lower case, IPv6 without brackets) and port (None when absent)."""
    host = host.strip().lower()
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        name, colon, port = host.rpartition(":")
        if not colon or ":" in name:  # no port, or a bare IPv6 address
            name, port = host, ""
    return name, int(port) if port.isdigit() else None


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _same_host(origin: str, host: str | None) -> bool:
    """Whether `origin` is the server's own: the name and port the request was sent to.

    A Host without a port was sent to the scheme's default one; the Origin's scheme may differ
    from the server's (TLS ended by a proxy), so the ports, not the schemes, are compared.
    """
    if host is None:
        return False
    try:
        parts = urlsplit(origin)
        origin_port = parts.port
    except ValueError:
        return False
    name, port = _split_host(host)
    if parts.hostname != name:
        return False
    if port is None:
        return origin_port is None
    return (origin_port or _DEFAULT_PORTS.get(parts.scheme)) == port


def _route_of(scope: Scope) -> str | None:
    """The matched route's template (`/api/v1/analyses/{analysis_id}`): bounded label values.

    Known once the router has run, so a request counts as in flight from then on.
    """
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else None


def _extra_headers(scope: Scope, rid: str, present: set[bytes]) -> list[tuple[bytes, bytes]]:
    """The security headers and the request id; a page's own policy (`web/html.py`) stands."""
    path: str = scope["path"]
    csp = _DOCS_CSP if path.startswith(_DOCS) else _API_CSP
    extra = {**SECURITY_HEADERS, "content-security-policy": csp, "x-request-id": rid}
    if path.startswith("/api/"):
        extra["cache-control"] = "no-store"
    extra.update(scope["state"].get("rate_headers", {}))
    encoded = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in extra.items()]
    return [(k, v) for k, v in encoded if k not in present]
