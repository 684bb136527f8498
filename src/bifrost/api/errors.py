"""One error format for every failure: `{"error": {"code", "message", "request_id"}}`.

Bifrost's own errors keep their stable codes and get the HTTP status that fits them; FastAPI's
validation errors name the field; anything unexpected is answered with a request id only, and
the traceback goes to the log under that id (see `middleware.RequestContext`). A failure of
the database or Redis says which one failed, never where it is: their URLs name users, hosts
and databases, so those go to the log alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, HTTPConnection
from starlette.routing import Match

from bifrost.api.language import language_of
from bifrost.api.logs import log
from bifrost.errors import BifrostError, said_in
from bifrost.i18n import DEFAULT_LANGUAGE
from bifrost.i18n.reports import localized
from bifrost.i18n.validation import Problem, problem_of
from bifrost.report import Report
from bifrost.store.database import safe_url


class FieldProblem(BaseModel):
    field: str = Field(description="Where: `query.top`, `body.log`, `path.analysis_id`.")
    message: str


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable, machine-readable: `unauthorized`, `rate_limited`, …")
    message: str = Field(description="What went wrong and what to do, in one line.")
    request_id: str | None = Field(default=None, description="Quote it when reporting a bug.")
    fields: list[FieldProblem] | None = Field(
        default=None, description="For `validation_error`: every field that is wrong."
    )


class ErrorBody(BaseModel):
    error: ErrorDetail


class ApiError(Exception):
    """An error the API answers on purpose, with its status and any headers (Retry-After…).
    Made with `said`, its message is a catalog message (`bifrost.i18n`), answered in the
    client's language (`api/language.py`)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: Mapping[str, str] | None = None,
        fields: Sequence[Problem] | None = None,
        *,
        key: str | None = None,
        values: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.fields = fields
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        self.key = key
        self.values = dict(values or {})

    @classmethod
    def said(
        cls,
        status: int,
        code: str,
        key: str,
        /,
        headers: Mapping[str, str] | None = None,
        fields: Sequence[Problem] | None = None,
        **values: object,
    ) -> ApiError:
        """The error of the catalog message `key`, its `{name}` fields filled from `values`
        (an error among them is said in the same language: `bifrost.errors.said_in`)."""
        english = said_in(key, DEFAULT_LANGUAGE, values)
        return cls(status, code, english, headers, fields, key=key, values=values)

    @classmethod
    def wrapping(cls, status: int, code: str, exc: BifrostError) -> ApiError:
        """The answer to one of bifrost's own errors, in its words (and their translations)."""
        return cls(status, code, exc.message, key=exc.key, values=exc.fields)

    def message_in(self, lang: str) -> str:
        """The message in `lang`, when it came from the catalog; else as it was written."""
        if self.key is None:
            return self.message
        return said_in(self.key, lang, self.values)

    def fields_in(self, lang: str) -> list[FieldProblem] | None:
        """The wrong fields, each said in `lang`."""
        if self.fields is None:
            return None
        return [FieldProblem(field=p.field, message=p.message_in(lang)) for p in self.fields]


_STATUS_BY_CODE = {
    "input_error": 422,
    "usage_error": 422,
    "config_error": 422,
    "not_found": 404,
    "conflict": 409,
    "service_error": 503,
}
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "too_large",
    415: "unsupported_media_type",
}

_METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in {
        401: "No API key, an unknown one, or a revoked one.",
        403: "The key lacks the scope this route needs.",
        422: "A field is invalid (named in `fields`), or the input cannot be analysed.",
        429: "Rate limit exceeded; see Retry-After and the RateLimit-* headers.",
        503: "Busy (see Retry-After) or a dependency is down.",
    }.items()
}
"""Errors every protected route can answer, for the OpenAPI document."""


def error_response(
    status: int,
    code: str,
    message: str,
    request_id: str | None,
    headers: Mapping[str, str] | None = None,
    fields: list[FieldProblem] | None = None,
) -> JSONResponse:
    body = ErrorBody(
        error=ErrorDetail(code=code, message=message, request_id=request_id, fields=fields)
    )
    return JSONResponse(
        body.model_dump(exclude_none=True), status_code=status, headers=dict(headers or {})
    )


def request_id(connection: HTTPConnection) -> str | None:
    return getattr(connection.state, "request_id", None)


def api_error_response(connection: HTTPConnection, exc: ApiError) -> JSONResponse:
    """The answer to `exc`, in the client's language (`api/language.py`)."""
    lang = language_of(connection)
    return error_response(
        exc.status,
        exc.code,
        exc.message_in(lang),
        request_id(connection),
        exc.headers,
        exc.fields_in(lang),
    )


def public_message(connection: HTTPConnection, message: str, lang: str) -> str:
    """`message` as a client may read it: a failure that names the database or Redis by its
    URL becomes "the database/cache is unavailable" (in `lang`), and the message goes to the
    log (under the request id) for the operator."""
    services = getattr(connection.app.state, "services", None)
    if services is None:
        return message
    addresses = {services.store.url: ("database", "api.database_unavailable")}
    if services.settings.redis_url:
        addresses[safe_url(services.settings.redis_url)] = ("cache", "api.cache_unavailable")
    for address, (dependency, key) in addresses.items():
        if address in message:
            log.warning("dependency failed", dependency=dependency, problem=message)
            return said_in(key, lang, {})
    return message


def public_report(connection: HTTPConnection, report: Report, lang: str | None = None) -> Report:
    """The Report as it leaves the server: in the answer's language (`api/language.py`), with
    `public_message` applied to the why of its warnings (`not stored: why`, `cache not used:
    why`)."""
    lang = language_of(connection, lang)
    shown = localized(report, lang)
    warnings = []
    for warning in shown.warnings:
        head, colon, why = warning.partition(": ")
        warnings.append(f"{head}: {public_message(connection, why, lang)}" if colon else warning)
    return shown.model_copy(update={"warnings": warnings})


def invalid_fields(problems: list[Problem]) -> ApiError:
    """A 422 naming every wrong field (`fields`), its message the first one and how many more."""
    first = problems[0]
    if len(problems) == 1:
        return ApiError.said(
            422,
            "validation_error",
            "validation.first",
            fields=problems,
            field=first.field,
            problem=first,
        )
    return ApiError.said(
        422,
        "validation_error",
        "validation.first_and_more",
        fields=problems,
        field=first.field,
        problem=first,
        more=len(problems) - 1,
    )


def status_of(exc: BifrostError) -> int:
    """The HTTP status of one of bifrost's own errors (500: a bug)."""
    return _STATUS_BY_CODE.get(exc.code, 500)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every known error into the one format."""

    async def on_api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return api_error_response(request, exc)

    async def on_bifrost_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, BifrostError)
        status = status_of(exc)
        headers = {"Retry-After": "5"} if status == 503 else None
        lang = language_of(request)
        message = public_message(request, exc.message_in(lang), lang)
        return error_response(status, exc.code, message, request_id(request), headers)

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = [problem_of(error) for error in exc.errors()] or [Problem("request", "invalid")]
        return api_error_response(request, invalid_fields(problems))

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if isinstance(exc.__cause__, ClientDisconnect):
            raise exc.__cause__  # the client left mid-body: not a bad body (`RequestContext`)
        if exc.status_code == 400:  # a body FastAPI or Starlette could not parse
            unreadable = ApiError.said(
                422, "validation_error", "api.unreadable_body", reason=exc.detail
            )
            return api_error_response(request, unreadable)
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        headers = dict(exc.headers or {})
        if exc.status_code == 404 and exc.detail == "Not Found":
            no_route = ApiError.said(404, code, "api.no_route", headers, path=request.url.path)
            return api_error_response(request, no_route)
        if exc.status_code == 405:
            headers["Allow"] = _allowed_methods(request)
            if request.method == "OPTIONS":  # what the path supports; CORS preflights aside
                return Response(status_code=204, headers=headers)
            not_allowed = ApiError.said(
                405, code, "api.not_allowed", headers, method=request.method, path=request.url.path
            )
            return api_error_response(request, not_allowed)
        message = str(exc.detail)
        return error_response(exc.status_code, code, message, request_id(request), headers)

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(BifrostError, on_bifrost_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_error)


def _allowed_methods(request: Request) -> str:
    """Every method the request's path answers to, and OPTIONS, for Allow. Starlette's 405
    names those of the first route that matched the path, but FastAPI makes one route per
    method: so each method is tried against the path."""
    allowed = {"OPTIONS"}
    for method in _METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in request.app.routes):
            allowed.add(method)
    return ", ".join(sorted(allowed))
