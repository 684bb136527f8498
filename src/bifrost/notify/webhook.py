"""Any HTTPS endpoint: the notification as JSON, signed as Stripe and GitHub sign theirs, so
the receiver knows it came from this Bifrost and was not replayed:

    X-Bifrost-Timestamp: 1733400000
    X-Bifrost-Signature: v1=hex(HMAC-SHA256(secret, "1733400000." + body))

`verify` is what a receiver runs (a Python one can import it)."""

from __future__ import annotations

import hashlib
import hmac
import time

import httpx

from bifrost.notify.base import DeliveryError, Sender, retry_after, status_error
from bifrost.notify.message import Notification

TIMEOUT_S = 10.0
TOLERANCE_S = 300


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + digest.hexdigest()


def verify(
    secret: str, body: bytes, timestamp: str, signed: str, *, now: float | None = None
) -> bool:
    """Whether `signed` is this body's signature at `timestamp`, within 5 minutes of now."""
    try:
        age = abs((now if now is not None else time.time()) - int(timestamp))
    except ValueError:
        return False
    return age <= TOLERANCE_S and hmac.compare_digest(signature(secret, timestamp, body), signed)


class SignedWebhook(Sender):
    def __init__(self, url: str, secret: str) -> None:
        self.url = url
        self.secret = secret

    async def send(self, notice: Notification) -> None:
        body = notice.model_dump_json(by_alias=True).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "bifrost-notify",
            "X-Bifrost-Timestamp": timestamp,
            "X-Bifrost-Signature": signature(self.secret, timestamp, body),
        }
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT_S) as client:
                answer = await client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"cannot reach the webhook: {exc}", retry=True) from exc
        if answer.status_code >= 300:
            wait = retry_after(answer.headers.get("retry-after"))
            raise status_error(answer.status_code, answer.text, wait)
