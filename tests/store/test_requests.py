"""One analysis per request id, on both databases: a retry, or two tries at once, store one."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from bifrost.store import Store, analysis_for_request, save_analysis
from bifrost.store.models import Analysis, FindingRow

from .helpers import report, with_store


async def counts(store: Store) -> tuple[int, int]:
    async with store.read() as connection:
        analyses = await connection.scalar(select(func.count()).select_from(Analysis))
        findings = await connection.scalar(select(func.count()).select_from(FindingRow))
    return int(analyses or 0), int(findings or 0)


def test_a_request_sent_again_finds_its_analysis(store_url: str) -> None:
    crash, trainer = report("crash"), report("trainer")

    async def body(store: Store) -> None:
        assert await analysis_for_request(store, "req-1") is None
        first = await save_analysis(store, crash, request_id="req-1")
        again = await save_analysis(store, trainer, request_id="req-1")  # a retry
        other = await save_analysis(store, crash, request_id="req-2")
        unnamed = [await save_analysis(store, crash) for _ in range(2)]  # no id: no limit
        assert again == first
        assert len({first, other, *unnamed}) == 4
        assert await counts(store) == (4, 4 * len(crash.findings))
        assert await analysis_for_request(store, "req-1") == (first, crash)

    with_store(store_url, body)


def test_two_tries_at_once_store_one_analysis(store_url: str) -> None:
    crash = report("crash")

    async def body(store: Store) -> None:
        ids = await asyncio.gather(
            *(save_analysis(store, crash, request_id="same") for _ in range(4))
        )
        assert len(set(ids)) == 1
        assert (await counts(store))[0] == 1

    with_store(store_url, body)
