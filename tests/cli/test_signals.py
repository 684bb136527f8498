"""Ctrl-C ends every command on the first press: exit code 130, one line on stderr, no
traceback, and no process left behind. Also when the command is blocked for ever: reading a
FIFO that has no writer, a pipe that stays silent, or a server that never answers.

A test waits until the process is where it blocks (the kernel function a thread sleeps in,
from /proc, Linux only) and only then sends SIGINT: to the process, or, as a terminal does, to
its whole process group.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import Launcher

ROOT = Path(__file__).parents[2]
SAMPLE = str(ROOT / "src/bifrost/samples/trainer.log")
HEALTHY = str(ROOT / "tests/data/logs/healthy.log")
INTERRUPTED = "bifrost: error: interrupted\n"
OPENING_A_FIFO = {"wait_for_partner", "fifo_open"}  # no writer yet
READING_A_PIPE = {"pipe_read", "anon_pipe_read"}  # a writer that says nothing
WAIT_S = 60  # generous: only there so that a broken test cannot hang the suite


@pytest.fixture
def fifo(tmp_path: Path) -> str:
    """A FIFO nobody ever opens for writing."""
    path = tmp_path / "live.log"
    os.mkfifo(path)
    return str(path)


def start(
    launcher: Launcher, *args: str, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """The command, with a standard input that stays open (and silent) until it ends."""
    return launcher.start(
        *args, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def wait_until_blocked(process: subprocess.Popen[bytes], waits: set[str]) -> None:
    """Wait until a thread of the process, or of a child of it, sleeps in one of `waits`."""
    deadline = time.monotonic() + WAIT_S
    seen: set[str] = set()
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        seen |= {wchan for pid in family(process.pid) for wchan in wchans(pid)}
        if seen & waits:
            return
        time.sleep(0.02)
    if not seen - {"", "0"}:
        pytest.skip("cannot see where a process waits (/proc/PID/task/TID/wchan)")
    pytest.fail(f"never blocked in {sorted(waits)}; seen {sorted(seen)}")


def family(pid: int) -> list[int]:
    """The process and its children."""
    return [pid, *children(pid)]


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def wchans(pid: int) -> set[str]:
    found = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found.add((task / "wchan").read_text().strip())
        except OSError:
            continue
    return found


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def alive(pid: int) -> bool:
    """Running still (a zombie waiting to be reaped has ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def ctrl_c(process: subprocess.Popen[bytes], *, group: bool = False) -> None:
    if group:
        os.killpg(process.pid, signal.SIGINT)
    else:
        process.send_signal(signal.SIGINT)


def ended(process: subprocess.Popen[bytes]) -> tuple[int, str, str]:
    """Exit code, stdout and stderr, once it ends; standard input stays open until then (its
    end would be an end of input, not a Ctrl-C)."""
    process.wait(timeout=WAIT_S)
    out, err = process.communicate()
    return process.returncode, out.decode(), err.decode()


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["analyze", "{fifo}"], id="analyze (fingerprint on a thread)"),
        pytest.param(["analyze", "--no-store", "{fifo}"], id="analyze (engine on a thread)"),
        pytest.param(["analyze", "--dry-run", "{fifo}"], id="analyze --dry-run"),
        pytest.param(["templates", "{fifo}"], id="templates"),
        pytest.param(["diff", HEALTHY, "{fifo}"], id="diff"),
    ],
)
def test_ctrl_c_stops_a_command_reading_a_fifo_without_a_writer(
    launcher: Launcher, fifo: str, args: list[str]
) -> None:
    process = start(launcher, *(a.format(fifo=fifo) for a in args))
    wait_until_blocked(process, OPENING_A_FIFO)
    ctrl_c(process)
    assert ended(process) == (130, "", INTERRUPTED)


def test_ctrl_c_stops_analyze_reading_a_silent_standard_input(launcher: Launcher) -> None:
    process = start(launcher, "analyze", "-")
    wait_until_blocked(process, READING_A_PIPE)
    ctrl_c(process, group=True)
    assert ended(process) == (130, "", INTERRUPTED)


def test_pressed_twice_ctrl_c_still_ends_with_one_line(launcher: Launcher, fifo: str) -> None:
    process = start(launcher, "analyze", fifo)
    wait_until_blocked(process, OPENING_A_FIFO)
    ctrl_c(process)
    ctrl_c(process)
    assert ended(process) == (130, "", INTERRUPTED)


def test_ctrl_c_stops_watch_after_its_summary(launcher: Launcher) -> None:
    process = start(launcher, "watch", "--no-color")
    assert process.stdin is not None
    process.stdin.write(b"2024-05-01 10:00:00 ERROR db: connection refused\n")
    process.stdin.flush()
    wait_until_blocked(process, READING_A_PIPE)
    ctrl_c(process, group=True)
    code, out, err = ended(process)
    assert (code, err) == (130, INTERRUPTED)
    assert "stopped" in out
    assert "1 lines read, 1 kinds of trouble" in out


def test_ctrl_c_is_said_in_the_language_asked_for(launcher: Launcher) -> None:
    process = start(launcher, "--lang", "ko", "watch", "--no-color")
    wait_until_blocked(process, READING_A_PIPE)
    ctrl_c(process, group=True)
    code, out, err = ended(process)
    assert (code, err) == (130, "bifrost: error: 중단됨\n")
    assert "멈춤" in out
    assert "0줄 읽음, 문제 0종류" in out


@pytest.mark.parametrize("group", [False, True], ids=["parent only", "process group"])
def test_ctrl_c_stops_batch_and_its_workers(launcher: Launcher, fifo: str, group: bool) -> None:
    process = start(launcher, "batch", fifo, SAMPLE, "-j", "2")
    wait_until_blocked(process, OPENING_A_FIFO)  # a worker opens the FIFO
    workers = [pid for pid in children(process.pid) if b"spawn_main" in cmdline(pid)]
    assert workers
    ctrl_c(process, group=group)
    assert ended(process) == (130, "", INTERRUPTED)
    assert not [pid for pid in workers if alive(pid)]  # none left behind, for ever blocked


@pytest.fixture
def silent_server() -> Iterator[socket.socket]:
    """A TCP server that accepts connections and never says a word."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server


@pytest.mark.parametrize(
    "args",
    [
        ["analyze", SAMPLE],
        ["diff", "--baseline", "api", SAMPLE],
        ["history"],
        ["history", "show", "1"],
        ["export"],
        ["feedback", "1", "--good"],
        ["keys", "list"],
        ["keys", "create", "ci"],
        ["db", "current"],
        ["db", "upgrade"],
        ["cache", "stats"],
        ["providers"],
    ],
    ids=" ".join,
)
def test_ctrl_c_stops_a_command_waiting_for_a_server(
    launcher: Launcher, silent_server: socket.socket, args: list[str]
) -> None:
    port = silent_server.getsockname()[1]
    # ssl=disable: asyncpg, stopped while it negotiates TLS, leaves an error nobody reads, which
    # asyncio reports on stderr (MagicStack/asyncpg#1211); not Bifrost's to hide
    database = f"postgresql+asyncpg://bifrost@127.0.0.1:{port}/history?ssl=disable"
    env = {
        "BIFROST_DATABASE_URL": database,
        "BIFROST_BASE_URL": f"http://127.0.0.1:{port}",  # the LLM provider (`providers`)
    }
    process = start(launcher, *args, env=env)
    silent_server.settimeout(WAIT_S)
    connection, _ = silent_server.accept()  # it waits for an answer now
    with connection:
        ctrl_c(process)
        assert ended(process) == (130, "", INTERRUPTED)
