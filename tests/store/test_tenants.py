"""Every function of the store reads and writes one tenant's rows (`Store.tenant`), on SQLite
and on PostgreSQL; a tenant's use is counted from its own rows."""

from __future__ import annotations

import asyncio
import gzip
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bifrost.analysis.tenants import (
    Limits,
    as_tenant,
    create_tenant,
    list_tenants,
    set_limits,
    tenant_named,
    usage,
)
from bifrost.errors import UsageError
from bifrost.store import (
    HistoryFilter,
    NotFound,
    Store,
    add_feedback,
    analysis_for_request,
    create_key,
    delete_analysis,
    get_analysis,
    get_input_blob,
    iter_analyses,
    keep_input,
    list_keys,
    revoke_key,
    save_analysis,
    search_analyses,
)
from bifrost.store.embedded import EmbeddedStore
from bifrost.store.experiments import experiment_names, experiment_rows
from bifrost.store.jobs import create_job, get_job, job_for_request
from bifrost.store.known import known_issues, pin, unpin
from bifrost.store.overview import overview
from bifrost.store.similar import incidents, matches
from bifrost.store.tenants import TenantExists

from .helpers import report, with_store

LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


async def _two(store: Store) -> tuple[Store, Store]:
    a = await create_tenant(store, "team-a")
    b = await create_tenant(store, "team-b")
    return store.for_tenant(a.id), store.for_tenant(b.id)


def test_no_read_or_write_of_one_tenant_reaches_another(store_url: str) -> None:
    async def body(store: Store) -> None:
        mine, theirs = await _two(store)
        crash = report("crash")
        their_id = await save_analysis(
            theirs, crash, request_id="r1", experiment="exp", variant="a", service="svc"
        )
        my_id = await save_analysis(mine, crash, request_id="r1")
        assert my_id != their_id  # one request id, one analysis per tenant
        assert (await analysis_for_request(mine, "r1")) == (my_id, crash)

        assert await get_analysis(mine, their_id) is None
        assert [s.id for s in await search_analyses(mine)] == [my_id]
        assert [s.id async for s in iter_analyses(mine, HistoryFilter(service="svc"))] == []
        for attempt in (
            get_input_blob(mine, their_id),
            add_feedback(mine, their_id, good=False),
            delete_analysis(mine, their_id),
        ):
            with pytest.raises(NotFound):
                await attempt
        await keep_input(mine, their_id, gzip.compress(b"mine"))
        assert await get_input_blob(theirs, their_id) is None
        stored = await get_analysis(theirs, their_id)
        assert stored is not None
        assert stored.feedback == ()

        template = crash.findings[0].template_id
        await pin(theirs, template, "title", "their fix", None, their_id)
        assert await known_issues(mine) == []
        with pytest.raises(NotFound):
            await unpin(mine, template)
        await pin(mine, template, "title", "my fix", None, my_id)
        assert [p.issue.note for p in await known_issues(theirs)] == ["their fix"]

        key, _ = await create_key(theirs, "their-key", ["read"])
        assert await list_keys(mine) == []
        with pytest.raises(NotFound):
            await revoke_key(mine, key.id)

        job, _ = await create_job(theirs, "r1", "their.log", gzip.compress(b"x"))
        assert await get_job(mine, job.id) is None
        assert await job_for_request(mine, "r1") is None
        my_job, new = await create_job(mine, "r1", "my.log", gzip.compress(b"y"))
        assert new
        assert my_job.id != job.id

        assert await experiment_names(mine) == []
        with pytest.raises(NotFound):
            await experiment_rows(mine, "exp")
        assert (await overview(mine, LONG_AGO)).analyses == 1
        found = await matches(mine, [f.template_id for f in crash.findings], "another log")
        assert {m.analysis_id for m in found} == {my_id}
        assert [i.analysis_id for i in await incidents(mine, [their_id, my_id])] == [my_id]

    with_store(store_url, body)


def test_a_tenants_use_counts_its_own_rows_in_its_periods(store_url: str) -> None:
    now = datetime(2026, 12, 6, 15, 30, tzinfo=UTC)

    async def body(store: Store) -> None:
        mine, theirs = await _two(store)
        crash = report("crash")
        blob = gzip.compress(b"the log\n" * 100)
        for moment in (now, now - timedelta(hours=16), now - timedelta(days=7)):
            await save_analysis(
                mine,
                crash,
                created_at=moment,
                prompt_tokens=100,
                completion_tokens=20,
                input_blob=blob if moment == now else None,
            )
        await save_analysis(mine, crash, created_at=now - timedelta(days=40), prompt_tokens=999)
        await save_analysis(theirs, crash, created_at=now, prompt_tokens=5000)

        used = await usage(mine, now)
        assert used.analyses_today == 1  # 15:30 today; 23:30 yesterday is not today
        assert used.llm_tokens_this_month == 240  # December's two; November's not
        size = len(crash.to_json(indent=None).encode())  # as the row keeps it
        assert used.stored_bytes == 4 * size + len(blob)
        assert used.day_resets_at == datetime(2026, 12, 7, tzinfo=UTC)
        assert used.month_resets_at == datetime(2027, 1, 1, tzinfo=UTC)
        assert (await usage(theirs, now)).llm_tokens_this_month == 5000
        plain = await save_analysis(mine, crash, created_at=now)
        await keep_input(mine, plain, blob)  # kept later: it counts too
        assert (await usage(mine, now)).stored_bytes == 5 * size + 2 * len(blob)

    with_store(store_url, body)


def test_tenants_are_named_once_and_their_limits_change(store_url: str) -> None:
    async def body(store: Store) -> None:
        assert [t.name for t in await list_tenants(store)] == ["default"]
        made = await create_tenant(store, "team-ml", Limits(rate="10 / minutes"))
        assert made.limits.rate == "10/minute"
        with pytest.raises(TenantExists, match="exists already"):
            await create_tenant(store, "team-ml")
        for bad in ("Team", "", "-x", "a" * 65, "a b"):
            with pytest.raises(UsageError, match="tenant name"):
                await create_tenant(store, bad)
        with pytest.raises(UsageError, match="cannot be negative"):
            await set_limits(store, "team-ml", Limits(analyses_per_day=-1))
        changed = await set_limits(store, "team-ml", Limits(analyses_per_day=5))
        assert changed.limits == Limits(analyses_per_day=5)
        assert (await tenant_named(store, "team-ml")).limits == Limits(analyses_per_day=5)
        assert (await as_tenant(store, "team-ml")).tenant == made.id
        assert await as_tenant(store, None) is store
        with pytest.raises(NotFound, match="bifrost tenants list"):
            await as_tenant(store, "nope")

    with_store(store_url, body)


def test_the_embedded_path_sees_the_default_tenant_only(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'history.db'}"
    crash = report("crash")

    async def others(store: Store) -> int:
        _, theirs = await _two(store)
        their_id = await save_analysis(theirs, crash, request_id="r1")
        await pin(theirs, crash.findings[0].template_id, "t", "their fix", None, their_id)
        return their_id

    their_id = with_store(url, others)
    opened = EmbeddedStore.open(tmp_path / "history.db")
    assert opened is not None
    with opened as embedded:

        async def look() -> None:
            assert await embedded.for_request("r1") is None
            assert await embedded.known_issues([crash.findings[0].template_id]) == {}
            templates = [f.template_id for f in crash.findings]
            assert await embedded.matches(templates, "another log") == []
            assert await embedded.incidents([their_id]) == []
            mine = await embedded.save(crash, {"request_id": "r1"})
            assert mine != their_id

        asyncio.run(look())
