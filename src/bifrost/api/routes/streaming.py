"""Streamed analyses: progress events, then the LLM's tokens, then the Report.

Two transports, one sequence of events:
- `POST /api/v1/analyses/stream` answers Server-Sent Events (`event: progress|token|report|error`).
- `/api/v1/analyses/ws` is a WebSocket: send one JSON text message with the options and
  `"log"`, or the options alone followed by binary frames of the log and `{"end": true}`;
  receive `{"event": …}` JSON messages, the last being `report` or `error`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any, BinaryIO

from fastapi import APIRouter, Depends, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse
from pydantic import ValidationError
from starlette.requests import HTTPConnection

from bifrost.analysis import OnText
from bifrost.analysis.inputs import Source, check_text, discard_spools
from bifrost.api.auth import Caller, identify, require, services_of, spend
from bifrost.api.errors import (
    ERROR_RESPONSES,
    ApiError,
    ErrorBody,
    ErrorDetail,
    public_message,
    public_report,
)
from bifrost.api.intake import (
    REQUEST_BODY,
    AnalysisOptions,
    AnalysisRequest,
    held_or_spooled,
    invalid,
    parse_json,
    receive,
    spool_source,
    strict_booleans,
)
from bifrost.api.language import language_of
from bifrost.api.logs import log
from bifrost.api.running import Analysed, OnStage, admission, run_analysis
from bifrost.errors import BifrostError
from bifrost.i18n import message as catalog_message

router = APIRouter(prefix="/api/v1/analyses", tags=["analyses"])

Event = tuple[str, dict[str, Any]]
_HEARTBEAT_S = 15.0


@router.post(
    "/stream",
    summary="Analyse a log, streaming progress and the explanation",
    openapi_extra={"requestBody": REQUEST_BODY},
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "Server-Sent Events: `progress`, `token`, then `report` or `error`.",
            "content": {"text/event-stream": {}},
        },
        413: ERROR_RESPONSES[422] | {"description": "The body is larger than allowed."},
        **ERROR_RESPONSES,
    },
)
async def stream_analysis(
    request: Request,
    options: Annotated[AnalysisOptions, Query()],
    caller: Annotated[Caller, Depends(require("analyze"))],
) -> StreamingResponse:
    """The same inputs as `POST /api/v1/analyses`; the Report arrives as the last event."""
    services = services_of(request)
    sources, options = await receive(request, options)
    try:
        admitted = await admission(services, caller, options)
    except BaseException:
        discard_spools(sources)
        raise
    try:  # a log that cannot be read at all is a 422, not a stream that ends in an error
        for source in sources:
            await asyncio.to_thread(check_text, source)
    except BaseException:
        discard_spools(sources)
        raise

    async def sse() -> AsyncIterator[str]:
        async for name, data in events(
            lambda stage, text: run_analysis(
                services, caller, admitted, sources, options, on_text=text, on_stage=stage
            ),
            request,
            series=options.series,
            lang=options.lang,
        ):
            yield f"event: {name}\ndata: {json.dumps(data)}\n\n" if name else ": keep-alive\n\n"

    return StreamingResponse(
        sse(), media_type="text/event-stream", headers={"X-Accel-Buffering": "no"}
    )


@router.websocket("/ws")
async def analysis_socket(websocket: WebSocket) -> None:
    try:
        caller = await identify(websocket)
        if "analyze" not in caller.scopes:
            raise ApiError.said(403, "forbidden", "stream.lacks_analyze")
        await spend(websocket, caller)
    except ApiError as exc:
        await websocket.close(
            code=1008, reason=_close_reason(exc.message_in(language_of(websocket)))
        )
        return
    await websocket.accept()
    rid = websocket.scope["state"]["request_id"]
    services = services_of(websocket)
    try:
        sources, options = await _receive_socket(websocket, services.settings.max_request_bytes)
        options = options.model_copy(update={"lang": language_of(websocket, options.lang)})
    except ApiError as exc:
        message = exc.message_in(language_of(websocket))
        await websocket.send_json({"event": "error", "error": _error(exc.code, message, rid)})
        await websocket.close(code=1009 if exc.status == 413 else 1008)
        return
    except WebSocketDisconnect:
        return
    try:
        admitted = await admission(services, caller, options)
    except ApiError as exc:
        discard_spools(sources)
        message = exc.message_in(language_of(websocket, options.lang))
        await websocket.send_json({"event": "error", "error": _error(exc.code, message, rid)})
        await websocket.close(code=1008)
        return
    try:
        async for name, data in events(
            lambda stage, text: run_analysis(
                services, caller, admitted, sources, options, on_text=text, on_stage=stage
            ),
            websocket,
            series=options.series,
            lang=options.lang,
        ):
            if name:
                await websocket.send_json({"event": name, **data})
    except WebSocketDisconnect:
        return
    await websocket.close(code=1000)


Start = Callable[[OnStage, OnText], Coroutine[Any, Any, Analysed]]


async def events(
    start: Start, connection: HTTPConnection, *, series: bool = False, lang: str | None = None
) -> AsyncIterator[Event]:
    """Run the analysis and yield its events as they happen; ("", {}) is a heartbeat.

    `start(on_stage, on_text)` returns the analysis coroutine; `connection` (the request or
    the socket) gives the request id and whom the errors are worded for. If the client goes
    away, the analysis is cancelled. The Report holds the training metrics' series only
    with `series`, in `lang` (default: the connection's, `api/language.py`).
    """
    queue: asyncio.Queue[Event] = asyncio.Queue()

    def on_stage(name: str, data: dict[str, object]) -> None:
        queue.put_nowait(("progress", {"stage": name, **data}))

    def on_text(text: str) -> None:
        queue.put_nowait(("token", {"text": text}))

    task = asyncio.create_task(start(on_stage, on_text))
    try:
        while not task.done() or not queue.empty():
            if not queue.empty():
                yield queue.get_nowait()
                continue
            getter = asyncio.ensure_future(queue.get())
            done, _ = await asyncio.wait(
                {getter, task}, timeout=_HEARTBEAT_S, return_when=asyncio.FIRST_COMPLETED
            )
            if getter in done:
                yield getter.result()
            else:
                getter.cancel()
                if not done:
                    yield "", {}
        yield _final(task, connection, series=series, lang=lang)
    finally:
        if not task.done():
            task.cancel()


def _final(
    task: asyncio.Task[Analysed], connection: HTTPConnection, *, series: bool, lang: str | None
) -> Event:
    request_id = connection.scope["state"]["request_id"]
    language = language_of(connection, lang)
    try:
        answer = task.result()
    except (ApiError, BifrostError) as exc:
        message = public_message(connection, exc.message_in(language), language)
        return "error", {"error": _error(exc.code, message, request_id)}
    except Exception:
        log.exception("streamed analysis failed")
        message = catalog_message("api.internal_error", language, id=request_id)
        return "error", {"error": _error("internal_error", message, request_id)}
    report = answer.report if series else answer.report.without_series()
    return "report", {
        "analysis_id": answer.analysis_id,
        "cached": answer.cached,
        "report": json.loads(public_report(connection, report, lang).to_json(indent=None)),
    }


def _close_reason(message: str) -> str:
    """A close frame's reason: at most 123 bytes of UTF-8, so a Korean one is cut shorter."""
    return message.encode("utf-8")[:120].decode("utf-8", "ignore")


def _error(code: str, message: str, request_id: str) -> dict[str, Any]:
    body = ErrorBody(error=ErrorDetail(code=code, message=message, request_id=request_id))
    return body.error.model_dump(exclude_none=True)


async def _receive_socket(
    websocket: WebSocket, max_bytes: int
) -> tuple[list[Source], AnalysisOptions]:
    """The first message: options (with `log`, or followed by binary frames and `end`)."""
    data = parse_json(await websocket.receive_text(), "message")
    if not isinstance(data, dict):
        raise ApiError.said(422, "validation_error", "stream.not_an_object")
    strict_booleans(data, "message")
    try:
        text = data.pop("log", None)
        options = AnalysisOptions.model_validate(data)
        if text is not None:
            text = AnalysisRequest.model_validate({"log": text}, strict=True).log
    except ValidationError as exc:
        raise invalid(exc, "message") from None
    if text is not None and len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        raise ApiError.said(413, "too_large", "stream.too_large", limit=f"{max_bytes:,}")
    if text is not None:
        return [
            held_or_spooled(options.name or "upload", text.encode("utf-8", "surrogatepass"))
        ], options
    source = spool_source(options.name or "upload")
    assert source.path is not None
    try:
        with source.path.open("wb") as out:
            await _receive_frames(websocket, out, max_bytes)
    except BaseException:
        source.path.unlink(missing_ok=True)
        raise
    return [source], options


async def _receive_frames(websocket: WebSocket, out: BinaryIO, max_bytes: int) -> None:
    """Binary frames into `out` until a text frame (`{"end": true}`) ends the log."""
    size = 0
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        if message.get("bytes") is not None:
            size += len(message["bytes"])
            if size > max_bytes:
                raise ApiError.said(413, "too_large", "stream.too_large", limit=f"{max_bytes:,}")
            out.write(message["bytes"])
        elif message.get("text") is not None:
            return
