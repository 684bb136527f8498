"""The API answers in the asker's language: `?lang=`, else `Accept-Language`, else the
server's `BIFROST_LANG`. Words change; log lines and machine fields never do; the LLM is asked
to write in that language, and its answer is cached per language."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.llm.servers import VALID_ANSWER, FakeServer, Reply

from .conftest import ANALYSES, TRAINER, Api

KOREAN = {"Accept-Language": "ko-KR,ko;q=0.9,en;q=0.5"}


def _machine(report: dict[str, Any]) -> object:
    findings = [
        {k: v for k, v in f.items() if k not in ("title", "explanation", "suggestion")}
        for f in report["findings"]
    ]
    return report["verdict"], report["finding_counts"], report["input"], findings


def test_a_report_comes_in_the_language_the_client_accepts(api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        english = await client.post(ANALYSES, content=TRAINER)
        korean = await client.post(ANALYSES, content=TRAINER, headers=KOREAN)
        assert english.headers["content-language"] == "en"
        assert korean.headers["content-language"] == "ko"
        assert "Accept-Language" in korean.headers["vary"]
        assert korean.headers["x-bifrost-cache"] == "hit"  # one analysis, read in two languages
        assert korean.json()["findings"][0]["title"] == "GPU 메모리 부족 (CUDA out of memory)"
        assert english.json()["findings"][0]["title"] == "GPU out of memory (CUDA out of memory)"
        assert _machine(korean.json()) == _machine(english.json())

        asked = await client.post(
            ANALYSES, params={"lang": "en", "format": "markdown"}, content=TRAINER, headers=KOREAN
        )
        assert asked.headers["content-language"] == "en"  # the option wins over the header
        assert "**What it means:**" in asked.text

        stored = await client.get(english.headers["location"], headers=KOREAN)
        assert stored.headers["content-language"] == "ko"
        assert stored.json()["report"]["summary"].startswith("GPU 메모리 부족")
        unknown = await client.get(english.headers["location"], headers={"Accept-Language": "fr"})
        assert unknown.headers["content-language"] == "en"  # the server's language

    api.run(scenario)


def test_the_servers_language_is_the_default(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        answer = await client.post(ANALYSES, params={"format": "markdown"}, content=TRAINER)
        assert answer.headers["content-language"] == "ko"
        assert "## ✗ 실패 — GPU 메모리 부족" in answer.text
        english = await client.post(
            ANALYSES,
            params={"format": "markdown"},
            content=TRAINER,
            headers={"Accept-Language": "en"},
        )
        assert "## ✗ Failure — GPU out of memory" in english.text

    sqlite_api.run(scenario, lang="ko")


@pytest.fixture
def llm() -> Iterator[FakeServer]:
    with FakeServer() as server:
        yield server


def test_the_llm_is_asked_to_answer_in_the_clients_language(
    sqlite_api: Api, llm: FakeServer
) -> None:
    llm.reply("/api/chat", Reply(text=VALID_ANSWER), Reply(text=VALID_ANSWER))

    async def scenario(client: httpx.AsyncClient) -> None:
        korean = await client.post(ANALYSES, content=TRAINER, headers=KOREAN)
        english = await client.post(ANALYSES, content=TRAINER)
        assert korean.status_code == english.status_code == 201  # two answers, two languages
        assert english.headers["x-bifrost-cache"] == "miss"
        first, second = llm.bodies("/api/chat")
        system_ko = first["messages"][0]["content"]
        system_en = second["messages"][0]["content"]
        assert "in 한국어 (Korean)" in system_ko
        assert "한국어" not in system_en
        assert system_ko.startswith(system_en)  # the same prompt, and one sentence more

    sqlite_api.run(scenario, llm="ollama", model="test-model", base_url=llm.url)
