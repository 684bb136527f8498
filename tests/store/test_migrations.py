"""Migrations run up from empty on both databases, match the models, and guard the schema."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from bifrost.analysis.tenants import create_tenant, list_tenants, usage
from bifrost.config import load_settings
from bifrost.errors import ServiceError
from bifrost.store import (
    ApiKey,
    Store,
    StoredAnalysis,
    analysis_for_request,
    create_key,
    current,
    get_analysis,
    list_keys,
    open_store,
    save_analysis,
    upgrade,
)
from bifrost.store.database import normalise_url
from bifrost.store.migrate import downgrade_to, head_revision, include_object
from bifrost.store.migrations import HEAD_REVISION
from bifrost.store.models import Base

from .helpers import report, with_store

TABLES = {"analyses", "findings", "cache_entries", "cache_counters", "feedback", "api_keys"}


def test_upgrade_from_empty(empty_url: str) -> None:
    assert asyncio.run(current(empty_url)) is None
    assert asyncio.run(upgrade(empty_url)) == head_revision() == HEAD_REVISION
    assert asyncio.run(current(empty_url)) == HEAD_REVISION
    assert asyncio.run(upgrade(empty_url)) == HEAD_REVISION  # a second run changes nothing

    def check(connection: Connection) -> None:
        assert set(inspect(connection).get_table_names()) >= TABLES
        counters = connection.execute(text("SELECT name, value FROM cache_counters"))
        assert dict(counters.all()) == {"hits": 0, "misses": 0}
        context = MigrationContext.configure(
            connection, opts={"include_object": include_object, "compare_type": True}
        )
        assert compare_metadata(context, Base.metadata) == []  # models == migrations

    _on(empty_url, check)


def test_downgrade_to_empty_and_up_again(empty_url: str) -> None:
    asyncio.run(upgrade(empty_url))
    _on(empty_url, lambda connection: downgrade_to(connection, "base"))
    assert asyncio.run(current(empty_url)) is None
    _on(empty_url, _assert_no_tables)
    assert asyncio.run(upgrade(empty_url)) == HEAD_REVISION


def test_open_store_migrates_sqlite_but_only_checks_a_server(empty_url: str) -> None:
    settings = load_settings(database_url=empty_url)

    async def open_and_close() -> None:
        async with await open_store(settings):
            pass

    if empty_url.startswith("sqlite"):
        asyncio.run(open_and_close())
        assert asyncio.run(current(empty_url)) == HEAD_REVISION
        return
    with pytest.raises(ServiceError, match=r"schema is behind .*run `bifrost db upgrade`"):
        asyncio.run(open_and_close())
    asyncio.run(upgrade(empty_url))
    asyncio.run(open_and_close())


def test_a_history_at_0001_gains_api_keys_and_keeps_its_analyses(empty_url: str) -> None:
    """The path every existing install takes: SQLite on its next open, a server by upgrade."""
    asyncio.run(upgrade(empty_url))
    analysis_id = with_store(empty_url, lambda store: save_analysis(store, report("crash")))
    _on(empty_url, lambda connection: downgrade_to(connection, "0001"))
    assert asyncio.run(current(empty_url)) == "0001"
    _on(empty_url, _assert_no_api_keys)

    async def analysis_and_new_key(store: Store) -> tuple[StoredAnalysis | None, ApiKey]:
        key, _ = await create_key(store, "ci-bot", ["analyze"])
        return await get_analysis(store, analysis_id), key

    if not empty_url.startswith("sqlite"):
        with pytest.raises(ServiceError, match=rf"at 0001, this bifrost needs {HEAD_REVISION}"):
            asyncio.run(open_store(load_settings(database_url=empty_url)))
        asyncio.run(upgrade(empty_url))
    stored, key = with_store(empty_url, analysis_and_new_key)
    assert asyncio.run(current(empty_url)) == HEAD_REVISION
    assert stored is not None
    assert stored.report == report("crash")
    assert key.id == 1


def test_a_history_at_0010_moves_to_the_default_tenant_and_its_keys_keep_their_powers(
    empty_url: str,
) -> None:
    """Migration 0011 on a history with data: everything is the default tenant's, an `admin`
    key still runs the whole server (`server`), a `read` key still reads /metrics."""
    asyncio.run(upgrade(empty_url))

    async def before(store: Store) -> tuple[int, int, int]:
        analysis_id = await save_analysis(store, report("crash"), request_id="r1")
        admin, _ = await create_key(store, "ops", ["read", "admin"])
        reader, _ = await create_key(store, "ci", ["analyze"])
        return analysis_id, admin.id, reader.id

    analysis_id, admin_id, plain_id = with_store(empty_url, before)
    _on(empty_url, lambda connection: downgrade_to(connection, "0010"))
    asyncio.run(upgrade(empty_url))

    async def after(store: Store) -> None:
        assert [t.name for t in await list_tenants(store)] == ["default"]
        kept = len(report("crash").to_json(indent=None).encode())
        assert (await usage(store)).stored_bytes == kept  # counted for the rows there were
        assert await get_analysis(store, analysis_id) is not None
        found = await analysis_for_request(store, "r1")
        assert found is not None
        assert found[0] == analysis_id
        scopes = {key.id: key.scopes for key in await list_keys(store)}
        assert scopes == {
            admin_id: ("read", "admin", "metrics", "server"),
            plain_id: ("analyze",),
        }
        other = store.for_tenant((await create_tenant(store, "team-b")).id)
        assert await get_analysis(other, analysis_id) is None
        assert other.tenant == 2  # the default tenant holds id 1; the next tenant gets 2

    with_store(empty_url, after)


def test_a_newer_schema_is_refused(empty_url: str) -> None:
    asyncio.run(upgrade(empty_url))
    _on(empty_url, lambda c: c.execute(text("UPDATE alembic_version SET version_num = '9999'")))
    with pytest.raises(ServiceError, match="9999, newer than this bifrost knows; upgrade bifrost"):
        asyncio.run(open_store(load_settings(database_url=empty_url)))


def _on(url: str, work: Callable[[Connection], object]) -> None:
    """Run a sync function on a connection of `url`, committed."""

    async def main() -> None:
        engine = create_async_engine(normalise_url(url))
        try:
            async with engine.begin() as connection:
                await connection.run_sync(work)
        finally:
            await engine.dispose()

    asyncio.run(main())


def _assert_no_tables(connection: Connection) -> None:
    assert not TABLES & set(inspect(connection).get_table_names())


def _assert_no_api_keys(connection: Connection) -> None:
    assert set(inspect(connection).get_table_names()) >= TABLES - {"api_keys"}
    assert "api_keys" not in inspect(connection).get_table_names()
