"""The Ollama provider against a real loopback server speaking Ollama's wire protocol."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import pytest

from bifrost.llm.base import (
    ChatRequest,
    ModelNotFound,
    ProviderBadRequest,
    ProviderError,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
    StreamChunk,
)
from bifrost.llm.ollama import OllamaProvider, context_size, ollama_base_url
from tests.llm.servers import DEFAULT_ANSWER, FakeServer, Reply, unused_url

T = TypeVar("T")
SCHEMA = {"type": "object", "properties": {"summary": {"type": "string"}}}
REQUEST = ChatRequest(
    system="You explain logs.", user="ERROR disk full", schema=SCHEMA, prompt_tokens_estimate=3000
)


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer() as fake:
        yield fake


def provider(url: str, **options: float) -> OllamaProvider:
    """A provider with fast retries; `options` override timeouts and attempts."""
    settings: dict[str, float] = {"base_delay": 0.05, **options}
    return OllamaProvider(
        "test-model",
        base_url=url,
        connect_timeout=settings.get("connect_timeout", 2.0),
        read_timeout=settings.get("read_timeout", 5.0),
        attempts=int(settings.get("attempts", 3)),
        base_delay=settings["base_delay"],
    )


def use(llm: OllamaProvider, action: Callable[[OllamaProvider], Awaitable[T]]) -> T:
    async def main() -> T:
        try:
            return await action(llm)
        finally:
            await llm.aclose()

    return asyncio.run(main())


async def collect(llm: OllamaProvider) -> list[StreamChunk]:
    return [chunk async for chunk in llm.stream(REQUEST)]


@pytest.mark.parametrize(
    ("explicit", "env", "expected"),
    [
        (None, None, "http://127.0.0.1:11434"),
        (None, "", "http://127.0.0.1:11434"),
        (None, "0.0.0.0", "http://127.0.0.1:11434"),
        (None, "0.0.0.0:8080", "http://127.0.0.1:8080"),
        (None, "[::]:11434", "http://[::1]:11434"),
        (None, "gpu-box", "http://gpu-box:11434"),
        (None, "gpu-box:9999", "http://gpu-box:9999"),
        (None, ":9999", "http://127.0.0.1:9999"),
        (None, "http://gpu-box", "http://gpu-box:80"),
        (None, "https://ollama.example.com", "https://ollama.example.com:443"),
        (None, "https://ollama.example.com:8443/proxy/", "https://ollama.example.com:8443/proxy"),
        (None, "10.0.0.5", "http://10.0.0.5:11434"),
        ("localhost:1234", "gpu-box", "http://localhost:1234"),
    ],
)
def test_base_url_follows_ollama_host_rules(
    explicit: str | None, env: str | None, expected: str
) -> None:
    environ = {} if env is None else {"OLLAMA_HOST": env}
    assert ollama_base_url(explicit, environ) == expected


@pytest.mark.parametrize(
    ("estimate", "expected"),
    [(0, 2048), (500, 2048), (3000, 4096), (7000, 8192), (7200, 16384), (10**7, 131072)],
)
def test_num_ctx_fits_prompt_and_answer_in_a_power_of_two(estimate: int, expected: int) -> None:
    request = ChatRequest("s", "u", SCHEMA, max_output_tokens=1024, prompt_tokens_estimate=estimate)
    assert context_size(request) == expected


def test_chat_sends_messages_schema_and_context_and_reads_tokens(server: FakeServer) -> None:
    result = use(provider(server.url), lambda llm: llm.chat(REQUEST))
    assert (result.text, result.model) == (DEFAULT_ANSWER, "test-model")
    assert (result.prompt_tokens, result.completion_tokens) == (11, 7)
    [sent] = server.bodies("/api/chat")
    assert sent["model"] == "test-model"
    assert sent["messages"] == [
        {"role": "system", "content": "You explain logs."},
        {"role": "user", "content": "ERROR disk full"},
    ]
    assert sent["stream"] is False
    assert sent["format"] == SCHEMA
    assert sent["options"] == {"num_ctx": 4096, "num_predict": 1024, "temperature": 0.0}


def test_stream_yields_pieces_as_they_are_generated(server: FakeServer) -> None:
    server.reply("/api/chat", Reply(chunks=("{", '"summary": "x"', "}"), chunk_delay=0.2))
    arrivals: list[float] = []

    async def timed(llm: OllamaProvider) -> list[StreamChunk]:
        chunks = []
        async for chunk in llm.stream(REQUEST):
            arrivals.append(time.monotonic())
            chunks.append(chunk)
        return chunks

    chunks = use(provider(server.url), timed)
    assert "".join(c.text for c in chunks) == '{"summary": "x"}'
    assert [c.done for c in chunks] == [False, False, False, True]
    assert (chunks[-1].prompt_tokens, chunks[-1].completion_tokens) == (11, 7)
    assert arrivals[-1] - arrivals[0] >= 0.5  # the first piece came before the last was written
    assert server.bodies("/api/chat")[0]["stream"] is True


def test_5xx_and_429_are_retried_with_backoff(server: FakeServer) -> None:
    server.reply(
        "/api/chat",
        Reply(status=500, body={"error": "llama runner process has terminated"}),
        Reply(status=429, body={"error": "too many requests"}),
    )
    result = use(provider(server.url), lambda llm: llm.chat(REQUEST))
    assert result.text == DEFAULT_ANSWER
    first, second, third = (r.at for r in server.requests)
    assert second - first >= 0.05
    assert third - second >= 0.10


def test_stream_is_retried_before_the_first_byte(server: FakeServer) -> None:
    server.reply("/api/chat", Reply(status=503, body={"error": "server busy"}))
    chunks = use(provider(server.url), collect)
    assert "".join(c.text for c in chunks) == DEFAULT_ANSWER
    assert len(server.requests) == 2


def test_persistent_5xx_ends_as_unavailable_after_the_attempts(server: FakeServer) -> None:
    server.reply("/api/chat", *[Reply(status=500, body={"error": "boom"})] * 3)
    with pytest.raises(ProviderUnavailable, match="HTTP 500: boom"):
        use(provider(server.url), lambda llm: llm.chat(REQUEST))
    assert len(server.requests) == 3


def test_persistent_429_ends_as_rate_limited(server: FakeServer) -> None:
    server.reply("/api/chat", *[Reply(status=429, body={"error": "slow down"})] * 2)
    with pytest.raises(ProviderRateLimited):
        use(provider(server.url, attempts=2), lambda llm: llm.chat(REQUEST))


def test_400_is_not_retried(server: FakeServer) -> None:
    server.reply("/api/chat", Reply(status=400, body={"error": "invalid format"}))
    with pytest.raises(ProviderBadRequest, match="invalid format") as caught:
        use(provider(server.url), lambda llm: llm.chat(REQUEST))
    assert caught.value.exit_code == 3
    assert len(server.requests) == 1


def test_slow_server_times_out(server: FakeServer) -> None:
    server.reply("/api/chat", Reply(delay=2.0), Reply(delay=2.0))
    started = time.monotonic()
    with pytest.raises(ProviderTimeout, match=r"within 0\.2 s"):
        use(provider(server.url, read_timeout=0.2, attempts=2), lambda llm: llm.chat(REQUEST))
    assert time.monotonic() - started < 1.5
    assert len(server.requests) == 2  # a timeout is transient: tried again once


def test_cancellation_stops_the_call_at_once(server: FakeServer) -> None:
    server.reply("/api/chat", Reply(delay=5.0))
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        use(provider(server.url), lambda llm: asyncio.wait_for(llm.chat(REQUEST), 0.2))
    assert time.monotonic() - started < 1.5


def test_server_down_says_how_to_start_it() -> None:
    url = unused_url()
    with pytest.raises(ProviderUnavailable, match="ollama serve") as caught:
        use(provider(url), lambda llm: llm.chat(REQUEST))
    assert url in caught.value.message


def test_missing_model_says_how_to_pull_it(server: FakeServer) -> None:
    llm = OllamaProvider("llama9:70b", base_url=server.url, base_delay=0.01)
    with pytest.raises(ModelNotFound, match=r"run `ollama pull llama9:70b`"):
        use(llm, lambda llm: llm.chat(REQUEST))
    with pytest.raises(ModelNotFound):
        use(OllamaProvider("llama9:70b", base_url=server.url), collect)
    assert len(server.requests) == 2  # once each: not retried


def test_error_in_the_middle_of_a_stream(server: FakeServer) -> None:
    lines = b'{"message": {"content": "{"}, "done": false}\n{"error": "out of memory"}\n'
    server.reply("/api/chat", Reply(body=lines))
    with pytest.raises(ProviderError, match="out of memory"):
        use(provider(server.url), collect)


def test_not_an_ollama_server(server: FakeServer) -> None:
    with pytest.raises(ProviderError, match="is it an Ollama server"):
        use(provider(server.url + "/elsewhere"), lambda llm: llm.chat(REQUEST))


def test_status_lists_models_and_flags_a_missing_one(server: FakeServer) -> None:
    status = use(provider(server.url), lambda llm: llm.status())
    assert (status.name, status.target, status.reachable) == ("ollama", server.url, True)
    assert status.models == ["test-model"]
    assert status.problem is None
    other = OllamaProvider("qwen2.5", base_url=server.url)
    assert "ollama pull qwen2.5" in (use(other, lambda llm: llm.status()).problem or "")


def test_status_of_a_server_that_is_down() -> None:
    status = use(provider(unused_url()), lambda llm: llm.status())
    assert not status.reachable
    assert "ollama serve" in (status.problem or "")
