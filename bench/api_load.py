"""Load on the HTTP API (`bifrost serve`) measured with wrk, next to a bare FastAPI app.

Every server runs in its own subprocess (process group; SIGTERM, then SIGKILL, at the end):
`bifrost serve --port P --workers W` with a fresh SQLite history (its own ``XDG_DATA_HOME``),
auth off (loopback), ``BIFROST_RATE_LIMIT=1000000/minute`` so the limiter never refuses and
``BIFROST_MAX_ANALYSES=8``; other ``BIFROST_*`` variables of the environment are not passed on,
so the engine pool has its default size (``BIFROST_ENGINE_PROCESSES``, 2).

1. **Cached analyses**: wrk, 2 threads, with each ``--clients`` count of connections (default
   ``8,32``), POSTs a fixed 100-line log (a Loghub mix, ``make_mix.py``) to
   ``/api/v1/analyses``. The first request stores it; every later one is a cache hit (checked
   before the run). Once per backend and ``--workers`` entry (default ``1,2``). Backends: a
   fresh SQLite history (the database cache), and with ``--postgres URL --redis URL``
   PostgreSQL for the history and Redis for the cache (the database is brought up to date
   with ``bifrost db upgrade`` first).
2. **/healthz under load** (first backend, first ``--workers`` entry): wrk, 4 connections,
   1 thread, on ``/healthz`` while idle, then while 8 uncached analyses (``?cache=false``) of a
   100,000-line mix are POSTed at once (Python threads, httpx); wrk is stopped (SIGINT) when the
   last answer arrives, so its figures cover exactly the analyses. The target is p99 under
   50 ms.
3. **Reference**: a bare FastAPI app (in this file, as many uvicorn workers as bifrost had)
   that does the work of a cache hit and nothing else: its POST endpoint reads the body, hashes
   it (SHA-256), looks the hash up where that backend's cache lives (the Report bifrost
   returned for the 100-line log, stored beforehand in a SQLite table, or in Redis) and returns
   the stored JSON. The same POST runs, beside bifrost's in the summary table; on the first
   backend also ``GET /healthz`` (``{"status": "ok"}``) idle and while 8 requests each burn
   ``--burn-cpu`` seconds of CPU in FastAPI's thread pool (a plain ``def`` endpoint, sharing the
   GIL with the event loop).

wrk is closed-loop (a connection waits for its answer before sending again) and runs on the
same machine as the servers, so the figures are for comparing, not capacity planning.

    python bench/api_load.py
    python bench/api_load.py --duration 5 --workers 1
    python bench/api_load.py --workers 1 --postgres postgresql://postgres@127.0.0.1/bench \\
        --redis redis://127.0.0.1:6379/14
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
from fastapi import FastAPI, Request, Response

import common
import make_mix

HOST = "127.0.0.1"
POST_CLIENTS = (8, 32)
POST_THREADS = 2
HEALTH_CONNECTIONS = 4
HEALTH_THREADS = 1
WRK_TIMEOUT = "30s"  # a slower answer is a wrk "timeout", left out of its latency figures
SMALL_LINES = 100
TARGET_P99_MS = 50.0
SERVER_ENV = {
    "BIFROST_RATE_LIMIT": "1000000/minute",
    "BIFROST_MAX_ANALYSES": "8",
    "BIFROST_AUTH": "0",
    "BIFROST_LOG_FORMAT": "json",
}
READY_EVENT = "ready to serve"
REFERENCE_PREFIX = "bifrost-bench:reference:"  # the reference's Redis keys (expire in an hour)

_UNIT_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}
_DURATION_S = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_LATENCY = re.compile(r"^\s*(50|99)%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.MULTILINE)
_REQUESTS = re.compile(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h),", re.MULTILINE)
_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


# --------------------------------------------------------------------------------------------
# wrk
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float | None
    p99_ms: float | None
    non_2xx: int
    socket_errors: int
    timeouts: int

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors + self.timeouts


def parse_wrk(text: str) -> WrkResult:
    """Figures from wrk's ``--latency`` output (raises ValueError when they are missing)."""
    done = _REQUESTS.search(text)
    rps = _RPS.search(text)
    if done is None or rps is None:
        raise ValueError(f"unexpected wrk output:\n{text}")
    latency = {m[1]: float(m[2]) * _UNIT_MS[m[3]] for m in _LATENCY.finditer(text)}
    non_2xx = _NON_2XX.search(text)
    sockets = _SOCKET_ERRORS.search(text)
    connect, read, write, timeout = (int(g) for g in sockets.groups()) if sockets else (0,) * 4
    requests = int(done[1])
    return WrkResult(
        requests=requests,
        seconds=float(done[2]) * _DURATION_S[done[3]],
        rps=float(rps[1]),
        p50_ms=latency.get("50") if requests else None,
        p99_ms=latency.get("99") if requests else None,
        non_2xx=int(non_2xx[1]) if non_2xx else 0,
        socket_errors=connect + read + write,
        timeouts=timeout,
    )


def wrk_argv(
    url: str, *, connections: int, threads: int, seconds: float, lua: Path | None = None
) -> list[str]:
    argv = [
        "wrk",
        "-c",
        str(connections),
        "-t",
        str(threads),
        "-d",
        f"{max(1, round(seconds))}s",
        "--latency",
        "--timeout",
        WRK_TIMEOUT,
    ]
    if lua is not None:
        argv += ["-s", str(lua)]
    return [*argv, url]


def run_wrk(
    url: str, *, connections: int, threads: int, seconds: float, lua: Path | None = None
) -> WrkResult:
    argv = wrk_argv(url, connections=connections, threads=threads, seconds=seconds, lua=lua)
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=seconds + 60, check=False, stdin=None
    )
    if done.returncode != 0:
        raise RuntimeError(f"{shlex.join(argv)} exited {done.returncode}: {done.stderr.strip()}")
    return parse_wrk(done.stdout)


def post_lua(tmp: Path, body: Path) -> Path:
    """A wrk script that POSTs ``body`` (read once per wrk thread) as text/plain."""
    script = tmp / f"post-{body.stem}.lua"
    script.write_text(
        f'local f = assert(io.open([==[{body}]==], "rb"))\n'
        "wrk.method = 'POST'\n"
        "wrk.body = f:read('*a')\n"
        "f:close()\n"
        "wrk.headers['Content-Type'] = 'text/plain'\n",
        encoding="utf-8",
    )
    return script


# --------------------------------------------------------------------------------------------
# Servers
# --------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


class Server:
    """A server subprocess in its own process group, its output in a log file."""

    def __init__(self, name: str, argv: Sequence[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = env
        self.log = log
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, port: int) -> None:
        self.port = port
        self._log_file = self.log.open("wb")
        self.proc = subprocess.Popen(
            self.argv,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(text[-lines:])

    def ready_events(self) -> list[dict[str, object]]:
        """The JSON ``ready to serve`` lines bifrost logs, one per worker process."""
        events: list[dict[str, object]] = []
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return events
        for raw in text.splitlines():
            if READY_EVENT not in raw:
                continue
            record = common.json_or_none(raw)
            if isinstance(record, dict) and record.get("event") == READY_EVENT:
                events.append(record)
        return events

    def wait_ready(self, timeout_s: float, *, ready_events: int = 0) -> float:
        """Seconds until /healthz answers 200 (and ``ready_events`` workers said so)."""
        assert self.proc is not None
        start = time.perf_counter()
        with httpx.Client(timeout=2.0) as client:
            while time.perf_counter() - start < timeout_s:
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"{self.name} exited {self.proc.returncode} while starting:\n"
                        f"{self.log_tail()}"
                    )
                if len(self.ready_events()) >= ready_events:
                    try:
                        if client.get(f"{self.base}/healthz").status_code == 200:
                            return time.perf_counter() - start
                    except httpx.TransportError:
                        pass
                time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready after {timeout_s:.0f} s:\n{self.log_tail()}")

    def cpu_s(self) -> float:
        """CPU seconds (user + system) used so far by the server's process group: on a shared
        machine, CPU per request compares servers better than wall time does (Linux only)."""
        assert self.proc is not None
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = stat.read_text().rpartition(")")[2].split()
                if int(fields[2]) == self.proc.pid:  # the process group (start_new_session)
                    total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        """SIGTERM to the process group, SIGKILL to what is left after 15 s."""
        proc = self.proc
        if proc is not None:
            pgid = proc.pid  # start_new_session: the leader's pid is the group id
            if proc.poll() is None:
                _signal_group(pgid, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=15)
            _signal_group(pgid, signal.SIGKILL)  # workers or engine processes left behind
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            self.proc = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def server_env(extra: dict[str, str]) -> dict[str, str]:
    """This environment without ``BIFROST_*`` and ``PROMETHEUS_MULTIPROC_DIR``, plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("BIFROST_") and k != "PROMETHEUS_MULTIPROC_DIR"
    }
    return {**env, **extra}


@dataclass(frozen=True)
class Backend:
    """Where bifrost keeps its history and cache, and where the reference looks answers up."""

    name: str
    slug: str
    env: dict[str, str]  # BIFROST_DATABASE_URL, BIFROST_REDIS_URL; empty: a fresh SQLite
    redis_url: str | None = None  # the reference looks up in Redis (else in a SQLite table)


def backends(postgres: str | None, redis: str | None) -> list[Backend]:
    chosen = [Backend("SQLite", "sqlite", {})]
    if postgres and redis:
        env = {"BIFROST_DATABASE_URL": postgres, "BIFROST_REDIS_URL": redis}
        chosen.append(Backend("PostgreSQL + Redis", "pg-redis", env, redis))
    return chosen


def upgrade_database(cmd: common.Command, backend: Backend) -> None:
    """`bifrost db upgrade` on a server database, so that `serve` finds its schema current."""
    if "BIFROST_DATABASE_URL" not in backend.env:
        return
    env = server_env({**backend.env, **cmd.env})
    done = subprocess.run(
        [*cmd.argv, "db", "upgrade"], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"bifrost db upgrade failed: {done.stderr.strip()[-300:]}")


def bifrost_server(cmd: common.Command, tmp: Path, workers: int, backend: Backend) -> Server:
    data_home = tmp / f"xdg-{backend.slug}-{workers}w"
    data_home.mkdir()
    env = server_env({**SERVER_ENV, "XDG_DATA_HOME": str(data_home), **backend.env, **cmd.env})
    port = free_port()
    argv = [*cmd.argv, "serve", "--host", HOST, "--port", str(port), "--workers", str(workers)]
    log = tmp / f"serve-{backend.slug}-{workers}w.log"
    server = Server(f"bifrost serve --workers {workers}", argv, env, log)
    server.port = port
    return server


def reference_server(tmp: Path, report: Path, body: Path, workers: int, backend: Backend) -> Server:
    port = free_port()
    lookup = backend.redis_url or str(tmp / f"reference-{backend.slug}-{workers}w.db")
    argv = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--reference-server",
        str(report),
        "--reference-port",
        str(port),
        "--reference-body",
        str(body),
        "--reference-lookup",
        lookup,
        "--workers",
        str(workers),
    ]
    log = tmp / f"reference-{backend.slug}-{workers}w.log"
    server = Server(f"reference --workers {workers}", argv, server_env({}), log)
    server.port = port
    return server


# --------------------------------------------------------------------------------------------
# The reference app (runs in its own process: --reference-server)
# --------------------------------------------------------------------------------------------


def serve_reference(report: Path, body: Path, lookup: str, port: int, workers: int) -> int:
    """Store the Report under the body's hash where `lookup` says, then serve the app."""
    import uvicorn  # noqa: PLC0415

    key = hashlib.sha256(body.read_bytes()).hexdigest()
    if lookup.startswith("redis://"):
        import redis  # noqa: PLC0415

        with redis.Redis.from_url(lookup) as client:
            client.set(REFERENCE_PREFIX + key, report.read_bytes(), ex=3600)
    else:
        with contextlib.closing(sqlite3.connect(lookup)) as db, db:
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("CREATE TABLE IF NOT EXISTS cache (key TEXT PRIMARY KEY, report BLOB)")
            db.execute("INSERT OR REPLACE INTO cache VALUES (?, ?)", (key, report.read_bytes()))
    os.environ["BENCH_REFERENCE_LOOKUP"] = lookup
    uvicorn.run(
        "api_load:reference_app",
        factory=True,
        app_dir=str(Path(__file__).resolve().parent),
        host=HOST,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )
    return 0


def reference_app() -> FastAPI:
    """The app each reference worker runs (a factory: uvicorn imports it in every worker).

    FastAPI reads the endpoints' (string) annotations from this module's globals, hence the
    import of Request and Response at the top."""
    lookup = os.environ["BENCH_REFERENCE_LOOKUP"]
    found: dict[str, Callable[[str], Any]] = {}

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            found["get"] = await stack.enter_async_context(_lookup(lookup))
            yield

    app = FastAPI(lifespan=lifespan)

    @app.post("/api/v1/analyses")
    async def analyses(request: Request) -> Response:
        key = hashlib.sha256(await request.body()).hexdigest()
        report = await found["get"](key)
        if report is None:
            return Response(b'{"error": "not cached"}', 404, media_type="application/json")
        return Response(report, 200, media_type="application/json")

    @app.post("/burn")
    def burn(cpu_s: float = 1.0) -> dict[str, int]:
        """Pure-Python work until this thread has used ``cpu_s`` of CPU (in the thread pool)."""
        start = time.thread_time()
        rounds = 0
        while time.thread_time() - start < cpu_s:
            sum(i * i for i in range(10_000))
            rounds += 1
        return {"rounds": rounds}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


@contextlib.asynccontextmanager
async def _lookup(where: str) -> AsyncIterator[Callable[[str], Any]]:
    """`get(key)`: one Redis GET, or one SELECT on a long-lived aiosqlite connection."""
    if where.startswith("redis://"):
        import redis.asyncio as redis  # noqa: PLC0415

        client = redis.Redis.from_url(where)
        try:
            yield lambda key: client.get(REFERENCE_PREFIX + key)
        finally:
            await client.aclose()
        return
    import aiosqlite  # noqa: PLC0415

    async with aiosqlite.connect(where) as db:

        async def get(key: str) -> bytes | None:
            async with db.execute("SELECT report FROM cache WHERE key = ?", (key,)) as rows:
                row = await rows.fetchone()
            return None if row is None else bytes(row[0])

        yield get


# --------------------------------------------------------------------------------------------
# Phases
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    phase: str
    server: str
    result: WrkResult | None
    note: str = ""
    backend: str = ""
    clients: int = 0  # a POST run: its wrk connections
    cpu_ms: float | None = None  # the server's CPU per request during the run
    cached: bool = True  # a POST run: answered from the cache (else `?cache=false`)


@dataclass(frozen=True)
class Burst:
    wall_s: float
    statuses: list[int]
    fastest_s: float
    slowest_s: float


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def check_cached(base: str, body: bytes) -> tuple[bytes, str]:
    """POST the small log twice; the second answer must be a cache hit. Returns its body and
    a note (empty when all is well)."""
    url = f"{base}/api/v1/analyses"
    headers = {"Content-Type": "text/plain"}
    with httpx.Client(timeout=60.0) as client:
        first = client.post(url, content=body, headers=headers)
        second = client.post(url, content=body, headers=headers)
    if first.status_code >= 300 or second.status_code >= 300:
        raise RuntimeError(
            f"POST {url} answered {first.status_code}, {second.status_code}: {second.text[:300]}"
        )
    cache = second.headers.get("x-bifrost-cache", "")
    return second.content, "" if cache == "hit" else f"repeat not a cache hit ({cache or '-'})"


@dataclass(frozen=True)
class PostRun:
    """How the cached POST runs go: the wrk script, the client counts, the durations."""

    lua: Path
    clients: Sequence[int]
    seconds: float
    warmup: float
    uncached: bool = False


def post_phases(
    server: Server, reference: Server | None, run: PostRun, backend: Backend, note: str = ""
) -> list[Row]:
    """wrk POSTing the small log with each client count (after ``warmup`` seconds of the
    same, not counted), to bifrost and then at once to the reference, so that both see the
    same machine."""
    rows = []
    for clients in run.clients:
        rows.append(post_run(server, run, clients, backend, note))
        if reference is not None:
            rows.append(post_run(reference, run, clients, backend))
        if run.uncached:
            rows.append(post_run(server, run, clients, backend, cached=False))
    return rows


def post_run(
    server: Server,
    run: PostRun,
    clients: int,
    backend: Backend,
    note: str = "",
    *,
    cached: bool = True,
) -> Row:
    """wrk POSTing the small log; `cached=False` asks for a fresh analysis each time (each is
    stored)."""
    url = f"{server.base}/api/v1/analyses" + ("" if cached else "?cache=false")
    threads = min(POST_THREADS, clients)
    if run.warmup > 0:
        run_wrk(url, connections=clients, threads=threads, seconds=run.warmup, lua=run.lua)
    say(f"  {server.name}: wrk POST, {clients} connections, {run.seconds:.0f} s …")
    cpu_before = server.cpu_s()
    result = run_wrk(url, connections=clients, threads=threads, seconds=run.seconds, lua=run.lua)
    cpu_ms = (server.cpu_s() - cpu_before) * 1000 / max(1, result.requests)
    phase = f"POST{'' if cached else ' uncached'}, {clients} clients"
    return Row(phase, server.name, result, note, backend.name, clients, cpu_ms, cached)


def idle_health(server: Server, seconds: float) -> Row:
    say(f"  wrk /healthz idle, {HEALTH_CONNECTIONS} connections, {seconds:.0f} s …")
    result = run_wrk(
        f"{server.base}/healthz",
        connections=HEALTH_CONNECTIONS,
        threads=HEALTH_THREADS,
        seconds=seconds,
    )
    return Row(f"/healthz idle, {HEALTH_CONNECTIONS} clients", server.name, result)


def fire(count: int, send: Callable[[httpx.Client], int], timeout_s: float) -> Burst:
    """Send ``count`` requests at once (one thread and client each); wall time to the last."""
    gate = threading.Barrier(count + 1)

    def one() -> tuple[int, float]:
        with httpx.Client(timeout=timeout_s) as client:
            gate.wait()
            start = time.perf_counter()
            try:
                status = send(client)
            except httpx.HTTPError:
                status = 0
            return status, time.perf_counter() - start

    with ThreadPoolExecutor(count) as pool:
        futures = [pool.submit(one) for _ in range(count)]
        gate.wait()
        start = time.perf_counter()
        done = [f.result() for f in futures]
        wall = time.perf_counter() - start
    return Burst(wall, [s for s, _ in done], min(t for _, t in done), max(t for _, t in done))


def health_during(
    server: Server, count: int, send: Callable[[httpx.Client], int], timeout_s: float
) -> tuple[WrkResult, Burst]:
    """wrk on /healthz from just before ``count`` concurrent requests until the last answer."""
    argv = wrk_argv(
        f"{server.base}/healthz",
        connections=HEALTH_CONNECTIONS,
        threads=HEALTH_THREADS,
        seconds=timeout_s + 30,
    )
    wrk = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL
    )
    try:
        burst = fire(count, send, timeout_s)
        wrk.send_signal(signal.SIGINT)  # wrk stops and prints what it measured so far
        out, err = wrk.communicate(timeout=30)
    finally:
        if wrk.poll() is None:
            wrk.kill()
            wrk.wait()
    if wrk.returncode != 0:
        raise RuntimeError(f"{shlex.join(argv)} exited {wrk.returncode}: {err.strip()}")
    return parse_wrk(out), burst


def burst_note(burst: Burst, what: str, expected: tuple[int, ...]) -> str:
    bad = [s for s in burst.statuses if s not in expected]
    note = (
        f"{len(burst.statuses)} {what}: all done in {burst.wall_s:.1f} s "
        f"(each {burst.fastest_s:.1f}–{burst.slowest_s:.1f} s)"
    )
    if bad:
        note += f"; FAILED statuses {sorted(bad)}"
    return note


def analyses_under_load(server: Server, big: bytes, count: int, timeout_s: float) -> Row:
    url = f"{server.base}/api/v1/analyses"

    def send(client: httpx.Client) -> int:
        answer = client.post(
            url,
            params={"cache": "false"},
            content=big,
            headers={"Content-Type": "text/plain"},
        )
        return answer.status_code

    say(f"  {count} uncached analyses at once, wrk /healthz meanwhile …")
    result, burst = health_during(server, count, send, timeout_s)
    return Row(
        f"/healthz during {count} analyses",
        server.name,
        result,
        burst_note(burst, "uncached analyses", (200, 201)),
    )


def burns_under_load(server: Server, count: int, cpu_s: float, timeout_s: float) -> Row:
    url = f"{server.base}/burn"

    def send(client: httpx.Client) -> int:
        return client.post(url, params={"cpu_s": cpu_s}).status_code

    say(f"  {count} CPU burns of {cpu_s:g} s at once, wrk /healthz meanwhile …")
    result, burst = health_during(server, count, send, timeout_s)
    return Row(
        f"/healthz during {count} CPU burns",
        server.name,
        result,
        burst_note(burst, f"burns of {cpu_s:g} CPU s", (200,)),
    )


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def counts(text: str) -> list[int]:
    """A comma-separated list of counts ≥ 1 (``--workers``, ``--clients``)."""
    try:
        numbers = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from None
    if not numbers or any(n < 1 for n in numbers):
        raise argparse.ArgumentTypeError(f"need counts ≥ 1: {text!r}")
    return numbers


def default_command(spec: str | None) -> common.Command:
    """``--bifrost`` as given, else this Python with ``-m bifrost`` and the checkout's src."""
    if spec is not None:
        return common.bifrost_command(spec)
    src = str(common.REPO_ROOT / "src")
    path = os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH", "")) if p)
    return common.Command((sys.executable, "-m", "bifrost"), {"PYTHONPATH": path})


def cpu(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}" if value < 1000 else f"{value:,.0f}"


def print_rows(rows: Sequence[Row]) -> None:
    table: list[list[str]] = []
    for row in rows:
        r = row.result
        if r is None:
            table.append([row.phase, row.server, "-", "-", "-", "-", "-", f"FAILED: {row.note}"])
            continue
        errors = []
        if r.non_2xx:
            errors.append(f"{r.non_2xx} non-2xx")
        if r.socket_errors:
            errors.append(f"{r.socket_errors} socket")
        if r.timeouts:
            errors.append(f"{r.timeouts} timeouts")
        table.append(
            [
                row.phase,
                row.server,
                f"{r.requests:,}",
                f"{r.rps:,.0f}",
                ms(r.p50_ms),
                ms(r.p99_ms),
                ", ".join(errors) or "0",
                row.note,
            ]
        )
    common.print_table(
        ["phase", "server", "requests", "req/s", "p50 ms", "p99 ms", "errors", "note"],
        table,
        left=(0, 1, 6, 7),
        title="API load (wrk; p50/p99 from wrk --latency)",
    )


def print_comparison(rows: Sequence[Row]) -> None:
    """Each POST run of bifrost beside the reference's with the same backend, workers and
    clients, and the ratio of their throughputs (the reference only does what a cache hit
    does: it has no counterpart for uncached runs)."""
    references = [r for r in rows if r.clients and r.server.startswith("reference")]
    reference = {(r.backend, r.server.split()[-1], r.clients): r.result for r in references}
    reference_cpu = {(r.backend, r.server.split()[-1], r.clients): r.cpu_ms for r in references}
    table: list[list[str]] = []
    for row in rows:
        if not row.clients or not row.server.startswith("bifrost") or row.result is None:
            continue
        workers = row.server.split()[-1]
        ref = reference.get((row.backend, workers, row.clients)) if row.cached else None
        ratio = f"{row.result.rps / ref.rps:.2f}×" if ref is not None and ref.rps else "-"
        ref_cpu = reference_cpu.get((row.backend, workers, row.clients)) if row.cached else None
        table.append(
            [
                row.backend,
                workers,
                str(row.clients),
                "yes" if row.cached else "no",
                f"{row.result.rps:,.0f}",
                ms(row.result.p50_ms),
                ms(row.result.p99_ms),
                cpu(row.cpu_ms),
                f"{ref.rps:,.0f}" if ref else "-",
                ms(ref.p50_ms) if ref else "-",
                ms(ref.p99_ms) if ref else "-",
                cpu(ref_cpu),
                ratio,
            ]
        )
    common.print_table(
        [
            "backend",
            "workers",
            "clients",
            "cached",
            "bifrost req/s",
            "p50 ms",
            "p99 ms",
            "CPU ms/req",
            "reference req/s",
            "p50 ms",
            "p99 ms",
            "CPU ms/req",
            "ratio",
        ],
        table,
        left=(0,),
        title="POST: bifrost beside the reference app (read body, hash, look up, return)",
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_common_args(parser, bifrost=False)
    parser.add_argument(
        "--bifrost",
        default=None,
        metavar="CMD",
        help=(
            "command that runs the CLI (as in the other scripts); default: this Python with "
            "-m bifrost and PYTHONPATH=<repo>/src"
        ),
    )
    parser.add_argument(
        "--duration", type=float, default=10.0, help="seconds per wrk run (default 10)"
    )
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="seconds of wrk before each POST run (default 2)"
    )
    parser.add_argument(
        "--workers",
        type=counts,
        default=[1, 2],
        help="bifrost serve --workers values, comma-separated (default 1,2); the /healthz "
        "phases run on the first",
    )
    parser.add_argument(
        "--clients",
        type=counts,
        default=list(POST_CLIENTS),
        help="wrk connections of the cached POST runs, comma-separated (default 8,32)",
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="also run on this PostgreSQL database (with --redis): it is upgraded, and "
        "analyses are added to it",
    )
    parser.add_argument(
        "--redis", metavar="URL", help="the Redis for the cache of the --postgres runs"
    )
    parser.add_argument(
        "--lines", type=int, default=100_000, help="lines of the big log (default 100000)"
    )
    parser.add_argument(
        "--concurrent", type=int, default=8, help="analyses / burns at once (default 8)"
    )
    parser.add_argument(
        "--burn-cpu",
        type=float,
        default=1.0,
        help="CPU seconds each reference burn uses (default 1.0)",
    )
    parser.add_argument("--seed", type=int, default=0, help="mix seed (default 0)")
    parser.add_argument(
        "--start-timeout", type=float, default=120.0, help="seconds a server may take to start"
    )
    parser.add_argument(
        "--request-timeout",
        type=float,
        default=150.0,
        help="seconds the concurrent requests may take (default 150)",
    )
    parser.add_argument("--skip-reference", action="store_true", help="no reference app runs")
    parser.add_argument(
        "--uncached",
        action="store_true",
        help="also POST with ?cache=false (a fresh analysis, stored, each time)",
    )
    parser.add_argument(
        "--skip-health", action="store_true", help="no /healthz runs (cached POSTs only)"
    )
    parser.add_argument("--reference-server", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--reference-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--reference-body", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--reference-lookup", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if bool(args.postgres) != bool(args.redis):
        parser.error("--postgres and --redis go together")
    return args


@dataclass
class Logs:
    """The logs the phases send, and the Report bifrost answered for the small one."""

    small: Path
    big: bytes
    report: bytes | None = None


def run_backend(
    cmd: common.Command,
    tmp: Path,
    args: argparse.Namespace,
    backend: Backend,
    logs: Logs,
    post: PostRun,
    health: bool,
) -> tuple[list[Row], str]:
    """Every run on one backend; returns the rows and the settings the server logged."""
    try:
        upgrade_database(cmd, backend)
    except RuntimeError as exc:
        say(f"error: {backend.name}: {exc}")
        return [Row("-", f"bifrost ({backend.name})", None, str(exc).splitlines()[0])], ""
    rows: list[Row] = []
    settings_note = ""
    for index, workers in enumerate(args.workers):
        server = bifrost_server(cmd, tmp, workers, backend)
        reference: Server | None = None
        try:
            say(f"starting {shlex.join(server.argv)} ({backend.name}) …")
            server.start(server.port)
            ready_s = server.wait_ready(args.start_timeout, ready_events=workers)
            say(f"  ready after {ready_s:.1f} s")
            if index == 0:
                settings_note = logged_settings(server)
            answer, note = check_cached(server.base, logs.small.read_bytes())
            logs.report = logs.report or answer
            if not args.skip_reference:
                reference = start_reference(tmp, args, backend, logs, workers)
            rows += post_phases(server, reference, post, backend, note)
            if index == 0 and health:
                rows.append(idle_health(server, args.duration))
                rows.append(
                    analyses_under_load(server, logs.big, args.concurrent, args.request_timeout)
                )
                if reference is not None:
                    rows.append(idle_health(reference, args.duration))
                    rows.append(
                        burns_under_load(
                            reference, args.concurrent, args.burn_cpu, args.request_timeout
                        )
                    )
        except (RuntimeError, ValueError, httpx.HTTPError, subprocess.SubprocessError) as exc:
            say(f"error: {backend.name}, {workers} worker(s): {exc}")
            rows.append(Row("-", server.name, None, str(exc).splitlines()[0], backend.name))
        finally:
            server.stop()
            if reference is not None:
                reference.stop()
    return rows, settings_note


def logged_settings(server: Server) -> str:
    event = server.ready_events()[0]
    return (
        f"engine_processes={event.get('engine_processes')}, "
        f"max_analyses={event.get('max_analyses')} (per worker, as logged), "
        f"BIFROST_RATE_LIMIT={SERVER_ENV['BIFROST_RATE_LIMIT']}, auth off"
    )


def start_reference(
    tmp: Path, args: argparse.Namespace, backend: Backend, logs: Logs, workers: int
) -> Server:
    """The reference app with as many workers, serving the Report bifrost answered."""
    assert logs.report is not None
    report_path = tmp / "report.json"
    report_path.write_bytes(logs.report)
    server = reference_server(tmp, report_path, logs.small, workers, backend)
    say(f"starting the reference app, {workers} worker(s) ({backend.name}) …")
    server.start(server.port)
    say(f"  ready after {server.wait_ready(args.start_timeout):.1f} s")
    return server


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.reference_server is not None:
        return serve_reference(
            args.reference_server,
            args.reference_body,
            args.reference_lookup,
            args.reference_port,
            args.workers[0],
        )
    if shutil.which("wrk") is None:
        sys.exit("error: wrk not found on PATH")

    began = time.perf_counter()
    load_before = os.getloadavg()[0]
    cmd = default_command(args.bifrost)
    rows: list[Row] = []
    settings_note = ""
    with tempfile.TemporaryDirectory(prefix="bifrost-api-load-") as tmp_dir:
        tmp = Path(tmp_dir)
        small_path = tmp / f"mix-{SMALL_LINES}.log"
        big_path = tmp / f"mix-{args.lines}.log"
        make_mix.write_mix(args.data, small_path, SMALL_LINES, args.seed)
        make_mix.write_mix(args.data, big_path, args.lines, args.seed)
        logs = Logs(small_path, big_path.read_bytes())
        post = PostRun(
            post_lua(tmp, small_path), args.clients, args.duration, args.warmup, args.uncached
        )
        say(
            f"logs: {SMALL_LINES} lines ({small_path.stat().st_size:,} B), {args.lines:,} lines "
            f"({len(logs.big) / 1e6:.1f} MB); seed {args.seed}"
        )
        for index, backend in enumerate(backends(args.postgres, args.redis)):
            health = index == 0 and not args.skip_health
            found, note = run_backend(cmd, tmp, args, backend, logs, post, health)
            rows += found
            settings_note = settings_note or note

    print_rows(rows)
    print_comparison(rows)
    health_row = next((r for r in rows if r.phase.startswith("/healthz during") and r.result), None)
    if health_row is not None and health_row.result is not None:
        p99 = health_row.result.p99_ms
        if p99 is not None:
            verdict = "met" if p99 < TARGET_P99_MS else "NOT met"
            print(
                f"target: /healthz p99 < {TARGET_P99_MS:.0f} ms during the analyses: {verdict} "
                f"({p99:.1f} ms)"
            )
    print(f"bifrost: {cmd.describe()} serve --workers W")
    if settings_note:
        print(f"bifrost settings: {settings_note}")
    print(
        f"wrk: POST -c {','.join(map(str, args.clients))} -t {POST_THREADS}, /healthz "
        f"-c {HEALTH_CONNECTIONS} -t {HEALTH_THREADS}; --latency --timeout {WRK_TIMEOUT}; "
        f"{args.duration:.0f} s per run (the /healthz runs under load last as long as the "
        f"requests); POST body {SMALL_LINES} lines, big log {args.lines:,} lines"
    )
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; wrk and the servers share it; load average (1 min) "
        f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after; "
        f"total {time.perf_counter() - began:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
