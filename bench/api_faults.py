"""Faults under load on the HTTP API (`bifrost serve`): what the clients were told, what was
stored, and which processes were left.

One `bifrost serve --workers 2` (started as ``api_load.py`` starts its servers: a subprocess
in its own process group, auth off, no rate limit, JSON logs, the engine pool at its default
size, ``/healthz`` and every worker's ``ready to serve`` awaited) with PostgreSQL for the
history and Redis for the cache, goes through one phase per fault, in this order:

1. ``engine``: ``kill -9`` of one engine process (a child of a server worker whose command
   line holds ``multiprocessing.spawn``; the server workers are the ``multiprocessing.spawn``
   children of the ``bifrost serve`` process);
2. ``worker``: ``kill -9`` of one server worker;
3. ``postgres``: a PostgreSQL restart (``pg_ctlcluster VERSION CLUSTER restart``, the
   cluster found by ``pg_lsclusters`` from the port of ``--postgres``; ``--pg-restart CMD``
   overrides);
4. ``redis``: Redis stopped ``--redis-stop`` seconds (9) with SIGSTOP, then SIGCONT.
   SIGSTOP rather than ``DEBUG SLEEP``: the Redis here refuses DEBUG
   (``enable-debug-command no``). A stopped Redis accepts connections (the kernel does) and
   answers nothing, like a hung one. A detached ``sleep; kill -CONT`` watchdog resumes it even
   if this script dies;
5. ``sigterm``: SIGTERM to the ``bifrost serve`` process (not its group) with requests in
   flight; the clients go on sending until the phase ends, then the script waits for the
   server to exit and reads its exit code and whether its output (stdout and stderr in one
   file, as ``api_load.py`` keeps it; bifrost writes the line to stderr) has the
   ``Bifrost API stopped`` line. Without this phase, the server gets the same SIGTERM,
   without load, after the last phase.

Load: ``--clients`` threads (8), each with its own httpx client (keep-alive, no retries),
POST distinct small logs (a few lines of an error log around a fresh uuid, so that each
should be a new analysis answered 201) in a loop for the phase, and record every answer:
status, ``X-Bifrost-Analysis-Id``, the SHA-256 of the body (bifrost stores it as
``analyses.content_hash``), the error code of an error answer, or the transport error
(``ReadError``, ``ConnectError``…). After a failure (a transport error or a status ≥ 300) a
client pauses ``--pause`` seconds (0.1) before its next request, so that a server that refuses
connections is not hammered into thousands of rows. Each phase lasts ``--duration``
seconds (12); the fault is injected at a third of it, and the load goes on for at least a
third of it after the fault is over (so the Redis phase lasts about 17 s).

Before each phase the server must have recovered: ``/healthz`` answers 200 and it has
``--workers`` server workers again (within ``--recover-timeout``); a server that does not
ends the backend's phases (a note says so). After each phase, and again after the server has
stopped (the table uses the final figures; a difference is noted), the ``analyses`` table is
read (``id``, ``content_hash``) and the phase's answers are counted:

- ``201 ids stored``: 201 answers whose analysis id is stored with the body's hash;
- ``stored without 201``: stored analyses of this phase's logs that no client got a 201 for
  (e.g. analysed and stored by a worker that was killed before it answered);
- ``duplicates``: extra rows for a content hash of this phase (a log stored twice);
- ``processes left``: after a phase, processes of this run (found by a token in their
  environment) that are no longer descendants of ``bifrost serve`` (orphans); for the
  ``sigterm`` phase (or the final stop), every process of this run still alive 5 s after
  ``bifrost serve`` exited. Those are listed, then killed (SIGKILL, by pid).

Below the table, for each phase: when the fault came and how long it took; the requests in
flight during it and what became of them; every answer other than a plain 201 (a 200 or 201
whose Report warns ``not stored``, ``not cached`` or ``cache not used`` counts here, with the
warning), and when they came; the slowest request; the warnings and errors the server logged
meanwhile; after a kill, how long until every worker and engine process was back; after
SIGTERM, how long ``bifrost serve`` took to exit, its exit code and its ``stopped`` line.

Services are always restored (``finally``): SIGCONT to Redis, the PostgreSQL cluster started
if it is not online. The database named in ``--postgres`` is created afresh (it must not exist
unless its name holds ``faults``), brought up to date with ``bifrost db upgrade``, and dropped
at the end; the Redis database of ``--redis`` is flushed before and after. ``--sqlite`` also
runs the phases that need no PostgreSQL or Redis on a fresh SQLite history (its own
``XDG_DATA_HOME``), after the PostgreSQL ones. Needs ``psql`` and, for the restart,
``pg_ctlcluster`` (or ``--pg-restart``), run as a user allowed to restart the cluster and to
signal Redis (root here). About 2 minutes with the defaults.

    python bench/api_faults.py
    python bench/api_faults.py --phases engine,worker --duration 8 --clients 4
    python bench/api_faults.py --sqlite --bifrost "PYTHONPATH=/tmp/other/src python -m bifrost"
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import shlex
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

import api_load
import common

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/bifrost_faults"
DEFAULT_REDIS = "redis://127.0.0.1:6379/13"
TOKEN_VAR = "BENCH_API_FAULTS_RUN"  # not BIFROST_*: api_load.server_env drops those
STOPPED_LINE = "Bifrost API stopped"
SPAWN = "multiprocessing.spawn"
LEFT_AFTER_EXIT_S = 5.0  # a process still alive this long after `bifrost serve` exited is left

PHASES: dict[str, str] = {
    "engine": "kill -9 an engine process",
    "worker": "kill -9 a server worker",
    "postgres": "PostgreSQL restart",
    "redis": "Redis stopped (SIGSTOP)",
    "sigterm": "SIGTERM to bifrost serve",
}
NEEDS_SERVICES = ("postgres", "redis")  # phases the SQLite backend skips

say = api_load.say


# --------------------------------------------------------------------------------------------
# Processes (Linux /proc)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    cmdline: str


def run_processes(token: str) -> list[Proc]:
    """Live processes whose environment holds this run's token: the server and everything it
    spawned (multiprocessing's spawn passes the environment on), and nothing else."""
    needle = f"{TOKEN_VAR}={token}".encode()
    found: list[Proc] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            stat = (entry / "stat").read_text().rpartition(")")[2].split()
            if stat[0] == "Z":  # dead, waiting to be reaped
                continue
            words = (entry / "cmdline").read_bytes().split(b"\0")
            cmdline = b" ".join(w for w in words if w).decode("utf-8", errors="replace")
            found.append(Proc(int(entry.name), int(stat[1]), cmdline))
    return found


def children(procs: Iterable[Proc], parent: int) -> list[Proc]:
    """The ``multiprocessing.spawn`` children of ``parent`` (server workers of the serve
    process, engine processes of a worker), by pid."""
    return sorted(
        (p for p in procs if p.ppid == parent and SPAWN in p.cmdline), key=lambda p: p.pid
    )


def descendants(procs: Sequence[Proc], root: int) -> set[int]:
    found = {root}
    grew = True
    while grew:
        more = {p.pid for p in procs if p.ppid in found} - found
        found |= more
        grew = bool(more)
    return found


def roles(procs: Sequence[Proc], serve_pid: int) -> dict[int, str]:
    """What each process of the server is, while the serve process lives."""
    named = {serve_pid: "bifrost serve"}
    for worker in children(procs, serve_pid):
        named[worker.pid] = "server worker"
        for engine in children(procs, worker.pid):
            named[engine.pid] = f"engine process (of worker {worker.pid})"
    for proc in procs:
        if proc.pid not in named and "resource_tracker" in proc.cmdline:
            named[proc.pid] = "multiprocessing resource tracker"
    return named


def describe(proc: Proc, known: dict[int, str]) -> str:
    role = known.get(proc.pid, "unknown")
    return f"{proc.pid} ({role}, parent {proc.ppid}): {common.shorten(proc.cmdline, 90)}"


# --------------------------------------------------------------------------------------------
# Services: PostgreSQL and Redis
# --------------------------------------------------------------------------------------------


def run_quiet(argv: Sequence[str], timeout_s: float = 120.0) -> str:
    """Run a command; its stdout, or RuntimeError with its stderr."""
    try:
        done = subprocess.run(
            list(argv), capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RuntimeError(f"{shlex.join(argv)}: {exc}") from None
    if done.returncode != 0:
        raise RuntimeError(f"{shlex.join(argv)} exited {done.returncode}: {done.stderr.strip()}")
    return done.stdout


def database_name(url: str) -> str:
    name = urlsplit(url).path.lstrip("/")
    if not name:
        sys.exit(f"error: --postgres {url!r} names no database")
    return name


def admin_url(url: str) -> str:
    """The same server, the ``postgres`` database (for CREATE / DROP DATABASE)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, ""))


def psql(url: str, *statements: str) -> str:
    """Run statements with psql (one transaction each); the rows, space-separated."""
    parts = urlsplit(url)
    plain = urlunsplit((parts.scheme.partition("+")[0], *parts[1:]))  # no +asyncpg for psql
    argv = ["psql", plain, "-X", "-q", "-tA", "-F", " ", "-v", "ON_ERROR_STOP=1"]
    for statement in statements:
        argv += ["-c", statement]
    return run_quiet(argv)


def create_database(url: str) -> None:
    """A fresh, empty database; an existing one is dropped only when its name holds
    ``faults`` (a throwaway of this script)."""
    name = database_name(url)
    exists = psql(admin_url(url), f"SELECT 1 FROM pg_database WHERE datname = '{name}'").strip()
    if exists and "faults" not in name:
        sys.exit(f"error: database {name!r} exists; give --postgres a throwaway database name")
    psql(
        admin_url(url),
        f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
        f'CREATE DATABASE "{name}"',
    )


def drop_database(url: str) -> None:
    psql(admin_url(url), f'DROP DATABASE IF EXISTS "{database_name(url)}" WITH (FORCE)')


@dataclass(frozen=True)
class Cluster:
    """A PostgreSQL cluster of pg_lsclusters, or only a restart command."""

    restart: tuple[str, ...]
    start: tuple[str, ...] | None = None  # started when found not online at the end
    status: tuple[str, ...] | None = None  # prints "online" when it is up


def find_cluster(url: str, override: str | None) -> Cluster:
    if override:
        return Cluster(tuple(shlex.split(override)))
    port = urlsplit(url).port or 5432
    try:
        listing = run_quiet(["pg_lsclusters", "--no-header"])
    except RuntimeError as exc:
        sys.exit(f"error: cannot find the PostgreSQL cluster ({exc}); use --pg-restart CMD")
    for line in listing.splitlines():
        words = line.split()
        if len(words) >= 4 and words[2] == str(port):
            version, name = words[0], words[1]
            return Cluster(
                ("pg_ctlcluster", version, name, "restart"),
                ("pg_ctlcluster", version, name, "start"),
                ("pg_lsclusters", "--no-header", version, name),
            )
    sys.exit(f"error: no PostgreSQL cluster on port {port} in pg_lsclusters; use --pg-restart")


def ensure_postgres_up(cluster: Cluster) -> str:
    """Start the cluster when it is not online; a note when it had to be."""
    if cluster.start is None or cluster.status is None:
        return ""
    try:
        if "online" in run_quiet(cluster.status):
            return ""
        run_quiet(cluster.start)
        return f"PostgreSQL was not online at the end: {shlex.join(cluster.start)}"
    except RuntimeError as exc:
        return f"WARNING: could not check or start PostgreSQL: {exc}"


def redis_flush(url: str) -> None:
    import redis  # noqa: PLC0415

    with redis.Redis.from_url(url, socket_timeout=5) as client:
        client.flushdb()


def redis_pid(url: str) -> int:
    """The pid of the Redis server (INFO), which must run on this machine."""
    import redis  # noqa: PLC0415

    with redis.Redis.from_url(url, socket_timeout=5) as client:
        pid = int(client.info("server")["process_id"])
    if not Path(f"/proc/{pid}").exists():
        sys.exit(f"error: Redis pid {pid} is not on this machine; the redis phase needs it")
    return pid


def resume(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGCONT)


# --------------------------------------------------------------------------------------------
# Load
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One request: when it went (seconds since the phase began), and what came back."""

    sha256: str
    started: float
    ended: float
    status: int | None  # None: a transport error
    analysis_id: int | None = None
    error: str = ""  # the transport error's class, an error answer's code, a Report's warnings

    def label(self) -> str:
        if self.status is None:
            return self.error
        return f"{self.status} {self.error}".strip()


def small_log(phase: str, client: int, n: int) -> bytes:
    """A few lines of an error log, unique to this request."""
    job = uuid.uuid4()
    return (
        f"2026-03-01T10:00:00Z INFO  worker-{client} starting job {job} ({phase} #{n})\n"
        f"2026-03-01T10:00:01Z WARN  job {job}: upstream slow, retrying in 2s\n"
        f"2026-03-01T10:00:03Z ERROR job {job} failed: connection reset by peer\n"
        "Traceback (most recent call last):\n"
        '  File "/app/jobs.py", line 42, in run\n'
        "ConnectionResetError: [Errno 104] Connection reset by peer\n"
    ).encode()


def what_went_wrong(response: httpx.Response) -> str:
    """The error code of an error answer; for a 201 or 200, its cache header, and the
    Report's warnings about the history and the cache (``not stored: …``), if any."""
    body = common.json_or_none(response.text)
    if response.status_code >= 300:
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            return str(body["error"].get("code", ""))
        return ""
    said = (
        [] if response.status_code == 201 else [f"cache {response.headers.get('x-bifrost-cache')}"]
    )
    warnings = body.get("warnings", []) if isinstance(body, dict) else []
    said += [
        common.shorten(str(w), 100)
        for w in warnings
        if str(w).startswith(("not stored", "not cached", "cache not used", "input not stored"))
    ]
    return "; ".join(said)


def post_until(
    url: str,
    phase: str,
    client: int,
    stop: threading.Event,
    began: float,
    timeout_s: float,
    pause_s: float,
) -> list[Answer]:
    """One client: POST distinct logs until ``stop`` is set; every answer."""
    answers: list[Answer] = []
    headers = {"Content-Type": "text/plain"}
    with httpx.Client(timeout=timeout_s) as http:
        n = 0
        while not stop.is_set():
            body = small_log(phase, client, n)
            n += 1
            digest = hashlib.sha256(body).hexdigest()
            started = time.perf_counter() - began
            try:
                response = http.post(url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                ended = time.perf_counter() - began
                answers.append(Answer(digest, started, ended, None, error=type(exc).__name__))
                stop.wait(pause_s)
                continue
            ended = time.perf_counter() - began
            found = response.headers.get("x-bifrost-analysis-id", "")
            analysis_id = int(found) if found.isdigit() else None
            code = what_went_wrong(response)
            answers.append(Answer(digest, started, ended, response.status_code, analysis_id, code))
            if response.status_code >= 300:
                stop.wait(pause_s)
    return answers


# --------------------------------------------------------------------------------------------
# Faults
# --------------------------------------------------------------------------------------------


@dataclass
class Context:
    """What the faults act on."""

    server: api_load.Server
    token: str
    cluster: Cluster | None = None
    redis_pid: int | None = None
    redis_stop_s: float = 9.0
    workers: int = 0  # server workers and engine processes per worker when whole
    engines: int = 0
    killed: int | None = None  # the process the last kill was for
    known: dict[int, str] = field(default_factory=dict)  # every server process seen, by role

    @property
    def serve_pid(self) -> int:
        assert self.server.proc is not None
        return self.server.proc.pid

    def scan(self) -> list[Proc]:
        """The processes of this run, remembering the role of each process of the server."""
        procs = run_processes(self.token)
        if self.server.proc is not None and self.server.proc.poll() is None:
            self.known.update(roles(procs, self.serve_pid))
        return procs

    def shape(self) -> tuple[int, int, bool]:
        """(server workers, engine processes, whether the killed process is gone) now."""
        procs = self.scan()
        workers = children(procs, self.serve_pid)
        gone = all(p.pid != self.killed for p in procs)
        return len(workers), sum(len(children(procs, w.pid)) for w in workers), gone

    def whole(self) -> bool:
        """The killed process is gone (a SIGKILL takes effect a moment later) and every worker
        and engine process is there."""
        return self.shape() == (self.workers, self.workers * self.engines, True)


def kill_engine(ctx: Context) -> str:
    procs = ctx.scan()
    for worker in children(procs, ctx.serve_pid):
        engines = children(procs, worker.pid)
        if engines:
            ctx.killed = engines[0].pid
            os.kill(ctx.killed, signal.SIGKILL)
            return f"killed engine process {engines[0].pid} of worker {worker.pid}"
    raise RuntimeError("no engine process found")


def kill_worker(ctx: Context) -> str:
    workers = children(ctx.scan(), ctx.serve_pid)
    if not workers:
        raise RuntimeError("no server worker found")
    ctx.killed = workers[0].pid
    os.kill(ctx.killed, signal.SIGKILL)
    return f"killed server worker {workers[0].pid}"


def restart_postgres(ctx: Context) -> str:
    assert ctx.cluster is not None
    started = time.perf_counter()
    run_quiet(ctx.cluster.restart)
    return f"`{shlex.join(ctx.cluster.restart)}` took {time.perf_counter() - started:.1f} s"


def stop_redis(ctx: Context) -> str:
    """SIGSTOP, a detached watchdog that sends SIGCONT should this script die, SIGCONT."""
    pid = ctx.redis_pid
    assert pid is not None
    watchdog = subprocess.Popen(
        ["sh", "-c", f"sleep {ctx.redis_stop_s + 3:g}; kill -CONT {pid}"],
        start_new_session=True,
        stdin=subprocess.DEVNULL,
    )
    try:
        os.kill(pid, signal.SIGSTOP)
        time.sleep(ctx.redis_stop_s)
    finally:
        resume(pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(watchdog.pid, signal.SIGKILL)
        watchdog.wait()
    return f"redis-server {pid} stopped {ctx.redis_stop_s:g} s (SIGSTOP … SIGCONT)"


def sigterm_server(ctx: Context) -> str:
    ctx.scan()
    os.kill(ctx.serve_pid, signal.SIGTERM)
    return f"SIGTERM to bifrost serve {ctx.serve_pid}"


FAULTS: dict[str, Callable[[Context], str]] = {
    "engine": kill_engine,
    "worker": kill_worker,
    "postgres": restart_postgres,
    "redis": stop_redis,
    "sigterm": sigterm_server,
}


# --------------------------------------------------------------------------------------------
# Phases
# --------------------------------------------------------------------------------------------


@dataclass
class Phase:
    """One fault under load: the answers, and what was found afterwards."""

    name: str
    backend: str
    answers: list[Answer] = field(default_factory=list)
    fault_start: float = 0.0
    fault_end: float = 0.0
    fault_note: str = ""
    stored_after: list[tuple[int, str]] = field(default_factory=list)  # right after the phase
    logged: str = ""  # the warnings and errors in the server output during the phase
    left: list[str] = field(default_factory=list)  # processes left (described)
    notes: list[str] = field(default_factory=list)


def run_phase(ctx: Context, name: str, backend: str, args: argparse.Namespace) -> Phase:
    """Load from ``args.clients`` threads, the fault at a third of ``args.duration``."""
    phase = Phase(name, backend)
    url = f"{ctx.server.base}/api/v1/analyses"
    stop = threading.Event()
    fault_at = args.duration / 3
    log_from = output_size(ctx.server)
    began = time.perf_counter()
    with ThreadPoolExecutor(args.clients) as pool:
        futures = [
            pool.submit(post_until, url, name, i, stop, began, args.request_timeout, args.pause)
            for i in range(args.clients)
        ]
        try:
            time.sleep(fault_at)
            phase.fault_start = time.perf_counter() - began
            try:
                phase.fault_note = FAULTS[name](ctx)
            except (RuntimeError, OSError) as exc:
                phase.fault_note = f"FAULT FAILED: {exc}"
            phase.fault_end = time.perf_counter() - began
            until = max(args.duration, phase.fault_end + args.duration / 3)
            note = watch(ctx, name, began, phase.fault_start, until)
            if note:
                phase.notes.append(note)
            time.sleep(max(0.0, until - (time.perf_counter() - began)))
        finally:
            stop.set()
        for future in futures:
            phase.answers += future.result()
    phase.logged = logged_problems(ctx.server, (log_from, output_size(ctx.server)))
    return phase


def output_size(server: api_load.Server) -> int:
    with contextlib.suppress(OSError):
        return server.log.stat().st_size
    return 0


def logged_problems(server: api_load.Server, span: tuple[int, int]) -> str:
    """The warnings and errors the server logged in a span of its output, counted by event
    (JSON lines with a ``level``), with other lines that look like errors (tracebacks)."""
    try:
        with server.log.open("rb") as output:
            output.seek(span[0])
            text = output.read(span[1] - span[0]).decode("utf-8", errors="replace")
    except OSError:
        return ""
    events: Counter[str] = Counter()
    for line in text.splitlines():
        record = common.json_or_none(line)
        if isinstance(record, dict):
            if record.get("level") in ("warning", "error", "critical"):
                events[f"{record.get('level')} '{record.get('event')}'"] += 1
        elif "Error" in line or "Traceback" in line or "Warning" in line:
            events[f"output '{common.shorten(line.strip(), 80)}'"] += 1
    return ", ".join(f"{n}× {e}" for e, n in events.most_common(6))


def watch(ctx: Context, name: str, began: float, fault: float, until: float) -> str:
    """Until ``until`` (seconds since ``began``), every 0.2 s: after a kill, when the server is
    whole again (``ctx.workers`` workers with ``ctx.engines`` engine processes each); after
    SIGTERM, when ``bifrost serve`` exits. A note (none for the other faults)."""
    if name not in ("engine", "worker", "sigterm"):
        return ""
    proc = ctx.server.proc
    assert proc is not None
    while (now := time.perf_counter() - began) < until:
        if name == "sigterm" and proc.poll() is not None:
            return f"bifrost serve exited {now - fault:.1f} s after SIGTERM"
        if name != "sigterm" and ctx.whole():
            return (
                f"whole again ({ctx.workers} workers, {ctx.engines} engine processes each) "
                f"{now - fault:.1f} s after the kill"
            )
        time.sleep(0.2)
    if name == "sigterm":
        return "bifrost serve still running at the end of the phase"
    workers, engines, gone = ctx.shape()
    return f"NOT whole by the end of the phase: {workers} workers, {engines} engine processes" + (
        "" if gone else f", killed process {ctx.killed} still there"
    )


@dataclass(frozen=True)
class Tally:
    requests: int
    created: int
    ok: int
    busy: int
    other: int
    transport: int
    ids_stored: int
    stored_without_201: int
    duplicates: int
    mismatched: int  # 201 ids stored with another content hash


def tally(answers: Sequence[Answer], stored: Sequence[tuple[int, str]]) -> Tally:
    """Count a phase's answers against the analyses stored (id, content hash)."""
    statuses = Counter(a.status for a in answers)
    by_id = dict(stored)
    sent = {a.sha256 for a in answers}
    mine = [(i, h) for i, h in stored if h in sent]
    created = [a for a in answers if a.status == 201]
    created_ids = {a.analysis_id for a in created}
    hashes = Counter(h for _, h in mine)
    known = (201, 200, 503)
    return Tally(
        requests=len(answers),
        created=len(created),
        ok=statuses[200],
        busy=statuses[503],
        other=sum(n for s, n in statuses.items() if s is not None and s not in known),
        transport=statuses[None],
        ids_stored=sum(1 for a in created if by_id.get(a.analysis_id or -1) == a.sha256),
        stored_without_201=sum(1 for i, _ in mine if i not in created_ids),
        duplicates=sum(n - 1 for n in hashes.values() if n > 1),
        mismatched=sum(
            1 for a in created if a.analysis_id in by_id and by_id[a.analysis_id] != a.sha256
        ),
    )


def fault_overlap(phase: Phase) -> str:
    """What became of the requests in flight while the fault happened."""
    during = [
        a for a in phase.answers if a.started <= phase.fault_end and a.ended >= phase.fault_start
    ]
    outcomes = Counter(a.label() for a in during)
    listed = ", ".join(f"{n}× {label}" for label, n in outcomes.most_common())
    return f"{len(during)} requests in flight during the fault: {listed or 'none'}"


def failure_window(answers: Sequence[Answer]) -> str:
    """When the answers other than a plain 201 came: the first one's start, the last one's
    end."""
    failed = [a for a in answers if a.status != 201 or a.error]
    if not failed:
        return ""
    first = min(a.started for a in failed)
    last = max(a.ended for a in failed)
    return f" (sent from {first:.1f} s, answered until {last:.1f} s)"


def slowest(answers: Sequence[Answer]) -> str:
    """The longest request and when it was sent."""
    worst = max(answers, key=lambda a: a.ended - a.started, default=None)
    if worst is None:
        return "no requests"
    took = worst.ended - worst.started
    return f"slowest {took:.1f} s ({worst.label()}, sent at {worst.started:.1f} s)"


def outcome_counts(answers: Sequence[Answer]) -> str:
    outcomes = Counter(a.label() for a in answers if a.status != 201 or a.error)
    return ", ".join(f"{n}× {label}" for label, n in outcomes.most_common()) or "-"


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


def stored_analyses(backend: api_load.Backend, server: api_load.Server) -> list[tuple[int, str]]:
    """(id, content_hash) of every stored analysis; retried while the database restarts."""
    for attempt in range(10):
        try:
            if "BIFROST_DATABASE_URL" in backend.env:
                url = backend.env["BIFROST_DATABASE_URL"]
                text = psql(url, "SELECT id, content_hash FROM analyses")
                return [(int(i), h) for i, h in (line.split() for line in text.splitlines())]
            path = next(Path(server.env["XDG_DATA_HOME"]).glob("**/bifrost.db"))
            uri = f"file:{path}?mode=ro"
            with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=10)) as db:
                return [
                    (int(i), str(h)) for i, h in db.execute("SELECT id, content_hash FROM analyses")
                ]
        except (RuntimeError, sqlite3.Error, StopIteration) as exc:
            if attempt == 9:
                raise RuntimeError(f"cannot read the analyses: {exc}") from None
            time.sleep(1)
    return []


def wait_recovered(ctx: Context, workers: int, timeout_s: float) -> float:
    """Seconds until /healthz answers 200 and there are ``workers`` server workers."""
    started = time.perf_counter()
    with httpx.Client(timeout=2.0) as http:
        while time.perf_counter() - started < timeout_s:
            if ctx.server.proc is None or ctx.server.proc.poll() is not None:
                raise RuntimeError("bifrost serve has exited")
            if len(children(ctx.scan(), ctx.serve_pid)) == workers:
                with contextlib.suppress(httpx.HTTPError):
                    if http.get(f"{ctx.server.base}/healthz").status_code == 200:
                        return time.perf_counter() - started
            time.sleep(0.2)
    raise RuntimeError(f"not recovered after {timeout_s:.0f} s")


def orphans(ctx: Context) -> list[str]:
    """Processes of this run that are not (or no longer) below the serve process."""
    time.sleep(1.0)  # let a killed process's children see it die
    procs = ctx.scan()
    alive = ctx.server.proc is not None and ctx.server.proc.poll() is None
    below = descendants(procs, ctx.serve_pid) if alive else set()
    return [describe(p, ctx.known) for p in procs if p.pid not in below]


@dataclass(frozen=True)
class Stop:
    """How the serve process ended."""

    exit_code: int | None
    stopped_line: str
    seconds: float
    left: list[str]


def wait_stopped(ctx: Context, timeout_s: float) -> Stop:
    """Wait for the serve process to exit (it was sent SIGTERM), then list and kill (SIGKILL,
    by pid) the processes of this run still alive ``LEFT_AFTER_EXIT_S`` later."""
    proc = ctx.server.proc
    assert proc is not None
    started = time.perf_counter()
    code: int | None
    try:
        code = proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        code = None
    seconds = time.perf_counter() - started
    deadline = time.perf_counter() + LEFT_AFTER_EXIT_S
    procs = ctx.scan()
    while procs and time.perf_counter() < deadline:
        time.sleep(0.2)
        procs = ctx.scan()
    left = [describe(p, ctx.known) for p in procs]
    for p in procs:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p.pid, signal.SIGKILL)
    text = ctx.server.log.read_text(encoding="utf-8", errors="replace")
    line = next((t for t in text.splitlines() if STOPPED_LINE in t), "")
    return Stop(code, line, seconds, left)


def leaked_warnings(server: api_load.Server) -> int:
    """multiprocessing's resource tracker warns so when a process it served was killed."""
    try:
        text = server.log.read_text(encoding="utf-8", errors="replace")
    except OSError:  # the server never started
        return 0
    return sum(1 for line in text.splitlines() if "leaked semaphore" in line)


def preflight(server: api_load.Server, backend: api_load.Backend) -> None:
    """One POST: a 201 whose analysis is stored with the SHA-256 of the body."""
    body = small_log("preflight", 0, 0)
    with httpx.Client(timeout=60.0) as http:
        answer = http.post(
            f"{server.base}/api/v1/analyses", content=body, headers={"Content-Type": "text/plain"}
        )
    found = answer.headers.get("x-bifrost-analysis-id", "")
    if answer.status_code != 201 or not found.isdigit():
        raise RuntimeError(f"preflight POST answered {answer.status_code}: {answer.text[:300]}")
    stored = dict(stored_analyses(backend, server))
    if stored.get(int(found)) != hashlib.sha256(body).hexdigest():
        raise RuntimeError(
            f"analysis {found} is stored with content_hash {stored.get(int(found))!r}, not the "
            "body's SHA-256: the counts would be wrong"
        )


@dataclass
class Outcome:
    """A backend's phases, how its server stopped, what it stored in the end."""

    backend: api_load.Backend
    phases: list[Phase] = field(default_factory=list)
    stop: Stop | None = None
    stored: list[tuple[int, str]] = field(default_factory=list)
    problem: str = ""
    notes: list[str] = field(default_factory=list)


def run_backend(
    cmd: common.Command,
    tmp: Path,
    args: argparse.Namespace,
    backend: api_load.Backend,
    phases: Sequence[str],
    ctx: Context,
) -> Outcome:
    """Every phase on one server (``ctx.server``), then the analyses stored."""
    server = ctx.server
    outcome = Outcome(backend)
    done = outcome.phases
    try:
        api_load.upgrade_database(cmd, backend)
        say(f"starting {shlex.join(server.argv)} ({backend.name}) …")
        server.start(server.port)
        ready_s = server.wait_ready(args.start_timeout, ready_events=args.workers)
        say(f"  ready after {ready_s:.1f} s")
        ctx.workers = args.workers
        ctx.engines = int(str(server.ready_events()[0].get("engine_processes", 0)))
        preflight(server, backend)
        ctx.scan()
        for name in phases:
            if done:
                try:
                    recovered = wait_recovered(ctx, args.workers, args.recover_timeout)
                except RuntimeError as exc:
                    done[-1].notes.append(f"SERVER DID NOT RECOVER: {exc}; later phases skipped")
                    break
                if recovered > 0.5:
                    done[-1].notes.append(
                        f"/healthz 200 with {args.workers} workers only {recovered:.1f} s after "
                        "the phase"
                    )
            say(f"  phase {name}: {PHASES[name]} …")
            phase = run_phase(ctx, name, backend.name, args)
            done.append(phase)
            say(f"    {phase.fault_note}; {len(phase.answers)} requests")
            if name == "sigterm":
                outcome.stop = wait_stopped(ctx, args.stop_timeout)
                phase.left = outcome.stop.left
            else:
                phase.left = orphans(ctx)
            time.sleep(1.0)  # a store still under way for a request that got no answer
            phase.stored_after = stored_analyses(backend, server)
        if outcome.stop is None and server.proc is not None and server.proc.poll() is None:
            say("  SIGTERM to bifrost serve, no load …")
            os.kill(ctx.serve_pid, signal.SIGTERM)
            outcome.stop = wait_stopped(ctx, args.stop_timeout)
    except (RuntimeError, ValueError, OSError, httpx.HTTPError, subprocess.SubprocessError) as exc:
        outcome.problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        say(f"error: {backend.name}: {exc}")
    finally:
        server.stop()
    with contextlib.suppress(RuntimeError):
        outcome.stored = stored_analyses(backend, server)
    leaked = leaked_warnings(server)
    if leaked:
        outcome.notes.append(f"{leaked} 'leaked semaphore' warnings in the server output")
    return outcome


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------

HEADERS = (
    "fault",
    "requests",
    "201",
    "200",
    "503",
    "other",
    "transport errors",
    "201 ids stored",
    "stored without 201",
    "duplicates",
    "processes left",
)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table, the first column left-aligned, the others right-aligned."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        padded = [
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = (
        "|"
        + "|".join(
            ("-" * (w + 1) + ":") if i else (":" + "-" * (w + 1)) for i, w in enumerate(widths)
        )
        + "|"
    )
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def phase_row(phase: Phase, final: Tally, label: str) -> list[str]:
    return [
        label,
        str(final.requests),
        str(final.created),
        str(final.ok),
        str(final.busy),
        str(final.other),
        str(final.transport),
        str(final.ids_stored),
        str(final.stored_without_201),
        str(final.duplicates),
        str(len(phase.left)),
    ]


def report(outcomes: Sequence[Outcome], several: bool) -> tuple[str, list[str]]:
    """The table and the notes below it."""
    rows: list[list[str]] = []
    notes: list[str] = []
    for outcome in outcomes:
        prefix = f"{outcome.backend.name}: " if several else ""
        for phase in outcome.phases:
            label = f"{prefix}{PHASES[phase.name]}"
            final = tally(phase.answers, outcome.stored)
            rows.append(phase_row(phase, final, label))
            length = max((a.ended for a in phase.answers), default=0.0)
            notes.append(
                f"- **{label}**: {phase.fault_note} at {phase.fault_start:.1f} s (over at "
                f"{phase.fault_end:.1f} s; last answer at {length:.1f} s). "
                f"{fault_overlap(phase)}. Other than a plain 201: {outcome_counts(phase.answers)}"
                f"{failure_window(phase.answers)}; {slowest(phase.answers)}."
            )
            if final.mismatched:
                notes.append(f"  - {final.mismatched} 201 ids are stored with another hash")
            after = tally(phase.answers, phase.stored_after)
            if phase.stored_after and after != final:
                notes.append(
                    f"  - right after the phase: {after.ids_stored} 201 ids stored, "
                    f"{after.stored_without_201} stored without 201, {after.duplicates} "
                    "duplicates (the table counts after the server stopped)"
                )
            if phase.logged:
                notes.append(f"  - server logged: {phase.logged}")
            notes += [f"  - {n}" for n in phase.notes]
            notes += [f"  - left: {p}" for p in phase.left]
        stop = outcome.stop
        if stop is not None and not any(p.name == "sigterm" for p in outcome.phases):
            rows.append(
                [f"{prefix}server stop (SIGTERM, no load)", *["-"] * 9, str(len(stop.left))]
            )
            notes += [f"  - left after the stop: {p}" for p in stop.left]
        if stop is not None:
            code = "did not exit" if stop.exit_code is None else f"exit code {stop.exit_code}"
            if stop.seconds >= 0.5:
                code += f" ({stop.seconds:.1f} s after the load stopped)"
            line = (
                f"printed '{stop.stopped_line.strip()}'" if stop.stopped_line else "NO stopped line"
            )
            notes.append(f"- {prefix}bifrost serve after SIGTERM: {code}; {line}")
        notes += [f"- {prefix}{n}" for n in outcome.notes]
        if outcome.problem:
            rows.append([f"{prefix}FAILED", *["-"] * 10])
            notes.append(f"- {prefix}FAILED: {outcome.problem}")
    return markdown_table(HEADERS, rows), notes


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def phase_list(text: str) -> list[str]:
    names = [p.strip() for p in text.split(",") if p.strip()]
    unknown = [n for n in names if n not in PHASES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"phases are {','.join(PHASES)}: not {unknown or text!r}")
    return [n for n in PHASES if n in names]  # always in the documented order


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--bifrost",
        default=None,
        metavar="CMD",
        help="command that runs the CLI (as in the other scripts); default: this Python with "
        "-m bifrost and PYTHONPATH=<repo>/src",
    )
    parser.add_argument("--duration", type=float, default=12.0, help="seconds per phase (12)")
    parser.add_argument("--clients", type=int, default=8, help="client threads (default 8)")
    parser.add_argument("--workers", type=int, default=2, help="bifrost serve --workers (2)")
    parser.add_argument(
        "--phases",
        type=phase_list,
        default=list(PHASES),
        help=f"comma-separated subset of {','.join(PHASES)} (default: all, in that order)",
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default=DEFAULT_POSTGRES,
        help=f"throwaway database, created and dropped (default {DEFAULT_POSTGRES})",
    )
    parser.add_argument(
        "--redis", metavar="URL", default=DEFAULT_REDIS, help=f"flushed (default {DEFAULT_REDIS})"
    )
    parser.add_argument(
        "--sqlite", action="store_true", help="also the engine/worker/sigterm phases on SQLite"
    )
    parser.add_argument(
        "--pg-restart", metavar="CMD", help="command that restarts PostgreSQL (default: found)"
    )
    parser.add_argument("--redis-stop", type=float, default=9.0, help="seconds Redis is stopped")
    parser.add_argument("--pause", type=float, default=0.1, help="client pause after a failure")
    parser.add_argument("--request-timeout", type=float, default=60.0, help="httpx timeout")
    parser.add_argument("--start-timeout", type=float, default=120.0, help="server start, s")
    parser.add_argument("--recover-timeout", type=float, default=60.0, help="recovery, s")
    parser.add_argument("--stop-timeout", type=float, default=60.0, help="exit after SIGTERM, s")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.workers < 1 or args.duration <= 0:
        parser.error("--clients and --workers must be ≥ 1, --duration > 0")
    return args


@contextlib.contextmanager
def services(
    args: argparse.Namespace, cluster: Cluster | None, rpid: int | None
) -> Iterator[list[str]]:
    """The throwaway database and the flushed Redis database; on the way out, whatever
    happened, Redis resumed, PostgreSQL online, the database dropped, Redis flushed. Yields
    the list that collects notes about the clean-up."""
    notes: list[str] = []
    create_database(args.postgres)
    try:
        redis_flush(args.redis)
        yield notes
    finally:
        if rpid is not None:
            resume(rpid)
        if cluster is not None:
            note = ensure_postgres_up(cluster)
            if note:
                notes.append(note)
        try:
            drop_database(args.postgres)
            redis_flush(args.redis)
        except Exception as exc:  # say so, and let the first error through
            notes.append(f"WARNING: clean-up failed: {exc}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.perf_counter()
    cmd = api_load.default_command(args.bifrost)
    sqlite, pg_redis = api_load.backends(args.postgres, args.redis)
    chosen = [pg_redis, sqlite] if args.sqlite else [pg_redis]
    cluster = find_cluster(args.postgres, args.pg_restart) if "postgres" in args.phases else None
    rpid = redis_pid(args.redis) if "redis" in args.phases else None
    outcomes: list[Outcome] = []
    with (
        services(args, cluster, rpid) as cleanup,
        tempfile.TemporaryDirectory(prefix="bifrost-api-faults-") as tmp_dir,
    ):
        tmp = Path(tmp_dir)
        for backend in chosen:
            on_services = "BIFROST_DATABASE_URL" in backend.env
            phases = [p for p in args.phases if on_services or p not in NEEDS_SERVICES]
            server = api_load.bifrost_server(cmd, tmp, args.workers, backend)
            ctx = Context(server, uuid.uuid4().hex, redis_stop_s=args.redis_stop)
            if on_services:
                ctx.cluster, ctx.redis_pid = cluster, rpid
            server.env[TOKEN_VAR] = ctx.token
            outcomes.append(run_backend(cmd, tmp, args, backend, phases, ctx))
            if outcomes[-1].phases:
                say(f"  done: {outcomes[-1].phases[-1].name}")

    table, notes = report(outcomes, len(chosen) > 1)
    print(table)
    print()
    for note in [*notes, *cleanup]:
        print(note)
    print()
    print(
        f"bifrost: {cmd.describe()} serve --workers {args.workers}; {args.clients} clients, "
        f"{args.duration:g} s per phase (fault at a third), pause {args.pause:g} s after a "
        f"failure; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; total "
        f"{time.perf_counter() - began:.0f} s"
    )
    return 1 if any(o.problem for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
