"""`/api/v1/analyses`: create, list and search, get, delete, export, feedback."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from bifrost.analysis.history import BadTime, export_rows, forget, give_feedback, history_filter
from bifrost.analysis.inputs import discard_spools
from bifrost.analysis.jobs import Job, follow_job
from bifrost.analysis.known import pin_known
from bifrost.api.auth import Caller, require, services_of
from bifrost.api.errors import ERROR_RESPONSES, ApiError, public_report
from bifrost.api.intake import NO_NUL, REQUEST_BODY, AnalysisOptions, receive
from bifrost.api.language import language_headers, language_of
from bifrost.api.routes.jobs import JobOut, job_accepted
from bifrost.api.running import Analysed, admission, run_analysis
from bifrost.choices import ExportFormat, Verdict
from bifrost.errors import UsageError
from bifrost.i18n.reports import localized
from bifrost.render import formats
from bifrost.render.formats import EXPORT_MEDIA_TYPES, REPORT_FORMATS
from bifrost.report import KnownIssue, Report
from bifrost.store import (
    AnalysisSummary,
    HistoryFilter,
    Store,
    StoredAnalysis,
    get_analysis,
    search_analyses,
)

router = APIRouter(prefix="/api/v1/analyses", tags=["analyses"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: ERROR_RESPONSES[422] | {"description": "No such analysis."}
}

RENDERED: dict[str, Any] = {
    f.media_type.split(";")[0]: {} for name, f in REPORT_FORMATS.items() if name != "json"
}
"""The media types of the rendered formats, beside JSON, for the OpenAPI document."""
AnalysisId = Annotated[int, Path(ge=1, le=2**62, description="The analysis id.")]


When = Annotated[
    str,
    Field(max_length=40),
    WithJsonSchema(
        {
            "type": "string",
            "maxLength": 40,
            "anyOf": [
                {"pattern": "^([0-9]+[mhdw])?$"},  # empty: no limit
                {"format": "date"},
                {"format": "date-time"},
            ],
        }
    ),
]
"""A time as `bifrost history` takes it, as the OpenAPI document describes it."""


class CreateOptions(AnalysisOptions):
    wait: bool = Field(
        default=True,
        description="With a queue (`bifrost serve --queue`): false answers 202 at once with "
        "the job's URL (`/api/v1/jobs/ID`); true waits for the Report.",
    )


class AnalysisPage(BaseModel):
    items: list[AnalysisSummary]
    page: int
    limit: int
    next_page: int | None = Field(description="The next page's number; null on the last page.")


class FeedbackIn(BaseModel):
    model_config = ConfigDict(strict=True)  # `0` is not `false`: the schema says boolean

    good: bool = Field(description="Was the analysis right?")
    note: str | None = Field(default=None, max_length=2000, pattern=NO_NUL)


class HistoryQuery(BaseModel):
    """The filters of `bifrost history`."""

    q: str | None = Field(
        default=None, max_length=500, pattern=NO_NUL, description="Full-text search."
    )
    service: str | None = Field(default=None, max_length=200, pattern=NO_NUL)
    env: str | None = Field(default=None, max_length=200, pattern=NO_NUL)
    tag: str | None = Field(default=None, max_length=100, pattern=NO_NUL)
    category: str | None = Field(
        default=None,
        max_length=200,
        pattern=NO_NUL,
        description="Finding category or prefix (`gpu`).",
    )
    verdict: Verdict | None = None
    since: When | None = Field(
        default=None, description="`30m`, `12h`, `7d`, `2w` ago, or a date or date-time."
    )
    until: When | None = Field(default=None, description="Same forms as since.")
    provider: str | None = Field(default=None, max_length=40, pattern=NO_NUL)

    def to_filter(self) -> HistoryFilter:
        try:
            return history_filter(
                query=self.q,
                service=self.service,
                environment=self.env,
                tag=self.tag,
                category=self.category,
                verdict=self.verdict,
                since=self.since,
                until=self.until,
                provider=self.provider,
            )
        except BadTime as exc:
            raise ApiError.wrapping(422, "validation_error", exc) from None


@router.post(
    "",
    summary="Analyse a log",
    status_code=201,
    openapi_extra={"requestBody": REQUEST_BODY},
    responses={
        200: {
            "description": "Answered from the cache, or not stored.",
            "model": Report,
            "content": RENDERED,
        },
        201: {
            "description": "Analysed and stored; Location names the stored analysis.",
            "content": RENDERED,
        },
        202: {
            "description": "Queued (`wait=false`, or still running after the server's wait); "
            "Location names the job.",
            "model": JobOut,
        },
        413: ERROR_RESPONSES[422] | {"description": "The body is larger than allowed."},
        **ERROR_RESPONSES,
    },
    response_model=Report,
)
async def create_analysis(
    request: Request,
    options: Annotated[CreateOptions, Query()],
    caller: Annotated[Caller, Depends(require("analyze"))],
) -> Response:
    """Send the log as the raw body (plain or gzip), as multipart `file` parts, or as JSON
    `{"log": "…"}`. The answer is the Report (`bifrost.report/v1`) or its rendering; with a
    queue, the log is analysed by a worker (`bifrost worker`)."""
    services = services_of(request)
    wait = options.wait
    if services.queue is None and not wait:
        raise ApiError.said(422, "validation_error", "api.wait_needs_queue")
    sources, received = await receive(request, options)
    try:
        admitted = await admission(services, caller, received)
    except BaseException:
        discard_spools(sources)
        raise
    if services.queue is None:
        answer = await run_analysis(services, caller, admitted, sources, received)
        return render(request, answer, received.format, series=options.series, lang=received.lang)
    try:
        job = await services.queue.submit(caller.store, sources, received)
    finally:
        discard_spools(sources)
    if wait:
        async for change in follow_job(caller.store, job.id, services.settings.job_wait_s):
            job = change
        if job.status == "done":
            return await render_job(
                request, caller.store, job, received.format, series=options.series
            )
    if job.status == "failed":
        raise ApiError.said(422, "input_error", "job.failed", problem=job.error)
    return job_accepted(job)


async def render_job(
    request: Request, store: Store, job: Job, fmt: str, *, series: bool = False
) -> Response:
    """A finished job's Report, as if the server had analysed the log itself."""
    stored = await get_analysis(store, job.analysis_id or 0)
    if stored is None:
        raise ApiError.said(404, "not_found", "job.analysis_deleted", id=job.id)
    return render(request, Analysed(stored.report, stored.id, cached=False), fmt, series=series)


def render(
    request: Request,
    answer: Analysed,
    fmt: str,
    *,
    series: bool = False,
    lang: str | None = None,
) -> Response:
    """The Report in the asked format and language, with where it is stored and whether it was
    cached; in JSON, the training metrics' series only when asked for (`series`)."""
    lang = language_of(request, lang)
    report = public_report(request, answer.report, lang)
    headers = {"X-Bifrost-Cache": "hit" if answer.cached else "miss", **language_headers(lang)}
    if answer.analysis_id is not None:
        headers["Location"] = f"/api/v1/analyses/{answer.analysis_id}"
        headers["X-Bifrost-Analysis-Id"] = str(answer.analysis_id)
    status = 201 if answer.analysis_id is not None and not answer.cached else 200
    media_type = REPORT_FORMATS[fmt].media_type
    return Response(
        formats.render(report, fmt, compact=True, series=series, lang=lang),
        status,
        headers,
        media_type=media_type,
    )


@router.get(
    "",
    summary="List and search stored analyses",
    response_model=AnalysisPage,
    responses=ERROR_RESPONSES,
)
async def list_analyses(
    request: Request,
    query: Annotated[HistoryQuery, Query()],
    caller: Annotated[Caller, Depends(require("read"))],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> AnalysisPage:
    """Newest first, with the same filters as `bifrost history`."""
    rows = await search_analyses(
        caller.store, query.to_filter(), limit=limit + 1, offset=(page - 1) * limit
    )
    return AnalysisPage(
        items=rows[:limit],
        page=page,
        limit=limit,
        next_page=page + 1 if len(rows) > limit else None,
    )


@router.get(
    "/export",
    summary="Export stored analyses",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "Every matching analysis, streamed.",
            "content": {media: {} for media in EXPORT_MEDIA_TYPES.values()},
        },
        **ERROR_RESPONSES,
    },
)
async def export_analyses(
    request: Request,
    query: Annotated[HistoryQuery, Query()],
    caller: Annotated[Caller, Depends(require("read"))],
    format: Annotated[ExportFormat, Query(description="csv, json (one array) or jsonl.")] = "jsonl",
) -> StreamingResponse:
    """Streamed in constant memory, newest first; the same filters as the list."""
    filters = query.to_filter()
    extension = "json" if format == "json" else format
    return StreamingResponse(
        export_rows(caller.store, filters, format),
        media_type=EXPORT_MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="bifrost-analyses.{extension}"'},
    )


@router.get(
    "/{analysis_id:int}",
    summary="Get one stored analysis",
    response_model=StoredAnalysis,
    responses={**NOT_FOUND, **ERROR_RESPONSES},
)
async def get_one(
    request: Request,
    response: Response,
    analysis_id: AnalysisId,
    caller: Annotated[Caller, Depends(require("read"))],
    series: Annotated[
        bool, Query(description="Include each training metric's series (`metrics[].points`).")
    ] = False,
) -> StoredAnalysis:
    """The analysis's columns, its Report (in the language of `Accept-Language`), and what
    users said about it."""
    stored = await get_analysis(caller.store, analysis_id)
    if stored is None:
        raise ApiError.said(404, "not_found", "api.no_analysis", id=analysis_id)
    lang = language_of(request)
    response.headers.update(language_headers(lang))
    report = localized(stored.report, lang)
    return dataclasses.replace(stored, report=report if series else report.without_series())


@router.delete(
    "/{analysis_id:int}",
    summary="Delete a stored analysis",
    status_code=204,
    response_class=Response,
    responses={**NOT_FOUND, **ERROR_RESPONSES},
)
async def delete_one(
    request: Request,
    analysis_id: AnalysisId,
    caller: Annotated[Caller, Depends(require("admin"))],
) -> Response:
    """With its findings, feedback, stored input and cache entry."""
    services = services_of(request)
    await forget(caller.store, services.cache, analysis_id)
    return Response(status_code=204)


@router.post(
    "/{analysis_id:int}/feedback",
    summary="Say whether an analysis was right",
    status_code=204,
    response_class=Response,
    responses={**NOT_FOUND, **ERROR_RESPONSES},
)
async def feedback(
    request: Request,
    analysis_id: AnalysisId,
    body: FeedbackIn,
    caller: Annotated[Caller, Depends(require("analyze"))],
) -> Response:
    services = services_of(request)
    await give_feedback(caller.store, analysis_id, body.good, body.note, services.settings)
    return Response(status_code=204)


class KnownIn(BaseModel):
    finding: str = Field(
        min_length=1, max_length=20, pattern=NO_NUL, description="The finding's id (F2) or rank."
    )
    note: str = Field(min_length=1, max_length=2000, pattern=NO_NUL, description="What fixed it.")
    link: str | None = Field(
        default=None, max_length=500, pattern=r"^https?://[^\x00]*$", description="A ticket."
    )


class KnownOut(BaseModel):
    template_id: str
    title: str
    known_issue: KnownIssue


@router.post(
    "/{analysis_id:int}/known",
    summary="Pin what fixed a finding to its template",
    status_code=201,
    response_model=KnownOut,
    responses={**NOT_FOUND, **ERROR_RESPONSES},
)
async def pin_known_issue(
    request: Request,
    analysis_id: AnalysisId,
    body: KnownIn,
    caller: Annotated[Caller, Depends(require("analyze"))],
) -> KnownOut:
    """Every later finding of the same template shows the note ("Known issue: …")."""
    try:
        pinned = await pin_known(caller.store, analysis_id, body.finding, body.note, body.link)
    except UsageError as exc:
        raise ApiError.wrapping(422, "validation_error", exc) from None
    return KnownOut(template_id=pinned.template_id, title=pinned.title, known_issue=pinned.issue)
