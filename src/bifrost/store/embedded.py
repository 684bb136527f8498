"""The embedded history's everyday path, in the standard library's sqlite3.

`bifrost analyze` on the embedded SQLite file does three things with the history: look up the
cache, store the analysis, cache the answer. Loading SQLAlchemy for them cost 0.4 s, most of a
run on a small log (issue 14). Here they are the same statements on the same schema, written
as SQL. A file that is not there yet, or not at the newest migration, is left to `Store`
(`database.py`, which creates and migrates it), as is everything else: PostgreSQL, search,
export, feedback, keys. `tests/store/test_embedded.py` holds both paths to the same rows.

Connections are set up as `Store` sets up its own (`PRAGMAS`), and every write transaction
starts with `BEGIN IMMEDIATE`, so this path and `Store` queue behind each other's writes.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

import platformdirs

from bifrost.errors import ServiceError
from bifrost.report import KnownIssue, Report
from bifrost.store.migrations import HEAD_REVISION
from bifrost.store.records import (
    DEFAULT_TENANT,
    INCIDENTS_SQL,
    LEADS,
    MATCHES_SQL,
    MAX_MATCHES,
    MAX_MEANINGS,
    MEANING_SQL,
    MEANINGS_SQL,
    AnalysisMeta,
    Counts,
    Match,
    PastIncident,
    analysis_row,
    finding_rows,
    utcnow,
)

BUSY_TIMEOUT_MS = 15_000
PRAGMAS = (
    f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}",
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
)
"""How every connection to the embedded file is set up, on either path."""

_SQLITE_SCHEMES = frozenset({"sqlite", "sqlite+aiosqlite"})
_NEXT_ID = (
    "SELECT max(coalesce((SELECT max(id) FROM analyses), 0), "
    "coalesce((SELECT value FROM id_high_water WHERE name = 'analyses'), 0)) + 1"
)


def default_database_file() -> Path:
    """The embedded history in the user data directory (created when missing)."""
    directory = Path(platformdirs.user_data_dir("bifrost"))
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ServiceError.said("db.no_data_dir", folder=directory, reason=exc.strerror) from exc
    return directory / "bifrost.db"


def sqlite_file(url: str | None) -> Path | None:
    """The file the history lives in when it is an SQLite file: the default when no URL is
    set, else the path of an `sqlite:///…` URL. None for a server, an in-memory database, or
    a URL with options: those take the full path, which understands every URL."""
    if not url:
        return default_database_file()
    scheme, separator, path = url.partition(":///")
    if not separator or scheme not in _SQLITE_SCHEMES:
        return None
    if not path or path == ":memory:" or any(c in path for c in "?%#"):
        return None
    return Path(path)


def stored_time(moment: datetime) -> str:
    """A time as SQLAlchemy keeps it in SQLite: UTC, no zone, microseconds always shown."""
    utc = moment.astimezone(UTC) if moment.tzinfo else moment
    return f"{utc:%Y-%m-%d %H:%M:%S.%f}"


class EmbeddedStore:
    """An open embedded history at the newest schema. Use `with`; methods are `async` to fit
    where a `Store` fits, and block for the few milliseconds SQLite takes. It is the
    single-user history: it reads and writes the default tenant's rows."""

    tenant = DEFAULT_TENANT

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._connection = connection
        self.path = path

    @classmethod
    def open(cls, path: Path) -> EmbeddedStore | None:
        """The history in `path`, or None when it must go through `Store`: no file yet, a
        schema that is not the newest, or a file that cannot be opened (`Store` says why)."""
        if not path.is_file():
            return None
        try:
            connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        except sqlite3.Error:
            return None
        try:
            for pragma in PRAGMAS:
                connection.execute(pragma)
            found = connection.execute("SELECT version_num FROM alembic_version").fetchall()
        except sqlite3.Error:
            connection.close()
            return None
        if [row[0] for row in found] != [HEAD_REVISION]:
            connection.close()
            return None
        return cls(connection, path)

    async def save(self, report: Report, meta: AnalysisMeta) -> int:
        """Store the analysis and one row per finding (`repository.save_analysis`); its id."""
        row = analysis_row(report, meta)
        with self._write() as connection:  # BEGIN IMMEDIATE: no other writer in between
            if row["request_id"] is not None:
                earlier = self._request(connection, str(row["request_id"]))
                if earlier is not None:
                    return int(earlier[0])
            (analysis_id,) = connection.execute(_NEXT_ID).fetchone()
            _insert(connection, "analyses", [{"id": analysis_id, "tenant_id": self.tenant, **row}])
            _insert(connection, "findings", finding_rows(analysis_id, report))
        return int(analysis_id)

    async def for_request(self, request_id: str) -> tuple[int, Report] | None:
        """The analysis a request asked for, when stored (`repository.analysis_for_request`)."""
        with self._failing():
            found = self._request(self._connection, request_id)
        return (int(found[0]), Report.model_validate_json(found[1])) if found else None

    async def keep_input(self, analysis_id: int, blob: bytes) -> None:
        """Keep the raw input of a stored analysis that has none (`repository.keep_input`)."""
        with self._write() as connection:
            connection.execute(
                "UPDATE analyses SET input_blob = ?, stored_bytes = stored_bytes + ? "
                "WHERE tenant_id = ? AND id = ? AND input_blob IS NULL",
                (blob, len(blob), self.tenant, analysis_id),
            )

    async def known_issues(self, template_ids: list[str]) -> dict[str, KnownIssue]:
        """The issues pinned to these templates (`known.known_issues`)."""
        marks = ", ".join("?" * len(template_ids))
        with self._failing():
            rows = self._connection.execute(
                "SELECT template_id, note, link, analysis_id, pinned_at FROM known_issues "
                f"WHERE tenant_id = ? AND template_id IN ({marks})",
                [self.tenant, *template_ids],
            ).fetchall()
        return {
            str(row[0]): KnownIssue(
                note=row[1],
                link=row[2],
                analysis_id=row[3],
                pinned_at=datetime.fromisoformat(row[4]).replace(tzinfo=UTC),
            )
            for row in rows
        }

    async def matches(self, template_ids: list[str], content_hash: str) -> list[Match]:
        """`similar.matches`, in sqlite3."""
        if not template_ids:
            return []
        marks = "(" + ", ".join("?" * len(template_ids)) + ")"
        sql = MATCHES_SQL.format(
            tenant="?", templates=marks, leads=LEADS, hash="?", limit=MAX_MATCHES
        )
        with self._failing():
            rows = self._connection.execute(
                sql, [self.tenant, *template_ids, content_hash]
            ).fetchall()
        return [Match(int(r[0]), str(r[1]), int(r[2])) for r in rows]

    async def meanings(self, model: str, content_hash: str) -> list[tuple[int, bytes]]:
        """`similar.meanings`, in sqlite3."""
        sql = MEANINGS_SQL.format(tenant="?", model="?", hash="?", limit=MAX_MEANINGS)
        with self._failing():
            rows = self._connection.execute(sql, (self.tenant, model, content_hash)).fetchall()
        return [(int(r[0]), bytes(r[1])) for r in rows]

    async def meaning(self, analysis_id: int) -> tuple[str, bytes] | None:
        """`similar.meaning`, in sqlite3."""
        with self._failing():
            row = self._connection.execute(
                MEANING_SQL.format(tenant="?", id="?"), (self.tenant, analysis_id)
            ).fetchone()
        return (str(row[0]), bytes(row[1])) if row is not None and row[1] is not None else None

    async def incidents(self, analysis_ids: list[int]) -> list[PastIncident]:
        """`similar.incidents`, in sqlite3."""
        if not analysis_ids:
            return []
        marks = "(" + ", ".join("?" * len(analysis_ids)) + ")"
        sql = INCIDENTS_SQL.format(tenant="?", leads=LEADS, ids=marks)
        with self._failing():
            rows = self._connection.execute(sql, [self.tenant, *analysis_ids]).fetchall()
        return [
            PastIncident(
                analysis_id=int(r[0]),
                created_at=datetime.fromisoformat(r[1]).replace(tzinfo=UTC),
                service=r[2],
                verdict=str(r[3]),
                top_title=r[4],
                leads=int(r[5]),
                note=r[6],
            )
            for r in rows
        ]

    def cache_entry(self, key: str, now: datetime | None = None) -> tuple[str, int | None] | None:
        """The cached Report's JSON and its analysis id, unless missing or expired."""
        with self._failing():
            row = self._connection.execute(
                "SELECT report, analysis_id FROM cache_entries WHERE key = ? AND expires_at > ?",
                (key, stored_time(now or utcnow())),
            ).fetchone()
        return (str(row[0]), row[1]) if row is not None else None

    def put_cache_entry(self, entry: Mapping[str, object], now: datetime) -> None:
        """Replace the entry under its key, removing the expired ones (`cache_put`)."""
        with self._write() as connection:
            connection.execute(
                "DELETE FROM cache_entries WHERE expires_at <= ?", (stored_time(now),)
            )
            _insert(connection, "cache_entries", [entry], upsert="key")

    def drop_cache_entry(self, key: str) -> None:
        with self._write() as connection:
            connection.execute("DELETE FROM cache_entries WHERE key = ?", (key,))

    def add_counts(self, counts: Counts) -> None:
        """Add cache lookups to the counters, in the order `store/tally.py` writes them."""
        with self._write() as connection:
            connection.executemany(
                "UPDATE cache_entries SET hits = hits + ? WHERE key = ?",
                [(n, key) for key, n in sorted(counts.entry_hits.items())],
            )
            for name, value in (("hits", counts.hits), ("misses", counts.misses)):
                if value:
                    connection.execute(
                        "UPDATE cache_counters SET value = value + ? WHERE name = ?", (value, name)
                    )

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> EmbeddedStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _request(self, connection: sqlite3.Connection, request_id: str) -> tuple[int, str] | None:
        row = connection.execute(
            "SELECT id, report FROM analyses WHERE tenant_id = ? AND request_id = ?",
            (self.tenant, request_id),
        ).fetchone()
        return (int(row[0]), str(row[1])) if row is not None else None

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (`BEGIN IMMEDIATE`), committed on success."""
        with self._failing():
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield self._connection
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise
            self._connection.execute("COMMIT")

    @contextmanager
    def _failing(self) -> Iterator[None]:
        """Every SQLite error as one line naming the file, as `Store` says it."""
        try:
            yield
        except sqlite3.Error as exc:
            raise ServiceError.said("db.failed", where=self.path, problem=exc) from exc


def _insert(
    connection: sqlite3.Connection,
    table: str,
    rows: Sequence[Mapping[str, object]],
    *,
    upsert: str | None = None,
) -> None:
    """INSERT the rows (all with the same columns), each value as SQLAlchemy would bind it."""
    if not rows:
        return
    columns = list(rows[0])
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
    if upsert is not None:
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != upsert)
        sql += f" ON CONFLICT ({upsert}) DO UPDATE SET {updates}"
    connection.executemany(sql, [[_bound(row[c]) for c in columns] for row in rows])


def _bound(value: object) -> object:
    if isinstance(value, datetime):
        return stored_time(value)
    if isinstance(value, list):  # JSON columns (tags)
        return json.dumps(value)
    return value
