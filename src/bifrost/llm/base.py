"""The provider protocol: what every LLM backend (Ollama, Bedrock, OpenAI-compatible) offers.

A provider turns one chat request (system + user message, a JSON schema for the answer) into
text. Retries, timeouts and error translation live in each provider; the analysis only sees
`ChatResult`, `StreamChunk` and `ProviderError`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from bifrost.errors import ServiceError


@dataclass(frozen=True)
class ChatRequest:
    system: str
    user: str
    schema: dict[str, Any]  # JSON schema the answer must follow
    max_output_tokens: int = 1024
    temperature: float = 0.0
    prompt_tokens_estimate: int = 0  # for sizing context windows (Ollama num_ctx)


@dataclass(frozen=True)
class ChatResult:
    text: str
    model: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


@dataclass(frozen=True)
class StreamChunk:
    """A piece of a streamed answer; the last one has `done=True` and the token counts."""

    text: str
    done: bool = False
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


@dataclass(frozen=True)
class ProviderStatus:
    """What `bifrost providers` shows for one provider."""

    name: str
    target: str  # base URL or region, never a secret
    reachable: bool
    models: list[str] = field(default_factory=list)
    problem: str | None = None


class Provider(Protocol):
    name: str
    model: str

    async def chat(self, request: ChatRequest) -> ChatResult: ...

    def stream(self, request: ChatRequest) -> AsyncIterator[StreamChunk]: ...

    async def status(self) -> ProviderStatus: ...

    async def aclose(self) -> None: ...


class ProviderError(ServiceError):
    """A provider failed; the message says what to do."""

    code = "provider_error"


class ProviderUnavailable(ProviderError):
    code = "provider_unavailable"


class ProviderTimeout(ProviderError):
    code = "provider_timeout"


class ModelNotFound(ProviderError):
    code = "model_not_found"


class ProviderAuthError(ProviderError):
    code = "provider_auth"


class ProviderRateLimited(ProviderError):
    code = "provider_rate_limited"


class ProviderBadRequest(ProviderError):
    code = "provider_bad_request"
