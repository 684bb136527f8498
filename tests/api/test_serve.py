"""`bifrost serve` for real: a server process on a free port, spoken to over HTTP.

Each test starts `python -m bifrost serve` with its own data directory (so its own SQLite
history) and an environment without the caller's `BIFROST_*`, waits for `/healthz`, and stops
it at the end: SIGTERM, then SIGKILL to its process group if it does not stop in time. The CLI
(`bifrost keys`, `bifrost history`) runs with the same environment, so it shares the server's
database. The Redis test uses database 15 on 127.0.0.1:6379 (see `redis_url`).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import select
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
from typing import Any, TypeVar

import httpx
import pytest
import redis
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

import bifrost
from tests.llm.servers import VALID_ANSWER, VALID_SUMMARY, FakeServer, Reply

SAMPLE = Path(bifrost.__file__).parent / "samples" / "trainer.log"
LOGS = Path(__file__).parent.parent / "data" / "logs"
ANALYSES = "/api/v1/analyses"
STARTUP_S = 60.0
STOP_S = 30.0
T = TypeVar("T")


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


def until(probe: Callable[[], T | None], what: str, timeout_s: float = 60.0) -> T:
    """What `probe` returns once that is true, polled; the test fails if it never is."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if found := probe():
            return found
        time.sleep(0.1)
    pytest.fail(f"still waiting for {what} after {timeout_s:g} s")


def access_log(server: Server, path: str) -> list[dict[str, Any]]:
    """The server's access-log entries (JSON lines on stderr) of the requests to `path`."""
    entries = (json.loads(line) for line in server.stderr().splitlines() if line.startswith("{"))
    return [e for e in entries if e.get("event") == "request" and e.get("path") == path]


def exported(env: dict[str, str], *filters: str) -> dict[str, int]:
    """The stored analyses (`bifrost export` with these filters): input name -> id."""
    result = cli(env, "export", "--format", "jsonl", *filters)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    return {row["input_name"]: row["id"] for row in rows}


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


def test_proxies_must_be_addresses_or_networks(env: dict[str, str]) -> None:
    """A host name would never match a peer, so no proxy would be believed, silently."""
    result = cli(env, "serve", "--port", str(free_port()), "--forwarded-allow-ips", "10.0.0.0/8,lb")
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        "bifrost: error: --forwarded-allow-ips: must be IP addresses or networks, "
        "comma-separated, or * (got '10.0.0.0/8,lb')\n"
    )


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
    _, reader = create_key(env, "metrics-reader", "--scope", "metrics", "--rate", "1000/minute")
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


# The client's address --------------------------------------------------------------------------


def two_clients_behind_a_proxy(server: Server) -> tuple[list[str], list[str]]:
    """Two requests from this loopback peer, each naming another client in X-Forwarded-For:
    the rate-limit tokens left after each, and the client each was logged under."""
    remaining = []
    for client in ("203.0.113.7", "198.51.100.9"):
        answer = httpx.get(
            f"{server.url}{ANALYSES}", headers={"X-Forwarded-For": client}, timeout=30
        )
        assert answer.status_code == 200, answer.text
        remaining.append(answer.headers["RateLimit-Remaining"])

    def logged() -> list[dict[str, Any]] | None:  # once answered: maybe after the client read it
        entries = access_log(server, ANALYSES)
        return entries if len(entries) == 2 else None

    return remaining, [entry["client"] for entry in until(logged, "the access log")]


def test_x_forwarded_for_is_not_believed_by_default(serve: Serve) -> None:
    """Else any local client could pick its address, so its rate-limit bucket and its name in
    the access log."""
    server = serve(extra_env={"BIFROST_RATE_LIMIT": "10/minute"})
    assert "proxies:" not in server.stderr()
    remaining, clients = two_clients_behind_a_proxy(server)
    assert remaining == ["9", "8"]  # one bucket: the peer's
    assert clients == ["127.0.0.1", "127.0.0.1"]


def test_x_forwarded_for_names_the_client_behind_a_configured_proxy(serve: Serve) -> None:
    server = serve(
        "--forwarded-allow-ips", "127.0.0.1", extra_env={"BIFROST_RATE_LIMIT": "10/minute"}
    )
    assert "proxies: 127.0.0.1 (X-Forwarded-For names the client)" in server.stderr()
    remaining, clients = two_clients_behind_a_proxy(server)
    assert remaining == ["9", "9"]  # a bucket each
    assert clients == ["203.0.113.7", "198.51.100.9"]


# Connection limits ---------------------------------------------------------------------------


def test_a_huge_request_head_is_refused(serve: Serve) -> None:
    server = serve()
    try:
        answer = httpx.get(f"{server.url}/healthz", headers={"X-Big": "a" * (20 << 20)}, timeout=60)
    except httpx.TransportError:
        pass  # cut off while still sending it: refused too
    else:
        assert answer.status_code == 400, answer.text
    assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200


def trickle(client: socket.socket, piece: bytes, times: int) -> bytes:
    """Send `piece` once a second until the server closes the connection; what it answered.
    The test fails if it is still open after `times` pieces."""
    for _ in range(times):
        if select.select([client], [], [], 1.0)[0]:
            received = b""
            with contextlib.suppress(ConnectionResetError):
                while chunk := client.recv(1 << 16):
                    received += chunk
            return received
        with contextlib.suppress(OSError):  # closed meanwhile: read at the next turn
            client.sendall(piece)
    pytest.fail(f"the server kept a connection that sent a piece a second for {times} s")


@pytest.mark.parametrize(
    ("begun", "piece"),
    [
        (b"GET /healthz HTTP/1.1\r\nHost: {host}\r\nX-Slow: ", b"a"),
        (b"POST /api/v1/analyses HTTP/1.1\r\nHost: {host}\r\nContent-Length: 100000\r\n\r\n", b"E"),
    ],
    ids=["head", "body"],
)
def test_a_request_that_trickles_in_is_cut_off(serve: Serve, begun: bytes, piece: bytes) -> None:
    """A byte a second would not complete this request within the 60 s of the test; the
    server gives up after its configured 2 s, and says so."""
    server = serve(extra_env={"BIFROST_REQUEST_READ_TIMEOUT_S": "2"})
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as client:
        client.sendall(begun.replace(b"{host}", f"127.0.0.1:{server.port}".encode()))
        received = trickle(client, piece, times=60)
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 "), received
    assert b"connection: close" in head.lower()
    error = json.loads(body)["error"]
    assert error["code"] == "request_timeout"
    assert "BIFROST_REQUEST_READ_TIMEOUT_S" in error["message"]


def test_a_connection_that_sends_nothing_is_closed(serve: Serve) -> None:
    server = serve(extra_env={"BIFROST_REQUEST_READ_TIMEOUT_S": "2"})
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as client:
        assert trickle(client, b"", times=60) == b""


def test_a_request_beyond_max_connections_gets_503(serve: Serve) -> None:
    server = serve(extra_env={"BIFROST_MAX_CONNECTIONS": "1"})
    with httpx.Client(base_url=server.url, timeout=30) as holder:
        # The connections of the readiness checks may not be closed on the server's side yet.
        until(lambda: holder.get("/healthz").status_code == 200, "the only open connection")
        with httpx.Client(base_url=server.url, timeout=30) as other:  # a second connection
            assert other.get("/healthz").status_code == 503
        # Once the server has seen the second connection close, there is room again.
        until(lambda: holder.get("/healthz").status_code == 200, "room for a connection")


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


WORKERS = pytest.mark.parametrize("workers", [1, 2], ids=["one worker", "two workers"])


@pytest.fixture
def llm() -> Iterator[FakeServer]:
    """An Ollama-protocol server on loopback (`tests/llm/servers.py`)."""
    with FakeServer() as server:
        yield server


@WORKERS
def test_sigterm_lets_the_running_analysis_finish(
    serve: Serve, tmp_path: Path, workers: int, llm: FakeServer
) -> None:
    """New connections are refused at once (with several workers too, whose supervisor holds
    the listening socket), while the analysis in flight is answered. The analysis waits 4 s
    on its LLM explanation (a slow server on loopback), so it is in flight for certain when
    the refusal is looked for, however fast the machine."""
    lines = 200_000
    log = big_log(tmp_path / "big.log", lines)
    llm.reply("/api/chat", Reply(text=VALID_ANSWER, delay=4))
    slow_llm = {"BIFROST_LLM": "ollama", "BIFROST_MODEL": "test-model", "BIFROST_BASE_URL": llm.url}
    server = serve("--workers", str(workers), workers=workers, extra_env=slow_llm)
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
    while not refused and client.is_alive():
        try:
            httpx.get(f"{server.url}/healthz", timeout=1)
        except httpx.ConnectError:
            refused = True
        except httpx.HTTPError:
            pass
        else:
            time.sleep(0.05)
    assert refused, "new connections were accepted until the analysis was answered"

    client.join(timeout=90)
    assert not client.is_alive()
    assert "error" not in answer, answer
    response: httpx.Response = answer["response"]
    assert response.status_code == 201, response.text
    assert response.headers["connection"] == "close"  # answered while draining
    report = response.json()
    assert report["schema"] == "bifrost.report/v1"
    assert report["input"]["lines"] == lines
    assert report["stats"]["lines"] == lines
    assert report["findings"]
    assert report["llm"]["summary"] == VALID_SUMMARY

    assert server.process.wait(timeout=STOP_S) == 0, server.stderr()
    assert "stopped (SIGTERM)" in server.stderr()
    assert "Traceback" not in server.stderr()


def test_sigterm_answers_or_cleanly_closes_kept_alive_connections(serve: Serve) -> None:
    """Clients that send request after request on kept-alive connections, to two workers,
    while SIGTERM arrives: each request is answered, or its connection is closed without an
    answer (a retry on a new connection is then refused) and the request was not handled.
    Never is an analysis stored but unanswered, or answered but not stored."""
    server = serve("--workers", "2", workers=2)
    clients = 4
    outcomes: list[list[tuple[str, str, int | None]]] = [[] for _ in range(clients)]
    all_answered_twice = threading.Barrier(clients + 1, timeout=120)

    def keep_sending(client: int) -> None:
        with httpx.Client(base_url=server.url, timeout=120) as http:
            for request in itertools.count():
                name = f"kept-alive-{client}-{request}"
                outcomes[client].append(send(http, name))
                if outcomes[client][-1][1] == "refused":
                    return
                if request == 1:
                    all_answered_twice.wait()

    def send(http: httpx.Client, name: str) -> tuple[str, str, int | None]:
        log = f"2024-05-01 12:00:00 ERROR job {name} failed\n".encode() * 20
        try:
            answer = http.post(ANALYSES, content=log, params={"name": name, "service": "drain"})
        except httpx.ConnectError:
            return name, "refused", None
        except (httpx.ReadError, httpx.WriteError):  # reset: an answer is one short write
            return name, "closed", None
        except httpx.RemoteProtocolError as error:
            clean = "without sending a response" in str(error)
            return name, "closed" if clean else repr(error), None
        if answer.status_code != 201:
            return name, f"{answer.status_code} {answer.text}", None
        return name, "answered", int(answer.headers["Location"].rsplit("/", 1)[1])

    threads = [threading.Thread(target=keep_sending, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    all_answered_twice.wait()
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=STOP_S) == 0, server.stderr()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive()

    for sent in outcomes:
        assert {outcome for _, outcome, _ in sent} <= {"answered", "closed", "refused"}, sent
        assert sent[-1][1] == "refused", sent
    answered = {name: id_ for sent in outcomes for name, outcome, id_ in sent if id_ is not None}
    assert exported(server.env, "--service", "drain") == answered
    assert "Bifrost API stopped (SIGTERM); " in server.stderr()
    assert "Traceback" not in server.stderr()


@WORKERS
def test_ctrl_c_says_stopped_and_exits_0(serve: Serve, workers: int) -> None:
    server = serve("--workers", str(workers), workers=workers)
    server.process.send_signal(signal.SIGINT)
    assert server.process.wait(timeout=STOP_S) == 0, server.stderr()
    assert "Bifrost API stopped (SIGINT); " in server.stderr()
    assert "Traceback" not in server.stderr()


# Engine processes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Process:
    pid: int
    started: int  # clock ticks after boot: with the pid, names the process for good
    parent: int
    group: int
    command: str


def running_processes() -> list[Process]:
    """The processes running now, from /proc (psutil is not a dependency); zombies, which
    have exited, left out."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:  # exited meanwhile
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after the command, which may hold spaces
        state, parent, group, started = fields[0], fields[1], fields[2], fields[19]
        if state not in ("Z", "X"):
            found.append(Process(int(entry.name), int(started), int(parent), int(group), command))
    return found


def spawned_by(pid: int) -> list[Process]:
    """What `pid` started with multiprocessing's spawn: uvicorn's workers, engine processes."""
    return [
        p for p in running_processes() if p.parent == pid and "multiprocessing.spawn" in p.command
    ]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_engine_processes_end_with_their_worker_and_none_outlive_the_server(
    serve: Serve,
) -> None:
    server = serve("--workers", "2", extra_env={"BIFROST_ENGINE_PROCESSES": "2"}, workers=2)

    def engines_of_each_worker() -> dict[Process, list[Process]] | None:
        tree = {worker: spawned_by(worker.pid) for worker in spawned_by(server.process.pid)}
        return tree if len(tree) == 2 and all(len(e) == 2 for e in tree.values()) else None

    worker, engines = next(iter(until(engines_of_each_worker, "the engine processes").items()))
    os.kill(worker.pid, signal.SIGKILL)
    doomed = {(engine.pid, engine.started) for engine in engines}
    until(
        lambda: not doomed & {(p.pid, p.started) for p in running_processes()},
        "the engine processes of the killed worker to end",
    )
    until(lambda: server.stderr().count('"event": "ready to serve"') == 3, "its replacement")

    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=STOP_S) == 0, server.stderr()
    until(
        lambda: not [p for p in running_processes() if p.group == server.process.pid],
        "every process the server started to end",
    )


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
