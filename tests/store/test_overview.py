"""The dashboard's numbers on both databases: days in UTC, causes, services, tokens."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bifrost.store import Store, save_analysis
from bifrost.store.overview import Day, overview

from .helpers import report, with_store

T0 = datetime(2025, 3, 10, 23, 30, tzinfo=UTC)


def test_an_overview_counts_a_period(store_url: str) -> None:
    trainer, maven, healthy = report("trainer"), report("maven"), report("healthy")

    async def body(store: Store) -> None:
        await save_analysis(store, trainer, service="old", created_at=T0 - timedelta(days=30))
        await save_analysis(
            store, trainer, service="trainer", created_at=T0, prompt_tokens=100, completion_tokens=7
        )
        await save_analysis(store, trainer, service="trainer", created_at=T0 + timedelta(hours=1))
        await save_analysis(store, maven, created_at=T0 + timedelta(days=1, hours=1))
        await save_analysis(store, healthy, service="web", created_at=T0 + timedelta(days=1))
        found = await overview(store, since=T0 - timedelta(days=2))
        assert found.days == [  # UTC days: 23:30 and 00:30 are a day apart
            Day(date(2025, 3, 10), 1, 1),
            Day(date(2025, 3, 11), 2, 1),
            Day(date(2025, 3, 12), 1, 1),
        ]
        assert (found.analyses, found.failures) == (4, 3)
        assert found.causes == [("gpu.cuda_oom", 2), (maven.findings[0].category, 1)]
        assert found.services == [("trainer", 2), ("", 1)]  # "web" did not fail
        assert (found.prompt_tokens, found.completion_tokens) == (100, 7)
        empty = await overview(store, since=T0 + timedelta(days=5))
        assert (empty.days, empty.causes, empty.services, empty.prompt_tokens) == ([], [], [], 0)

    with_store(store_url, body)
