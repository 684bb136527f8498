"""AWS Bedrock through boto3's Converse API, which speaks one format for every model family.

Credentials, profile and region come from the standard AWS chain (environment, ~/.aws, SSO,
instance roles); nothing is forced. `model` may be a model id or an inference-profile id/ARN:
Converse accepts both as `modelId`. boto3 blocks, so every call runs in a thread; botocore's own
retries are off because `with_retries` decides what is transient here, as for the other providers.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    CredentialRetrievalError,
    HTTPClientError,
    LoginError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
    SSOError,
    TokenRetrievalError,
)

from bifrost.errors import Worded, phrase
from bifrost.i18n import DEFAULT_LANGUAGE, message
from bifrost.llm.base import (
    ChatRequest,
    ChatResult,
    ModelNotFound,
    ProviderAuthError,
    ProviderError,
    ProviderRateLimited,
    ProviderStatus,
    ProviderTimeout,
    ProviderUnavailable,
    StreamChunk,
)
from bifrost.llm.retry import for_status, with_retries

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient
    from mypy_boto3_bedrock_runtime.type_defs import (
        ConverseResponseTypeDef,
        ConverseStreamOutputTypeDef,
        ConverseStreamResponseTypeDef,
    )

T = TypeVar("T")

# Phrases of ValidationExceptions that are about the model id rather than the request.
_MODEL_PHRASES = (
    "model identifier",
    "model id",
    "inference profile",
    "on-demand throughput",
    "end of its life",
)


class _End:
    """Marks the end of a stream in the queue between the reading thread and the event loop."""


class BedrockProvider:
    """Chat with one Bedrock model (or inference profile) through `converse`/`converse_stream`."""

    name = "bedrock"

    def __init__(
        self,
        model: str,
        *,
        region: str | None = None,
        client: BedrockRuntimeClient | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 120.0,
        attempts: int = 3,
        base_delay: float = 0.5,
    ) -> None:
        """`region` None means the AWS chain's; `client` replaces the one built from the chain."""
        self.model = model
        self._region = region
        self._client = client
        self._session: boto3.session.Session | None = None
        self._config = Config(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"total_max_attempts": 1},
        )
        self._attempts = attempts
        self._base_delay = base_delay

    @property
    def region(self) -> str | None:
        if self._client is not None:
            return self._client.meta.region_name
        return self._region or (self._session.region_name if self._session else None)

    async def chat(self, request: ChatRequest) -> ChatResult:
        response = await self._call(lambda: self._converse(request))
        blocks = response["output"].get("message", {}).get("content", [])
        usage = response.get("usage", {})
        return ChatResult(
            text="".join(block.get("text", "") for block in blocks),
            model=self.model,
            prompt_tokens=usage.get("inputTokens"),
            completion_tokens=usage.get("outputTokens"),
        )

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamChunk]:
        """`converse_stream`, read in a thread and handed over through a queue.

        Retried only until the stream opens; leaving early closes it, which ends the thread.
        """
        response = await self._call(lambda: self._converse_stream(request))
        events = response["stream"]
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[ConverseStreamOutputTypeDef | BaseException | _End] = asyncio.Queue()

        def put(item: ConverseStreamOutputTypeDef | BaseException | _End) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is listening
                loop.call_soon_threadsafe(queue.put_nowait, item)

        def pump() -> None:
            try:
                for event in events:
                    put(event)
            except BaseException as error:  # handed to the loop, raised there
                put(error)
            else:
                put(_End())

        threading.Thread(target=pump, name="bedrock-stream", daemon=True).start()
        prompt_tokens = completion_tokens = None
        try:
            while not isinstance(item := await queue.get(), _End):
                if isinstance(item, BaseException):
                    raise self._translate(item) from item
                text = item.get("contentBlockDelta", {}).get("delta", {}).get("text")
                if text:
                    yield StreamChunk(text)
                usage = item.get("metadata", {}).get("usage")
                if usage:
                    prompt_tokens, completion_tokens = usage["inputTokens"], usage["outputTokens"]
        finally:
            events.close()
        yield StreamChunk(
            "", done=True, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
        )

    async def status(self) -> ProviderStatus:
        """Whether credentials and a region resolve. Bedrock itself is not called: listing
        models needs other permissions than using one, so a request is the only real test."""

        def check() -> None:
            credentials = self._get_session().get_credentials()
            if credentials is None:
                raise NoCredentialsError
            credentials.get_frozen_credentials()  # refreshes: an expired SSO login fails here

        problem = None
        try:
            await _in_thread(check)
        except (BotoCoreError, ClientError) as error:
            problem = self._translate(error).message
        region = self.region
        if region is None and problem is None:
            problem = message("bedrock.no_region", DEFAULT_LANGUAGE)
        return ProviderStatus(self.name, region or "(no region)", problem is None, [], problem)

    async def aclose(self) -> None:
        """Nothing to close: boto3 clients hold no resources that outlive the process."""

    def _get_session(self) -> boto3.session.Session:
        if self._session is None:
            self._session = boto3.session.Session(region_name=self._region)
        return self._session

    def _get_client(self) -> BedrockRuntimeClient:
        if self._client is None:
            self._client = self._get_session().client("bedrock-runtime", config=self._config)
        return self._client

    def _converse(self, request: ChatRequest) -> ConverseResponseTypeDef:
        return self._get_client().converse(**self._arguments(request))

    def _converse_stream(self, request: ChatRequest) -> ConverseStreamResponseTypeDef:
        return self._get_client().converse_stream(**self._arguments(request))

    def _arguments(self, request: ChatRequest) -> dict[str, Any]:
        """The Converse request; `converse` and `converse_stream` take the same one."""
        return {
            "modelId": self.model,
            "system": [{"text": request.system}],
            "messages": [{"role": "user", "content": [{"text": request.user}]}],
            "inferenceConfig": {
                "maxTokens": request.max_output_tokens,
                "temperature": request.temperature,
            },
        }

    async def _call(self, operation: Callable[[], T]) -> T:
        async def attempt() -> T:
            try:
                return await _in_thread(operation)
            except (BotoCoreError, ClientError) as error:
                raise self._translate(error) from error

        return await with_retries(attempt, attempts=self._attempts, base_delay=self._base_delay)

    def _translate(self, error: BaseException) -> ProviderError:
        """The ProviderError for a boto3 failure, saying what to do about it."""
        where = phrase("bedrock.where", model=self.model, region=self.region or "(no region)")
        if isinstance(error, ClientError):
            return self._translate_service_error(error, where)
        if isinstance(error, NoCredentialsError | PartialCredentialsError):
            return ProviderAuthError.said("bedrock.no_credentials")
        if isinstance(
            error, SSOError | TokenRetrievalError | LoginError | CredentialRetrievalError
        ):
            return ProviderAuthError.said("bedrock.expired", problem=error)
        if isinstance(error, ProfileNotFound):
            return ProviderAuthError.said("bedrock.no_profile", problem=error)
        if isinstance(error, NoRegionError):
            return ProviderError.said("bedrock.no_region")
        if isinstance(error, ReadTimeoutError):
            return ProviderTimeout.said("bedrock.timed_out", where=where)
        if isinstance(error, ConnectionError | HTTPClientError):
            return ProviderUnavailable.said("bedrock.unreachable", where=where, problem=error)
        return ProviderError.said("bedrock.failed", where=where, problem=error)

    def _translate_service_error(self, error: ClientError, where: Worded) -> ProviderError:
        details = error.response.get("Error", {})
        code = details.get("Code", "")
        said = details.get("Message", "") or str(error)
        kind = code.lower().removesuffix("exception")
        if kind == "accessdenied":
            return ProviderAuthError.said("bedrock.access_denied", where=where, said=said)
        if kind in {"expiredtoken", "unrecognizedclient", "invalidsignature"}:
            return ProviderAuthError.said("bedrock.expired_said", said=said)
        if kind == "resourcenotfound" or (
            kind == "validation" and any(p in said.lower() for p in _MODEL_PHRASES)
        ):
            return ModelNotFound.said("bedrock.no_model", where=where, model=self.model, said=said)
        if kind == "throttling":
            return ProviderRateLimited.said("bedrock.throttling", where=where, said=said)
        if kind in {"serviceunavailable", "modelnotready", "internalserver"}:
            return ProviderUnavailable.said("bedrock.not_ready", where=where, said=said)
        if kind == "modeltimeout":
            return ProviderTimeout.said("bedrock.model_timeout", where=where, said=said)
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
        return for_status(status, "bedrock.refused", where=where, code=code, said=said)


async def _in_thread(operation: Callable[[], T]) -> T:
    """`operation()` in a daemon thread, awaited without blocking the loop.

    Not `asyncio.to_thread`: `asyncio.run` waits for the default executor's threads on exit, so
    Ctrl-C during a slow call would hang until boto3 gave up. A daemon thread is left behind.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def fail(error: BaseException) -> None:
        if not future.done():  # not cancelled meanwhile
            future.set_exception(error)

    def succeed(result: T) -> None:
        if not future.done():
            future.set_result(result)

    def run() -> None:
        try:
            result = operation()
        except BaseException as error:  # handed to the loop, raised there
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is waiting
                loop.call_soon_threadsafe(fail, error)
        else:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(succeed, result)

    threading.Thread(target=run, name="bedrock-call", daemon=True).start()
    return await future
