"""The engine's process pool: its processes end with the server process, and with the pool.

(That they end when a real server's worker is killed is tested in `test_serve.py`.)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest

from bifrost.analysis.pool import EnginePool
from bifrost.config import Settings
from bifrost.engine.read import Source
from bifrost.errors import ServiceError

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")


def running(pid: int) -> bool:
    """Not ended (a zombie has: it only waits for its parent to collect its exit status)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat[stat.rindex(")") + 2] not in "ZX"


def engine_processes() -> list[int]:
    """The running processes this test process started with multiprocessing's spawn."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:  # not a process, or it ended meanwhile
            continue
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        spawned = parent == os.getpid() and b"multiprocessing.spawn" in command
        if spawned and running(int(entry.name)):
            found.append(int(entry.name))
    return found


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"still waiting for {what} after {timeout_s:g} s")
        time.sleep(0.05)


@pytest.fixture
def silent_fifo(tmp_path: Path) -> Iterator[Path]:
    """A FIFO held open for writing and never written to: reading it waits until the fixture
    closes it (so a failed test leaves no process blocked)."""
    fifo = tmp_path / "silent.log"
    os.mkfifo(fifo)
    writer = os.open(fifo, os.O_RDWR)
    try:
        yield fifo
    finally:
        os.close(writer)


def test_closing_the_pool_stops_an_analysis_nobody_waits_for(silent_fifo: Path) -> None:
    """The server closes its pool once its requests are answered or given up on: an analysis
    still running then is stopped, not waited for (it could run for minutes)."""

    def reading_the_fifo() -> bool:
        return bool(readers_of(silent_fifo))

    async def scenario() -> None:
        pool = EnginePool(1)
        source = Source(name="silent.log", path=silent_fifo)
        analysis = asyncio.create_task(pool([source], Settings(), None))
        await asyncio.to_thread(wait_for, reading_the_fifo, "the engine to read the FIFO")
        engines = engine_processes()
        # A thread of its own, not the loop's executor, which `asyncio.run` waits for.
        closing = threading.Thread(target=pool.close, daemon=True)
        closing.start()
        await asyncio.to_thread(closing.join, 60)
        assert not closing.is_alive(), "closing the pool waits for the analysis"
        with pytest.raises(ServiceError):
            await analysis
        assert not [pid for pid in engines if running(pid)]

    asyncio.run(scenario())


@pytest.fixture
def fifo_logs(tmp_path: Path) -> Iterator[list[tuple[Path, int]]]:
    """Two FIFOs, each held open for writing (its descriptor beside it): an engine reading one
    waits, without consuming anything, until the test writes the log and closes it."""
    fifos = []
    for name in ("a.log", "b.log"):
        os.mkfifo(tmp_path / name)
        fifos.append((tmp_path / name, os.open(tmp_path / name, os.O_RDWR)))
    try:
        yield fifos
    finally:
        for _, writer in fifos:
            with contextlib.suppress(OSError):
                os.close(writer)


def readers_of(fifo: Path) -> list[int]:
    """The engine processes that have `fifo` open (one that ends meanwhile has none)."""
    return [pid for pid in engine_processes() if fifo.resolve() in open_files(pid)]


def open_files(pid: int) -> set[Path]:
    try:
        return {Path(f"/proc/{pid}/fd/{fd}").resolve() for fd in os.listdir(f"/proc/{pid}/fd")}
    except FileNotFoundError:  # the process ended between the listing and the look
        return set()


def has_readers(fifo: Path, besides: int | None = None) -> bool:
    """Some engine process other than `besides` has `fifo` open."""
    return bool(set(readers_of(fifo)) - {besides})


LOG = b"2024-05-01 12:00:00 ERROR worker crashed: CUDA out of memory\n"


def test_a_killed_engine_process_fails_no_analysis(fifo_logs: list[tuple[Path, int]]) -> None:
    """Killing one engine process breaks the whole pool, and so every analysis running on it;
    each is run again on a new pool, and both answer."""

    async def scenario() -> None:
        pool = EnginePool(2)
        try:
            analyses = [
                asyncio.create_task(pool([Source(name=f.name, path=f)], Settings(), None))
                for f, _ in fifo_logs
            ]
            first = {}
            for fifo, _ in fifo_logs:
                await asyncio.to_thread(wait_for, partial(has_readers, fifo), "a reader")
                first[fifo] = readers_of(fifo)[0]
            os.kill(first[fifo_logs[0][0]], signal.SIGKILL)
            for fifo, writer in fifo_logs:  # read again, by new processes
                await asyncio.to_thread(
                    wait_for, partial(has_readers, fifo, besides=first[fifo]), "a new reader"
                )
                os.write(writer, LOG)
                os.close(writer)
            reports = await asyncio.gather(*analyses)
            assert [report.verdict for report in reports] == ["failure", "failure"]
        finally:
            pool.close()

    asyncio.run(scenario())


def test_an_analysis_that_breaks_the_pool_twice_gets_an_error(
    fifo_logs: list[tuple[Path, int]],
) -> None:
    """What kills its process every time (a log needing more memory than there is) is not
    run a third time."""
    fifo, _ = fifo_logs[0]

    async def scenario() -> None:
        pool = EnginePool(1)
        try:
            analysis = asyncio.create_task(
                pool([Source(name=fifo.name, path=fifo)], Settings(), None)
            )
            killed: set[int] = set()
            for _ in range(2):
                await asyncio.to_thread(
                    wait_for, lambda: bool(set(readers_of(fifo)) - killed), "a reader"
                )
                reader = readers_of(fifo)[0]
                os.kill(reader, signal.SIGKILL)
                killed.add(reader)
            with pytest.raises(ServiceError, match="stopped twice"):
                await analysis
        finally:
            pool.close()

    asyncio.run(scenario())


def test_without_prctl_an_engine_process_still_ends_with_its_parent() -> None:
    """`_watch_parent`, which `_die_with` starts where there is no PR_SET_PDEATHSIG."""
    orphan = (
        "import os; from bifrost.analysis.pool import _watch_parent; parent = os.getppid(); "
        "print(os.getpid(), flush=True); _watch_parent(parent)"
    )
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', {orphan!r}]); "
            "time.sleep(600)",
        ],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert parent.stdout is not None
        watcher = int(parent.stdout.readline())
        os.kill(parent.pid, signal.SIGKILL)
        wait_for(lambda: not running(watcher), "the orphan to end")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(parent.pid, signal.SIGKILL)
        parent.wait(timeout=30)
        if parent.stdout is not None:
            parent.stdout.close()
