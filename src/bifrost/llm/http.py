"""What the HTTP providers (Ollama, OpenAI-compatible servers) share: one pooled client with
connect and read timeouts, sends retried with backoff whose failures become one
`ProviderError` line, a status check that never raises, and closing.

A provider says what differs: how to word "unreachable" and "timed out" for its server
(`_unreachable`, `_timed_out`), what a failed response means (`_check`), and how to read its
list of models (`_models`, `_missing_model`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from typing import Any

import httpx

from bifrost.llm.base import ProviderError, ProviderStatus, ProviderTimeout, ProviderUnavailable
from bifrost.llm.retry import http_failures, json_object, with_retries


class HttpProvider(ABC):
    """A chat model behind an HTTP API; subclasses speak the API."""

    name = "http"
    who = "the server"  # how errors name the server's kind ("Ollama")
    models_path = "models"

    def __init__(
        self,
        model: str,
        *,
        base_url: str,
        headers: dict[str, str] | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 120.0,
        attempts: int = 3,
        base_delay: float = 0.5,
    ) -> None:
        self.model = model
        self.base_url = base_url.rstrip("/")
        self._read_timeout = read_timeout
        self._attempts = attempts
        self._base_delay = base_delay
        self._client = httpx.AsyncClient(
            base_url=self.base_url + "/",
            headers=headers,
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
        )

    async def send(self, path: str, payload: dict[str, Any], *, stream: bool) -> httpx.Response:
        """POST `payload` to `path`, retried on transient failures. A streamed response is
        returned open (the caller closes it); only its first byte is waited for, retried."""
        call = self._client.build_request("POST", path, json=payload)

        async def attempt() -> httpx.Response:
            with self._failures():
                response = await self._client.send(call, stream=stream)
                if response.is_error:
                    await response.aread()
                    await response.aclose()
                    self._check(response)
                return response

        return await with_retries(attempt, attempts=self._attempts, base_delay=self._base_delay)

    async def post_json(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST `payload`, retried, and the JSON object answered."""

        async def attempt() -> dict[str, Any]:
            with self._failures():
                response = await self._client.post(path, json=payload)
                self._check(response)
                return json_object(response, self.who)

        return await with_retries(attempt, attempts=self._attempts, base_delay=self._base_delay)

    async def status(self) -> ProviderStatus:
        """Reachability and the models served (`models_path`); never raises, never retries."""
        try:
            with self._failures():
                response = await self._client.get(self.models_path)
                self._check(response)
                body = json_object(response, self.who)
        except ProviderError as error:
            reachable = not isinstance(error, ProviderUnavailable | ProviderTimeout)
            return ProviderStatus(self.name, self.base_url, reachable, problem=error.message)
        models = self._models(body)
        problem = self._missing_model(models) if self.model else None
        return ProviderStatus(self.name, self.base_url, True, models, problem)

    async def aclose(self) -> None:
        await self._client.aclose()

    def _failures(self) -> AbstractContextManager[None]:
        """Connection failures and timeouts as one line each, saying what to do."""
        return http_failures(self._unreachable(), self._timed_out())

    @abstractmethod
    def _unreachable(self) -> ProviderUnavailable:
        """The error when the server cannot be reached, with what to do."""

    @abstractmethod
    def _timed_out(self) -> ProviderTimeout:
        """The error when the server did not answer within the read timeout."""

    @abstractmethod
    def _check(self, response: httpx.Response) -> None:
        """Raise the ProviderError for a failed response; nothing for a good one."""

    @abstractmethod
    def _models(self, body: dict[str, Any]) -> list[str]:
        """The model names in the answer to `models_path`."""

    @abstractmethod
    def _missing_model(self, models: list[str]) -> str | None:
        """What to do when the configured model is not among `models`; None when it is."""
