"""The suite's checks for its servers (PostgreSQL, Redis) try the configured URLs, and in CI a
server that cannot be used fails the tests that need it instead of skipping them.

Each case runs a small pytest session in a subprocess, with `tests/conftest.py` as a plugin
and both URLs on a port where nothing listens.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]

NEEDS_SERVERS = """
def test_needs_postgres(postgres):
    pass


def test_needs_redis(redis_url):
    pass
"""


@pytest.fixture
def closed_port() -> int:
    """A local port nothing listens on (it was bound, then let go)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def session(tmp_path: Path, port: int, ci: str | None) -> str:
    """pytest's report of both tests, the servers configured on `port`."""
    (tmp_path / "test_needs_servers.py").write_text(NEEDS_SERVERS)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BIFROST_") and k != "CI"}
    env |= {
        "PYTHONPATH": str(ROOT),
        "BIFROST_TEST_POSTGRES_URL": f"postgresql+asyncpg://postgres@127.0.0.1:{port}/test",
        "BIFROST_TEST_REDIS_URL": f"redis://127.0.0.1:{port}/15",
    }
    if ci is not None:
        env["CI"] = ci
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-rsE", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return result.stdout


def test_servers_that_cannot_be_used_skip_their_tests_outside_ci(
    tmp_path: Path, closed_port: int
) -> None:
    report = session(tmp_path, closed_port, ci=None)
    assert re.search(r"\b2 skipped\b", report), report
    skips = [line for line in report.splitlines() if line.startswith("SKIPPED")]
    assert len(skips) == 2, report
    assert all(f"127.0.0.1:{closed_port}" in line for line in skips), report  # where it looked


@pytest.mark.parametrize("ci", ["true", "1"])
def test_in_ci_servers_that_cannot_be_used_fail_their_tests(
    tmp_path: Path, closed_port: int, ci: str
) -> None:
    report = session(tmp_path, closed_port, ci=ci)
    assert re.search(r"\b2 errors\b", report), report
    assert "skipped" not in report, report
    assert report.count(f"127.0.0.1:{closed_port}") >= 2, report
