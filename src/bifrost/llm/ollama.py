"""Ollama: a local model server, so nothing leaves the machine (the /api/chat REST API).

The answer is constrained by `format` (a JSON schema), and `num_ctx` is sized to the prompt:
Ollama's default context window is small enough that a digest would be silently truncated.
"""

from __future__ import annotations

import ipaddress
import json
import urllib.parse
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

from bifrost.llm.base import (
    ChatRequest,
    ChatResult,
    ModelNotFound,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    StreamChunk,
)
from bifrost.llm.http import HttpProvider
from bifrost.llm.retry import error_detail, for_status

DEFAULT_PORT = 11434
DEFAULT_URL = f"http://127.0.0.1:{DEFAULT_PORT}"
MIN_CTX = 2048
MAX_CTX = 131072


def ollama_base_url(explicit: str | None, environ: Mapping[str, str]) -> str:
    """The server URL from `explicit` (--base-url) or else OLLAMA_HOST, read as Ollama's clients do.

    `host`, `host:port`, `:port` and `scheme://host[:port][/path]` are accepted; no scheme
    means http, no port means 11434 (80/443 with an explicit http/https scheme). A server
    listening on every interface (OLLAMA_HOST=0.0.0.0, the usual server-side setting) is
    reached on loopback, since connecting to 0.0.0.0 does not work everywhere.
    """
    value = (explicit or environ.get("OLLAMA_HOST") or "").strip()
    scheme, sep, rest = value.partition("://")
    port = DEFAULT_PORT
    if not sep:
        scheme, rest = "http", value
    elif scheme == "http":
        port = 80
    elif scheme == "https":
        port = 443
    split = urllib.parse.urlsplit(f"{scheme}://{rest}")
    host = split.hostname or "127.0.0.1"
    port = split.port or port
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        if address.is_unspecified:
            address = ipaddress.ip_address("::1" if address.version == 6 else "127.0.0.1")
        host = f"[{address}]" if address.version == 6 else str(address)
    path = split.path.strip("/")
    return f"{scheme}://{host}:{port}" + (f"/{path}" if path else "")


def context_size(request: ChatRequest) -> int:
    """`num_ctx` for a request: room for the prompt and the answer, as a power of two ≥ 2048.

    Powers of two keep the number of distinct sizes small, and Ollama reloads the model
    whenever num_ctx changes. Without an estimate, ~3 characters per token is assumed.
    """
    prompt = request.prompt_tokens_estimate or (len(request.system) + len(request.user)) // 3
    needed = prompt + request.max_output_tokens
    size = MIN_CTX
    while size < needed and size < MAX_CTX:
        size *= 2
    return size


class OllamaProvider(HttpProvider):
    """Chat with one model on one Ollama server."""

    name = "ollama"
    who = "Ollama"
    models_path = "/api/tags"

    def __init__(
        self,
        model: str,
        *,
        base_url: str = DEFAULT_URL,
        connect_timeout: float = 5.0,
        read_timeout: float = 120.0,
        attempts: int = 3,
        base_delay: float = 0.5,
    ) -> None:
        super().__init__(
            model,
            base_url=base_url,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            attempts=attempts,
            base_delay=base_delay,
        )

    def _payload(self, request: ChatRequest, *, stream: bool) -> dict[str, Any]:
        return {
            "model": self.model,
            "messages": [
                {"role": "system", "content": request.system},
                {"role": "user", "content": request.user},
            ],
            "stream": stream,
            "format": request.schema,
            "options": {
                "num_ctx": context_size(request),
                "num_predict": request.max_output_tokens,
                "temperature": request.temperature,
            },
        }

    async def chat(self, request: ChatRequest) -> ChatResult:
        body = await self.post_json("/api/chat", self._payload(request, stream=False))
        return ChatResult(
            text=str((body.get("message") or {}).get("content") or ""),
            model=str(body.get("model") or self.model),
            prompt_tokens=body.get("prompt_eval_count"),
            completion_tokens=body.get("eval_count"),
        )

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamChunk]:
        """NDJSON lines as Ollama writes them; retried only until the first byte arrives."""
        response = await self.send("/api/chat", self._payload(request, stream=True), stream=True)
        try:
            with self._failures():
                async for line in response.aiter_lines():
                    if not line.strip():
                        continue
                    event = _parse_line(line)
                    text = str((event.get("message") or {}).get("content") or "")
                    if event.get("done"):
                        yield StreamChunk(
                            text,
                            done=True,
                            prompt_tokens=event.get("prompt_eval_count"),
                            completion_tokens=event.get("eval_count"),
                        )
                        return
                    if text:
                        yield StreamChunk(text)
            raise ProviderUnavailable.said("ollama.midway", url=self.base_url)
        finally:
            await response.aclose()

    def _models(self, body: dict[str, Any]) -> list[str]:
        return [str(m.get("name")) for m in body.get("models") or []]

    def _missing_model(self, models: list[str]) -> str | None:
        wanted = self.model if ":" in self.model else f"{self.model}:latest"
        if wanted in models or self.model in models:
            return None
        return _not_pulled(self.model).message

    def _unreachable(self) -> ProviderUnavailable:
        return ProviderUnavailable.said("ollama.unreachable", url=self.base_url)

    def _timed_out(self) -> ProviderTimeout:
        return ProviderTimeout.said(
            "ollama.timed_out", url=self.base_url, seconds=f"{self._read_timeout:g}"
        )

    def _check(self, response: httpx.Response) -> None:
        """Raise the ProviderError for a failed response (Ollama puts the reason in `error`)."""
        if not response.is_error:
            return
        detail = error_detail(response)
        status = response.status_code
        if status == 404 and "model" in detail.lower():
            raise _not_pulled(self.model)
        if status == 404:
            raise ProviderError.said("ollama.no_chat", url=self.base_url)
        raise for_status(
            status, "ollama.http_error", url=self.base_url, status=status, detail=detail
        )


def _not_pulled(model: str) -> ModelNotFound:
    return ModelNotFound.said("ollama.not_pulled", model=model)


def _parse_line(line: str) -> dict[str, Any]:
    try:
        event = json.loads(line)
    except ValueError as error:
        raise ProviderError.said("ollama.line_not_json", line=repr(line[:200])) from error
    if not isinstance(event, dict):
        raise ProviderError.said("ollama.line_not_an_object", line=repr(line[:200]))
    if "error" in event:
        raise ProviderError.said("ollama.failed", problem=event["error"])
    return event
