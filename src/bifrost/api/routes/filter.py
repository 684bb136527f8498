"""`POST /api/v1/filter`: `bifrost filter` over HTTP — the log as the body, the options as query
parameters, the lines kept streamed back as text or JSON lines."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from bifrost.analysis.filter import (
    FilterOptions,
    Line,
    Source,
    around_finding,
    criteria_of,
    dedupe,
    line_record,
    prepare_filter,
    stats_of,
    stats_record,
)
from bifrost.analysis.inputs import check_text, discard_spools
from bifrost.api.auth import Caller, require, services_of
from bifrost.api.errors import ERROR_RESPONSES
from bifrost.api.intake import LOG_BYTES, NO_NUL, take_body
from bifrost.api.language import language_of
from bifrost.errors import BifrostError
from bifrost.levels import Level

router = APIRouter(prefix="/api/v1/filter", tags=["filter"])

_CHUNK_LINES = 1000
"""Lines sent per piece of the response: one write per line would cost more than the filter."""


class LinesFormat(StrEnum):
    text = "text"
    jsonl = "jsonl"


_MEDIA_TYPES = {
    LinesFormat.text: "text/plain; charset=utf-8",
    LinesFormat.jsonl: "application/x-ndjson",
}
_Id = Annotated[str, Field(max_length=64, pattern=r"^[0-9a-f]+$")]
LogTime = Annotated[
    str,
    Field(max_length=40),
    WithJsonSchema(
        {
            "type": "string",
            "maxLength": 40,
            "anyOf": [
                {"pattern": r"^(([01]?[0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.,][0-9]{1,6})?)?)?$"},
                {"format": "date"},
                {"format": "date-time"},
            ],
        }
    ),
]
"""A time as `bifrost filter --since` takes it (empty: no bound), as the OpenAPI document
describes it."""


class FilterQuery(BaseModel):
    """The options of `bifrost filter`."""

    model_config = ConfigDict(extra="forbid")

    level: Level | None = Field(default=None, description="This level or above.")
    since: LogTime | None = Field(
        default=None, description="The log's own time: 10:02, 10:02:30 or a date and time."
    )
    until: LogTime | None = Field(default=None, description="Same forms as since.")
    regexp: str | None = Field(
        default=None,
        max_length=1000,
        description="A line of the event matches (Python's regular expressions).",
        json_schema_extra={"format": "regex"},
    )
    exclude: str | None = Field(
        default=None, max_length=1000, json_schema_extra={"format": "regex"}
    )
    template: list[_Id] = Field(default_factory=list, max_length=100)
    exclude_template: list[_Id] = Field(default_factory=list, max_length=100)
    source: str | None = Field(default=None, max_length=200, pattern=NO_NUL)
    around: str | None = Field(
        default=None,
        max_length=10,
        pattern=r"^[Ff][1-9][0-9]*$",
        description="A finding (F1) of the last stored analysis of this log.",
    )
    context: int = Field(default=0, ge=0, le=10_000, description="Lines around each event.")
    dedupe: bool = Field(default=False, description="One event per template, with its count.")
    stats: bool = Field(default=False, description="Counts instead of lines (one JSON object).")
    format: LinesFormat = LinesFormat.text
    name: str | None = Field(default=None, max_length=500, pattern=NO_NUL)

    def options(self) -> FilterOptions:
        return FilterOptions(
            level=self.level,
            since=self.since,
            until=self.until,
            pattern=self.regexp,
            exclude=self.exclude,
            templates=self.template,
            exclude_templates=self.exclude_template,
            source=self.source,
            context=self.context,
        )


@router.post(
    "",
    summary="Filter a log",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string", **LOG_BYTES}}},
        }
    },
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The lines kept, as written (text) or one JSON record per line "
            "(jsonl: line, level, time, template_id, source, text); with `stats`, one object.",
            "content": {"text/plain": {}, "application/x-ndjson": {}, "application/json": {}},
        },
        404: ERROR_RESPONSES[422]
        | {"description": "`around`: no stored analysis of this log, or no such finding."},
        413: ERROR_RESPONSES[422] | {"description": "The body is larger than allowed."},
        **ERROR_RESPONSES,
    },
)
async def filter_log(
    request: Request,
    query: Annotated[FilterQuery, Query()],
    caller: Annotated[Caller, Depends(require("analyze"))],
) -> StreamingResponse:
    """Send the log as the raw body (plain or gzip). Multi-line events are kept whole; the
    answer streams as the lines are found, in constant memory."""
    services = services_of(request)
    settings = services.settings
    source = await take_body(query.name or "upload", request.stream())
    source.limit = settings.max_input_bytes
    sources = [source]
    try:  # what cannot be read or asked is an error status, before any line is sent
        await asyncio.to_thread(check_text, source)
        ranges = (
            await around_finding(sources, query.around, settings, caller.store)
            if query.around
            else ()
        )
        criteria = criteria_of(query.options(), ranges)
        filtering = await asyncio.to_thread(
            prepare_filter,
            sources,
            criteria,
            settings,
            final_ids=True,
            describe=query.stats or query.format is LinesFormat.jsonl,
        )
    except BaseException:
        discard_spools(sources)
        raise
    lines = filtering.lines()
    return StreamingResponse(
        _answer(lines, query, sources, language_of(request)),
        media_type="application/json" if query.stats else _MEDIA_TYPES[query.format],
        headers={"X-Accel-Buffering": "no"},
    )


def _answer(
    lines: Iterator[Line], query: FilterQuery, sources: list[Source], lang: str
) -> Iterator[str]:
    """The response body in pieces (run on a worker thread by Starlette); an input error met
    on the way ends it with an error record or line, as the status is already sent."""
    try:
        if query.stats:
            yield json.dumps(stats_record(stats_of(lines)), ensure_ascii=False) + "\n"
        elif query.dedupe:
            for entry in dedupe(lines):
                yield "".join(_shown(line, query.format, entry.count) for line in entry.lines)
        else:
            piece: list[str] = []
            for line in lines:
                piece.append(_shown(line, query.format, None))
                if len(piece) >= _CHUNK_LINES:
                    yield "".join(piece)
                    piece.clear()
            yield "".join(piece)
    except BifrostError as exc:
        yield _error(exc.code, exc.message_in(lang), query.format)
    finally:
        discard_spools(sources)


def _shown(line: Line, format: LinesFormat, count: int | None) -> str:
    if format is LinesFormat.jsonl:
        record = line_record(line, None, count if line.head else None)
        return json.dumps(record, ensure_ascii=False) + "\n"
    prefix = f"×{count} " if count is not None and line.head else ""
    return f"{prefix}{line.text}\n"


def _error(code: str, message: str, format: LinesFormat) -> str:
    if format is LinesFormat.jsonl:
        body: dict[str, Any] = {"error": {"code": code, "message": message}}
        return json.dumps(body, ensure_ascii=False) + "\n"
    return f"bifrost: error: {message}\n"
