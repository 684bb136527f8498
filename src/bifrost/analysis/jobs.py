"""Jobs: analyses the API queues for the workers (`bifrost serve --queue`). The API keeps the
log (`keep_job`) and publishes a request naming it; a worker reads the log back (`job_log`)
and says how far it got; anyone follows the job (`follow_job`) in the history database.
"""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator

from bifrost.analysis.inputs import Source, compressed
from bifrost.store.database import Store
from bifrost.store.jobs import (
    create_job,
    get_job,
    job_done,
    job_failed,
    job_input,
    job_started,
)
from bifrost.store.records import Job

__all__ = [
    "Job",
    "follow_job",
    "get_job",
    "job_done",
    "job_failed",
    "job_log",
    "job_started",
    "keep_job",
]

_FIRST_LOOK_S = 0.05
_LONGEST_LOOK_S = 1.0


async def keep_job(
    store: Store, request_id: str | None, name: str, sources: list[Source]
) -> tuple[Job, bool]:
    """A queued job holding these sources (gzip), and whether it is new: a request id that
    has a job already gets that job (a client's retry queues nothing new)."""
    data = await asyncio.to_thread(compressed, sources)
    return await create_job(store, request_id, name, data)


async def job_log(store: Store, reference: str) -> tuple[int, bytes | None] | None:
    """The tenant of the job a request names (`job:ID`) and its log as it was sent, None
    once it is no longer kept; None when there is no such job."""
    kept = await job_input(store, reference)
    if kept is None:
        return None
    tenant, data = kept
    return tenant, None if data is None else await asyncio.to_thread(gzip.decompress, data)


async def follow_job(store: Store, job_id: str, timeout_s: float) -> AsyncIterator[Job]:
    """The job each time its status changes, until it is finished or `timeout_s` has passed;
    looked up often at first, then once a second. Any server replica can follow a job any
    worker runs: the database is what they share."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    pause = _FIRST_LOOK_S
    seen: str | None = None
    while True:
        job = await get_job(store, job_id)
        if job is None:
            return
        if job.status != seen:
            seen = job.status
            yield job
        if job.finished or loop.time() >= deadline:
            return
        await asyncio.sleep(min(pause, max(0.0, deadline - loop.time())))
        pause = min(pause * 2, _LONGEST_LOOK_S)
