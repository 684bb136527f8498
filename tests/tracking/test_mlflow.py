"""MLflow tracking against a real `mlflow server` on loopback (SQLite backend store, proxied
artifacts), read back with MLflow's own client: an explained analysis becomes a run with its
params, metrics and redacted artifacts; feedback updates it; a server that is down or slow
never costs an analysis."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bifrost.tracking.mlflow import MlflowRest, RunRecord, Tracker
from tests.conftest import Run, free_port, listening, missing
from tests.llm.servers import FakeServer, Reply

ROOT = Path(__file__).parents[2]
MLFLOW = ROOT / ".venv-mlflow/bin"
TRAINER = (ROOT / "src/bifrost/samples/trainer.log").read_text(encoding="utf-8")
SECRET = "hunter2-Zx81-very-secret"

READ_RUNS = """
import json, sys
from mlflow import MlflowClient
client = MlflowClient(sys.argv[1])
experiment = client.get_experiment_by_name(sys.argv[2])
runs = client.search_runs([experiment.experiment_id]) if experiment else []
found = []
for run in runs:
    artifacts = {}
    for item in client.list_artifacts(run.info.run_id):
        path = client.download_artifacts(run.info.run_id, item.path)
        artifacts[item.path] = open(path, encoding="utf-8").read()
    found.append({"params": run.data.params, "metrics": run.data.metrics,
                  "tags": run.data.tags, "status": run.info.status, "artifacts": artifacts})
print(json.dumps(found))
"""


@pytest.fixture(scope="module")
def mlflow_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real MLflow tracking server (`make test-servers` installs it)."""
    if not (MLFLOW / "mlflow").exists():
        missing("the MLflow server is not installed (make test-servers)")
    home = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    server = subprocess.Popen(
        [
            str(MLFLOW / "mlflow"),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            f"sqlite:///{home / 'mlflow.db'}",
            "--artifacts-destination",
            str(home / "artifacts"),
            "--workers",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(home / "server.log").open("wb"),
    )
    try:
        if not listening(port, server, timeout_s=120):
            pytest.fail("mlflow server did not start: " + (home / "server.log").read_text()[-2000:])
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(30)


def runs_of(url: str, experiment: str) -> list[dict[str, Any]]:
    """The experiment's runs as MLflow's own client reads them."""
    read = subprocess.run(
        [str(MLFLOW / "python"), "-c", READ_RUNS, url, experiment],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    found: list[dict[str, Any]] = json.loads(read.stdout)
    return found


def test_an_explained_analysis_is_a_run_and_feedback_updates_it(
    bifrost: Run, mlflow_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "train.log"
    leaky = f"2024-06-01 07:59:59 INFO connecting with password={SECRET}\n"
    log.write_text(leaky + TRAINER, encoding="utf-8")
    with FakeServer() as llm:
        answer = {
            "summary": f"Out of GPU memory; the log shows password={SECRET}.",
            "root_cause": "CUDA out of memory",
            "confidence": "high",
            "findings": [],
            "fixes": [],
            "citations": [],
        }
        llm.reply("/v1/chat/completions", Reply(text=json.dumps(answer)))
        env = {
            "BIFROST_LLM": "openai",
            "BIFROST_MODEL": "test-model",
            "BIFROST_BASE_URL": llm.openai_url,
            "BIFROST_MLFLOW_TRACKING_URI": mlflow_url,
            "BIFROST_MLFLOW_EXPERIMENT": "triage-tests",
            "BIFROST_MAX_INPUT_TOKENS": "6000",
        }
        analysed = bifrost("analyze", str(log), "-f", "json", env=env)
    assert analysed.returncode == 1, analysed.stderr  # a failure was found: exit 1
    assert json.loads(analysed.stdout)["llm"]["model"] == "test-model"

    [run] = runs_of(mlflow_url, "triage-tests")  # the command waited for it before exiting
    assert run["status"] == "FINISHED"
    assert run["params"] | {"prompt_sha256": "-"} == {
        "provider": "openai",
        "model": "test-model",
        "prompt_name": "triage",
        "prompt_version": "1",
        "prompt_sha256": "-",
        "engine_version": run["params"]["engine_version"],
        "reused": "false",
    }
    assert len(run["params"]["prompt_sha256"]) == 64
    assert run["metrics"]["prompt_tokens"] == 11
    assert run["metrics"]["completion_tokens"] == 7
    assert run["metrics"]["latency_s"] >= 0
    assert run["tags"]["bifrost.analysis_id"] == "1"
    assert run["tags"]["bifrost.verdict"] == "failure"
    digest, answer_json = run["artifacts"]["digest.txt"], run["artifacts"]["answer.json"]
    assert "out of memory" in digest.lower()
    assert SECRET not in digest
    assert SECRET not in answer_json
    assert json.loads(answer_json)["root_cause"] == "CUDA out of memory"

    given = bifrost("feedback", "1", "--bad", "--note", "it was the data loader", env=env)
    assert given.returncode == 0, given.stderr
    [run] = runs_of(mlflow_url, "triage-tests")
    assert run["metrics"]["feedback"] == 0.0
    assert run["tags"]["bifrost.feedback"] == "bad"
    assert run["tags"]["bifrost.feedback_note"] == "it was the data loader"


def test_a_tracking_server_that_is_down_costs_a_warning_not_the_analysis(bifrost: Run) -> None:
    with FakeServer() as llm:
        env = {
            "BIFROST_LLM": "openai",
            "BIFROST_MODEL": "test-model",
            "BIFROST_BASE_URL": llm.openai_url,
            "BIFROST_MLFLOW_TRACKING_URI": f"http://127.0.0.1:{free_port()}",
        }
        llm.reply(
            "/v1/chat/completions",
            Reply(
                text=json.dumps(
                    {
                        "summary": "OOM.",
                        "root_cause": None,
                        "confidence": "low",
                        "findings": [],
                        "fixes": [],
                        "citations": [],
                    }
                )
            ),
        )
        analysed = bifrost("analyze", "-", "-f", "json", stdin=TRAINER, env=env)
    assert analysed.returncode == 1
    assert json.loads(analysed.stdout)["llm"]["summary"] == "OOM."
    assert "MLflow tracking failed" in analysed.stderr
    assert "did not answer" in analysed.stderr
    assert "Traceback" not in analysed.stderr


class _Stuck(BaseHTTPRequestHandler):
    """A tracking server that takes requests and answers none until released."""

    release = threading.Event()

    def do_GET(self) -> None:
        self.release.wait(30)

    def log_message(self, *args: object) -> None:
        pass


def test_a_slow_tracking_server_never_holds_up_the_caller() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stuck)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    tracker = Tracker(MlflowRest(f"http://127.0.0.1:{server.server_address[1]}"), capacity=1)
    record = RunRecord("e", "r", {}, {}, {}, {})
    try:
        accepted = [tracker.submit(record) for _ in range(5)]
        # The thread holds one (stuck on the server), the queue one; the rest are dropped.
        assert accepted[:1] == [True]
        assert accepted.count(False) >= 3
        assert tracker.dropped == accepted.count(False)
        assert tracker.flush(timeout_s=0.2) is False  # still stuck: the wait is bounded
    finally:
        _Stuck.release.set()
        server.shutdown()
    assert tracker.flush(timeout_s=30) is True
    assert tracker.failed >= 1  # the released server answered nothing useful
