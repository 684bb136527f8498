"""`bifrost providers` and the OpenAI-compatible path as a user runs them."""

import json

from tests.conftest import DATA, Run
from tests.llm.servers import FakeServer, Reply

VALID = json.dumps(
    {
        "summary": "The database refused connections.",
        "root_cause": "Nothing listened on the database port.",
        "confidence": "high",
        "findings": [{"finding_id": "F1", "explanation": "refused", "fix": "start it"}],
        "fixes": ["Start the database."],
        "citations": [{"line": 999, "text": "made up"}],
    }
)


def test_providers_lists_reachability_and_models(bifrost: Run) -> None:
    with FakeServer(models=("qwen2.5:7b", "llama3:8b")) as server:
        env = {"BIFROST_BASE_URL": server.url, "AWS_EC2_METADATA_DISABLED": "true"}
        result = bifrost("providers", "--no-color", env=env)
    assert result.returncode == 0, result.stderr
    ollama = next(line for line in result.stdout.splitlines() if line.startswith(" ollama"))
    assert "yes" in ollama
    assert "qwen2.5:7b" in ollama


def test_openai_compatible_server_with_a_key(bifrost: Run) -> None:
    log = str(DATA / "logs" / "service-crash.log")
    with FakeServer(models=("my-vllm-model",), api_key="sk-test-123") as server:
        server.reply("/v1/chat/completions", Reply(text=VALID))
        env = {"OPENAI_API_KEY": "sk-test-123"}
        args = ["--llm", "openai", "--base-url", server.openai_url, "-m", "my-vllm-model"]
        result = bifrost("analyze", log, *args, "-n", "-f", "json", env=env)
        (body,) = server.bodies("/v1/chat/completions")
        server.reply("/v1/chat/completions", Reply(text=VALID))
        shown = bifrost("analyze", log, *args, "-n", "--no-color", env=env)
    assert result.returncode == 1, result.stderr
    llm = json.loads(result.stdout)["llm"]
    assert (llm["provider"], llm["model"]) == ("openai", "my-vllm-model")
    assert llm["citations"] == [
        {"line": 999, "text": "made up", "grounded": False, "claimed_line": None}
    ]
    assert body["response_format"]["type"] == "json_schema"
    assert "sk-test-123" not in result.stderr
    assert "not in the log: line 999" in shown.stdout
