"""The OpenAI-compatible provider against a real loopback server speaking chat completions."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import pytest

from bifrost.llm.base import (
    ChatRequest,
    ModelNotFound,
    ProviderAuthError,
    ProviderBadRequest,
    ProviderError,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
    StreamChunk,
)
from bifrost.llm.openai_compat import OpenAICompatProvider
from tests.llm.servers import DEFAULT_ANSWER, FakeServer, Reply, unused_url

T = TypeVar("T")
SCHEMA = {"type": "object", "properties": {"summary": {"type": "string"}}}
REQUEST = ChatRequest(system="You explain logs.", user="ERROR disk full", schema=SCHEMA)
CHAT = "/v1/chat/completions"


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer() as fake:
        yield fake


def provider(
    url: str,
    model: str = "test-model",
    api_key: str | None = None,
    read_timeout: float = 5.0,
    attempts: int = 3,
) -> OpenAICompatProvider:
    return OpenAICompatProvider(
        model,
        base_url=url,
        api_key=api_key,
        key_env="BIFROST_API_KEY",
        read_timeout=read_timeout,
        attempts=attempts,
        base_delay=0.05,
    )


def use(llm: OpenAICompatProvider, action: Callable[[OpenAICompatProvider], Awaitable[T]]) -> T:
    async def main() -> T:
        try:
            return await action(llm)
        finally:
            await llm.aclose()

    return asyncio.run(main())


def chat(llm: OpenAICompatProvider) -> Awaitable[object]:
    return llm.chat(REQUEST)


async def collect(llm: OpenAICompatProvider) -> list[StreamChunk]:
    return [chunk async for chunk in llm.stream(REQUEST)]


def test_chat_sends_messages_and_a_strict_json_schema(server: FakeServer) -> None:
    result = use(provider(server.openai_url), lambda llm: llm.chat(REQUEST))
    assert (result.text, result.model) == (DEFAULT_ANSWER, "test-model")
    assert (result.prompt_tokens, result.completion_tokens) == (11, 7)
    [sent] = server.bodies(CHAT)
    assert sent["model"] == "test-model"
    assert sent["messages"] == [
        {"role": "system", "content": "You explain logs."},
        {"role": "user", "content": "ERROR disk full"},
    ]
    assert sent["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "triage", "schema": SCHEMA, "strict": True},
    }
    assert (sent["stream"], sent["max_tokens"], sent["temperature"]) == (False, 1024, 0.0)
    assert "authorization" not in server.requests[0].headers


def test_stream_reads_server_sent_events_and_usage(server: FakeServer) -> None:
    server.reply(CHAT, Reply(chunks=("{", '"summary": "x"', "}"), chunk_delay=0.05))
    chunks = use(provider(server.openai_url), collect)
    assert "".join(c.text for c in chunks) == '{"summary": "x"}'
    assert [c.done for c in chunks] == [False, False, False, True]
    assert (chunks[-1].prompt_tokens, chunks[-1].completion_tokens) == (11, 7)
    [sent] = server.bodies(CHAT)
    assert sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}


def test_stream_without_usage_still_ends(server: FakeServer) -> None:
    done = b'data: {"choices": [{"delta": {"content": "hi"}, "finish_reason": "stop"}]}\n\n'
    server.reply(CHAT, Reply(body=done))  # no usage event, no [DONE], as some servers do
    chunks = use(provider(server.openai_url), collect)
    assert [(c.text, c.done, c.prompt_tokens) for c in chunks] == [
        ("hi", False, None),
        ("", True, None),
    ]


def test_stream_cut_short_is_an_error(server: FakeServer) -> None:
    server.reply(CHAT, Reply(body=b'data: {"choices": [{"delta": {"content": "{"}}]}\n\n'))
    with pytest.raises(ProviderUnavailable, match="midway"):
        use(provider(server.openai_url), collect)


def test_unsupported_response_format_steps_down_and_remembers(server: FakeServer) -> None:
    refusal = {"error": {"message": "response_format type json_schema is not supported"}}
    # llama-cpp-python's server answers 500 to a response_format it does not know.
    refusal_2 = {"error": {"message": "'response_format' schema: extra inputs not permitted"}}
    refusal_3 = {"error": {"message": "'response_format' of type json_object is not supported"}}
    server.reply(
        CHAT,
        Reply(status=400, body=refusal),
        Reply(status=500, body=refusal_2),
        Reply(status=422, body=refusal_3),
    )

    async def twice(llm: OpenAICompatProvider) -> None:
        await llm.chat(REQUEST)
        await llm.chat(REQUEST)

    use(provider(server.openai_url), twice)
    formats = [body.get("response_format") for body in server.bodies(CHAT)]
    kinds = [(f["type"], "schema" in f) if f else None for f in formats]
    assert (
        kinds
        == [("json_schema", False), ("json_object", True), ("json_object", False)] + [None] * 2
    )
    assert formats[1]["schema"] == REQUEST.schema


def test_a_500_that_blames_nothing_of_the_request_is_retried(server: FakeServer) -> None:
    failure = {"error": {"message": "out of memory"}}
    server.reply(CHAT, Reply(status=500, body=failure), Reply(status=500, body=failure))
    use(provider(server.openai_url), chat)
    assert len(server.bodies(CHAT)) == 3
    assert all(b["response_format"]["type"] == "json_schema" for b in server.bodies(CHAT))


def test_other_400_is_not_retried(server: FakeServer) -> None:
    server.reply(CHAT, Reply(status=400, body={"error": {"message": "max_tokens is too large"}}))
    with pytest.raises(ProviderBadRequest, match="max_tokens is too large"):
        use(provider(server.openai_url), chat)
    assert len(server.requests) == 1


def test_5xx_and_429_are_retried_with_backoff(server: FakeServer) -> None:
    server.reply(
        CHAT,
        Reply(status=502, body="Bad Gateway"),
        Reply(status=429, body={"error": {"message": "Rate limit reached"}}),
    )
    chunks = use(provider(server.openai_url), collect)
    assert "".join(c.text for c in chunks) == DEFAULT_ANSWER
    first, second, third = (r.at for r in server.requests)
    assert second - first >= 0.05
    assert third - second >= 0.10


def test_persistent_429_ends_as_rate_limited(server: FakeServer) -> None:
    server.reply(CHAT, *[Reply(status=429, body={"error": {"message": "slow down"}})] * 3)
    with pytest.raises(ProviderRateLimited, match="slow down"):
        use(provider(server.openai_url), chat)
    assert len(server.requests) == 3


def test_slow_server_times_out(server: FakeServer) -> None:
    server.reply(CHAT, Reply(delay=2.0))
    started = time.monotonic()
    with pytest.raises(ProviderTimeout, match=r"within 0\.2 s"):
        use(provider(server.openai_url, read_timeout=0.2, attempts=1), chat)
    assert time.monotonic() - started < 1.5


def test_server_down() -> None:
    url = unused_url() + "/v1"
    with pytest.raises(ProviderUnavailable, match="cannot reach") as caught:
        use(provider(url), chat)
    assert url in caught.value.message


def test_missing_model(server: FakeServer) -> None:
    with pytest.raises(ModelNotFound, match="no model gpt-9"):
        use(provider(server.openai_url, model="gpt-9"), chat)
    assert len(server.requests) == 1


def test_base_url_without_v1_gets_a_hint(server: FakeServer) -> None:
    with pytest.raises(ProviderError, match="usually ends in /v1"):
        use(provider(server.url), chat)


def test_the_key_is_sent_as_a_bearer_token(server: FakeServer) -> None:
    with FakeServer(api_key="sk-right") as keyed:
        use(provider(keyed.openai_url, api_key="sk-right"), chat)
        assert keyed.requests[0].headers["authorization"] == "Bearer sk-right"


def test_a_refused_key_is_an_auth_error_that_does_not_repeat_it() -> None:
    with FakeServer(api_key="sk-right") as keyed:
        with pytest.raises(ProviderAuthError, match="check BIFROST_API_KEY") as caught:
            use(provider(keyed.openai_url, api_key="sk-wrong-123"), chat)
        assert "sk-wrong" not in str(caught.value)
        with pytest.raises(ProviderAuthError, match="set BIFROST_API_KEY"):
            use(provider(keyed.openai_url), chat)
        assert len(keyed.requests) == 2  # not retried


def test_status_lists_models(server: FakeServer) -> None:
    status = use(provider(server.openai_url), lambda llm: llm.status())
    assert (status.name, status.target, status.reachable) == ("openai", server.openai_url, True)
    assert (status.models, status.problem) == (["test-model"], None)
    missing = use(provider(server.openai_url, model="gpt-9"), lambda llm: llm.status())
    assert "does not serve model gpt-9" in (missing.problem or "")


def test_status_when_the_key_is_refused_or_the_server_is_down() -> None:
    with FakeServer(api_key="sk-right") as keyed:
        refused = use(provider(keyed.openai_url), lambda llm: llm.status())
    assert refused.reachable
    assert "set BIFROST_API_KEY" in (refused.problem or "")
    down = use(provider(unused_url() + "/v1"), lambda llm: llm.status())
    assert not down.reachable
