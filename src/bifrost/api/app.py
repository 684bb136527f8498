"""The FastAPI application: `create_app()` builds it, `bifrost serve` runs it under uvicorn.

Settings come from the one settings object (`BIFROST_*`); `serve` passes its flags to the
worker processes through that environment.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from bifrost import __version__, web
from bifrost.analysis.explain import prompt_catalogue
from bifrost.api import errors
from bifrost.api.intake import document_options
from bifrost.api.logs import configure_logging
from bifrost.api.middleware import BodyLimit, HostAndOrigin, RequestContext
from bifrost.api.routes import (
    analyses,
    experiments,
    filter,
    jobs,
    keys,
    streaming,
    system,
    tenants,
)
from bifrost.api.services import start_services
from bifrost.config import Settings, load_settings
from bifrost.times import Rate

DESCRIPTION = """
Bifrost finds the few lines that explain why a log failed, and says what they mean.

Send a log to `POST /api/v1/analyses` (raw body, gzip, multipart or JSON) and get the Report:
ranked findings with their evidence lines, a verdict, and an optional LLM explanation. Every
analysis is stored and searchable.

Authenticate with an API key in the `X-API-Key` header (`bifrost keys create NAME`). Errors
always have the form `{"error": {"code": "…", "message": "…", "request_id": "…"}}`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """The application; `settings.auth` None means off (`serve` decides it from the address)."""
    settings = settings or load_settings()
    auth = bool(settings.auth)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.services = await start_services(settings, auth=auth)
        try:
            yield
        finally:
            await app.state.services.close()

    app = FastAPI(
        title="Bifrost",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # `routes/system.py` serves the documentation (with Swagger UI from the package);
        # ReDoc is not offered: it would load from a CDN.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        openapi_tags=[
            {"name": "analyses", "description": "Analyse logs; the stored history."},
            {"name": "providers", "description": "LLM providers the server can use."},
            {"name": "keys", "description": "API keys (admin scope)."},
            {"name": "health", "description": "Liveness, readiness, metrics."},
        ],
    )
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            every, _ = prompt_catalogue(settings)
            names = {prompt.name for prompt in every} | {prompt.id for prompt in every}
            app.openapi_schema = document_options(
                generate(), settings.llm, queued=bool(settings.queue_url), prompts=sorted(names)
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's way to complete it
    errors.install(app)
    routers = (streaming, analyses, filter, jobs, experiments, keys, tenants, system)
    for router in (module.router for module in routers):
        app.include_router(router)
    web.mount(app, settings)
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["X-API-Key", "Authorization", "Content-Type"],
            expose_headers=[
                "Location",
                "Retry-After",
                "X-Request-ID",
                "X-Bifrost-Analysis-Id",
                "X-Bifrost-Cache",
                "RateLimit-Limit",
                "RateLimit-Remaining",
                "RateLimit-Reset",
            ],
        )
    app.add_middleware(
        HostAndOrigin, allowed_hosts=settings.allowed_hosts, cors_origins=settings.cors_origins
    )
    app.add_middleware(RequestContext)
    app.state.auth_failure_limit = Rate.parse(settings.auth_failure_limit)  # refused at start
    return app


def serve_app() -> FastAPI:
    """The factory uvicorn's workers call (`bifrost serve`); logs on stderr."""
    settings = load_settings()
    configure_logging(settings.log_format)
    return create_app(settings)
