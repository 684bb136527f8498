"""One error format for every failure: `{"error": {"code", "message", "request_id"}}`.

Bifrost's own errors keep their stable codes and get the HTTP status that fits them; FastAPI's
validation errors name the field; anything unexpected is answered with a request id only, and
the traceback goes to the log under that id (see `middleware.RequestContext`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from bifrost.errors import BifrostError


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
    """An error the API answers on purpose, with its status and any headers (Retry-After…)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: Mapping[str, str] | None = None,
        fields: list[FieldProblem] | None = None,
    ) -> None:
        super().__init__(message)
        self.fields = fields
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


_STATUS_BY_CODE = {
    "input_error": 422,
    "usage_error": 422,
    "config_error": 422,
    "not_found": 404,
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


def request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every known error into the one format."""

    async def on_api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(
            exc.status, exc.code, exc.message, request_id(request), exc.headers, exc.fields
        )

    async def on_bifrost_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, BifrostError)
        status = _STATUS_BY_CODE.get(exc.code, 500)
        headers = {"Retry-After": "5"} if status == 503 else None
        return error_response(status, exc.code, exc.message, request_id(request), headers)

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = [
            FieldProblem(field=".".join(str(part) for part in e["loc"]), message=e["msg"])
            for e in exc.errors()
        ]
        first = problems[0] if problems else FieldProblem(field="request", message="invalid")
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return error_response(
            422,
            "validation_error",
            f"{first.field}: {first.message}{more}",
            request_id(request),
            fields=problems,
        )

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 400:  # a body FastAPI or Starlette could not parse
            return error_response(
                422,
                "validation_error",
                f"body: cannot be read ({exc.detail}); check it and its Content-Type",
                request_id(request),
            )
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        message = str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such route: {request.url.path}; the routes are listed at /docs"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}; see /docs"
        return error_response(exc.status_code, code, message, request_id(request), exc.headers)

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(BifrostError, on_bifrost_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_error)
