"""Shared test fixtures: run the real `bifrost` command as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def bifrost(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """Run `python -m bifrost ARGS` in a subprocess; returns the completed process.

    Each test gets its own data directory, so the embedded history database starts empty.
    """
    home = tmp_path_factory.mktemp("home")

    def run(
        *args: str, stdin: str | bytes | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("BIFROST_")}
        full_env.pop("NO_COLOR", None)
        full_env["XDG_DATA_HOME"] = str(home / "data")
        full_env["HOME"] = str(home)
        full_env.update(env or {})
        data = stdin.encode() if isinstance(stdin, str) else stdin
        result = subprocess.run(
            [sys.executable, "-m", "bifrost", *args],
            input=data,
            capture_output=True,
            env=full_env,
            timeout=120,
            check=False,
        )
        return subprocess.CompletedProcess(
            result.args,
            result.returncode,
            result.stdout.decode("utf-8", "replace"),
            result.stderr.decode("utf-8", "replace"),
        )

    return run
