"""Helpers for store tests: run async code against a store, and the Reports the tests save."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import cache
from pathlib import Path
from typing import TypeVar

from bifrost.analysis import analyze
from bifrost.config import load_settings
from bifrost.report import Report
from bifrost.store import Store, open_store

T = TypeVar("T")
ROOT = Path(__file__).parents[2]
LOGS = {
    "crash": ROOT / "tests/data/logs/service-crash.log",
    "trainer": ROOT / "src/bifrost/samples/trainer.log",
    "healthy": ROOT / "tests/data/logs/healthy.log",
    "maven": ROOT / "tests/data/logs/maven-compile.log",
}


def with_store(url: str, body: Callable[[Store], Awaitable[T]]) -> T:
    """Open the store at `url` (as the CLI does), run `body` on it, close it; one event loop."""

    async def main() -> T:
        async with await open_store(load_settings(database_url=url)) as store:
            return await body(store)

    return asyncio.run(main())


@cache
def report(name: str) -> Report:
    """The real Report of one of the test logs."""
    return analyze([str(LOGS[name])], load_settings())
