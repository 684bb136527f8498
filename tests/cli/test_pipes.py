"""A reader of stdout that goes away (`bifrost export | head -1`) ends every command quietly:
exit code 141 (128 + SIGPIPE, as a shell reports `yes | head -1`), nothing on stderr.

Each command writes to a pipe whose reading end was closed before it started, so its first
write to stdout fails, whatever the size of its output. The history they read is made once.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import Launcher

ROOT = Path(__file__).parents[2]
SAMPLE = str(ROOT / "src/bifrost/samples/trainer.log")
HEALTHY = str(ROOT / "tests/data/logs/healthy.log")
ERRORS = b"2024-05-01 10:00:00 ERROR db: connection refused\n" * 3

WRITERS: list[list[str]] = [
    *(
        ["analyze", SAMPLE, "--no-cache", "-f", fmt]
        for fmt in ("terminal", "json", "markdown", "sarif", "github", "junit")
    ),
    ["analyze", SAMPLE, "--dry-run"],
    *(["templates", SAMPLE, "-f", fmt] for fmt in ("table", "jsonl", "json")),
    *(["filter", SAMPLE, "-f", fmt] for fmt in ("text", "jsonl")),
    ["filter", SAMPLE, "--stats"],
    ["filter", SAMPLE, "--dedupe"],
    ["diff", HEALTHY, SAMPLE],
    ["diff", HEALTHY, SAMPLE, "-f", "json"],
    ["diff", "--baseline", "api", SAMPLE],
    ["batch", SAMPLE, HEALTHY],
    *(["batch", SAMPLE, HEALTHY, "-f", fmt] for fmt in ("json", "jsonl", "csv")),
    ["history"],
    ["history", "show", "1"],
    ["history", "show", "1", "--json"],
    ["history", "path"],
    ["export", "-f", "csv"],  # jsonl, the default: see below
    ["export", "-f", "json"],
    ["feedback", "1", "--good"],
    ["db", "upgrade"],
    ["db", "current"],
    ["cache", "stats"],
    ["cache", "clear"],
    ["keys", "create", "ci"],
    ["keys", "list"],
    ["keys", "list", "--json"],
    ["keys", "revoke", "1"],
    ["providers"],
    ["completion", "bash"],
]


@pytest.fixture(scope="module")
def launcher(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launcher]:
    """A history holding a failing and a good run of service `api` (with their input, for
    `diff --baseline`), and API key 1."""
    started = Launcher(tmp_path_factory.mktemp("home"))
    started.run("analyze", SAMPLE, "-q", "--service", "api", "--store-input")
    started.run("analyze", HEALTHY, "-q", "--service", "api", "--store-input")
    started.run("keys", "create", "bot")
    yield started
    started.kill_leftovers()


def with_closed_stdout(
    launcher: Launcher, *args: str, stdin: bytes | None = None
) -> tuple[int, str]:
    """Exit code and stderr of the command, its stdout a pipe nobody reads any more."""
    reading, writing = os.pipe()
    os.close(reading)
    try:
        process = launcher.start(
            *args,
            stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
            stdout=writing,
            stderr=subprocess.PIPE,
        )
    finally:
        os.close(writing)
    _, err = process.communicate(stdin, timeout=120)
    return process.returncode, err.decode()


@pytest.mark.parametrize("args", WRITERS, ids=lambda args: " ".join(args).replace(str(ROOT), ""))
def test_a_command_whose_reader_went_away_ends_quietly(launcher: Launcher, args: list[str]) -> None:
    assert with_closed_stdout(launcher, *args) == (141, "")


def test_export_of_jsonl_whose_reader_went_away_ends_quietly(launcher: Launcher) -> None:
    """jsonl's first line is written while the history is being read (csv's header and
    json's `[` are written before)."""
    assert with_closed_stdout(launcher, "export", "-f", "jsonl") == (141, "")


def test_analyze_of_standard_input_whose_reader_went_away_ends_quietly(launcher: Launcher) -> None:
    log = Path(SAMPLE).read_bytes()
    args = ("analyze", "-", "--no-cache", "-f", "json")
    assert with_closed_stdout(launcher, *args, stdin=log) == (141, "")


def test_watch_whose_reader_went_away_stops_quietly(launcher: Launcher) -> None:
    assert with_closed_stdout(launcher, "watch", stdin=ERRORS) == (141, "")
