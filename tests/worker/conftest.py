"""What the worker tests of every broker share: requests as another system sends them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bifrost.messages import MAX_INLINE_LOG

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
