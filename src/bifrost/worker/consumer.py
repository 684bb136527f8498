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

from dataclasses import dataclass

from pydantic import ValidationError

from bifrost.analysis import Cache, Engine, Labels, Memory, analyze_and_remember, in_thread
from bifrost.analysis.inputs import Source
from bifrost.config import Settings
from bifrost.errors import BifrostError, InputError
from bifrost.messages import (
    REQUEST_SCHEMA,
    AnalysisRequest,
    AnalysisResult,
    DeadLetter,
)
from bifrost.store import Store

MAX_ATTEMPTS = 3
_KEPT_OF_A_DEAD_MESSAGE = 64 << 10


class TryAgain(Exception):
    """This delivery failed in a way a later one may not: leave the message for another try."""


@dataclass(frozen=True)
class Context:
    """What every request needs: the settings, and the history and cache kept open."""

    settings: Settings
    store: Store
    cache: Cache
    engine: Engine = in_thread


@dataclass(frozen=True)
class Handled:
    """A request's answer, or why it is set aside (exactly one of them)."""

    result: AnalysisResult | None = None
    dead: DeadLetter | None = None


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
    try:
        result = await _analyse(request, context)
    except InputError as exc:  # the log itself cannot be analysed
        return _dead(body, request.request_id, exc.message, attempt, origin)
    except (BifrostError, TryAgain) as exc:
        reason = exc.message if isinstance(exc, BifrostError) else str(exc)
        if attempt >= MAX_ATTEMPTS:
            why = f"{reason} (after {attempt} tries)"
            return _dead(body, request.request_id, why, attempt, origin)
        raise TryAgain(reason) from exc
    return Handled(result=result)


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
    source = Source(name=request.source, path=None, data=request.log.encode("utf-8", "replace"))
    source.limit = settings.max_input_bytes
    outcome = await analyze_and_remember(
        [source],
        settings.model_copy(update=update),
        memory,
        store=context.store,
        cache=context.cache,
        engine=context.engine,
    )
    if outcome.analysis_id is None:  # the history could not keep it: not done yet
        raise TryAgain("; ".join(outcome.problems) or "the analysis was not stored")
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
