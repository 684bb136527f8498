"""`bifrost serve` for real: a server process on a free port, spoken to over HTTP.

Each test starts `python -m bifrost serve` with its own data directory (so its own SQLite
history) and an environment without the caller's `BIFROST_*`, waits for `/healthz`, and stops
it at the end: SIGTERM, then SIGKILL to its process group if it does not stop in time. The CLI
(`bifrost keys`, `bifrost history`) runs with the same environment, so it shares the server's
database. The Redis test uses database 15 on 127.0.0.1:6379 (see `redis_url`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

import bifrost

SAMPLE = Path(bifrost.__file__).parent / "samples" / "trainer.log"
LOGS = Path(__file__).parent.parent / "data" / "logs"
STARTUP_S = 60.0
STOP_S = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    """A running `bifrost serve` and what it was started with."""

    process: subprocess.Popen[bytes]
    port: int
    env: dict[str, str]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stderr(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_ready(self, workers: int) -> None:
        """Until /healthz answers and every worker has logged that it is ready to serve."""
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(
                    f"bifrost serve exited with {self.process.returncode}:\n{self.stderr()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                healthy = httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
                if healthy and self.stderr().count('"event": "ready to serve"') >= workers:
                    return
            time.sleep(0.2)
        pytest.fail(f"bifrost serve did not get ready in {STARTUP_S:g} s:\n{self.stderr()}")

    def stop(self) -> int:
        """SIGTERM, and SIGKILL to the whole process group (workers, engine processes) if it
        has not exited in time; anything of the group left behind is killed too."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_S)
            except subprocess.TimeoutExpired:
                self._kill_group()
                self.process.wait(timeout=STOP_S)
        self._kill_group()
        return self.process.returncode

    def _kill_group(self) -> None:
        # The server leads its own process group (start_new_session), so this reaches only
        # processes this test started.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)


Serve = Callable[..., Server]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The environment of the server and the CLI: isolated data directory, no BIFROST_*."""
    home = tmp_path / "home"
    home.mkdir()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BIFROST_")}
    for name in ("NO_COLOR", "OLLAMA_HOST", "PROMETHEUS_MULTIPROC_DIR"):
        clean.pop(name, None)
    return {
        **clean,
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "BIFROST_ENGINE_PROCESSES": "1",
        "COLUMNS": "200",  # wide tables from the CLI, so names are not wrapped
    }


@pytest.fixture
def serve(env: dict[str, str], tmp_path: Path) -> Iterator[Serve]:
    """Start `bifrost serve ARGS` (on a free port), wait until it is ready; always stopped."""
    servers: list[Server] = []

    def start(*args: str, extra_env: dict[str, str] | None = None, workers: int = 1) -> Server:
        port = free_port()
        log = tmp_path / f"serve-{port}.stderr"
        full_env = {**env, **(extra_env or {})}
        with log.open("wb") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-m", "bifrost", "serve", "--port", str(port), *args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env=full_env,
                start_new_session=True,
            )
        server = Server(process, port, full_env, log)
        servers.append(server)
        server.wait_ready(workers)
        return server

    yield start
    for server in servers:
        server.stop()


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m bifrost ARGS` with the server's environment (so the same database)."""
    return subprocess.run(
        [sys.executable, "-m", "bifrost", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def create_key(env: dict[str, str], name: str, *options: str) -> tuple[int, str]:
    """A key made with `bifrost keys create`: its id (from `keys list --json`) and secret."""
    created = cli(env, "keys", "create", name, *options)
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    assert re.fullmatch(r"bfk_[A-Za-z0-9_-]{40,}", secret), created.stdout
    listed = cli(env, "keys", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    ids = [key["id"] for key in json.loads(listed.stdout) if key["name"] == name]
    assert len(ids) == 1, listed.stdout
    return int(ids[0]), secret


def metric_total(text: str, name: str) -> float:
    """The sum of every sample of `name` (any labels) in Prometheus text."""
    pattern = re.compile(rf"^{re.escape(name)}(?:\{{[^}}]*\}})? (\S+)$", re.MULTILINE)
    return sum(float(value) for value in pattern.findall(text))


# Start-up ------------------------------------------------------------------------------------


def test_banner_names_address_database_auth_and_docs(serve: Serve, env: dict[str, str]) -> None:
    server = serve()
    banner = server.stderr()
    database = Path(env["XDG_DATA_HOME"]) / "bifrost" / "bifrost.db"
    assert f"Bifrost API on {server.url} (1 worker)" in banner
    assert f"database: sqlite+aiosqlite:///{database}" in banner
    assert "auth: off" in banner
    assert f"docs: {server.url}/docs" in banner
    assert database.is_file()
    docs = httpx.get(f"{server.url}/docs", timeout=10)
    assert docs.status_code == 200
    assert "text/html" in docs.headers["content-type"]


def test_port_in_use_is_one_line_and_exit_code_3(env: dict[str, str]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli(env, "serve", "--port", str(port))
    assert result.returncode == 3, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("bifrost: error: ")
    assert f"127.0.0.1:{port}" in lines[0]
    assert "Traceback" not in result.stderr


# End to end ----------------------------------------------------------------------------------


def test_analysis_is_stored_and_shared_with_the_cli(serve: Serve) -> None:
    server = serve()
    log = SAMPLE.read_bytes()
    with httpx.Client(base_url=server.url, timeout=60) as client:
        created = client.post(
            "/api/v1/analyses",
            content=log,
            params={"name": "trainer.log", "service": "trainer", "env": "e2e"},
            headers={"Content-Type": "text/plain"},
        )
        assert created.status_code == 201, created.text
        assert created.headers["X-Bifrost-Cache"] == "miss"
        location = created.headers["Location"]
        match = re.fullmatch(r"/api/v1/analyses/(\d+)", location)
        assert match is not None, location
        analysis_id = int(match[1])
        report = created.json()
        assert report["schema"] == "bifrost.report/v1"
        assert report["input"]["name"] == "trainer.log"
        assert report["input"]["lines"] == log.count(b"\n")
        assert report["verdict"] == "failure"
        assert report["findings"][0]["category"] == "gpu.cuda_oom"

        stored = client.get(location)
        assert stored.status_code == 200, stored.text
        body = stored.json()
        assert body["id"] == analysis_id
        assert body["service"] == "trainer"
        assert body["environment"] == "e2e"
        assert body["report"] == report

        listed = client.get("/api/v1/analyses", params={"service": "trainer"}).json()
        assert [item["id"] for item in listed["items"]] == [analysis_id]

        again = client.post(
            "/api/v1/analyses",
            content=log,
            params={"name": "trainer.log", "service": "trainer", "env": "e2e"},
        )
        assert again.status_code == 200, again.text
        assert again.headers["X-Bifrost-Cache"] == "hit"
        assert again.headers["Location"] == location

    history = cli(server.env, "history", "--service", "trainer", "--no-color")
    assert history.returncode == 0, history.stderr
    rows = [line.split() for line in history.stdout.splitlines()]
    assert any(row[:1] == [str(analysis_id)] and "trainer.log" in row for row in rows), (
        history.stdout
    )
    shown = cli(server.env, "history", "show", str(analysis_id), "--no-color")
    assert shown.returncode == 0, shown.stderr
    assert "GPU out of memory" in shown.stdout


# Authentication ------------------------------------------------------------------------------


def test_keys_from_the_cli_open_and_close_the_api(serve: Serve) -> None:
    server = serve("--auth")
    assert "auth: on" in server.stderr()
    key_id, secret = create_key(
        server.env, "ci-bot", "--scope", "analyze", "--scope", "read", "--rate", "5/minute"
    )
    with httpx.Client(base_url=server.url, timeout=60) as client:
        assert client.get("/healthz").status_code == 200  # liveness needs no key

        missing = client.get("/api/v1/analyses")
        assert missing.status_code == 401
        assert missing.json()["error"]["code"] == "unauthorized"
        assert missing.headers["WWW-Authenticate"].startswith("ApiKey")
        assert client.get("/metrics").status_code == 401

        wrong = client.get("/api/v1/analyses", headers={"X-API-Key": "bfk_" + "x" * 43})
        assert wrong.status_code == 401

        ok = client.get("/api/v1/analyses", headers={"X-API-Key": secret})
        assert ok.status_code == 200, ok.text
        assert ok.headers["RateLimit-Limit"] == "5"
        bearer = client.post(
            "/api/v1/analyses",
            content=SAMPLE.read_bytes(),
            headers={"Authorization": f"Bearer {secret}"},
        )
        assert bearer.status_code == 201, bearer.text

        no_admin = client.get("/api/v1/keys", headers={"X-API-Key": secret})
        assert no_admin.status_code == 403
        assert no_admin.json()["error"]["code"] == "forbidden"

        revoked = cli(server.env, "keys", "revoke", str(key_id))
        assert revoked.returncode == 0, revoked.stderr
        refused = client.get("/api/v1/analyses", headers={"X-API-Key": secret})
        assert refused.status_code == 401
        assert "revoked" in refused.json()["error"]["message"]


# Rate limits across worker processes ---------------------------------------------------------


@pytest.fixture
def shared_redis(redis_url: str) -> Iterator[str]:
    """Redis db 15 without rate-limit buckets of API keys or addresses, before and after."""
    client = redis.Redis.from_url(redis_url)

    def clean() -> None:
        for pattern in ("bifrost:rate:key:*", "bifrost:rate:ip:*"):
            names = list(client.scan_iter(match=pattern))
            if names:
                client.delete(*names)

    clean()
    try:
        yield redis_url
    finally:
        clean()
        client.close()


def served_by_worker(metrics_dir: Path) -> dict[str, float]:
    """GET /api/v1/analyses answered so far, per process, from the multiprocess metric files
    `serve --workers N` has its workers write (`counter_<pid>.db`)."""
    served: dict[str, float] = {}
    for counters in metrics_dir.glob("counter_*.db"):
        with tempfile.TemporaryDirectory() as alone:
            shutil.copy(counters, alone)
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=alone)  # type: ignore[no-untyped-call]
            text = generate_latest(registry).decode()
        pattern = re.compile(
            r'^bifrost_http_requests_total\{(?=[^}]*method="GET")(?=[^}]*route="/api/v1/analyses")'
            r"[^}]*\} (\S+)$",
            re.MULTILINE,
        )
        served[counters.stem.removeprefix("counter_")] = sum(map(float, pattern.findall(text)))
    return served


def burst(url: str, key: str, n: int) -> list[httpx.Response]:
    """`n` requests at once, each on a new connection, which either worker may accept."""
    start = threading.Barrier(n)
    answers: list[httpx.Response] = []

    def one() -> None:
        start.wait()
        answers.append(httpx.get(url, headers={"X-API-Key": key}, timeout=30))

    threads = [threading.Thread(target=one) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(answers) == n
    return answers


def test_two_workers_share_the_rate_limit_through_redis(
    serve: Serve, env: dict[str, str], shared_redis: str, tmp_path: Path
) -> None:
    _, reader = create_key(env, "metrics-reader", "--scope", "read", "--rate", "1000/minute")
    temp = tmp_path / "tmp"  # where serve makes its PROMETHEUS_MULTIPROC_DIR
    temp.mkdir()
    server = serve(
        "--workers",
        "2",
        "--auth",
        extra_env={"BIFROST_REDIS_URL": shared_redis, "TMPDIR": str(temp)},
        workers=2,
    )
    assert "(2 workers)" in server.stderr()
    assert "cache: redis" in server.stderr()
    (metrics_dir,) = temp.glob("bifrost-metrics-*")

    # The kernel decides which worker accepts a connection, and may give one worker all of
    # them; a round counts only if both answered some, and then per-process buckets would
    # have let more than 6 through (min(a, 6) + min(b, 6) > 6 when a, b >= 1 and a + b = 12).
    for round_ in range(5):
        _, limited = create_key(env, f"limited-{round_}", "--rate", "6/minute")
        before = served_by_worker(metrics_dir)
        answers = burst(f"{server.url}/api/v1/analyses", limited, 12)
        after = served_by_worker(metrics_dir)
        workers = [pid for pid, count in after.items() if count > before.get(pid, 0)]
        if len(workers) == 2:
            break
    else:
        pytest.fail("5 rounds of 12 new connections were all accepted by one worker")

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] * 6 + [429] * 6, statuses
    for answer in answers:
        assert answer.headers["RateLimit-Limit"] == "6"
        assert int(answer.headers["RateLimit-Reset"]) >= 0
        if answer.status_code == 429:
            assert answer.json()["error"]["code"] == "rate_limited"
            assert int(answer.headers["Retry-After"]) >= 1
            assert answer.headers["RateLimit-Remaining"] == "0"
    remaining = [int(a.headers["RateLimit-Remaining"]) for a in answers if a.status_code == 200]
    assert sorted(remaining) == [0, 1, 2, 3, 4, 5]

    metrics = httpx.get(f"{server.url}/metrics", headers={"X-API-Key": reader}, timeout=30)
    assert metrics.status_code == 200, metrics.text
    assert metric_total(metrics.text, "bifrost_rate_limited_total") >= 6

    # The supervisor stops its workers and removes the metrics directory.
    assert server.stop() == 0, server.stderr()
    assert not metrics_dir.exists()


# Shutdown ------------------------------------------------------------------------------------


def _shifted(line: str, shift: int) -> str:
    return re.sub(r"\d+", lambda m: str((int(m[0]) + shift) % 100_000), line)


def big_log(path: Path, lines: int) -> Path:
    """`lines` lines made of the test logs, their numbers varied on each repeat."""
    base = [
        line
        for log in sorted(LOGS.glob("*.log"))
        for line in log.read_text(encoding="utf-8").splitlines()
    ]
    out: list[str] = []
    repeat = 0
    while len(out) < lines:
        out.extend(_shifted(line, repeat * 7) for line in base)
        repeat += 1
    path.write_text("\n".join(out[:lines]) + "\n", encoding="utf-8")
    return path


def test_sigterm_lets_the_running_analysis_finish(serve: Serve, tmp_path: Path) -> None:
    log = big_log(tmp_path / "big.log", 200_000)
    server = serve()
    answer: dict[str, Any] = {}

    def analyse() -> None:
        try:
            answer["response"] = httpx.post(
                f"{server.url}/api/v1/analyses",
                content=log.read_bytes(),
                params={"cache": "false", "name": "big.log"},
                timeout=120,
            )
        except Exception as exc:  # reported by the assertions below
            answer["error"] = exc

    client = threading.Thread(target=analyse)
    client.start()
    deadline = time.monotonic() + 60
    while client.is_alive() and time.monotonic() < deadline:
        metrics = httpx.get(f"{server.url}/metrics", timeout=10).text
        if metric_total(metrics, "bifrost_analyses_running") >= 1:
            break
        time.sleep(0.02)
    else:
        pytest.fail(f"the analysis was never seen running: {answer}")

    server.process.send_signal(signal.SIGTERM)
    refused = False
    deadline = time.monotonic() + 10
    while not refused and time.monotonic() < deadline:
        try:
            httpx.get(f"{server.url}/healthz", timeout=1)
        except httpx.ConnectError:
            refused = True
        except httpx.HTTPError:
            pass
        else:
            time.sleep(0.05)
    assert refused, "new connections were still accepted 10 s after SIGTERM"

    client.join(timeout=90)
    assert not client.is_alive()
    assert "error" not in answer, answer
    response: httpx.Response = answer["response"]
    assert response.status_code == 201, response.text
    report = response.json()
    assert report["schema"] == "bifrost.report/v1"
    assert report["input"]["lines"] == 200_000
    assert report["stats"]["lines"] == 200_000
    assert report["findings"]

    assert server.process.wait(timeout=STOP_S) == 0, server.stderr()
    assert "stopped (SIGTERM)" in server.stderr()
    assert "Traceback" not in server.stderr()


@pytest.mark.parametrize(
    ("workers", "stopped"),
    [(1, "Bifrost API stopped (SIGINT); "), (2, "Bifrost API stopped; ")],
    ids=["one worker", "two workers"],
)
def test_ctrl_c_says_stopped_and_exits_0(serve: Serve, workers: int, stopped: str) -> None:
    server = serve("--workers", str(workers), workers=workers)
    server.process.send_signal(signal.SIGINT)
    assert server.process.wait(timeout=STOP_S) == 0, server.stderr()
    assert stopped in server.stderr()
    assert "Traceback" not in server.stderr()


# Readiness -----------------------------------------------------------------------------------


def test_database_down_is_not_ready_but_still_analyses(serve: Serve) -> None:
    server = serve(
        extra_env={"BIFROST_DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1:1/none"}
    )
    assert "database: postgresql+asyncpg://postgres@127.0.0.1:1/none" in server.stderr()
    with httpx.Client(base_url=server.url, timeout=60) as client:
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503, ready.text
        assert ready.json()["status"] == "not ready"
        assert ready.json()["checks"]["database"]["ok"] is False

        answered = client.post("/api/v1/analyses", content=SAMPLE.read_bytes())
        assert answered.status_code == 200, answered.text
        assert "Location" not in answered.headers
        report = answered.json()
        assert report["verdict"] == "failure"
        assert any(w.startswith("not stored:") for w in report["warnings"]), report["warnings"]
