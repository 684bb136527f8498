"""Retries: transient failures are retried with growing, jittered waits; request errors never."""

from __future__ import annotations

import asyncio
import time

import pytest

from bifrost.llm.base import (
    ModelNotFound,
    ProviderAuthError,
    ProviderBadRequest,
    ProviderError,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
)
from bifrost.llm.retry import for_status, with_retries


class Flaky:
    """Fails with `errors` in turn, then answers "ok"; records when each attempt started."""

    def __init__(self, *errors: ProviderError) -> None:
        self.errors = list(errors)
        self.started: list[float] = []

    async def __call__(self) -> str:
        self.started.append(time.monotonic())
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def test_backoff_waits_longer_after_each_failure() -> None:
    call = Flaky(ProviderUnavailable("down"), ProviderRateLimited("busy"))
    assert asyncio.run(with_retries(call, attempts=3, base_delay=0.05)) == "ok"
    first_wait, second_wait = (b - a for a, b in zip(call.started, call.started[1:], strict=False))
    assert len(call.started) == 3
    assert 0.05 <= first_wait < 1.0  # base_delay, plus up to base_delay of jitter
    assert 0.10 <= second_wait < 1.0  # doubled


def test_gives_up_after_the_attempts_with_the_last_error_as_is() -> None:
    call = Flaky(ProviderTimeout("slow 1"), ProviderTimeout("slow 2"), ProviderTimeout("slow 3"))
    with pytest.raises(ProviderTimeout, match="slow 3"):
        asyncio.run(with_retries(call, attempts=3, base_delay=0.01))
    assert len(call.started) == 3


@pytest.mark.parametrize(
    "error",
    [ProviderBadRequest("400"), ModelNotFound("no model"), ProviderAuthError("401")],
)
def test_request_errors_are_not_retried(error: ProviderError) -> None:
    call = Flaky(error)
    with pytest.raises(type(error)):
        asyncio.run(with_retries(call, attempts=3, base_delay=0.01))
    assert len(call.started) == 1


def test_max_delay_caps_the_wait() -> None:
    call = Flaky(ProviderUnavailable("down"), ProviderUnavailable("down"))
    started = time.monotonic()
    asyncio.run(with_retries(call, attempts=3, base_delay=5.0, max_delay=0.05))
    assert time.monotonic() - started < 1.0


def test_cancellation_is_not_retried() -> None:
    attempts = 0

    async def slow() -> None:
        nonlocal attempts
        attempts += 1
        await asyncio.sleep(10)

    async def main() -> None:
        await asyncio.wait_for(with_retries(slow, base_delay=0.01), timeout=0.1)

    with pytest.raises(TimeoutError):
        asyncio.run(main())
    assert attempts == 1


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (429, ProviderRateLimited),
        (500, ProviderUnavailable),
        (503, ProviderUnavailable),
        (408, ProviderUnavailable),
        (401, ProviderAuthError),
        (403, ProviderAuthError),
        (400, ProviderBadRequest),
        (422, ProviderBadRequest),
    ],
)
def test_http_status_decides_the_error_type(status: int, kind: type[ProviderError]) -> None:
    error = for_status(status, "ollama.http_error", url="u", status=status, detail="why")
    assert type(error) is kind
    assert error.message == f"Ollama at u answered HTTP {status}: why"
    assert error.message_in("ko") != error.message
