"""Prometheus metrics of the service: HTTP, analyses, cache, LLM calls, rate limits, DB pool.

With several worker processes (`bifrost serve --workers N`), `PROMETHEUS_MULTIPROC_DIR` is set
by `serve` and every process writes its samples there, so `/metrics` on any worker shows the
sum over all of them.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from bifrost.report import Report

_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
_BYTES = tuple(float(1 << shift) for shift in range(10, 32, 2))  # 1 KiB … 1 GiB

HTTP_REQUESTS = Counter(
    "bifrost_http_requests_total", "HTTP requests answered.", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "bifrost_http_request_duration_seconds",
    "Time to answer an HTTP request (to the end of the body).",
    ["method", "route"],
    buckets=_SECONDS,
)
HTTP_IN_FLIGHT = Gauge(
    "bifrost_http_requests_in_flight",
    "HTTP requests being answered now.",
    ["route"],
    multiprocess_mode="livesum",
)
ANALYSES = Counter(
    "bifrost_analyses_total",
    "Analyses answered.",
    ["verdict", "provider", "status", "cache"],
)
ANALYSIS_DURATION = Histogram(
    "bifrost_analysis_duration_seconds",
    "Time from a received input to its Report (engine, cache, LLM, storing).",
    buckets=_SECONDS,
)
ANALYSIS_INPUT = Histogram(
    "bifrost_analysis_input_bytes", "Size of analysed inputs (decompressed).", buckets=_BYTES
)
ANALYSIS_SPEED = Histogram(
    "bifrost_analysis_lines_per_second",
    "Engine speed per analysis.",
    buckets=(1e3, 1e4, 5e4, 1e5, 2.5e5, 5e5, 1e6, 2e6),
)
ANALYSES_RUNNING = Gauge(
    "bifrost_analyses_running", "Analyses holding a slot now.", multiprocess_mode="livesum"
)
ANALYSES_WAITING = Gauge(
    "bifrost_analyses_waiting", "Analyses waiting for a slot now.", multiprocess_mode="livesum"
)
ANALYSES_REJECTED = Counter(
    "bifrost_analyses_rejected_total", "Analyses refused with 503: no slot in time."
)
CACHE = Counter("bifrost_cache_requests_total", "Cache look-ups.", ["result"])
LLM_CALLS = Counter(
    "bifrost_llm_calls_total", "Explanations asked of an LLM.", ["provider", "model", "outcome"]
)
LLM_TOKENS = Counter(
    "bifrost_llm_tokens_total", "Tokens sent and received.", ["provider", "model", "kind"]
)
LLM_LATENCY = Histogram(
    "bifrost_llm_latency_seconds",
    "Time an LLM took to explain.",
    ["provider", "model"],
    buckets=_SECONDS,
)
RATE_LIMITED = Counter("bifrost_rate_limited_total", "Requests refused with 429.")
TENANT_REQUESTS = Counter(
    "bifrost_tenant_requests_total", "Requests, by the caller's tenant.", ["tenant"]
)
TENANT_ANALYSES = Counter(
    "bifrost_tenant_analyses_total", "Analyses answered (cached or not), by tenant.", ["tenant"]
)
TENANT_LLM_TOKENS = Counter(
    "bifrost_tenant_llm_tokens_total", "LLM tokens spent, by tenant.", ["tenant"]
)
QUOTA_REFUSED = Counter(
    "bifrost_tenant_quota_refused_total",
    "Requests refused by a tenant's limit, by tenant and limit.",
    ["tenant", "limit"],
)
DB_POOL_IN_USE = Gauge(
    "bifrost_db_pool_connections_in_use",
    "Database connections checked out of the pool.",
    multiprocess_mode="livesum",
)
DB_POOL_SIZE = Gauge(
    "bifrost_db_pool_size", "Database connections the pool holds.", multiprocess_mode="livesum"
)


def record_analysis(
    report: Report,
    *,
    cached: bool,
    cache_used: bool,
    llm_provider: str | None,
    llm_model: str | None,
    llm_failed: bool,
    elapsed_s: float,
    tenant: str = "default",
) -> None:
    """Count one answered analysis and what it cost, overall and for its tenant."""
    provider = report.llm.provider if report.llm else (llm_provider or "none")
    cache = "hit" if cached else ("miss" if cache_used else "off")
    ANALYSES.labels(report.verdict, provider, "ok", cache).inc()
    TENANT_ANALYSES.labels(tenant).inc()
    ANALYSIS_DURATION.observe(elapsed_s)
    if cache_used:
        CACHE.labels("hit" if cached else "miss").inc()
    if cached:
        return
    ANALYSIS_INPUT.observe(report.input.bytes)
    if report.stats.elapsed_s > 0:
        ANALYSIS_SPEED.observe(report.stats.lines / report.stats.elapsed_s)
    if report.llm is not None:
        llm = report.llm
        LLM_CALLS.labels(llm.provider, llm.model, "ok").inc()
        LLM_LATENCY.labels(llm.provider, llm.model).observe(llm.duration_s)
        for kind, tokens in (("prompt", llm.prompt_tokens), ("completion", llm.completion_tokens)):
            if tokens:
                LLM_TOKENS.labels(llm.provider, llm.model, kind).inc(tokens)
                TENANT_LLM_TOKENS.labels(tenant).inc(tokens)
    elif llm_provider and llm_failed:
        LLM_CALLS.labels(llm_provider, llm_model or "default", "error").inc()


def exposition() -> tuple[bytes, str]:
    """The metrics text and its content type; summed over processes in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST


JOBS_QUEUED = Counter(
    "bifrost_jobs_queued_total", "Analyses queued for the workers (`bifrost serve --queue`)."
)
