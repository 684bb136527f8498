"""`?prompt=NAME[/VERSION]`: a request chooses among the server's prompts (an LLM server on
loopback answers); the OpenAPI document lists them, and an unknown one is refused."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.llm.servers import VALID_ANSWER, FakeServer, Reply

from .conftest import ANALYSES, TRAINER, Api, assert_error


@pytest.fixture
def llm() -> Iterator[FakeServer]:
    with FakeServer() as server:
        yield server


def test_a_request_chooses_its_prompt(sqlite_api: Api, llm: FakeServer) -> None:
    llm.reply("/api/chat", Reply(text=VALID_ANSWER))

    async def scenario(client: httpx.AsyncClient) -> None:
        document = (await client.get("/openapi.json")).json()
        (option,) = [
            p for p in document["paths"][ANALYSES]["post"]["parameters"] if p["name"] == "prompt"
        ]
        assert option["schema"]["enum"] == ["triage", "triage/1"]
        answered = await client.post(ANALYSES, params={"prompt": "triage/1"}, content=TRAINER)
        assert answered.status_code == 201, answered.text
        assert answered.json()["llm"]["prompt_version"] == "triage/1"
        refused = await client.post(ANALYSES, params={"prompt": "triage/9"}, content=TRAINER)
        assert "no prompt triage/9" in assert_error(refused, 422, "validation_error")["message"]

    sqlite_api.run(scenario, llm="ollama", model="test-model", base_url=llm.url)


def test_without_an_llm_there_is_no_prompt_to_choose(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        document = (await client.get("/openapi.json")).json()
        names = [p["name"] for p in document["paths"][ANALYSES]["post"]["parameters"]]
        assert "prompt" not in names
        refused = await client.post(ANALYSES, params={"prompt": "triage"}, content=TRAINER)
        assert "no LLM" in assert_error(refused, 422, "validation_error")["message"]

    sqlite_api.run(scenario)
