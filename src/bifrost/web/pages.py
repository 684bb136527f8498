"""The web UI's pages: analyse a log, read a Report, search the history, the dashboard, API
keys; sign in and out.

Served by the API's application and through the same application layer the API uses
(`api/running.py`, `analysis/history.py`): there is no second way to analyse. Who may do
what is the API's rule too: `read` to see, `analyze` to analyse and give feedback; with auth
off (a server on loopback) everyone may do everything and nobody signs in. Keys are the
`admin` scope's, as on the API.
"""

from __future__ import annotations

import asyncio
import gzip
import io
import json
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, StreamingResponse
from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.responses import Response

from bifrost.analysis.diff import compare_runs
from bifrost.analysis.filter import FilterOptions, first_lines
from bifrost.analysis.history import export_rows, forget, give_feedback, title_in
from bifrost.analysis.inputs import Source, discard_spools
from bifrost.analysis.keys import create_key, find_key, get_key, list_keys, revoke_key
from bifrost.api.auth import (
    Caller,
    anonymous,
    caller_of,
    count_unverified,
    may_grant,
    services_of,
    spend,
)
from bifrost.api.errors import ApiError, public_report, status_of
from bifrost.api.intake import (
    AnalysisOptions,
    held_or_spooled,
    invalid,
    spool_files,
    spool_source,
)
from bifrost.api.language import language_of
from bifrost.api.quotas import Admission
from bifrost.api.routes.analyses import HistoryQuery
from bifrost.api.routes.streaming import events
from bifrost.api.running import admission, run_analysis
from bifrost.api.services import Services
from bifrost.choices import ExportFormat
from bifrost.errors import BifrostError, ServiceError, UsageError
from bifrost.levels import LEVELS
from bifrost.render import formats, ranking_phrase
from bifrost.report import Report
from bifrost.store import (
    ApiKey,
    Store,
    StoredAnalysis,
    get_analysis,
    get_input_blob,
    search_analyses,
)
from bifrost.store.overview import overview
from bifrost.web.charts import daily_chart
from bifrost.web.html import Line, page
from bifrost.web.session import (
    CSRF_FIELD,
    SESSION_COOKIE,
    Signer,
    csrf_matches,
    sign_in,
    sign_out,
)

PAGE_SIZE = 25
PERIODS = (7, 30, 90)
"""The dashboard's periods, in days (30 by default)."""
DOWNLOADS = {"json": "json", "sarif": "sarif", "md": "markdown"}
"""File extension → Report format offered for download."""


class SignInNeeded(Exception):
    """Nobody is signed in (or the session ended): the answer is the sign-in page."""


class HtmlErrors(APIRoute):
    """A page's errors as pages: an error the API would answer in JSON, shown as HTML."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInNeeded:
                target = urlencode({"next": request.url.path})
                return RedirectResponse(f"/signin?{target}", status_code=303)
            except ApiError as exc:
                message = exc.message_in(language_of(request))
                return _error(request, exc.status, message, exc.headers)
            except BifrostError as exc:
                return _error(request, status_of(exc), exc.message_in(language_of(request)))

        return route


router = APIRouter(route_class=HtmlErrors, include_in_schema=False)


@router.get("/")
async def home(request: Request) -> Response:
    caller = await _need(request, "read")
    llm = services_of(request).settings.llm
    return page(request, "analyze.html", {"caller": caller, "llm": llm, "values": {}})


@router.post("/analyze")
async def analyze(request: Request) -> Response:
    caller = await _need(request, "analyze")
    services = services_of(request)
    sources, options = await _received(request, caller)
    admitted = await _admitted(services, caller, sources, options)
    answer = await run_analysis(services, caller, admitted, sources, options)
    if answer.analysis_id is not None:
        return RedirectResponse(f"/analyses/{answer.analysis_id}", status_code=303)
    report = public_report(request, answer.report)  # not stored: shown once, here
    return page(request, "report.html", _report_context(request, caller, report, None))


@router.post("/analyze/stream")
async def analyze_streamed(request: Request) -> Response:
    """The same form, answered as Server-Sent Events (`api/routes/streaming.py`): the page's
    script shows the progress, then opens the stored Report."""
    caller = await _need(request, "analyze")
    services = services_of(request)
    sources, options = await _received(request, caller)
    admitted = await _admitted(services, caller, sources, options)

    async def sse() -> AsyncIterator[str]:
        async for name, data in events(
            lambda stage, text: run_analysis(
                services, caller, admitted, sources, options, on_text=text, on_stage=stage
            ),
            request,
        ):
            if not name:
                yield ": keep-alive\n\n"
                continue
            if name == "report":  # the page needs where it is, not the Report itself
                sent = {"analysis_id": data["analysis_id"], "cached": data["cached"]}
            else:
                sent = data
            yield f"event: {name}\ndata: {json.dumps(sent)}\n\n"

    return StreamingResponse(
        sse(), media_type="text/event-stream", headers={"X-Accel-Buffering": "no"}
    )


async def _admitted(
    services: Services, caller: Caller, sources: list[Source], options: AnalysisOptions
) -> Admission:
    """The tenant's quotas for the form's analysis; the inputs are removed when refused."""
    try:
        return await admission(services, caller, options)
    except BaseException:
        discard_spools(sources)
        raise


async def _received(request: Request, caller: Caller) -> tuple[list[Source], AnalysisOptions]:
    """The analyse form's inputs (temporary files; `run_analysis` removes them) and options."""
    services = services_of(request)
    form = await request.form(max_files=100, max_fields=20)
    try:
        _check_csrf(request, form)
        options = _options(form, services.settings.llm)
        options = options.model_copy(update={"lang": language_of(request)})
        files = [
            part for part in form.getlist("file") if isinstance(part, UploadFile) and part.filename
        ]
        pasted = form.get("log")
        text = pasted.encode("utf-8", "surrogatepass") if isinstance(pasted, str) else b""
        if not files and not text.strip():
            raise ApiError.said(422, "input_error", "web.no_log")
        await spend(request, caller)
        sources = await spool_files(files, None) if files else []
        if text.strip():
            sources.append(held_or_spooled("pasted", text))
        return sources, options
    finally:
        await form.close()


@router.get("/analyses/{analysis_id:int}")
async def report_page(request: Request, analysis_id: int) -> Response:
    caller = await _need(request, "read")
    stored = await get_analysis(caller.store, analysis_id)
    if stored is None:
        raise ApiError.said(404, "not_found", "api.no_analysis", id=analysis_id)
    report = public_report(request, stored.report)
    return page(request, "report.html", _report_context(request, caller, report, stored))


@router.get("/analyses/{analysis_id:int}/report.{extension}")
async def download(request: Request, analysis_id: int, extension: str) -> Response:
    caller = await _need(request, "read")
    fmt = DOWNLOADS.get(extension)
    stored = await get_analysis(caller.store, analysis_id)
    if fmt is None or stored is None:
        raise ApiError.said(404, "not_found", "web.no_download", path=request.url.path)
    body = formats.render(public_report(request, stored.report), fmt, lang=language_of(request))
    return Response(
        body,
        media_type=formats.REPORT_FORMATS[fmt].media_type,
        headers={
            "Content-Disposition": f'attachment; filename="bifrost-{analysis_id}.{extension}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post("/analyses/{analysis_id:int}/feedback")
async def feedback(request: Request, analysis_id: int) -> Response:
    caller = await _need(request, "analyze")
    form = await request.form(max_files=0, max_fields=10)
    _check_csrf(request, form)
    verdict = form.get("good")
    if verdict not in ("yes", "no"):
        raise ApiError.said(422, "validation_error", "web.feedback_verdict")
    note = form.get("note")
    note = note.strip()[:2000] or None if isinstance(note, str) else None
    services = services_of(request)
    await give_feedback(caller.store, analysis_id, verdict == "yes", note, services.settings)
    return RedirectResponse(f"/analyses/{analysis_id}#feedback", status_code=303)


@router.post("/analyses/{analysis_id:int}/delete")
async def delete(request: Request, analysis_id: int) -> Response:
    """Delete a stored analysis with its findings, feedback, input and cache entry (admins)."""
    caller = await _need(request, "admin")
    form = await request.form(max_files=0, max_fields=10)
    _check_csrf(request, form)
    services = services_of(request)
    await forget(caller.store, services.cache, analysis_id)
    return RedirectResponse("/history", status_code=303)


@router.get("/history")
async def history(request: Request) -> Response:
    caller = await _need(request, "read")
    query, number = _history_query(request)
    rows = await search_analyses(
        caller.store,
        query.to_filter(),
        limit=PAGE_SIZE + 1,
        offset=(number - 1) * PAGE_SIZE,
    )
    filters = query.model_dump(exclude_none=True)
    return page(
        request,
        "history.html",
        {
            "caller": caller,
            "rows": rows[:PAGE_SIZE],
            "title_in": title_in,
            "filters": filters,
            "page_number": number,
            "previous": _link("/history", filters, number - 1) if number > 1 else None,
            "next": _link("/history", filters, number + 1) if len(rows) > PAGE_SIZE else None,
            "exports": {f: _link("/history/export", filters, format=f) for f in ("csv", "json")},
        },
    )


@router.get("/history/export")
async def export(request: Request) -> Response:
    caller = await _need(request, "read")
    query, _ = _history_query(request)
    fmt: ExportFormat = "json" if request.query_params.get("format") == "json" else "csv"
    return StreamingResponse(
        export_rows(caller.store, query.to_filter(), fmt),
        media_type=formats.EXPORT_MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="bifrost-analyses.{fmt}"'},
    )


@router.get("/signin")
async def signin_page(request: Request) -> Response:
    if not services_of(request).auth:
        return RedirectResponse("/", status_code=303)
    return page(request, "signin.html", {"next": _next(request.query_params.get("next"))})


@router.post("/signin")
async def signin(request: Request) -> Response:
    services = services_of(request)
    form = await request.form(max_files=0, max_fields=10)
    _check_csrf(request, form)
    target = _next(form.get("next"))
    if not services.auth:
        return RedirectResponse(target, status_code=303)
    secret = form.get("key")
    secret = secret.strip() if isinstance(secret, str) else ""
    await count_unverified(request)  # guessing keys is rate-limited as on the API
    key = await find_key(services.store, secret) if secret else None
    if key is None or not key.active:
        context = {"next": target, "problem": "That API key is not valid (mistyped, or revoked)."}
        return page(request, "signin.html", context, status=401)
    response = RedirectResponse(target, status_code=303)
    signer = _signer(request)
    sign_in(request, response, signer.cookie(key.id), max_age=int(signer.lifetime_s))
    return response


@router.post("/signout")
async def signout(request: Request) -> Response:
    form = await request.form(max_files=0, max_fields=10)
    _check_csrf(request, form)
    response = RedirectResponse("/signin", status_code=303)
    sign_out(request, response)
    return response


async def _viewer(request: Request) -> Caller | None:
    """Who is looking: anyone with auth off, else the key of a valid session."""
    services = services_of(request)
    if not services.auth:
        return anonymous(request)
    key_id = _signer(request).key_id(request.cookies.get(SESSION_COOKIE))
    if key_id is None:
        return None
    key = await get_key(services.store, key_id)
    if key is None or not key.active:  # revoked since: the session ends with it
        return None
    return await caller_of(key, services)


async def _need(request: Request, scope: str) -> Caller:
    caller = await _viewer(request)
    if caller is None:
        raise SignInNeeded
    if scope not in caller.scopes:
        raise ApiError.said(403, "forbidden", "web.lacks_scope", scope=scope)
    return caller


def _check_csrf(request: Request, form: FormData) -> None:
    if not csrf_matches(request, form.get(CSRF_FIELD)):
        raise ApiError.said(403, "csrf_failed", "web.csrf_failed")


def _options(form: FormData, llm: str | None) -> AnalysisOptions:
    def text(name: str) -> str | None:
        value = form.get(name)
        return value.strip() or None if isinstance(value, str) else None

    tags = [t.strip() for t in (text("tags") or "").split(",") if t.strip()]
    fields: dict[str, Any] = {
        "service": text("service"),
        "env": text("env"),
        "tag": tags,
        "store_input": form.get("keep_input") == "yes",
    }
    if form.get("explain") == "yes" and llm:
        fields["llm"] = llm
    try:
        return AnalysisOptions.model_validate(fields)
    except ValidationError as exc:
        raise invalid(exc, "form") from None


def _history_query(request: Request) -> tuple[HistoryQuery, int]:
    params = {k: v for k, v in request.query_params.items() if v and k not in ("page", "format")}
    try:
        query = HistoryQuery.model_validate(params)
    except ValidationError as exc:
        raise invalid(exc, "filter") from None
    page_number = request.query_params.get("page", "1")
    return query, int(page_number) if page_number.isdigit() and int(page_number) > 0 else 1


def _link(path: str, filters: dict[str, Any], page_number: int = 1, **extra: str) -> str:
    params = {**filters, **extra}
    if page_number > 1:
        params["page"] = str(page_number)
    return f"{path}?{urlencode(params)}" if params else path


def _report_context(
    request: Request, caller: Caller, report: Report, stored: StoredAnalysis | None
) -> dict[str, Any]:
    lang = language_of(request)
    return {
        "caller": caller,
        "report": report,
        "stored": stored,
        "markdown": formats.render(report, "markdown", lang=lang),
        "order": ranking_phrase(report, lang),
        "downloads": DOWNLOADS,
    }


def _signer(request: Request) -> Signer:
    signer: Signer = request.app.state.signer
    return signer


def _next(value: object) -> str:
    """Where to go after signing in: a path on this site, never another site."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith("//"):
        return value if "\\" not in value else "/"  # `/\\host` is another site to browsers
    return "/"


def _error(
    request: Request, status: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    response = page(request, "error.html", {"status": status, "message": message}, status)
    response.headers.update(headers or {})
    return response


@router.get("/dashboard")
async def dashboard(request: Request) -> Response:
    caller = await _need(request, "read")
    services = services_of(request)
    wanted = request.query_params.get("days", "")
    days = int(wanted) if wanted.isdigit() and int(wanted) in PERIODS else PERIODS[1]
    today = datetime.now(UTC).date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, time.min, tzinfo=UTC)
    summary = await overview(caller.store, since)
    try:
        cache = await services.cache.stats()
        lookups = cache.hits + cache.misses
        cache_rate = cache.hits / lookups if lookups else None
    except ServiceError:  # the dashboard shows without the cache's numbers
        cache_rate = None
    context = {
        "caller": caller,
        "overview": summary,
        "chart": daily_chart(summary.days, first, today),
        "days": days,
        "periods": PERIODS,
        "cache_rate": cache_rate,
    }
    return page(request, "dashboard.html", context)


@router.get("/keys")
async def keys_page(request: Request) -> Response:
    caller = await _need(request, "admin")
    return await _keys(request, caller)


@router.post("/keys")
async def new_key(request: Request) -> Response:
    caller = await _need(request, "admin")
    form = await request.form(max_files=0, max_fields=20)
    _check_csrf(request, form)
    name = form.get("name")
    rate = form.get("rate")
    scopes = [s for s in form.getlist("scope") if isinstance(s, str)]
    may_grant(caller, scopes)
    try:
        key, secret = await create_key(
            caller.store,
            name if isinstance(name, str) else "",
            scopes,
            rate.strip() or None if isinstance(rate, str) else None,
        )
    except UsageError as exc:
        problem = exc.message_in(language_of(request))
        return await _keys(request, caller, problem=problem, status=422)
    return await _keys(request, caller, created=(key, secret), status=201)


@router.post("/keys/{key_id:int}/revoke")
async def revoke(request: Request, key_id: int) -> Response:
    caller = await _need(request, "admin")
    form = await request.form(max_files=0, max_fields=10)
    _check_csrf(request, form)
    await revoke_key(caller.store, key_id)
    return RedirectResponse("/keys", status_code=303)


async def _keys(
    request: Request,
    caller: Caller,
    *,
    created: tuple[ApiKey, str] | None = None,
    problem: str | None = None,
    status: int = 200,
) -> Response:
    context = {
        "caller": caller,
        "keys": await list_keys(caller.store),
        "created": created[0] if created else None,
        "secret": created[1] if created else None,
        "problem": problem,
    }
    return page(request, "keys.html", context, status)


@router.get("/diff")
async def diff_page(request: Request) -> Response:
    caller = await _need(request, "analyze")
    return page(request, "diff.html", {"caller": caller, "report": None})


@router.post("/diff")
async def diff(request: Request) -> Response:
    """A failing run against a good one (`bifrost diff`): a stored run kept with its input, or
    a file, against a pasted log or a file. Shown, not stored."""
    caller = await _need(request, "analyze")
    services = services_of(request)
    form = await request.form(max_files=2, max_fields=10)
    spooled: list[Source] = []
    try:
        _check_csrf(request, form)
        baseline, baseline_name = await _baseline(form, caller.store, spooled)
        failing, failing_name = await _failing(form, spooled)
        await spend(request, caller)
        async with services.slots.hold():
            comparison = await asyncio.to_thread(
                compare_runs,
                str(baseline),
                str(failing),
                services.settings,
                baseline_name=baseline_name,
                failing_name=failing_name,
                limit=services.settings.max_input_bytes,
            )
    finally:
        await form.close()
        discard_spools(spooled)
    context = {
        "caller": caller,
        "report": public_report(request, comparison.report),
        "baseline_warnings": comparison.baseline_warnings,
    }
    return page(request, "diff.html", context)


async def _baseline(form: FormData, store: Store, spooled: list[Source]) -> tuple[Path, str]:
    """The good run as a file, and its name."""
    wanted = form.get("baseline_id")
    wanted = wanted.strip().lstrip("#") if isinstance(wanted, str) else ""
    if wanted:
        if not wanted.isdigit():
            raise ApiError.said(422, "validation_error", "web.baseline_number")
        blob = await get_input_blob(store, int(wanted))
        if blob is None:
            raise ApiError.said(422, "input_error", "web.baseline_no_input", id=wanted)
        source = spool_source(f"analysis-{wanted}")
        spooled.append(source)
        assert source.path is not None
        source.path.write_bytes(blob)  # gzip, as stored: the reader decompresses it
        return source.path, f"stored analysis {wanted}"
    part = form.get("baseline_file")
    if isinstance(part, UploadFile) and part.filename:
        return await _spooled(part, spooled), part.filename
    raise ApiError.said(422, "input_error", "web.no_baseline")


async def _failing(form: FormData, spooled: list[Source]) -> tuple[Path, str]:
    part = form.get("failing_file")
    if isinstance(part, UploadFile) and part.filename:
        return await _spooled(part, spooled), part.filename
    pasted = form.get("log")
    if isinstance(pasted, str) and pasted.strip():
        source = spool_source("pasted")
        spooled.append(source)
        assert source.path is not None
        source.path.write_bytes(pasted.encode("utf-8", "surrogatepass"))
        return source.path, "pasted"
    raise ApiError.said(422, "input_error", "web.no_failing_log")


async def _spooled(part: UploadFile, spooled: list[Source]) -> Path:
    (source,) = await spool_files([part], None)
    spooled.append(source)
    assert source.path is not None
    return source.path


CONTEXT_LINES = 25
"""Lines shown each side of the asked one in the context view."""


@router.get("/analyses/{analysis_id:int}/context")
async def context(request: Request, analysis_id: int) -> Response:
    """The lines around one line of a stored input (kept with "Keep the log itself")."""
    caller = await _need(request, "read")
    wanted = request.query_params.get("line", "")
    if not wanted.isdigit() or int(wanted) < 1:
        raise ApiError.said(422, "validation_error", "web.bad_line")
    store = caller.store
    blob = await get_input_blob(store, analysis_id)
    if blob is None:
        raise ApiError.said(404, "not_found", "web.no_input", id=analysis_id)
    line = int(wanted)
    lines = await asyncio.to_thread(_around, blob, line, CONTEXT_LINES)
    if not lines:
        raise ApiError.said(404, "not_found", "web.no_line", id=analysis_id, line=line)
    context = {"caller": caller, "analysis_id": analysis_id, "lines": lines, "line": line}
    return page(request, "context.html", context)


SHOWN_LINES = 2000
"""Lines the "show lines" view shows at most: a page, not the whole log."""


@router.get("/analyses/{analysis_id:int}/lines")
async def show_lines(request: Request, analysis_id: int) -> Response:
    """The lines of a stored input narrowed as `bifrost filter` does: by level, regex and
    template, stack traces kept whole."""
    caller = await _need(request, "read")
    blob = await get_input_blob(caller.store, analysis_id)
    if blob is None:
        raise ApiError.said(404, "not_found", "web.no_input", id=analysis_id)
    asked = request.query_params
    level = asked.get("level") or None
    if level is not None and level not in LEVELS:
        raise ApiError.said(422, "validation_error", "web.bad_level", level=level)
    template = asked.get("template", "").strip()
    options = FilterOptions(
        level=level,
        pattern=asked.get("regexp") or None,
        templates=[template] if template else [],
    )
    source = Source(name=f"#{analysis_id}", path=None, data=blob)
    settings = services_of(request).settings
    lines, more = await asyncio.to_thread(first_lines, source, options, settings, SHOWN_LINES)
    context = {
        "caller": caller,
        "analysis_id": analysis_id,
        "lines": lines,
        "more": more,
        "levels": LEVELS,
        "asked": {"level": level or "", "regexp": asked.get("regexp", ""), "template": template},
    }
    return page(request, "lines.html", context)


@router.get("/open")
async def open_analysis(request: Request) -> Response:
    """A stored analysis by its number (the analyse page's "open" box)."""
    await _need(request, "read")
    wanted = request.query_params.get("id", "").strip().lstrip("#")
    if not wanted.isdigit():
        raise ApiError.said(422, "validation_error", "web.open_number")
    return RedirectResponse(f"/analyses/{int(wanted)}", status_code=303)


def _around(blob: bytes, line: int, radius: int) -> list[Line]:
    """Lines `line - radius` to `line + radius` of a gzip-compressed input (read only as far
    as needed), each cut to a screen's worth."""
    first = max(1, line - radius)
    found = []
    with gzip.GzipFile(fileobj=io.BytesIO(blob)) as text:
        for number, raw in enumerate(text, start=1):
            if number >= first:
                found.append(Line(number, raw.decode("utf-8", "replace").rstrip("\r\n")[:2000]))
            if number >= line + radius:
                break
    return found if found and found[-1].number >= line else []
