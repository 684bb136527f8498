"""One analysis as the API runs it: the tenant's quotas, a slot, per-request settings, the
tenant's history, metrics.

Used by the plain, streamed and WebSocket routes alike, so they answer the same.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from bifrost.analysis import Labels, Memory, OnText, Outcome, Progress, analyze_and_remember
from bifrost.analysis.explain import prompt_named
from bifrost.analysis.inputs import Source, discard_spools
from bifrost.api import metrics
from bifrost.api.auth import Caller
from bifrost.api.errors import ApiError
from bifrost.api.intake import AnalysisOptions
from bifrost.api.quotas import Admission, admit
from bifrost.api.services import Services
from bifrost.config import Settings
from bifrost.errors import UsageError
from bifrost.report import Report

OnStage = Callable[[str, dict[str, object]], None]
"""Told of each stage: `queued`, `analyzing`, `analyzed` (with counts), `explaining`."""


@dataclass
class Analysed:
    """What the API answers for one analysis: the Report, its stored id, whether cached."""

    report: Report
    analysis_id: int | None
    cached: bool


async def admission(services: Services, caller: Caller, options: AnalysisOptions) -> Admission:
    """Whether the caller's tenant may have this analysis (an `ApiError` when not), asked
    before an answer starts, so that a stream is refused with a status, not an event."""
    settings = request_settings(services.settings, options)
    return await admit(
        caller,
        storing=options.store,
        llm=settings.llm is not None,
        llm_asked=options.llm is not None,
    )


async def run_analysis(
    services: Services,
    caller: Caller,
    admitted: Admission,
    sources: list[Source],
    options: AnalysisOptions,
    *,
    on_text: OnText | None = None,
    on_stage: OnStage | None = None,
) -> Analysed:
    """Analyse the received sources (removed afterwards) for the caller's tenant, as
    `admitted`, and return the Report to send."""
    stage = on_stage or (lambda _name, _data: None)
    for source in sources:
        source.limit = services.settings.max_input_bytes
    try:
        settings = request_settings(services.settings, options)
        if not admitted.llm:
            settings = settings.model_copy(update={"llm": None})
        memory = Memory(
            store=options.store,
            use_cache=options.cache,
            store_input=options.store_input,
            labels=Labels(options.service, options.env, tuple(options.tag)),
            request_id=options.request_id,
        )
        stage("queued", {"files": len(sources)})
        started = time.perf_counter()

        async def engine(
            sources: list[Source], settings: Settings, progress: Progress | None
        ) -> Report:
            async with services.slots.hold():  # only the engine: cache hits never wait
                stage("analyzing", {})
                report = await services.engine(sources, settings, progress)
            stage("analyzed", {"lines": report.stats.lines, "findings": len(report.findings)})
            if settings.llm:
                stage("explaining", {"provider": settings.llm})
            return report

        outcome = await analyze_and_remember(
            sources,
            settings,
            memory,
            on_text=on_text,
            store=caller.store,
            cache=services.cache,
            engine=engine,
        )
        if admitted.warning is not None:
            outcome.problems.append(admitted.warning)
        services.notifier.submit(
            outcome.report, memory.labels, outcome.analysis_id, caller.store.tenant
        )
        metrics.record_analysis(
            outcome.report,
            cached=outcome.cached,
            cache_used=memory.use_cache,
            llm_provider=settings.llm,
            llm_model=settings.model,
            llm_failed=outcome.provider_failed,
            elapsed_s=time.perf_counter() - started,
            tenant=caller.tenant,
        )
        return _answer(outcome)
    finally:
        discard_spools(sources)


def request_settings(base: Settings, options: AnalysisOptions) -> Settings:
    """The server's settings with this request's choices on top (never a URL: the server
    only talks to the providers its operator configured)."""
    update: dict[str, object] = {}
    if options.lang is not None:  # the LLM answers in it
        update["lang"] = options.lang
    if options.top is not None:
        update["top"] = options.top
    if options.llm is not None and options.llm != base.llm:
        if base.llm:
            raise ApiError.said(422, "validation_error", "running.other_llm", llm=base.llm)
        raise ApiError.said(422, "validation_error", "running.no_llm_configured")
    if options.model is not None:
        update["model"] = options.model
    if options.prompt is not None:
        if not base.llm:
            raise ApiError.said(422, "validation_error", "running.no_llm_for_prompt")
        try:
            prompt_named(options.prompt, base)
        except UsageError as exc:
            raise ApiError.said(
                422, "validation_error", "validation.first", field="query.prompt", problem=exc
            ) from None
        update["prompt"] = options.prompt
    return base.model_copy(update=update)


def _answer(outcome: Outcome) -> Analysed:
    report = outcome.report
    if outcome.problems:
        report = report.model_copy(update={"warnings": [*report.warnings, *outcome.problems]})
    return Analysed(report, outcome.analysis_id, outcome.cached)
