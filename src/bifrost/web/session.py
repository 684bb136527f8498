"""Who is signed in to the web UI, and proof that a form came from its own page.

Signing in trades an API key for a session cookie: `<key id>.<expiry>.<HMAC-SHA256>`, signed
with `BIFROST_SESSION_SECRET`. The key's secret is never kept in the browser, the cookie is
HttpOnly, SameSite=Strict and Secure (except on loopback, where browsers allow plain HTTP),
and every request looks the key up again, so revoking a key signs its sessions out at once.

Forms carry a CSRF token (double submit): a random value in its own SameSite=Strict cookie,
repeated in a hidden field; a POST whose field does not match the cookie is refused (403).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import time
from dataclasses import dataclass

from starlette.requests import HTTPConnection
from starlette.responses import Response

SESSION_COOKIE = "bifrost_session"
CSRF_COOKIE = "bifrost_csrf"
CSRF_FIELD = "csrf"


@dataclass(frozen=True)
class Signer:
    """Makes and checks session cookies with one secret."""

    secret: bytes
    lifetime_s: float

    def cookie(self, key_id: int, now: float | None = None) -> str:
        expires = int((now if now is not None else time.time()) + self.lifetime_s)
        payload = f"{key_id}.{expires}"
        return f"{payload}.{self._mac(payload)}"

    def key_id(self, cookie: str | None, now: float | None = None) -> int | None:
        """The key a cookie names, when it is ours and has not expired."""
        if not cookie:
            return None
        payload, _, mac = cookie.rpartition(".")
        key_id, _, expires = payload.partition(".")
        if not (key_id.isdigit() and expires.isdigit()):
            return None
        if not hmac.compare_digest(mac, self._mac(payload)):
            return None
        if int(expires) <= (now if now is not None else time.time()):
            return None
        return int(key_id)

    def _mac(self, payload: str) -> str:
        return hmac.new(self.secret, payload.encode(), hashlib.sha256).hexdigest()


def csrf_token(connection: HTTPConnection) -> str:
    """This browser's CSRF token, or a new one (`keep_csrf` sets it on the answer)."""
    token = connection.cookies.get(CSRF_COOKIE, "")
    if len(token) < 32:
        token = connection.scope.setdefault("state", {}).setdefault(
            "new_csrf", secrets.token_urlsafe(32)
        )
    return token


def csrf_matches(connection: HTTPConnection, field: object) -> bool:
    cookie = connection.cookies.get(CSRF_COOKIE, "")
    return isinstance(field, str) and len(cookie) >= 32 and hmac.compare_digest(cookie, field)


def keep_csrf(connection: HTTPConnection, response: Response) -> None:
    """Set the CSRF cookie when this request made a new token."""
    token = connection.scope.get("state", {}).get("new_csrf")
    if token:
        _set(connection, response, CSRF_COOKIE, token, max_age=None)


def sign_in(connection: HTTPConnection, response: Response, cookie: str, max_age: int) -> None:
    _set(connection, response, SESSION_COOKIE, cookie, max_age=max_age)


def sign_out(connection: HTTPConnection, response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=_secure(connection), httponly=True, samesite="strict"
    )


def _set(
    connection: HTTPConnection, response: Response, name: str, value: str, max_age: int | None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        secure=_secure(connection),
        httponly=True,
        samesite="strict",
    )


def _secure(connection: HTTPConnection) -> bool:
    """Secure everywhere but plain HTTP on loopback, where a browser keeps it without TLS."""
    if connection.url.scheme == "https":
        return True
    host = connection.url.hostname or ""
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True
