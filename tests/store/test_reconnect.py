"""PostgreSQL dropping its connections costs a short wait, not a lost write, nor a double one.

Each test has a database of its own, so that closing every connection to it touches no other
test's. A connection that went away before the commit is tried once more on a new one; one
that went away during the commit, or an error that is the database refusing what was asked,
is not tried again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, func, make_url, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from bifrost.config import load_settings
from bifrost.errors import ServiceError
from bifrost.store import (
    Store,
    get_analysis,
    get_input_blob,
    keep_input,
    open_store,
    save_analysis,
)
from bifrost.store.models import Analysis, FindingRow
from tests.conftest import ADMIN_URL

from .helpers import report

SAVE = "INSERT INTO analyses "
FINDINGS = "INSERT INTO findings "
KEEP = "UPDATE analyses SET input_blob"


async def close_connections(url: str) -> int:
    """Every connection to the database at `url` closed by the server, as a restart or an
    administrator would; returns how many there were."""
    name = make_url(url).database
    assert name is not None
    assert name.startswith("bifrost_test_"), "only a throw-away database"
    engine = create_async_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            # In the select list, so that only the rows the WHERE kept are terminated.
            closed = await connection.scalars(
                text(
                    "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                    "WHERE datname = :name"
                ),
                {"name": name},
            )
            return sum(1 for done in closed if done)
    finally:
        await engine.dispose()


@contextmanager
def connections_closed_before(store: Store, url: str, prefix: str) -> Iterator[list[str]]:
    """Close every connection to the database once, just before the first statement that
    starts with `prefix` is sent (the connection passed its pre-ping and is mid-transaction);
    yields the statements sent, to count the tries."""
    sent: list[str] = []
    closed: list[int] = []

    def before_execute(
        _connection: Any, _cursor: Any, statement: str, *_args: Any, **_kwargs: Any
    ) -> None:
        sent.append(statement)
        if statement.startswith(prefix) and not closed:
            with ThreadPoolExecutor(1) as thread:  # this hook cannot await: block briefly
                closed.append(thread.submit(asyncio.run, close_connections(url)).result())

    engine = store.engine.sync_engine
    event.listen(engine, "before_cursor_execute", before_execute)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", before_execute)
    assert closed, f"no statement starting with {prefix!r} was sent"
    assert closed[0] >= 1


async def counts(store: Store) -> tuple[int, int]:
    """How many analyses and findings are stored."""
    async with store.read() as connection:
        analyses = await connection.scalar(select(func.count()).select_from(Analysis))
        findings = await connection.scalar(select(func.count()).select_from(FindingRow))
    return analyses or 0, findings or 0


def tries(sent: list[str], prefix: str) -> int:
    return sum(statement.startswith(prefix) for statement in sent)


def test_a_save_whose_connection_is_closed_before_the_commit_is_stored_once(
    own_postgres_url: str,
) -> None:
    crash = report("crash")
    per_report = len(crash.findings)
    assert per_report > 0

    async def main() -> None:
        async with await open_store(load_settings(database_url=own_postgres_url)) as store:
            await save_analysis(store, crash)  # the pool holds a connection now
            assert await close_connections(own_postgres_url) >= 1  # between two transactions
            await save_analysis(store, crash)
            assert await counts(store) == (2, 2 * per_report)
            # Mid-transaction: the analysis row is sent, its findings fail.
            with connections_closed_before(store, own_postgres_url, FINDINGS) as sent:
                analysis_id = await save_analysis(store, crash, service="retried")
            assert tries(sent, SAVE) == 2
            assert await counts(store) == (3, 3 * per_report)  # no duplicate, nothing lost
            stored = await get_analysis(store, analysis_id)
            assert stored is not None
            assert (stored.report, stored.service) == (crash, "retried")

    asyncio.run(main())


def test_keep_input_whose_connection_is_closed_before_the_commit_is_kept(
    own_postgres_url: str,
) -> None:
    crash = report("crash")

    async def main() -> None:
        async with await open_store(load_settings(database_url=own_postgres_url)) as store:
            first = await save_analysis(store, crash)
            second = await save_analysis(store, crash)
            assert await close_connections(own_postgres_url) >= 1  # between two transactions
            await keep_input(store, first, b"first input")
            with connections_closed_before(store, own_postgres_url, KEEP) as sent:
                await keep_input(store, second, b"second input")
            assert tries(sent, KEEP) == 2
            assert await get_input_blob(store, first) == b"first input"
            assert await get_input_blob(store, second) == b"second input"

    asyncio.run(main())


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"service": "nul\x00byte"}, "0x00"),  # PostgreSQL text cannot hold NUL
        ({"status": "neither"}, "status"),  # the CHECK constraint on `status`
    ],
    ids=["nul-byte", "check-constraint"],
)
def test_a_refused_write_is_not_tried_again(
    own_postgres_url: str, change: dict[str, Any], error: str
) -> None:
    crash = report("crash")

    async def main() -> None:
        async with await open_store(load_settings(database_url=own_postgres_url)) as store:
            sent: list[str] = []

            def before_execute(_c: Any, _cu: Any, statement: str, *_a: Any, **_k: Any) -> None:
                sent.append(statement)

            event.listen(store.engine.sync_engine, "before_cursor_execute", before_execute)
            with pytest.raises(ServiceError, match=error) as caught:
                await save_analysis(store, crash, **change)
            assert type(caught.value) is ServiceError  # not a connection lost
            assert tries(sent, SAVE) == 1
            assert await counts(store) == (0, 0)

    asyncio.run(main())


def test_a_connection_closed_during_the_commit_is_not_tried_again(
    own_postgres_url: str,
) -> None:
    """The commit may or may not have happened: trying again could store the analysis twice."""
    crash = report("crash")

    async def main() -> None:
        async with await open_store(load_settings(database_url=own_postgres_url)) as store:
            closed: list[int] = []
            sent: list[str] = []

            def before_execute(_c: Any, _cu: Any, statement: str, *_a: Any, **_k: Any) -> None:
                sent.append(statement)

            def before_commit(_connection: Any) -> None:
                if not closed:
                    with ThreadPoolExecutor(1) as thread:
                        future = thread.submit(asyncio.run, close_connections(own_postgres_url))
                        closed.append(future.result())

            engine = store.engine.sync_engine
            event.listen(engine, "before_cursor_execute", before_execute)
            event.listen(engine, "commit", before_commit)
            with pytest.raises(ServiceError, match=r"^the database at .* failed") as caught:
                await save_analysis(store, crash)
            event.remove(engine, "commit", before_commit)
            assert closed == [1]
            assert type(caught.value) is ServiceError  # not a connection lost: not retried
            assert tries(sent, SAVE) == 1
            assert await counts(store) == (0, 0)  # here it had not committed

    asyncio.run(main())
