"""The Bedrock provider on a real boto3 client: botocore's Stubber, or real sockets for failures."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import EventStreamError
from botocore.stub import Stubber

from bifrost.llm.base import (
    ChatRequest,
    ModelNotFound,
    ProviderAuthError,
    ProviderBadRequest,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
    StreamChunk,
)
from bifrost.llm.bedrock import BedrockProvider
from tests.llm.servers import unused_url

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient

MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"
PROFILE_ARN = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-x"
REQUEST = ChatRequest(system="You explain logs.", user="ERROR disk full", schema={})
ANSWER = '{"summary": "the disk is full"}'


class StreamStubber(Stubber):
    """A Stubber whose converse_stream may answer with a plain iterable of events.

    botocore cannot validate an event stream given as data, so that one response is not validated.
    """

    def _validate_operation_response(self, operation_name: str, service_response: Any) -> None:
        if operation_name != "ConverseStream":
            # A private hook, so botocore-stubs does not declare it.
            super()._validate_operation_response(operation_name, service_response)  # type: ignore[misc]


class Events:
    """Stands in for botocore's EventStream: yields events (with a pause), may fail, is closable."""

    def __init__(self, *events: dict[str, Any], fail: Exception | None = None, pause: float = 0):
        self.events = events
        self.fail = fail
        self.pause = pause
        self.closed = False

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for event in self.events:
            time.sleep(self.pause)
            if self.closed:
                return
            yield event
        if self.fail is not None:
            raise self.fail

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def client() -> BedrockRuntimeClient:
    return boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="y",
    )


@pytest.fixture
def no_aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An environment where the AWS chain finds nothing (and does not ask an instance role)."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    monkeypatch.delenv("AWS_WEB_IDENTITY_TOKEN_FILE", raising=False)


def expected(model: str = MODEL) -> dict[str, Any]:
    return {
        "modelId": model,
        "system": [{"text": "You explain logs."}],
        "messages": [{"role": "user", "content": [{"text": "ERROR disk full"}]}],
        "inferenceConfig": {"maxTokens": 1024, "temperature": 0.0},
    }


def converse_answer(text: str = ANSWER) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 12, "outputTokens": 5, "totalTokens": 17},
        "metrics": {"latencyMs": 100},
    }


def stream_events(*pieces: str) -> list[dict[str, Any]]:
    deltas = [{"contentBlockDelta": {"delta": {"text": p}, "contentBlockIndex": 0}} for p in pieces]
    return [
        {"messageStart": {"role": "assistant"}},
        *deltas,
        {"contentBlockStop": {"contentBlockIndex": 0}},
        {"messageStop": {"stopReason": "end_turn"}},
        {"metadata": {"usage": {"inputTokens": 12, "outputTokens": 5, "totalTokens": 17}}},
    ]


def provider(client: BedrockRuntimeClient, model: str = MODEL) -> BedrockProvider:
    return BedrockProvider(model, client=client, base_delay=0.05)


def throttled(stubber: Stubber, operation: str = "converse") -> None:
    stubber.add_client_error(
        operation,
        service_error_code="ThrottlingException",
        service_message="Too many requests, please wait before trying again.",
        http_status_code=429,
    )


async def collect(chunks: AsyncIterator[StreamChunk]) -> list[StreamChunk]:
    return [chunk async for chunk in chunks]


def test_converse_sends_system_and_user_and_reads_usage(client: BedrockRuntimeClient) -> None:
    with Stubber(client) as stubber:
        stubber.add_response("converse", converse_answer(), expected())
        result = asyncio.run(provider(client).chat(REQUEST))
        stubber.assert_no_pending_responses()
    assert (result.text, result.model) == (ANSWER, MODEL)
    assert (result.prompt_tokens, result.completion_tokens) == (12, 5)


def test_an_inference_profile_arn_is_the_model_id(client: BedrockRuntimeClient) -> None:
    with Stubber(client) as stubber:
        stubber.add_response("converse", converse_answer(), expected(PROFILE_ARN))
        assert asyncio.run(provider(client, PROFILE_ARN).chat(REQUEST)).text == ANSWER


def test_throttling_is_retried_with_backoff(client: BedrockRuntimeClient) -> None:
    with Stubber(client) as stubber:
        throttled(stubber)
        stubber.add_client_error("converse", "ServiceUnavailableException", http_status_code=503)
        stubber.add_response("converse", converse_answer(), expected())
        started = time.monotonic()
        assert asyncio.run(provider(client).chat(REQUEST)).text == ANSWER
        stubber.assert_no_pending_responses()
    assert time.monotonic() - started >= 0.05 + 0.10


def test_persistent_throttling_ends_as_rate_limited(client: BedrockRuntimeClient) -> None:
    with Stubber(client) as stubber:
        for _ in range(3):
            throttled(stubber)
        with pytest.raises(ProviderRateLimited, match="throttling requests to"):
            asyncio.run(provider(client).chat(REQUEST))
        stubber.assert_no_pending_responses()


def test_access_denied_says_to_enable_model_access(client: BedrockRuntimeClient) -> None:
    with Stubber(client) as stubber:
        stubber.add_client_error(
            "converse",
            "AccessDeniedException",
            "You don't have access to the model with the specified model ID.",
            http_status_code=403,
        )
        with pytest.raises(ProviderAuthError, match="enable model access") as caught:
            asyncio.run(provider(client).chat(REQUEST))
        stubber.assert_no_pending_responses()  # once: not retried
    assert "bedrock:InvokeModel" in caught.value.message
    assert caught.value.exit_code == 3


def test_expired_credentials_say_how_to_refresh(client: BedrockRuntimeClient) -> None:
    with Stubber(client) as stubber:
        stubber.add_client_error(
            "converse",
            "ExpiredTokenException",
            "The security token included in the request is expired",
            http_status_code=403,
        )
        with pytest.raises(ProviderAuthError, match="aws sso login"):
            asyncio.run(provider(client).chat(REQUEST))


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("ValidationException", "The provided model identifier is invalid."),
        (
            "ValidationException",
            "Invocation of model ID anthropic.claude-x with on-demand throughput isn't "
            "supported. Retry your request with the ID or ARN of an inference profile that "
            "contains this model.",
        ),
        ("ResourceNotFoundException", "Model not found."),
    ],
)
def test_unknown_or_unusable_model(client: BedrockRuntimeClient, code: str, message: str) -> None:
    with Stubber(client) as stubber:
        stubber.add_client_error("converse", code, message, http_status_code=400)
        with pytest.raises(ModelNotFound, match="inference profile id or ARN"):
            asyncio.run(provider(client).chat(REQUEST))


def test_other_validation_errors_are_bad_requests(client: BedrockRuntimeClient) -> None:
    with Stubber(client) as stubber:
        stubber.add_client_error(
            "converse", "ValidationException", "maxTokens exceeds the limit", http_status_code=400
        )
        with pytest.raises(ProviderBadRequest, match="maxTokens exceeds the limit"):
            asyncio.run(provider(client).chat(REQUEST))
        stubber.assert_no_pending_responses()


def test_converse_stream_yields_text_then_usage(client: BedrockRuntimeClient) -> None:
    events = Events(*stream_events("{", '"summary": ', '"x"}'))
    with StreamStubber(client) as stubber:
        stubber.add_response("converse_stream", {"stream": events}, expected())
        chunks = asyncio.run(collect(provider(client).stream(REQUEST)))
    assert [c.text for c in chunks] == ["{", '"summary": ', '"x"}', ""]
    assert (chunks[-1].done, chunks[-1].prompt_tokens, chunks[-1].completion_tokens) == (
        True,
        12,
        5,
    )
    assert events.closed


def test_converse_stream_does_not_block_the_event_loop(client: BedrockRuntimeClient) -> None:
    events = Events(*stream_events("a", "b", "c"), pause=0.1)
    ticks = 0

    async def main() -> list[StreamChunk]:
        nonlocal ticks

        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        ticker = asyncio.create_task(tick())
        try:
            return await collect(provider(client).stream(REQUEST))
        finally:
            ticker.cancel()

    with StreamStubber(client) as stubber:
        stubber.add_response("converse_stream", {"stream": events}, expected())
        chunks = asyncio.run(main())
    assert "".join(c.text for c in chunks) == "abc"
    assert ticks >= 20  # the loop kept running while the thread waited for events


def test_converse_stream_opening_is_retried(client: BedrockRuntimeClient) -> None:
    with StreamStubber(client) as stubber:
        throttled(stubber, "converse_stream")
        stubber.add_response(
            "converse_stream", {"stream": Events(*stream_events("ok"))}, expected()
        )
        chunks = asyncio.run(collect(provider(client).stream(REQUEST)))
        stubber.assert_no_pending_responses()
    assert chunks[0].text == "ok"


def test_an_error_in_the_middle_of_the_stream(client: BedrockRuntimeClient) -> None:
    failure = EventStreamError(
        {"Error": {"Code": "throttlingException", "Message": "slow down"}}, "ConverseStream"
    )
    events = Events(*stream_events("{")[:2], fail=failure)
    with StreamStubber(client) as stubber:
        stubber.add_response("converse_stream", {"stream": events}, expected())
        with pytest.raises(ProviderRateLimited, match="slow down"):
            asyncio.run(collect(provider(client).stream(REQUEST)))
    assert events.closed


def test_leaving_the_stream_early_closes_it(client: BedrockRuntimeClient) -> None:
    events = Events(*stream_events("a", "b", "c"), pause=0.05)

    async def first_only() -> str:
        chunks = provider(client).stream(REQUEST)
        first = await anext(chunks)
        await chunks.aclose()  # type: ignore[attr-defined]
        return first.text

    with StreamStubber(client) as stubber:
        stubber.add_response("converse_stream", {"stream": events}, expected())
        assert asyncio.run(first_only()) == "a"
    assert events.closed


@pytest.mark.usefixtures("no_aws_credentials")
def test_no_credentials() -> None:
    llm = BedrockProvider(MODEL, region="us-east-1", base_delay=0.01)
    with pytest.raises(ProviderAuthError, match="no AWS credentials found"):
        asyncio.run(llm.chat(REQUEST))
    status = asyncio.run(llm.status())
    assert (status.name, status.target, status.reachable) == ("bedrock", "us-east-1", False)
    assert "aws sso login" in (status.problem or "")


@pytest.mark.usefixtures("no_aws_credentials")
def test_status_with_credentials_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    status = asyncio.run(BedrockProvider(MODEL).status())
    assert (status.target, status.reachable, status.problem) == ("eu-west-1", True, None)


@pytest.mark.usefixtures("no_aws_credentials")
def test_status_without_a_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    status = asyncio.run(BedrockProvider(MODEL).status())
    assert not status.reachable
    assert "AWS_REGION" in (status.problem or "")


def real_client(endpoint: str, read_timeout: float = 5.0) -> BedrockRuntimeClient:
    return boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id="x",
        aws_secret_access_key="y",
        config=Config(
            connect_timeout=1, read_timeout=read_timeout, retries={"total_max_attempts": 1}
        ),
    )


def test_endpoint_down_is_unavailable_after_retries() -> None:
    llm = BedrockProvider(MODEL, client=real_client(unused_url()), attempts=2, base_delay=0.01)
    with pytest.raises(ProviderUnavailable, match="cannot reach Bedrock"):
        asyncio.run(llm.chat(REQUEST))


def test_endpoint_that_never_answers_times_out() -> None:
    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        llm = BedrockProvider(MODEL, client=real_client(url, read_timeout=0.2), attempts=1)
        started = time.monotonic()
        with pytest.raises(ProviderTimeout, match="did not answer"):
            asyncio.run(llm.chat(REQUEST))
    assert time.monotonic() - started < 2
