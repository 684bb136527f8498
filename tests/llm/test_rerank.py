"""The LLM as a reranker, against an OpenAI-compatible server on loopback: the candidates go
out as ids and redacted evidence in the log's order, the named cause comes first, both orders
are kept, and an answer that names no candidate is sent back once."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from bifrost.config import Settings
from bifrost.llm.openai_compat import OpenAICompatProvider
from bifrost.llm.rerank import rerank
from bifrost.render.markdown import render_markdown
from bifrost.report import Report
from tests.conftest import Run
from tests.llm.servers import VALID_ANSWER, FakeServer, Reply
from tests.llm.test_digest import make_finding, make_report

CHAT = "/v1/chat/completions"
SECRET = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
ROOT = Path(__file__).parents[2]
TRAINER = (ROOT / "src/bifrost/samples/trainer.log").read_text(encoding="utf-8")


def three() -> Report:
    return make_report(
        [
            make_finding(1, ["ERROR job exited with code 1"], first_line=900),
            make_finding(2, ["WARN retrying upload"], first_line=500),
            make_finding(3, [f"ERROR auth failed for token {SECRET}"], first_line=100),
        ]
    )


def reranked(server: FakeServer, report: Report) -> Report:
    async def body() -> Report:
        llm = OpenAICompatProvider("m", base_url=server.openai_url, base_delay=0.01)
        try:
            return await rerank(report, Settings(llm="openai", model="m"), llm)
        finally:
            await llm.aclose()

    return asyncio.run(body())


def choice(cause: str, reason: str = "The first error.") -> Reply:
    return Reply(text=json.dumps({"cause": cause, "reason": reason}))


def test_the_named_cause_comes_first_and_both_orders_are_kept() -> None:
    with FakeServer(models=("m",)) as server:
        server.reply(CHAT, choice("F3", "Authentication failed before the job exited."))
        report = reranked(server, three())
        [body] = server.bodies(CHAT)
    assert [f.id for f in report.findings] == ["F3", "F1", "F2"]
    ranking = report.ranking
    assert ranking is not None
    assert (ranking.shown, ranking.cause) == ("llm", "F3")
    assert (ranking.engine, ranking.llm) == (["F1", "F2", "F3"], ["F3", "F1", "F2"])
    assert ranking.reason == "Authentication failed before the job exited."
    user = body["messages"][1]["content"]
    assert user.index("## F3") < user.index("## F2") < user.index("## F1")  # the log's order
    assert "Worker 1 crashed" not in user  # ids and evidence only: no titles, no scores
    assert SECRET not in json.dumps(body)
    schema = body["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["cause"]["enum"] == ["F1", "F2", "F3", "none"]
    shown = render_markdown(report)
    assert "named F3 as the cause (the engine ranked F1 first)" in shown


def test_an_answer_naming_no_candidate_is_sent_back_once() -> None:
    with FakeServer(models=("m",)) as server:
        server.reply(CHAT, choice("F9"), choice("F2"))
        report = reranked(server, three())
        second = server.bodies(CHAT)[1]["messages"][1]["content"]
    assert "names 'F9', not one of F1, F2, F3 or none" in second
    assert [f.id for f in report.findings] == ["F2", "F1", "F3"]


def test_none_keeps_the_engines_order() -> None:
    with FakeServer(models=("m",)) as server:
        server.reply(CHAT, choice("none", "Nothing here explains it."))
        report = reranked(server, three())
    assert [f.id for f in report.findings] == ["F1", "F2", "F3"]
    assert report.ranking is not None
    assert (report.ranking.shown, report.ranking.cause) == ("engine", None)


def test_one_finding_is_not_reranked() -> None:
    with FakeServer(models=("m",)) as server:
        single = make_report([make_finding(1, ["ERROR x"])])
        assert reranked(server, single) == single
        assert server.requests == []


def test_analyze_llm_rerank_reorders_then_explains(bifrost: Run) -> None:
    with FakeServer(models=("m",)) as server:
        env = {"BIFROST_LLM": "openai", "BIFROST_MODEL": "m", "BIFROST_BASE_URL": server.openai_url}
        plain = json.loads(bifrost("analyze", "-", "-n", "-f", "json", stdin=TRAINER).stdout)
        ids = [f["id"] for f in plain["findings"]]
        server.reply(CHAT, choice(ids[-1]), Reply(text=VALID_ANSWER))
        run = bifrost("analyze", "-", "-n", "-f", "json", "--llm-rerank", stdin=TRAINER, env=env)
        asked = [b["messages"][1]["content"] for b in server.bodies(CHAT)]
    assert run.returncode == 1, run.stderr
    report = json.loads(run.stdout)
    assert [f["id"] for f in report["findings"]] == [ids[-1], *ids[:-1]]
    assert report["ranking"]["engine"] == ids
    assert report["llm"] is not None
    assert "<candidates>" in asked[0]
    assert asked[1].index(f"Finding {ids[-1]}") < asked[1].index(f"Finding {ids[0]}")


def test_a_reranker_that_fails_leaves_the_engines_order(bifrost: Run) -> None:
    with FakeServer(models=("m",)) as server:
        env = {"BIFROST_LLM": "openai", "BIFROST_MODEL": "m", "BIFROST_BASE_URL": server.openai_url}
        server.reply(CHAT, *[Reply(status=401)] * 2)
        run = bifrost("analyze", "-", "-n", "-f", "json", "--llm-rerank", stdin=TRAINER, env=env)
    assert run.returncode == 3
    assert json.loads(run.stdout)["ranking"] is None
    assert "not reranked: the server at" in run.stderr


def test_a_reranked_analysis_is_stored_and_answered_from_the_cache(bifrost: Run) -> None:
    with FakeServer(models=("m",)) as server:
        env = {"BIFROST_LLM": "openai", "BIFROST_MODEL": "m", "BIFROST_BASE_URL": server.openai_url}
        server.reply(CHAT, choice("F2"), *[Reply(text=VALID_ANSWER)] * 2)
        first = bifrost("analyze", "-", "-f", "json", "--llm-rerank", stdin=TRAINER, env=env)
        again = bifrost("analyze", "-", "-f", "json", "--llm-rerank", stdin=TRAINER, env=env)
        plain = bifrost("analyze", "-", "-f", "json", stdin=TRAINER, env=env)
        calls = len(server.bodies(CHAT))
    assert first.returncode == again.returncode == 1, first.stderr
    assert json.loads(again.stdout)["ranking"] == json.loads(first.stdout)["ranking"]
    assert json.loads(plain.stdout)["ranking"] is None  # without the reranker: another key
    assert calls == 2 + 1  # rerank + explain, then a cached repeat, then one plain explanation
