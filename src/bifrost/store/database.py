"""Where the history lives and how to reach it: URL, engine, transactions, schema version.

SQLite (the embedded default) is opened in WAL mode with a long busy timeout, and every write
transaction starts with `BEGIN IMMEDIATE`, so two processes writing at once queue instead of
failing. On a server database, pooled connections are pinged before use, a connection that
went away is never handed out again, and `Store.transact` tries a transaction that lost its
connection before the commit once more, so that a restart of the database costs a short wait
instead of an answer "not stored". Every way of failing to reach or use the database becomes
one `ServiceError` line that names the URL without its password.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar

from sqlalchemy import URL, event, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from bifrost.config import Settings
from bifrost.errors import ConfigError, ServiceError
from bifrost.store.embedded import BUSY_TIMEOUT_MS, PRAGMAS, default_database_file
from bifrost.store.migrations import HEAD_REVISION
from bifrost.store.records import DEFAULT_TENANT
from bifrost.store.tally import HitTally

T = TypeVar("T")
RETRY_AFTER_S = 0.5
"""The pause before the one more try of a transaction whose connection went away."""
_DRIVERS = {
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
}
_SUPPORTED = {"postgresql+asyncpg", "sqlite+aiosqlite"}
_IMMEDIATE = "bifrost_immediate"
_ADVISORY_LOCK = 0x62696672  # "bifr": serialises concurrent `db upgrade` runs on PostgreSQL
# SQLSTATEs of a server that is stopping or starting (class 08 is every lost connection).
_GOING_AWAY = {"57P01", "57P02", "57P03"}
# asyncpg's errors for a connection that is closed or left mid-operation (neither has a
# SQLSTATE; SQLAlchemy does not always see the second as a disconnect, sqlalchemy#13241).
_BROKEN_CONNECTION = {"InterfaceError", "InternalClientError"}


class ConnectionLost(ServiceError):
    """The connection went away before the transaction committed: nothing was written, and a
    new connection may well work (the server restarted, or dropped its connections)."""


def database_url(settings: Settings) -> str:
    """The configured URL, or the embedded SQLite file in the user data directory."""
    if settings.database_url:
        return normalise_url(settings.database_url)
    return f"sqlite+aiosqlite:///{default_database_file()}"


def normalise_url(url: str) -> str:
    """`postgres://` and `postgresql://` mean asyncpg, `sqlite://` means aiosqlite."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError.said("db.bad_url", url=repr(_scheme_only(url))) from None
    parsed = parsed.set(drivername=_DRIVERS.get(parsed.drivername, parsed.drivername))
    if parsed.drivername not in _SUPPORTED:
        raise ConfigError.said("db.unsupported", driver=repr(parsed.drivername))
    return parsed.render_as_string(hide_password=False)


def safe_url(url: str | URL) -> str:
    """The URL as it may be shown: the password masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return _scheme_only(str(url))


def create_engine(url: str) -> AsyncEngine:
    """An async engine; on SQLite with WAL, a busy timeout, foreign keys, and our own BEGIN."""
    url = normalise_url(url)
    if make_url(url).get_backend_name() != "sqlite":
        return create_async_engine(url, connect_args={"timeout": 10}, pool_pre_ping=True)
    engine = create_async_engine(url)

    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: object) -> None:
        dbapi_connection.isolation_level = None  # the driver must not BEGIN on its own
        try:
            cursor = dbapi_connection.cursor()
            for pragma in PRAGMAS:  # WAL may be "locked": `_connect` retries
                cursor.execute(pragma)
            cursor.close()
        except Exception:
            dbapi_connection.close()  # the pool does not close a connection that failed here
            raise

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get(_IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@dataclass(frozen=True)
class Store:
    """An open history database, seen by one tenant. Use `async with store:` (or
    `await store.close()`).

    Every function of the store reads and writes the rows of `tenant` only: the API hands
    each request `for_tenant(caller's tenant)`, so no route can reach another tenant's data.
    """

    engine: AsyncEngine
    tenant: int = DEFAULT_TENANT
    tally: HitTally = field(init=False, compare=False, repr=False)
    """The cache lookups of this process not yet written (`store/tally.py`)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "tally", HitTally(self.write))

    def for_tenant(self, tenant: int) -> Store:
        """The same database (connections, pending cache counts) seen by another tenant."""
        if tenant == self.tenant:
            return self
        seen = Store(self.engine, tenant)
        object.__setattr__(seen, "tally", self.tally)
        return seen

    @property
    def url(self) -> str:
        return safe_url(self.engine.url)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a read transaction (SQLite WAL: never blocks writers)."""
        async with self._transaction(immediate=False) as connection:
            yield connection

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a write transaction, committed on success (SQLite: BEGIN IMMEDIATE)."""
        async with self._transaction(immediate=True) as connection:
            yield connection

    async def transact(
        self, body: Callable[[AsyncConnection], Awaitable[T]], *, write: bool = True
    ) -> T:
        """`body` in one transaction; once more, on a new connection after `RETRY_AFTER_S`,
        when the connection went away before the commit (so nothing was written twice)."""
        try:
            async with self._transaction(immediate=write) as connection:
                return await body(connection)
        except ConnectionLost:
            await asyncio.sleep(RETRY_AFTER_S)
        async with self._transaction(immediate=write) as connection:
            return await body(connection)

    @asynccontextmanager
    async def _transaction(self, *, immediate: bool) -> AsyncIterator[AsyncConnection]:
        connection = await _connect(self.engine)
        committing = False
        try:
            await connection.execution_options(**{_IMMEDIATE: immediate})
            transaction = await connection.begin()
            yield connection
            committing = True
            await transaction.commit()
        except (DBAPIError, OSError, TimeoutError) as exc:
            lost = _lost(exc)
            if lost:  # never back into the pool: its next user would fail too
                with suppress(Exception):
                    await connection.invalidate()
            failed = ConnectionLost if lost and not committing else ServiceError
            raise failed(
                f"the database at {self.url} failed ({_reason(exc, self.engine.url)})"
            ) from exc
        finally:
            await connection.close()

    async def close(self) -> None:
        """Write the cache counts still pending, then close every connection."""
        with suppress(ServiceError):  # a database that is away now: those counts are lost
            await self.tally.flush()
        await self.engine.dispose()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()


async def open_store(settings: Settings) -> Store:
    """The history database, ready to use: SQLite is migrated on first use, servers are checked."""
    store = Store(create_engine(database_url(settings)))
    try:
        if store.dialect == "sqlite":
            await _upgrade(store)
        else:
            await _check_current(store)
    except BaseException:
        await store.close()
        raise
    return store


async def check_ready(store: Store) -> None:
    """Raise ServiceError unless the database answers and its schema is current (readiness)."""
    async with store.read() as connection:
        await connection.exec_driver_sql("SELECT 1")
    await _check_current(store)


async def upgrade(url: str) -> str:
    """Apply every pending migration (`bifrost db upgrade`); returns the revision now current."""
    store = Store(create_engine(url))
    async with store:
        await _upgrade(store)
    return HEAD_REVISION


async def current(url: str) -> str | None:
    """The schema revision of the database (`bifrost db current`); None when it is empty."""
    from bifrost.store import migrate  # noqa: PLC0415

    store = Store(create_engine(url))
    async with store, store.read() as connection:
        return await connection.run_sync(migrate.current_revision)


async def _upgrade(store: Store) -> None:
    if await _at_head(store):
        return
    from bifrost.store import migrate  # noqa: PLC0415 — Alembic only when there is work

    head = migrate.head_revision()
    async with store.write() as connection:  # holds the write lock: one process migrates
        if store.dialect == "postgresql":
            await connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_ADVISORY_LOCK})")
        revision = await connection.run_sync(migrate.current_revision)
        _refuse_unknown(revision, store.url)
        if revision != head:
            await connection.run_sync(migrate.upgrade_to_head)


async def _at_head(store: Store) -> bool:
    """The common case, answered with one query and without loading Alembic."""
    try:
        async with store.read() as connection:
            found = await connection.exec_driver_sql("SELECT version_num FROM alembic_version")
            return [row[0] for row in found] == [HEAD_REVISION]
    except ServiceError:  # no version table yet: an empty database
        return False


async def _check_current(store: Store) -> None:
    if await _at_head(store):
        return
    from bifrost.store import migrate  # noqa: PLC0415 — Alembic only when there is work

    async with store.read() as connection:
        revision = await connection.run_sync(migrate.current_revision)
    head = migrate.head_revision()
    _refuse_unknown(revision, store.url)
    if revision != head:
        raise ServiceError.said("db.behind", revision=revision or "empty", head=head, url=store.url)


def _refuse_unknown(revision: str | None, url: str) -> None:
    from bifrost.store import migrate  # noqa: PLC0415

    if revision is not None and not migrate.known_revision(revision):
        raise ServiceError.said("db.newer", url=url, revision=revision)


async def _connect(engine: AsyncEngine) -> AsyncConnection:
    """A connection; on SQLite, waits out a lock held by another process creating the file."""
    sqlite = engine.dialect.name == "sqlite"
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            return await engine.connect()
        except (DBAPIError, OSError, TimeoutError) as exc:
            if sqlite and "locked" in str(exc) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
                continue
            if sqlite:  # aiosqlite stops its worker thread in the background: let it finish
                await asyncio.sleep(0.05)
            hint = (
                "check the path and its permissions"
                if sqlite
                else "check BIFROST_DATABASE_URL or start the server"
            )
            raise (ConnectionLost if _lost(exc) else ServiceError)(
                f"cannot reach the database at {safe_url(engine.url)} "
                f"({_reason(exc, engine.url)}); {hint}"
            ) from exc


def _lost(exc: BaseException) -> bool:
    """Whether the server went away or is restarting (refused, reset, shutting down, starting
    up, a connection closed under us), as opposed to refusing what was asked."""
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        exc = exc.orig if exc.orig is not None else exc
    state = str(getattr(exc, "sqlstate", None) or "")
    if state.startswith("08") or state in _GOING_AWAY:
        return True
    if isinstance(exc, ConnectionError):  # refused, reset, broken pipe
        return True
    cause = exc.__cause__ if exc.__cause__ is not None else exc
    if isinstance(cause, ConnectionError):
        return True
    return (
        type(cause).__module__.startswith("asyncpg") and type(cause).__name__ in _BROKEN_CONNECTION
    )


def _reason(exc: BaseException, url: URL) -> str:
    """A short cause for one line of error, with no password in it."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    if isinstance(cause, ConnectionRefusedError) or "Connect call failed" in str(cause):
        text = "connection refused"
    elif isinstance(cause, socket.gaierror):
        text = "unknown host"
    elif isinstance(cause, TimeoutError):
        text = "timed out"
    else:
        lines = str(cause).strip().splitlines()
        text = (lines[0] if lines else type(cause).__name__)[:200]
    if url.password:
        text = text.replace(str(url.password), "***")
    return text


def _scheme_only(url: str) -> str:
    return url.split("://", 1)[0] + "://…" if "://" in url else "…"
