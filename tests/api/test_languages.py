"""The API answers in the asker's language: `?lang=`, else `Accept-Language`, else the
server's `BIFROST_LANG`. Words change; log lines and machine fields never do; the LLM is asked
to write in that language, and its answer is cached per language."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.websockets import WebSocketDisconnect

from bifrost.analysis.tenants import Limits, create_tenant
from bifrost.config import Settings
from bifrost.store import create_key, open_store
from tests.llm.servers import VALID_ANSWER, FakeServer, Reply

from .conftest import ANALYSES, TRAINER, Api, assert_error
from .test_streaming import SOCKET, socket_client, until_final

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


async def _both(
    client: httpx.AsyncClient, method: str, url: str, **kwargs: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The error of one request asked in English and in Korean: its status and code do not
    change with the language, its words do."""
    headers = kwargs.pop("headers", {})
    english = await client.request(method, url, headers=headers, **kwargs)
    korean = await client.request(method, url, headers=headers | KOREAN, **kwargs)
    assert english.status_code == korean.status_code, (english.text, korean.text)
    english_error = assert_error(english, english.status_code, english.json()["error"]["code"])
    korean_error = assert_error(korean, korean.status_code, english_error["code"])
    assert korean_error["message"] != english_error["message"]
    return english_error, korean_error


def test_errors_come_in_the_language_the_client_accepts(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        english, korean = await _both(client, "GET", f"{ANALYSES}/424242")
        assert english["code"] == "not_found"
        assert english["message"] == "no stored analysis has id 424242"
        assert korean["message"] == "id가 424242인 저장된 분석이 없습니다"

        english, korean = await _both(client, "GET", "/api/v1/no-such-thing")
        assert english["code"] == "not_found"
        assert english["message"].startswith("no such route: /api/v1/no-such-thing")
        assert korean["message"].startswith("그런 경로가 없습니다: /api/v1/no-such-thing")

        english, korean = await _both(client, "GET", ANALYSES, params={"limit": 0, "page": "x"})
        assert english["code"] == "validation_error"
        assert english["message"] == (
            "query.limit: Input should be greater than or equal to 1 (and 1 more)"
        )
        assert korean["message"] == "query.limit: 1 이상이어야 합니다 (외 1개)"
        assert [f["field"] for f in korean["fields"]] == [f["field"] for f in english["fields"]]
        assert korean["fields"][1]["message"].startswith("정수여야 합니다")

        english, korean = await _both(client, "GET", ANALYSES, params={"since": "someday"})
        assert english["code"] == "validation_error"  # a BifrostError's words, carried over
        assert english["message"].startswith("cannot read the time 'someday'")
        assert korean["message"].startswith("시각 'someday'을(를) 읽을 수 없습니다")

    sqlite_api.run(scenario)


def test_a_refused_key_and_a_spent_quota_are_said_in_korean(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        english, korean = await _both(client, "GET", ANALYSES)
        assert english["code"] == "unauthorized"
        assert english["message"].startswith("an API key is required")
        assert korean["message"].startswith("API 키가 필요합니다")

        wrong = {"X-API-Key": "not-a-key"}
        english, korean = await _both(client, "GET", ANALYSES, headers=wrong)
        assert english["code"] == "unauthorized"
        assert "not valid" in english["message"]
        assert "유효하지 않습니다" in korean["message"]

        async with await open_store(Settings(database_url=sqlite_api.database_url)) as store:
            tenant = await create_tenant(store, "team-ko", Limits(analyses_per_day=1))
            _, secret = await create_key(store.for_tenant(tenant.id), "key", ["analyze"])
        key = {"X-API-Key": secret}
        assert (await client.post(ANALYSES, content=TRAINER, headers=key)).status_code == 201
        english, korean = await _both(client, "POST", ANALYSES, content=TRAINER, headers=key)
        assert english["code"] == "quota_exceeded"
        assert "team-ko has used its 1 analyses of today" in english["message"]
        assert "테넌트 team-ko은(는) 오늘(UTC)의 분석 1회를 다 썼습니다" in korean["message"]

    sqlite_api.run(scenario, auth=True)


def test_a_socket_says_its_errors_in_the_clients_language(sqlite_api: Api) -> None:
    with socket_client(sqlite_api, auth=True) as client:
        with (
            pytest.raises(WebSocketDisconnect) as refused,
            client.websocket_connect(SOCKET, headers=KOREAN),
        ):
            pass
        assert refused.value.code == 1008
        assert refused.value.reason.startswith("API 키가 필요합니다")
        assert len(refused.value.reason.encode()) <= 123  # what a close frame may carry
    with socket_client(sqlite_api, max_request_bytes=2048) as client:
        with client.websocket_connect(SOCKET, headers=KOREAN) as socket:
            socket.send_json({"log": TRAINER[:4096].decode()})
            final = until_final(socket)[-1]
        assert final["error"]["code"] == "too_large"
        assert final["error"]["message"] == "로그가 2,048바이트보다 큽니다"


def test_a_web_page_shows_its_error_in_the_readers_language(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        english = await client.get("/analyses/424242")
        korean = await client.get("/analyses/424242", headers=KOREAN)
        assert english.status_code == korean.status_code == 404
        assert "no stored analysis has id 424242" in english.text
        assert "id가 424242인 저장된 분석이 없습니다" in korean.text

    sqlite_api.run(scenario)
