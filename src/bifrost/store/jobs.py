"""Jobs: requests the API queued for the workers (`bifrost serve --queue`), and how far each
got. The API keeps the log here (gzip) and the request names it (`job:ID`), so a log of any
size crosses the broker as a few bytes; a worker reads it back, and drops it once analysed.

A job belongs to the tenant whose key queued it: the API reads its tenant's jobs only. A
worker serves every tenant: it reaches a job by the reference its request carries (`job:ID`,
128 random bits), learns the tenant from it, and stores the analysis there. A request without
a job (published straight to the broker by another system) changes nothing here and is
analysed for the default tenant.
"""

from __future__ import annotations

import secrets

from sqlalchemy import ColumnElement, RowMapping, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bifrost.store.database import Store
from bifrost.store.models import JobRow
from bifrost.store.records import Job, utcnow

REFERENCE_PREFIX = "job:"


_COLUMNS = (
    JobRow.id,
    JobRow.request_id,
    JobRow.status,
    JobRow.source,
    JobRow.analysis_id,
    JobRow.error,
    JobRow.attempts,
    JobRow.created_at,
    JobRow.started_at,
    JobRow.finished_at,
)


async def create_job(
    store: Store, request_id: str | None, source: str, compressed: bytes
) -> tuple[Job, bool]:
    """A queued job for this log (gzip), and True; its request id is the caller's, or
    `job-ID`. A request id that has a job already gets that job, and False: a client's retry
    queues nothing new."""
    job_id = secrets.token_hex(16)
    values = {
        "id": job_id,
        "tenant_id": store.tenant,
        "request_id": request_id or f"job-{job_id}",
        "status": "queued",
        "source": source,
        "input": compressed,
        "attempts": 0,
        "created_at": utcnow(),
    }
    dialect_insert = postgresql.insert if store.dialect == "postgresql" else sqlite.insert
    statement = (
        dialect_insert(JobRow)
        .values(values)
        .on_conflict_do_nothing(index_elements=[JobRow.tenant_id, JobRow.request_id])
        .returning(*_COLUMNS)
    )
    async with store.write() as connection:
        row = (await connection.execute(statement)).mappings().first()
    if row is not None:
        return _job(row), True
    earlier = await job_for_request(store, str(values["request_id"]))
    assert earlier is not None  # jobs are never deleted
    return earlier, False


async def get_job(store: Store, job_id: str) -> Job | None:
    """The tenant's job with this id."""
    return await _find(store, JobRow.id == job_id)


async def job_for_request(store: Store, request_id: str) -> Job | None:
    """The tenant's job for this request id."""
    return await _find(store, JobRow.request_id == request_id)


async def job_input(store: Store, reference: str) -> tuple[int, bytes | None] | None:
    """The tenant of the job a request names (`job:ID`, of any tenant: a worker asks) and its
    compressed log, None once analysed; None when there is no such job."""
    job_id = reference.removeprefix(REFERENCE_PREFIX)
    async with store.read() as connection:
        found = await connection.execute(
            select(JobRow.tenant_id, JobRow.input).where(JobRow.id == job_id)
        )
        row = found.first()
    return (int(row[0]), row[1]) if row is not None else None


async def job_started(store: Store, reference: str) -> None:
    """The worker has begun on the job a request names (`job:ID`, of any tenant)."""
    await _change(
        store,
        reference,
        status="running",
        started_at=utcnow(),
        attempts=JobRow.attempts + 1,
        error=None,
    )


async def job_done(store: Store, reference: str, analysis_id: int | None) -> None:
    """Done: the log is dropped (the analysis keeps it when asked to, `store_input`)."""
    await _change(
        store,
        reference,
        status="done",
        analysis_id=analysis_id,
        finished_at=utcnow(),
        input=None,
    )


async def job_failed(store: Store, reference: str, reason: str) -> None:
    """Set aside: the log is kept, to send the request again (`bifrost jobs retry`)."""
    await _change(store, reference, status="failed", error=reason, finished_at=utcnow())


async def _change(store: Store, reference: str, **values: object) -> None:
    job_id = reference.removeprefix(REFERENCE_PREFIX)
    async with store.write() as connection:
        await connection.execute(update(JobRow).where(JobRow.id == job_id).values(**values))


async def _find(store: Store, condition: ColumnElement[bool]) -> Job | None:
    async with store.read() as connection:
        found = await connection.execute(
            select(*_COLUMNS).where(JobRow.tenant_id == store.tenant, condition)
        )
        row = found.mappings().first()
    return _job(row) if row is not None else None


def _job(row: RowMapping) -> Job:
    return Job(**dict(row))
