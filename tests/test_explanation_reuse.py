"""The same failure in another log reuses its explanation: no second LLM call (a real HTTP
server on loopback counts them), the citations of the other log left out, and a changed
prompt or model asks again."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Run
from tests.llm.servers import VALID_ANSWER, VALID_SUMMARY, FakeServer, Reply

ROOT = Path(__file__).parents[1]
TRAINER = (ROOT / "src/bifrost/samples/trainer.log").read_text(encoding="utf-8")


def test_the_same_failure_in_another_log_is_explained_once(bifrost: Run, tmp_path: Path) -> None:
    first, other = tmp_path / "first.log", tmp_path / "other.log"
    first.write_text(TRAINER, encoding="utf-8")
    other.write_text("2024-06-01 08:00:00 INFO another run\n" + TRAINER, encoding="utf-8")
    with FakeServer(models=("test-model", "another-model")) as llm:
        llm.reply("/api/chat", *[Reply(text=VALID_ANSWER)] * 3)
        env = {"BIFROST_LLM": "ollama", "BIFROST_MODEL": "test-model", "BIFROST_BASE_URL": llm.url}

        def explained(path: Path, *more: str) -> dict[str, object]:
            run = bifrost("analyze", str(path), "-f", "json", *more, env=env)
            report: dict[str, object] = json.loads(run.stdout)
            return report

        asked = explained(first)
        assert len(llm.bodies("/api/chat")) == 1
        assert asked["llm"]["reused"] is False  # type: ignore[index]
        reused = explained(other)
        assert len(llm.bodies("/api/chat")) == 1  # no second call
        note = reused["llm"]
        assert note["reused"] is True  # type: ignore[index]
        assert note["summary"] == VALID_SUMMARY  # type: ignore[index]
        assert note["citations"] == []  # type: ignore[index]
        assert reused["input"]["name"] == str(other)  # type: ignore[index]
        again = explained(other, "--model", "another-model")
        assert len(llm.bodies("/api/chat")) == 2  # another model: asked again
        assert again["llm"]["reused"] is False  # type: ignore[index]
