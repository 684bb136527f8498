"""OpenAI-compatible servers: vLLM, llama.cpp's server, LM Studio, OpenAI itself (chat completions).

They differ in how much of the API they support, so structured output degrades step by step:
a JSON schema, else any JSON object, else none (the prompt still asks for the schema and the
answer is validated either way). The step that worked is kept for the provider's next calls.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from bifrost.i18n import DEFAULT_LANGUAGE, message
from bifrost.llm.base import (
    ChatRequest,
    ChatResult,
    ModelNotFound,
    ProviderAuthError,
    ProviderBadRequest,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    StreamChunk,
)
from bifrost.llm.http import HttpProvider
from bifrost.llm.retry import error_detail, for_status, json_object

DEFAULT_URL = "https://api.openai.com/v1"
_FORMAT_WORDS = ("response_format", "json_schema", "json_object")


def _response_formats(schema: dict[str, Any]) -> list[dict[str, Any] | None]:
    """OpenAI's JSON schema; llama-cpp-python's JSON object with a schema (it constrains the
    output by a grammar made from it); any JSON object; nothing."""
    strict = {"name": "triage", "schema": schema, "strict": True}
    return [
        {"type": "json_schema", "json_schema": strict},
        {"type": "json_object", "schema": schema},
        {"type": "json_object"},
        None,
    ]


class OpenAICompatProvider(HttpProvider):
    """Chat with one model behind an OpenAI-compatible `/chat/completions` endpoint."""

    name = "openai"
    who = "the OpenAI-compatible server"
    models_path = "models"

    def __init__(
        self,
        model: str,
        *,
        base_url: str = DEFAULT_URL,
        api_key: str | None = None,
        key_env: str = "OPENAI_API_KEY",
        connect_timeout: float = 5.0,
        read_timeout: float = 120.0,
        attempts: int = 3,
        base_delay: float = 0.5,
    ) -> None:
        """`key_env` names the variable the key is read from, for the hint when it is refused."""
        super().__init__(
            model,
            base_url=base_url,
            headers={"Authorization": f"Bearer {api_key}"} if api_key else None,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            attempts=attempts,
            base_delay=base_delay,
        )
        self._has_key = bool(api_key)
        self._key_env = key_env
        self._format_step = 0

    def _payload(self, request: ChatRequest, *, stream: bool) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": [
                {"role": "system", "content": request.system},
                {"role": "user", "content": request.user},
            ],
            "temperature": request.temperature,
            "max_tokens": request.max_output_tokens,
            "stream": stream,
        }
        response_format = _response_formats(request.schema)[self._format_step]
        if response_format is not None:
            payload["response_format"] = response_format
        if stream:
            payload["stream_options"] = {"include_usage": True}
        return payload

    async def chat(self, request: ChatRequest) -> ChatResult:
        response = await self._open(request, stream=False)
        body = json_object(response, "the OpenAI-compatible server")
        choices = body.get("choices") or [{}]
        usage = body.get("usage") or {}
        return ChatResult(
            text=str((choices[0].get("message") or {}).get("content") or ""),
            model=str(body.get("model") or self.model),
            prompt_tokens=usage.get("prompt_tokens"),
            completion_tokens=usage.get("completion_tokens"),
        )

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamChunk]:
        """Server-sent events (`data: {...}` … `data: [DONE]`); usage comes in the last event."""
        response = await self._open(request, stream=True)
        usage: dict[str, Any] = {}
        finished = False
        try:
            with self._failures():
                async for line in response.aiter_lines():
                    if not line.startswith("data:"):
                        continue  # blank separators, comments, `event:` lines
                    data = line.removeprefix("data:").strip()
                    if data == "[DONE]":
                        finished = True
                        break
                    event = _parse_event(data)
                    usage = event.get("usage") or usage
                    for choice in event.get("choices") or []:
                        finished = finished or bool(choice.get("finish_reason"))
                        text = (choice.get("delta") or {}).get("content")
                        if text:
                            yield StreamChunk(str(text))
        finally:
            await response.aclose()
        if not finished:
            raise ProviderUnavailable.said("openai.midway", url=self.base_url)
        yield StreamChunk(
            "",
            done=True,
            prompt_tokens=usage.get("prompt_tokens"),
            completion_tokens=usage.get("completion_tokens"),
        )

    def _models(self, body: dict[str, Any]) -> list[str]:
        return [str(m.get("id")) for m in body.get("data") or []]

    def _missing_model(self, models: list[str]) -> str | None:
        if self.model in models:
            return None
        return message(
            "openai.model_not_served", DEFAULT_LANGUAGE, url=self.base_url, model=self.model
        )

    async def _open(self, request: ChatRequest, *, stream: bool) -> httpx.Response:
        """Send with retries, stepping down the response_format ladder on a 400 that blames it."""
        while True:
            payload = self._payload(request, stream=stream)
            try:
                return await self.send("chat/completions", payload, stream=stream)
            except ProviderBadRequest as error:
                blames_format = any(w in error.message.lower() for w in _FORMAT_WORDS)
                if not blames_format or self._format_step == len(_response_formats({})) - 1:
                    raise
                self._format_step += 1

    def _unreachable(self) -> ProviderUnavailable:
        return ProviderUnavailable.said("openai.unreachable", url=self.base_url)

    def _timed_out(self) -> ProviderTimeout:
        return ProviderTimeout.said(
            "openai.timed_out", url=self.base_url, seconds=f"{self._read_timeout:g}"
        )

    def _check(self, response: httpx.Response) -> None:
        """Raise the ProviderError for a failed response, with what to do about it."""
        if not response.is_error:
            return
        status = response.status_code
        detail = error_detail(response)
        lowered = detail.lower()
        if status in (401, 403):
            # The server's message may echo part of the key: it is not repeated.
            if self._has_key:
                raise ProviderAuthError.said(
                    "openai.key_refused", url=self.base_url, status=status, variable=self._key_env
                )
            raise ProviderAuthError.said(
                "openai.key_wanted", url=self.base_url, status=status, variable=self._key_env
            )
        if status in (400, 422, 500) and any(w in lowered for w in _FORMAT_WORDS):
            # llama-cpp-python answers 500 to a response_format it does not know: a request
            # to change, not a failure to retry.
            raise ProviderBadRequest.said("openai.format_refused", url=self.base_url, detail=detail)
        missing = any(w in lowered for w in ("not found", "does not exist", "not exist"))
        if status in (400, 404) and "model" in lowered and missing:
            raise ModelNotFound.said("openai.no_model", url=self.base_url, model=self.model)
        if status == 404:
            raise ProviderError.said("openai.no_chat", url=self.base_url)
        raise for_status(
            status, "openai.http_error", url=self.base_url, status=status, detail=detail
        )


def _parse_event(data: str) -> dict[str, Any]:
    try:
        event = json.loads(data)
    except ValueError as error:
        raise ProviderError.said("openai.event_not_json", event=repr(data[:200])) from error
    if not isinstance(event, dict):
        raise ProviderError.said("openai.event_not_an_object", event=repr(data[:200]))
    if "error" in event:
        failure = event["error"]
        problem = failure.get("message") if isinstance(failure, dict) else failure
        raise ProviderError.said("openai.failed", problem=problem)
    return event
