"""Prometheus metrics of a worker (`bifrost worker --port`): what it answered, how long a
request took, retries, dead letters, and how many requests wait on the broker."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from bifrost.brokers import Handled

_SECONDS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)

REQUESTS = Counter(
    "bifrost_worker_requests_total",
    "Requests answered, by outcome: result (analysed or answered from the history), "
    "dead_letter (set aside).",
    ["outcome"],
)
for _outcome in ("result", "dead_letter"):  # shown at 0 before the first of each
    REQUESTS.labels(_outcome)
RETRIES = Counter(
    "bifrost_worker_retries_total",
    "Tries that failed in a way a later one may not (the request is tried again).",
)
REQUEST_SECONDS = Histogram(
    "bifrost_worker_request_duration_seconds",
    "Time from a request's delivery to its answer.",
    buckets=_SECONDS,
)
BACKLOG = Gauge(
    "bifrost_worker_backlog",
    "Requests on the broker not answered yet (waiting, or taken and not acknowledged).",
)
IN_FLIGHT = Gauge("bifrost_worker_requests_in_flight", "Requests this worker is answering now.")


def record(handled: Handled, elapsed_s: float) -> None:
    REQUESTS.labels("result" if handled.result is not None else "dead_letter").inc()
    REQUEST_SECONDS.observe(elapsed_s)
