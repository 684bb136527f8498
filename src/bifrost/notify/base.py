"""A destination's sender, and delivery: tried again on 429 and 5xx (after the Retry-After
the destination asks for, else a growing pause), given up after `TRIES`, the outcome
returned for the record. Delivery never raises: a notification cannot fail an analysis."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from dataclasses import dataclass

from bifrost.notify.message import Notification

TRIES = 4
FIRST_PAUSE_S = 1.0
LONGEST_PAUSE_S = 60.0


class DeliveryError(Exception):
    """A send that failed; `retry` when a later try may pass (429, 5xx, no connection)."""

    def __init__(self, message: str, *, retry: bool, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry = retry
        self.retry_after_s = retry_after_s


class Sender(ABC):
    @abstractmethod
    async def send(self, notice: Notification) -> None:
        """Send it once; raise `DeliveryError` when it was not taken."""


@dataclass(frozen=True)
class Delivery:
    status: str  # "sent" | "failed"
    attempts: int
    error: str | None = None


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (the seconds form; a date is not waited for)."""
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def status_error(status: int, body: str, retry_after_s: float | None) -> DeliveryError:
    retry = status == 429 or status >= 500
    return DeliveryError(f"HTTP {status}: {body[:200]}", retry=retry, retry_after_s=retry_after_s)


async def deliver(sender: Sender, notice: Notification, *, tries: int = TRIES) -> Delivery:
    pause = FIRST_PAUSE_S
    for attempt in range(1, tries + 1):
        try:
            await sender.send(notice)
            return Delivery("sent", attempt)
        except DeliveryError as exc:
            if not exc.retry or attempt == tries:
                return Delivery("failed", attempt, exc.message)
            wait = exc.retry_after_s if exc.retry_after_s is not None else pause
            await asyncio.sleep(min(wait, LONGEST_PAUSE_S))
            pause *= 2
    raise AssertionError("unreachable")  # the loop returns on its last try
