"""History on both databases: save and read back, search by every filter, stream, delete."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, insert, select

from bifrost.store import (
    HistoryFilter,
    NotFound,
    Store,
    add_feedback,
    delete_analysis,
    get_analysis,
    get_input_blob,
    iter_analyses,
    keep_input,
    save_analysis,
    search_analyses,
)
from bifrost.store.models import Analysis, CacheEntry, Feedback, FindingRow

from .helpers import report, with_store

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def test_save_and_get_round_trip(store_url: str) -> None:
    trainer = report("trainer")

    async def body(store: Store) -> None:
        analysis_id = await save_analysis(
            store,
            trainer,
            service="trainer",
            environment="prod",
            tags=["nightly", "gpu"],
            provider="ollama",
            model="qwen2.5:7b",
            prompt_version="v1",
            prompt_tokens=1200,
            completion_tokens=300,
            cache_key="c" * 64,
            input_blob=b"\x1f\x8b compressed",
        )
        stored = await get_analysis(store, analysis_id)
        assert stored is not None
        assert stored.report == trainer
        assert stored.id == analysis_id
        assert stored.created_at.tzinfo is not None
        assert abs(stored.created_at - datetime.now(UTC)) < timedelta(minutes=1)
        assert (stored.input_name, stored.input_lines) == (trainer.input.name, trainer.input.lines)
        assert stored.input_bytes == trainer.input.bytes
        assert stored.content_hash == trainer.input.sha256
        assert (stored.service, stored.environment, stored.tags) == (
            "trainer",
            "prod",
            ["nightly", "gpu"],
        )
        assert (stored.verdict, stored.status) == ("failure", "ok")
        assert (stored.provider, stored.model, stored.prompt_version) == (
            "ollama",
            "qwen2.5:7b",
            "v1",
        )
        assert (stored.prompt_tokens, stored.completion_tokens) == (1200, 300)
        assert stored.top_title == trainer.findings[0].title
        assert stored.summary == trainer.summary
        assert stored.cache_key == "c" * 64
        assert stored.has_input
        assert stored.feedback == ()
        assert await get_input_blob(store, analysis_id) == b"\x1f\x8b compressed"
        async with store.read() as connection:
            rows = (
                await connection.execute(
                    select(
                        FindingRow.rank,
                        FindingRow.category,
                        FindingRow.title,
                        FindingRow.first_line,
                    )
                    .where(FindingRow.analysis_id == analysis_id)
                    .order_by(FindingRow.rank)
                )
            ).all()
        assert [tuple(r) for r in rows] == [
            (i, f.category, f.title, f.first_seen.line)
            for i, f in enumerate(trainer.findings, start=1)
        ]
        assert await get_analysis(store, analysis_id + 1000) is None

    with_store(store_url, body)


def test_an_analysis_without_findings(store_url: str) -> None:
    async def body(store: Store) -> None:
        analysis_id = await save_analysis(store, report("healthy"), status="error")
        stored = await get_analysis(store, analysis_id)
        assert stored is not None
        assert (stored.top_title, stored.verdict, stored.status) == (None, "ok", "error")
        assert (stored.tags, stored.has_input) == ([], False)
        assert await get_input_blob(store, analysis_id) is None

    with_store(store_url, body)


def test_a_repeat_keeps_the_input_an_analysis_was_stored_without(store_url: str) -> None:
    async def body(store: Store) -> None:
        analysis_id = await save_analysis(store, report("healthy"))
        await keep_input(store, analysis_id, b"\x1f\x8b first")
        await keep_input(store, analysis_id, b"\x1f\x8b second")  # never replaces one kept
        assert await get_input_blob(store, analysis_id) == b"\x1f\x8b first"
        stored = await get_analysis(store, analysis_id)
        assert stored is not None
        assert stored.has_input

    with_store(store_url, body)


async def _history(store: Store) -> dict[str, int]:
    """Four analyses a day apart, oldest first, with different labels."""
    ids = {}
    ids["crash"] = await save_analysis(
        store, report("crash"), service="api", environment="prod", tags=["web"],
        created_at=T0,
    )  # fmt: skip
    ids["trainer"] = await save_analysis(
        store, report("trainer"), service="trainer", environment="prod", tags=["gpu", "nightly"],
        provider="ollama", model="qwen2.5:7b", created_at=T0 + timedelta(days=1),
    )  # fmt: skip
    ids["maven"] = await save_analysis(
        store, report("maven"), service="ci", environment="staging", tags=["nightly"],
        provider="bedrock", created_at=T0 + timedelta(days=2),
    )  # fmt: skip
    ids["healthy"] = await save_analysis(
        store, report("healthy"), service="api", environment="staging",
        created_at=T0 + timedelta(days=3),
    )  # fmt: skip
    return ids


FILTERS: list[tuple[HistoryFilter, list[str]]] = [
    (HistoryFilter(), ["healthy", "maven", "trainer", "crash"]),
    (HistoryFilter(service="api"), ["healthy", "crash"]),
    (HistoryFilter(environment="prod"), ["trainer", "crash"]),
    (HistoryFilter(tag="nightly"), ["maven", "trainer"]),
    (HistoryFilter(tag="night"), []),
    (HistoryFilter(category="gpu"), ["trainer"]),
    (HistoryFilter(category="gpu.nccl_timeout"), ["trainer"]),
    (HistoryFilter(category="gpu.nccl"), []),
    (HistoryFilter(category="net"), ["crash"]),
    (HistoryFilter(category="build.maven_failure"), ["maven"]),
    (HistoryFilter(verdict="ok"), ["healthy"]),
    (HistoryFilter(verdict="failure"), ["maven", "trainer", "crash"]),
    (HistoryFilter(provider="ollama"), ["trainer"]),
    (HistoryFilter(since=T0 + timedelta(days=1)), ["healthy", "maven", "trainer"]),
    (HistoryFilter(until=T0 + timedelta(days=1)), ["crash"]),
    (
        HistoryFilter(since=T0 + timedelta(hours=1), until=T0 + timedelta(days=3)),
        ["maven", "trainer"],
    ),
    (HistoryFilter(service="api", verdict="failure", tag="web"), ["crash"]),
    # full text: top title, summary and every finding title; stemmed; all words must match
    (HistoryFilter(query="CUDA memory"), ["trainer"]),
    (HistoryFilter(query="cuda"), ["trainer"]),
    (HistoryFilter(query="NCCL watchdog"), ["trainer"]),  # the second finding's title
    (HistoryFilter(query="connection refused"), ["crash"]),
    (HistoryFilter(query="refusing connections"), ["crash"]),  # stemming
    (HistoryFilter(query="compilation"), ["maven"]),
    (HistoryFilter(query="timed out"), ["trainer"]),
    (HistoryFilter(query="cuda compilation"), []),
    (HistoryFilter(query='"unbalanced (quote: -x* AND'), []),  # no query syntax leaks
    (HistoryFilter(query="gpu", service="api"), []),
]


@pytest.mark.parametrize(("filters", "expected"), FILTERS, ids=[repr(f) for f, _ in FILTERS])
def test_search_by_each_filter(store_url: str, filters: HistoryFilter, expected: list[str]) -> None:
    async def body(store: Store) -> None:
        ids = await _history(store)
        found = await search_analyses(store, filters)
        assert [s.id for s in found] == [ids[name] for name in expected]

    with_store(store_url, body)


def test_search_with_naive_datetimes_reads_them_as_utc(store_url: str) -> None:
    async def body(store: Store) -> None:
        ids = await _history(store)
        naive = HistoryFilter(since=(T0 + timedelta(days=2)).replace(tzinfo=None))
        assert [s.id for s in await search_analyses(store, naive)] == [ids["healthy"], ids["maven"]]
        later = HistoryFilter(since=T0 + timedelta(days=2, hours=1), until=None)
        new_york = (T0 + timedelta(days=2, hours=1)).astimezone(ZoneInfo("America/New_York"))
        other_zone = HistoryFilter(since=new_york)
        assert await search_analyses(store, later) == await search_analyses(store, other_zone)

    with_store(store_url, body)


def test_pagination_is_newest_first_without_overlap(store_url: str) -> None:
    async def body(store: Store) -> None:
        ids = [
            await save_analysis(store, report("crash"), created_at=T0 + timedelta(minutes=i))
            for i in range(7)
        ]
        pages = [
            [s.id for s in await search_analyses(store, HistoryFilter(), limit=3, offset=o)]
            for o in (0, 3, 6, 9)
        ]
        assert pages == [ids[6:3:-1], ids[3:0:-1], ids[:1], []]

    with_store(store_url, body)


def test_export_streams_every_row(store_url: str) -> None:
    count = 5000

    async def body(store: Store) -> None:
        first = await save_analysis(store, report("trainer"), service="bulk", created_at=T0)
        async with store.read() as connection:
            row = (await connection.execute(select(Analysis).where(Analysis.id == first))).one()
        template = {c.key: getattr(row, c.key) for c in Analysis.__table__.c if c.key != "id"}
        rows = [
            {**template, "created_at": T0 + timedelta(seconds=i), "service": f"bulk{i % 2}"}
            for i in range(1, count)
        ]
        async with store.write() as connection:
            await connection.execute(insert(Analysis), rows)

        streamed = [s async for s in iter_analyses(store, HistoryFilter(), batch=500)]
        assert len(streamed) == count
        assert [s.created_at for s in streamed] == sorted(
            (s.created_at for s in streamed), reverse=True
        )
        assert streamed[-1].id == first
        assert streamed[0].to_row()["created_at"] == (T0 + timedelta(seconds=count - 1)).isoformat()
        odd = [s async for s in iter_analyses(store, HistoryFilter(service="bulk1"))]
        assert len(odd) == count // 2

        # Stopping early releases the connection: the pool has nothing checked out.
        stream = iter_analyses(store, HistoryFilter(query="cuda"), batch=10)
        assert (await anext(stream)).service in {"bulk0", "bulk1"}
        await stream.aclose()
        assert store.engine.pool.checkedout() == 0  # type: ignore[attr-defined]

    with_store(store_url, body)


def test_feedback(store_url: str) -> None:
    async def body(store: Store) -> None:
        analysis_id = await save_analysis(store, report("crash"))
        await add_feedback(store, analysis_id, True)
        await add_feedback(store, analysis_id, False, note="the pool warning was the cause")
        stored = await get_analysis(store, analysis_id)
        assert stored is not None
        assert [(f.good, f.note) for f in stored.feedback] == [
            (True, None),
            (False, "the pool warning was the cause"),
        ]
        assert stored.feedback[0].created_at.tzinfo is not None
        with pytest.raises(NotFound, match=r"no stored analysis has id 999; `bifrost history`"):
            await add_feedback(store, 999, True)

    with_store(store_url, body)


def test_delete_cascades_to_findings_feedback_and_cache(store_url: str) -> None:
    async def body(store: Store) -> None:
        keep = await save_analysis(store, report("crash"))
        gone = await save_analysis(store, report("trainer"))
        await add_feedback(store, gone, False)
        async with store.write() as connection:
            await connection.execute(
                insert(CacheEntry).values(
                    key="k" * 64, analysis_id=gone, report="{}", created_at=T0,
                    expires_at=T0, hits=0,
                )
            )  # fmt: skip
        await delete_analysis(store, gone)
        assert await get_analysis(store, gone) is None
        assert [s.id for s in await search_analyses(store, HistoryFilter())] == [keep]
        assert await search_analyses(store, HistoryFilter(query="cuda")) == []
        async with store.read() as connection:
            for model in (FindingRow, Feedback, CacheEntry):
                left = select(func.count()).select_from(model).where(model.analysis_id == gone)
                assert (await connection.execute(left)).scalar_one() == 0
            kept = select(func.count()).where(FindingRow.analysis_id == keep)
            assert (await connection.execute(kept)).scalar_one() == len(report("crash").findings)
        with pytest.raises(NotFound):
            await delete_analysis(store, gone)
        with pytest.raises(NotFound):
            await get_input_blob(store, gone)

    with_store(store_url, body)


def test_the_id_of_a_deleted_analysis_is_never_given_again(store_url: str) -> None:
    async def body(store: Store) -> None:
        first = await save_analysis(store, report("crash"))
        newest = await save_analysis(store, report("trainer"))
        assert await delete_analysis(store, newest) is None  # no cache key was stored
        later = await save_analysis(store, report("maven"))
        assert later > newest > first
        assert await get_analysis(store, newest) is None
        found = await search_analyses(store, HistoryFilter(query="maven"))
        assert [s.id for s in found] == [later]  # the full-text index follows the new id

    with_store(store_url, body)
