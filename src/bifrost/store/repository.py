"""History: save, read, search, stream, delete analyses, and record feedback on them.

Plain async functions over a `Store`; each is one transaction. The CLI and the API call these.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Unpack

from sqlalchemy import Row, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from bifrost.report import Report
from bifrost.store.database import Store
from bifrost.store.models import Analysis, Feedback, FindingRow, IdHighWater
from bifrost.store.records import (
    SUMMARY_FIELDS,
    AnalysisMeta,
    AnalysisSummary,
    FeedbackEntry,
    NotFound,
    StoredAnalysis,
    analysis_row,
    finding_rows,
    utcnow,
)
from bifrost.store.search import HistoryFilter, summaries

EXPORT_BATCH = 1000
_NEXT_SQLITE_ID = select(
    func.max(
        func.coalesce(select(func.max(Analysis.id)).scalar_subquery(), 0),
        func.coalesce(
            select(IdHighWater.value).where(IdHighWater.name == "analyses").scalar_subquery(), 0
        ),
    )
    + 1
)
NO_FILTER = HistoryFilter()


async def save_analysis(store: Store, report: Report, **meta: Unpack[AnalysisMeta]) -> int:
    """Store the analysis and one row per finding; returns its id. A `request_id` already
    stored (a retry that raced its first try) stores nothing and returns that analysis's id."""
    values = analysis_row(report, meta) | {"tenant_id": store.tenant}
    dialect_insert = postgresql.insert if store.dialect == "postgresql" else sqlite.insert
    statement = dialect_insert(Analysis).values(values)
    if values["request_id"] is not None:
        statement = statement.on_conflict_do_nothing(
            index_elements=[Analysis.tenant_id, Analysis.request_id]
        )

    async def body(connection: AsyncConnection) -> int:
        numbered = statement
        if store.dialect == "sqlite":  # above every id ever deleted (migration 0003)
            numbered = statement.values(id=await connection.scalar(_NEXT_SQLITE_ID))
        inserted = await connection.execute(numbered.returning(Analysis.id))
        analysis_id = inserted.scalar()
        if analysis_id is None:  # the request was stored already
            earlier = select(Analysis.id).where(
                Analysis.tenant_id == store.tenant, Analysis.request_id == values["request_id"]
            )
            found: int = (await connection.execute(earlier)).scalar_one()
            return found
        if report.findings:
            await connection.execute(insert(FindingRow), finding_rows(analysis_id, report))
        return int(analysis_id)

    return await store.transact(body)


async def analysis_for_request(store: Store, request_id: str) -> tuple[int, Report] | None:
    """The analysis a request asked for, when it was stored: its id and its Report."""
    query = select(Analysis.id, Analysis.report).where(
        Analysis.tenant_id == store.tenant, Analysis.request_id == request_id
    )

    async def body(connection: AsyncConnection) -> Row[int, str] | None:
        return (await connection.execute(query)).first()

    row = await store.transact(body, write=False)
    return (row.id, Report.model_validate_json(row.report)) if row is not None else None


async def get_analysis(store: Store, analysis_id: int) -> StoredAnalysis | None:
    """The analysis in full, or None when there is no such id."""
    columns = [Analysis.__table__.c[name] for name in SUMMARY_FIELDS]
    query = select(
        *columns,
        Analysis.cache_key,
        Analysis.report,
        Analysis.input_blob.is_not(None).label("has_input"),
    ).where(Analysis.tenant_id == store.tenant, Analysis.id == analysis_id)
    feedback = (
        select(Feedback.created_at, Feedback.verdict, Feedback.note)
        .where(Feedback.analysis_id == analysis_id)
        .order_by(Feedback.created_at, Feedback.id)
    )
    async with store.read() as connection:
        row = (await connection.execute(query)).mappings().first()
        if row is None:
            return None
        said = (await connection.execute(feedback)).all()
    fields = dict(row)
    fields["report"] = Report.model_validate_json(row["report"])
    fields["has_input"] = bool(row["has_input"])
    fields["feedback"] = tuple(
        FeedbackEntry(at, verdict == "good", note) for at, verdict, note in said
    )
    return StoredAnalysis(**fields)


async def latest_report_for_content(store: Store, content_hash: str) -> Report | None:
    """The newest stored analysis of this content (`Report.input.sha256`), whatever its name:
    so that a log can be looked at again around its findings."""
    query = (
        select(Analysis.report)
        .where(Analysis.tenant_id == store.tenant, Analysis.content_hash == content_hash)
        .order_by(Analysis.created_at.desc(), Analysis.id.desc())
        .limit(1)
    )
    async with store.read() as connection:
        found = (await connection.execute(query)).scalar()
    return None if found is None else Report.model_validate_json(found)


async def get_input_blob(store: Store, analysis_id: int) -> bytes | None:
    """The stored raw input (gzip-compressed, as saved); None when it was not kept."""
    query = select(Analysis.input_blob).where(
        Analysis.tenant_id == store.tenant, Analysis.id == analysis_id
    )
    async with store.read() as connection:
        found = (await connection.execute(query)).first()
    if found is None:
        raise _not_found(analysis_id)
    return found[0]


async def keep_input(store: Store, analysis_id: int, input_blob: bytes) -> None:
    """Keep the raw input of an analysis stored without it (a repeat asked for it)."""
    keep = (
        update(Analysis)
        .where(
            Analysis.tenant_id == store.tenant,
            Analysis.id == analysis_id,
            Analysis.input_blob.is_(None),
        )
        .values(input_blob=input_blob, stored_bytes=Analysis.stored_bytes + len(input_blob))
    )

    async def body(connection: AsyncConnection) -> None:
        await connection.execute(keep)

    await store.transact(body)


async def search_analyses(
    store: Store, filters: HistoryFilter = NO_FILTER, *, limit: int = 20, offset: int = 0
) -> list[AnalysisSummary]:
    """One page of matching analyses, newest first."""
    query = summaries(filters, store.dialect, store.tenant).limit(limit).offset(offset)
    async with store.read() as connection:
        rows = (await connection.execute(query)).mappings().all()
    return [AnalysisSummary(**row) for row in rows]


async def iter_analyses(
    store: Store, filters: HistoryFilter = NO_FILTER, *, batch: int = EXPORT_BATCH
) -> AsyncGenerator[AnalysisSummary, None]:
    """Every matching analysis, newest first, streamed with a server-side cursor (for export).

    Memory stays bounded by `batch` rows whatever the table size; close the iterator (or run
    it to the end) to release the connection.
    """
    query = summaries(filters, store.dialect, store.tenant).execution_options(yield_per=batch)
    async with store.read() as connection:
        result = await connection.stream(query)
        async for row in result.mappings():
            yield AnalysisSummary(**row)


async def delete_analysis(store: Store, analysis_id: int) -> str | None:
    """Delete the analysis with its findings, feedback and database cache entry; returns its
    cache key, for a cache kept elsewhere (Redis) to forget it too."""
    async with store.write() as connection:
        result = await connection.execute(
            delete(Analysis)
            .where(Analysis.tenant_id == store.tenant, Analysis.id == analysis_id)
            .returning(Analysis.cache_key)
        )
        found = result.first()
    if found is None:
        raise _not_found(analysis_id)
    key: str | None = found[0]
    return key


async def add_feedback(store: Store, analysis_id: int, good: bool, note: str | None = None) -> None:
    """Record whether the analysis was right (`bifrost feedback ID --good|--bad`)."""
    async with store.write() as connection:
        exists = await connection.execute(
            select(Analysis.id).where(
                Analysis.tenant_id == store.tenant, Analysis.id == analysis_id
            )
        )
        if exists.first() is None:
            raise _not_found(analysis_id)
        await connection.execute(
            insert(Feedback).values(
                analysis_id=analysis_id,
                created_at=utcnow(),
                verdict="good" if good else "bad",
                note=note,
            )
        )


def _not_found(analysis_id: int) -> NotFound:
    return NotFound.said("store.no_analysis", id=analysis_id)
