"""One request handled: read, analysed once per request id, answered or set aside.

At-least-once delivery with an exactly-once effect: the broker may deliver a request again
(a worker died before acknowledging it, the sender sent it twice), and the history stores one
analysis per `request_id` (`store/repository.py`), so a repeat is answered from it.

What cannot succeed however often it is tried (a message that is not a request, a log that
is binary) goes to the dead letters at once. What may succeed later (the database is down, so
the analysis could not be stored) is left unacknowledged for another try, and after
`MAX_ATTEMPTS` deliveries goes to the dead letters too, with the last reason.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass

from pydantic import ValidationError

from bifrost.analysis import Cache, Engine, Labels, Memory, analyze_and_remember, in_thread
from bifrost.analysis.inputs import Source
from bifrost.analysis.jobs import job_done, job_failed, job_log, job_started
from bifrost.analysis.notify import Notifier
from bifrost.brokers import MAX_ATTEMPTS, Handled, TryAgain
from bifrost.config import Settings
from bifrost.errors import BifrostError, InputError
from bifrost.messages import (
    REQUEST_SCHEMA,
    AnalysisRequest,
    AnalysisResult,
    DeadLetter,
)
from bifrost.store import Store

_KEPT_OF_A_DEAD_MESSAGE = 64 << 10


@dataclass(frozen=True)
class Context:
    """What every request needs: the settings, and the history and cache kept open."""

    settings: Settings
    store: Store
    cache: Cache
    engine: Engine = in_thread
    notifier: Notifier | None = None


async def handle(body: bytes, attempt: int, context: Context, origin: str | None = None) -> Handled:
    """Answer one delivery (the `attempt`-th of this message, found at `origin`); raises
    `TryAgain` to leave it for a later one."""
    try:
        request = AnalysisRequest.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "message"
        reason = f"not a {REQUEST_SCHEMA} message: {where}: {first['msg']}"
        return _dead(body, None, reason, attempt, origin)
    job = request.log_reference  # the API's job holding the log, when it queued the request
    try:
        if job is not None:
            await job_started(context.store, job)
        result = await _analyse(request, context)
        if job is not None:
            await job_done(context.store, job, result.analysis_id)
    except InputError as exc:  # the log itself cannot be analysed
        return await _set_aside(body, request, exc.message, attempt, origin, context)
    except (BifrostError, TryAgain) as exc:
        reason = exc.message if isinstance(exc, BifrostError) else str(exc)
        if attempt >= MAX_ATTEMPTS:
            why = f"{reason} (after {attempt} tries)"
            return await _set_aside(body, request, why, attempt, origin, context)
        raise TryAgain(reason) from exc
    return Handled(result=result)


async def _set_aside(
    body: bytes,
    request: AnalysisRequest,
    reason: str,
    attempt: int,
    origin: str | None,
    context: Context,
) -> Handled:
    """A dead letter, and the request's job (if the API queued it) marked failed."""
    if request.log_reference is not None:
        with suppress(BifrostError):  # the database may be why: the dead letter says it all
            await job_failed(context.store, request.log_reference, reason)
    return _dead(body, request.request_id, reason, attempt, origin)


async def _log_of(request: AnalysisRequest, store: Store) -> tuple[Store, bytes]:
    """The request's log and the history it goes to: inline, for the default tenant; or kept
    by the API (`job:ID`, gzip) for the workers, for the tenant that queued it."""
    if request.log is not None:
        return store, request.log.encode("utf-8", "replace")
    assert request.log_reference is not None  # the message's validator asks for one of them
    kept = await job_log(store, request.log_reference)
    data = kept[1] if kept is not None else None
    if kept is None or data is None:
        raise InputError.said("worker.log_gone", reference=request.log_reference)
    return store.for_tenant(kept[0]), data


async def _analyse(request: AnalysisRequest, context: Context) -> AnalysisResult:
    settings = context.settings
    update: dict[str, object] = {}
    if request.options.top is not None:
        update["top"] = request.options.top
    if not request.options.explain:
        update["llm"] = None
    labels = request.labels
    memory = Memory(
        labels=Labels(labels.service, labels.env, tuple(labels.tags)),
        request_id=request.request_id,
    )
    store, data = await _log_of(request, context.store)
    source = Source(name=request.source, path=None, data=data)
    source.limit = settings.max_input_bytes
    outcome = await analyze_and_remember(
        [source],
        settings.model_copy(update=update),
        memory,
        store=store,
        cache=context.cache,
        engine=context.engine,
    )
    if outcome.analysis_id is None:  # the history could not keep it: not done yet
        raise TryAgain("; ".join(outcome.problems) or "the analysis was not stored")
    if context.notifier is not None and not outcome.cached:  # a redelivery: told already
        context.notifier.submit(outcome.report, memory.labels, outcome.analysis_id, store.tenant)
    report = outcome.report
    if outcome.problems:  # what went wrong beside the analysis (no LLM explanation, …)
        report = report.model_copy(update={"warnings": [*report.warnings, *outcome.problems]})
    return AnalysisResult(
        request_id=request.request_id,
        analysis_id=outcome.analysis_id,
        verdict=report.verdict,
        summary=report.summary,
        cached=outcome.cached,
        report=report,
    )


def _dead(
    body: bytes, request_id: str | None, reason: str, attempt: int, origin: str | None
) -> Handled:
    message = body[:_KEPT_OF_A_DEAD_MESSAGE].decode("utf-8", "replace")
    letter = DeadLetter(
        request_id=request_id, reason=reason, attempts=attempt, message=message, origin=origin
    )
    return Handled(dead=letter)
