"""What every broker does for Bifrost, behind one base class: deliver requests to a handler
and publish its answers, say how many requests wait, and keep the dead letters.

A transport is one file of this package per broker (`redis_streams.py`, `kafka.py`), like
httpx's transports; `open_transport(url)` picks it from the URL's scheme. Everything else
(the worker, the API's queue, `bifrost jobs`) talks to this class only. The messages are the
event contract of `bifrost/messages.py`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from bifrost.errors import UsageError
from bifrost.messages import AnalysisResult, DeadLetter, dump

MAX_ATTEMPTS = 3
"""Tries of a request that fails in a way a later try may not, before it is set aside."""
GROUP = "bifrost-workers"
"""The consumer group every worker joins, so that each request goes to one of them."""


class TryAgain(Exception):
    """This delivery failed in a way a later one may not: leave the message for another try."""


@dataclass(frozen=True)
class Handled:
    """A request's answer, or why it is set aside (exactly one of them)."""

    result: AnalysisResult | None = None
    dead: DeadLetter | None = None


OnRequest = Callable[[bytes, int, str], Awaitable[Handled]]
"""Answers one delivery: its body, the how-many-th try it is, and where the request is (to
send it again from a dead letter); raises `TryAgain` to leave it for a later try."""


@dataclass(frozen=True)
class Channels:
    """The three channels of the contract (Redis streams or Kafka topics); `prefix` keeps
    deployments (and tests) apart."""

    requests: str = "bifrost.requests"
    results: str = "bifrost.results"
    dead_letters: str = "bifrost.dead-letters"

    @classmethod
    def prefixed(cls, prefix: str) -> Channels:
        return cls(*(f"{prefix}{name}" for name in (cls.requests, cls.results, cls.dead_letters)))


@dataclass(frozen=True)
class DeadEntry:
    """One dead letter, its id in the dead-letter channel, and when it was set aside."""

    id: str
    at: datetime
    letter: DeadLetter


class Transport(ABC):
    """One broker. `subscribe` before `start`; `close` stops consuming (the request in hand
    is finished first) and disconnects."""

    def __init__(self, url: str, channels: Channels) -> None:
        self.url = url
        self.channels = channels

    @abstractmethod
    def subscribe(self, on_request: OnRequest, consumer: str, concurrency: int) -> None:
        """Deliver requests to `on_request`, `concurrency` at a time, as `consumer` of the
        group; each answer is published, then the request acknowledged."""

    @abstractmethod
    async def start(self) -> None:
        """Connect, create the channels and the group if they are new, and start consuming."""

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def publish(self, channel: str, body: bytes, key: str | None = None) -> str:
        """Add a message to a channel; its id there."""

    @abstractmethod
    async def ping(self) -> None:
        """Raise when the broker cannot be reached (a worker's /readyz)."""

    @abstractmethod
    async def backlog(self) -> int:
        """Requests not answered yet: waiting, or taken and not acknowledged."""

    @abstractmethod
    async def dead_letters(self, limit: int) -> list[DeadEntry]:
        """The newest dead letters first, at most `limit`."""

    @abstractmethod
    async def send_again(self, entry_id: str) -> str:
        """Publish a dead letter's request anew, whole, from where it was (`origin`); the new
        message's id. Raises `NotFound` or `UsageError` with what to do instead."""

    async def answer(self, handled: Handled) -> None:
        """Publish a request's result, or its dead letter."""
        if handled.result is not None:
            result = handled.result
            await self.publish(self.channels.results, dump(result), result.request_id)
        elif handled.dead is not None:
            dead = handled.dead
            await self.publish(self.channels.dead_letters, dump(dead), dead.request_id)


def origin_of(entry_id: str, letter: DeadLetter) -> str:
    """Where a dead letter's request is, or why it cannot be sent again."""
    if letter.request_id is None:
        raise UsageError.said("dead.not_a_request", id=entry_id, reason=letter.reason)
    if letter.origin is None:
        raise UsageError.said("dead.no_origin", id=entry_id)
    return letter.origin
