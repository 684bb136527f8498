"""`/api/v1/jobs`: analyses queued for the workers (`bifrost serve --queue`): how far one got,
and its changes as they happen (Server-Sent Events), from any server replica."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from bifrost.analysis.jobs import Job, follow_job, get_job
from bifrost.api.auth import Caller, require
from bifrost.api.errors import ERROR_RESPONSES, ApiError
from bifrost.store.database import Store
from bifrost.store.records import JobStatus

router = APIRouter(prefix="/api/v1/jobs", tags=["analyses"])

JobId = Annotated[str, Path(pattern="^[0-9a-f]{32}$", description="The job id.")]
EVENTS_FOR_S = 600.0
"""How long one event stream follows a job; a client reconnects to follow it longer."""


class JobOut(BaseModel):
    id: str
    request_id: str = Field(description="Yours (`request_id`), or `job-ID`.")
    status: JobStatus = Field(description="queued, running, done or failed.")
    analysis_id: int | None = Field(description="The stored analysis, once done.")
    analysis_url: str | None
    error: str | None = Field(description="Why it failed, once failed.")
    attempts: int = Field(description="How often a worker has started it.")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    url: str

    @classmethod
    def of(cls, job: Job) -> JobOut:
        analysis = f"/api/v1/analyses/{job.analysis_id}" if job.analysis_id else None
        return cls(
            id=job.id,
            request_id=job.request_id,
            status=job.status,
            analysis_id=job.analysis_id,
            analysis_url=analysis,
            error=job.error,
            attempts=job.attempts,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            url=f"/api/v1/jobs/{job.id}",
        )


def job_accepted(job: Job) -> JSONResponse:
    """202 with the job, and where to follow it."""
    body = JobOut.of(job)
    return JSONResponse(
        body.model_dump(mode="json"), status_code=202, headers={"Location": body.url}
    )


NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: ERROR_RESPONSES[422] | {"description": "No such job."}
}


@router.get(
    "/{job_id}",
    summary="A queued analysis",
    response_model=JobOut,
    responses={**NOT_FOUND, **ERROR_RESPONSES},
)
async def read_job(
    request: Request, job_id: JobId, caller: Annotated[Caller, Depends(require("read"))]
) -> JobOut:
    return JobOut.of(await _job(caller.store, job_id))


@router.get(
    "/{job_id}/events",
    summary="Follow a queued analysis",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "Server-Sent Events: `job` (the job) at once and at each change, "
            "until it is done or failed.",
            "content": {"text/event-stream": {}},
        },
        **NOT_FOUND,
        **ERROR_RESPONSES,
    },
)
async def job_events(
    request: Request, job_id: JobId, caller: Annotated[Caller, Depends(require("read"))]
) -> StreamingResponse:
    store = caller.store
    await _job(store, job_id)  # a 404 now, not an empty stream

    async def sse() -> AsyncIterator[str]:
        async for job in follow_job(store, job_id, EVENTS_FOR_S):
            yield f"event: job\ndata: {json.dumps(JobOut.of(job).model_dump(mode='json'))}\n\n"

    return StreamingResponse(
        sse(), media_type="text/event-stream", headers={"X-Accel-Buffering": "no"}
    )


async def _job(store: Store, job_id: str) -> Job:
    job = await get_job(store, job_id)
    if job is None:
        raise ApiError.said(404, "not_found", "job.missing", id=job_id)
    return job
