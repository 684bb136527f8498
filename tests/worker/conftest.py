"""What the worker tests of every broker share: requests as another system sends them, a
worker running in the test's event loop, and `bifrost jobs` as a user runs it."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

import pytest

from bifrost.brokers import Channels
from bifrost.messages import MAX_INLINE_LOG
from bifrost.worker.service import Worker

ROOT = Path(__file__).parents[2]
TRAINER = (ROOT / "src/bifrost/samples/trainer.log").read_text(encoding="utf-8")


def request(request_id: str, log: str = TRAINER, **extra: Any) -> bytes:
    message = {"schema": "bifrost.request/v1", "request_id": request_id, "source": "alerts"}
    return json.dumps({**message, "log": log, **extra}).encode()


@pytest.fixture(scope="session")
def long_log() -> str:
    """A log long enough to take a worker a moment, short enough to send inline: the sample,
    repeated to about 6 MB (some 60k lines)."""
    copies = 6_000_000 // len(TRAINER)
    assert copies * len(TRAINER) < MAX_INLINE_LOG
    return TRAINER * copies


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'history.db'}"


@asynccontextmanager
async def running(worker: Worker) -> AsyncIterator[None]:
    """The worker consuming in this process's event loop until the block ends."""
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        yield
    finally:
        stop.set()
        await task


def jobs_command(broker_url: str, channels: Channels, *args: str) -> CompletedProcess[str]:
    """`bifrost jobs ARGS` on the channels' broker and prefix, as a user runs it."""
    prefix = channels.requests.removesuffix("bifrost.requests")
    command = [sys.executable, "-m", "bifrost", "jobs", *args]
    return subprocess.run(
        [*command, "--broker", broker_url, "--prefix", prefix],
        capture_output=True,
        text=True,
        check=False,
    )
