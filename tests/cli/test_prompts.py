"""`bifrost prompts` and `analyze --prompt`: a team's own prompt is listed, shown, and used
(the model is asked with its wording; the Report records its name, version and hash)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Run
from tests.llm.servers import VALID_ANSWER, FakeServer, Reply
from tests.llm.test_prompt import CUSTOM

ROOT = Path(__file__).parents[2]
SAMPLE = ROOT / "src/bifrost/samples/trainer.log"


def test_a_teams_prompt_is_listed_shown_and_used(bifrost: Run, tmp_path: Path) -> None:
    (tmp_path / "payments_1.md").write_text(CUSTOM, encoding="utf-8")
    env = {"BIFROST_PROMPT_DIR": str(tmp_path), "BIFROST_PROMPT": "payments"}
    listed = bifrost("prompts", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    rows = {line.split()[-3]: line for line in listed.stdout.splitlines()}
    assert rows["payments/1"].startswith("*")  # the one in use
    assert rows["triage/1"].endswith("built-in")
    shown = bifrost("prompts", "show", "payments/1", env=env)
    assert "payments team" in shown.stdout
    with FakeServer() as llm:
        llm.reply("/api/chat", Reply(text=VALID_ANSWER))
        asked = {
            "BIFROST_LLM": "ollama",
            "BIFROST_MODEL": "test-model",
            "BIFROST_BASE_URL": llm.url,
        }
        analysed = bifrost("analyze", str(SAMPLE), "--format", "json", "-n", env=env | asked)
        (request,) = llm.bodies("/api/chat")
    report = json.loads(analysed.stdout)
    assert report["llm"]["prompt_version"] == "payments/1"
    assert len(report["llm"]["prompt_sha256"]) == 64
    assert "payments team" in request["messages"][0]["content"]
    builtin = bifrost("analyze", str(SAMPLE), "--prompt", "triage/9", "-n", env=env | asked)
    assert builtin.returncode == 2
    assert "no prompt triage/9" in builtin.stderr
