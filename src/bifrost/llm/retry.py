"""Failure handling shared by the providers: which failures are transient, and retrying them.

Providers translate every failure into a `ProviderError` subclass first; the subclass decides
whether a second attempt can help. A server that is down, overloaded or rate limiting may answer
the next time; a request it rejected (4xx) will be rejected again, so it is never retried.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from bifrost.llm.base import (
    ProviderAuthError,
    ProviderBadRequest,
    ProviderError,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
)

T = TypeVar("T")

# Connection failures and 5xx (ProviderUnavailable), timeouts, 429 and Bedrock throttling.
TRANSIENT: tuple[type[BaseException], ...] = (
    ProviderUnavailable,
    ProviderTimeout,
    ProviderRateLimited,
)


async def with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    attempts: int = 3,
    base_delay: float = 0.5,
    max_delay: float = 8.0,
    retry_on: tuple[type[BaseException], ...] = TRANSIENT,
) -> T:
    """`await call()`, again after base_delay·2ⁿ (+ up to base_delay of jitter) on `retry_on`.

    The last error is raised as is, so the user reads the provider's message, not tenacity's.
    Cancellation is never retried.
    """
    retrying = AsyncRetrying(
        stop=stop_after_attempt(attempts),
        wait=wait_exponential_jitter(multiplier=base_delay, max=max_delay, jitter=base_delay),
        retry=retry_if_exception_type(retry_on),
        reraise=True,
    )
    result: T = await retrying(call)
    return result


def for_status(status: int, key: str, /, **fields: object) -> ProviderError:
    """The error for a failed HTTP status, saying the catalog message `key`; its type decides
    whether the call is retried."""
    kind: type[ProviderError] = ProviderBadRequest
    if status == 429:
        kind = ProviderRateLimited
    elif status >= 500 or status == 408:
        kind = ProviderUnavailable
    elif status in (401, 403):
        kind = ProviderAuthError
    return kind.said(key, **fields)


@contextmanager
def http_failures(unreachable: ProviderUnavailable, timed_out: ProviderTimeout) -> Iterator[None]:
    """Turn httpx's transport errors into the caller's ProviderErrors, which carry its advice.

    A connection that cannot be made is `unreachable` (retried); an answer that does not come
    in time is `timed_out`.
    """
    try:
        yield
    except (httpx.ConnectError, httpx.ConnectTimeout) as error:
        raise unreachable from error
    except httpx.TimeoutException as error:
        raise timed_out from error
    except httpx.TransportError as error:
        raise ProviderUnavailable.said(
            "llm.transport", problem=unreachable, kind=type(error).__name__, detail=error
        ) from error


def json_object(response: httpx.Response, who: str) -> dict[str, Any]:
    """The response's JSON object, or a ProviderError naming `who` sent something else."""
    try:
        body = response.json()
    except ValueError as error:
        raise ProviderError.said("llm.not_json", who=who, problem=error) from error
    if not isinstance(body, dict):
        raise ProviderError.said("llm.not_an_object", who=who)
    return body


def error_detail(response: httpx.Response) -> str:
    """The server's reason for a failed response: Ollama's `error`, OpenAI's `error.message`."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase
    if not isinstance(body, dict):
        return str(body)[:300]
    error = body.get("error")
    if isinstance(error, dict):
        error = error.get("message")
    if not isinstance(error, str):
        error = body.get("message")
    return str(error if error is not None else body)[:300]
