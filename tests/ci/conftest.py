"""A simulated GitHub Actions runner for the action's step, and a loopback server that speaks
the part of GitHub's REST API the pull-request comment uses.

The step runs as the runner runs it: `python -m bifrost.ci.github` in the workspace, with the
runner's variables and files (`GITHUB_STEP_SUMMARY`, `GITHUB_OUTPUT`, the event payload).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

REPOSITORY = "octo/shop"
SHA = "0123456789abcdef0123456789abcdef01234567"
TOKEN = "ghs_test_token"
PULL_REQUEST = 7

ACTION = Path(__file__).parents[2] / "action.yml"
ACTION_DEFAULTS = {
    f"INPUT_{name.upper().replace('-', '_')}": str(spec["default"])
    for name, spec in yaml.safe_load(ACTION.read_text(encoding="utf-8"))["inputs"].items()
    if "default" in spec and "${{" not in str(spec["default"])
}
"""The action's inputs as the runner passes them when the workflow gives none."""


@dataclass
class Step:
    """What one run of the step left: its exit code, stdout, summary page and outputs."""

    returncode: int
    stdout: str
    stderr: str
    summary: str
    outputs: dict[str, str]


@dataclass
class Runner:
    workspace: Path
    temp: Path
    home: Path
    env: dict[str, str] = field(default_factory=dict)

    def run(
        self,
        module: str = "bifrost.ci.github",
        defaults: dict[str, str] | None = None,
        **inputs: str,
    ) -> Step:
        """Run the step with the action's inputs (`log="test.log"`, `fail_on="error"`, …) over
        its defaults (the action's unless others are given: `INPUT_FAIL_ON` …)."""
        summary, outputs = self.temp / "summary.md", self.temp / "output.txt"
        summary.write_text("", encoding="utf-8")
        outputs.write_text("", encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BIFROST_", "GITHUB_"))}
        env |= {
            "HOME": str(self.home),
            "XDG_DATA_HOME": str(self.home / "data"),
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(self.workspace),
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_OUTPUT": str(outputs),
            "GITHUB_REPOSITORY": REPOSITORY,
            "GITHUB_SHA": SHA,
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_JOB": "test",
            "RUNNER_TEMP": str(self.temp),
        }
        env |= (ACTION_DEFAULTS if defaults is None else defaults) | self.env
        env |= {f"INPUT_{name.upper()}": value for name, value in inputs.items()}
        done = subprocess.run(
            [sys.executable, "-m", module],
            cwd=self.workspace,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        pairs = (line.partition("=") for line in outputs.read_text(encoding="utf-8").splitlines())
        return Step(
            done.returncode,
            done.stdout,
            done.stderr,
            summary.read_text(encoding="utf-8"),
            {key: value for key, _, value in pairs},
        )

    def event(self, payload: dict[str, Any]) -> None:
        """The payload of the event that started the workflow."""
        path = self.temp / "event.json"
        path.write_text(json.dumps(payload), encoding="utf-8")
        self.env["GITHUB_EVENT_PATH"] = str(path)


@pytest.fixture
def runner(tmp_path: Path) -> Runner:
    workspace, temp, home = tmp_path / "workspace", tmp_path / "runner-temp", tmp_path / "home"
    for folder in (workspace, temp, home):
        folder.mkdir()
    return Runner(workspace, temp, home)


def git(workspace: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(workspace), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        check=True,
        capture_output=True,
    )


@dataclass
class FakeGitHub:
    """The issue comments of one pull request, as GitHub's REST API serves them."""

    url: str
    comments: list[dict[str, Any]]
    requests: list[tuple[str, str]]


class _Api(BaseHTTPRequestHandler):
    github: FakeGitHub

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test reads `requests`."""

    def _answer(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _allowed(self) -> bool:
        self.github.requests.append((self.command, self.path))
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._answer(401, {"message": "Bad credentials"})
            return False
        return True

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length", "0"))
        loaded: dict[str, Any] = json.loads(self.rfile.read(length))
        return loaded

    def do_GET(self) -> None:
        if not self._allowed():
            return
        url = urlsplit(self.path)
        if url.path != f"/repos/{REPOSITORY}/issues/{PULL_REQUEST}/comments":
            self._answer(404, {"message": "Not Found"})
            return
        query = parse_qs(url.query)
        size, page = int(query["per_page"][0]), int(query["page"][0])
        self._answer(200, self.github.comments[(page - 1) * size : page * size])

    def do_POST(self) -> None:
        if not self._allowed():
            return
        if self.path != f"/repos/{REPOSITORY}/issues/{PULL_REQUEST}/comments":
            self._answer(404, {"message": "Not Found"})
            return
        comment = {"id": 1000 + len(self.github.comments), "body": self._body()["body"]}
        comment["html_url"] = f"https://github.com/{REPOSITORY}/pull/7#c{comment['id']}"
        self.github.comments.append(comment)
        self._answer(201, comment)

    def do_PATCH(self) -> None:
        if not self._allowed():
            return
        prefix = f"/repos/{REPOSITORY}/issues/comments/"
        found = [c for c in self.github.comments if self.path == f"{prefix}{c['id']}"]
        if not found:
            self._answer(404, {"message": "Not Found"})
            return
        found[0]["body"] = self._body()["body"]
        self._answer(200, found[0])


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    github = FakeGitHub(url="", comments=[], requests=[])
    handler = type("Api", (_Api,), {"github": github})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    github.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield github
    server.shutdown()
    server.server_close()
    thread.join()
