"""`bifrost` as a process the test holds: to interrupt it, or to give it a stdout nobody reads.

The `bifrost` fixture of tests/conftest.py runs a command to its end; these tests need the
process itself. Each launcher has a data directory of its own (`XDG_DATA_HOME`), so the
history starts empty, and every process it starts leads a process group of its own, which
the test can signal as a terminal does and which is killed if the test leaves it running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


class Launcher:
    """Starts `python -m bifrost ARGS` with a throw-away home and data directory."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.started: list[subprocess.Popen[bytes]] = []

    def start(
        self, *args: str, env: dict[str, str] | None = None, **popen: Any
    ) -> subprocess.Popen[bytes]:
        """The process, started; keyword arguments go to Popen (`env` adds variables)."""
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("BIFROST_")}
        full_env.pop("NO_COLOR", None)
        full_env |= {"XDG_DATA_HOME": str(self.home / "data"), "HOME": str(self.home)}
        full_env |= env or {}
        process = subprocess.Popen(
            [sys.executable, "-m", "bifrost", *args],
            env=full_env,
            start_new_session=True,
            **popen,
        )
        self.started.append(process)
        return process

    def run(self, *args: str, **popen: Any) -> subprocess.CompletedProcess[bytes]:
        """Run to the end (a command that prepares the history), which must succeed or find
        something (exit code 0 or 1)."""
        process = self.start(
            *args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen
        )
        out, err = process.communicate(timeout=120)
        assert process.returncode in (0, 1), err.decode()
        return subprocess.CompletedProcess(process.args, process.returncode, out, err)

    def kill_leftovers(self) -> None:
        for process in self.started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
def launcher(tmp_path: Path) -> Iterator[Launcher]:
    started = Launcher(tmp_path / "home")
    yield started
    started.kill_leftovers()
