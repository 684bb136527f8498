"""The analysis use case: input → engine → cache → store → Report. Every front calls this.

`analyze` is the engine alone (no I/O beyond reading the input). `analyze_and_store` adds
memory: the cache answers a repeat of the same input and settings, and every analysis is
kept in the history database. A database that is down never costs the user the answer: the
Report is still returned, with the problem in `Outcome.problems`.

The store is imported only when an analysis is remembered: `analyze -n` runs without it.
On the embedded SQLite file a CLI run remembers through `store/embedded.py`, without
SQLAlchemy; a server passes its `Store`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from bifrost import __version__
from bifrost.analysis.experiments import Assignment, assign, variant_settings
from bifrost.analysis.explain import explain_report, llm_identity, rerank_report
from bifrost.analysis.inputs import compressed
from bifrost.analysis.similar import Meaning, meaning_of, similar_incidents, stored_meaning
from bifrost.analysis.tracking import track_explained
from bifrost.cache import Cache, Cached, Lookup, cache_key, make_cache
from bifrost.choices import FailOn, Severity, Verdict
from bifrost.config import Settings
from bifrost.engine import signatures
from bifrost.engine.read import Source, discard_spools, fingerprint, open_sources, spool_stdin
from bifrost.errors import ServiceError
from bifrost.i18n import DEFAULT_LANGUAGE, message
from bifrost.i18n.reports import summary
from bifrost.report import (
    SEVERITY_ORDER,
    SEVERITY_RANK,
    VERDICT_SEVERITY,
    Finding,
    InputInfo,
    KnownIssue,
    LLMExplanation,
    Report,
    Stats,
)
from bifrost.store.records import DEFAULT_TENANT

if TYPE_CHECKING:
    from bifrost.engine.scan import Scan
    from bifrost.store import Store
    from bifrost.store.embedded import EmbeddedStore
    from bifrost.store.records import AnalysisMeta, Match, PastIncident

Progress = Callable[[int], None]
"""Told how many more bytes of input were read (a progress bar)."""


@dataclass(frozen=True)
class Labels:
    """What the user says about the input, stored with the analysis."""

    service: str | None = None
    environment: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Memory:
    """How an analysis uses the history database and the cache."""

    store: bool = True
    use_cache: bool = True
    store_input: bool = False
    labels: Labels = field(default_factory=Labels)
    request_id: str | None = None
    """The asker's id for this request: sent again, it gets the analysis it already has."""


@dataclass
class Outcome:
    report: Report
    analysis_id: int | None = None  # stored now, or (cached) the analysis the answer came from
    cached: bool = False
    problems: list[str] = field(default_factory=list)
    provider_failed: bool = False  # an LLM was asked for and failed: the built-in Report stands
    assignment: Assignment | None = None  # the experiment's variant that explained it
    meaning: Meaning | None = None  # its embedding, stored with it (`similar.meaning_of`)


OnText = Callable[[str], None]
"""Receives a streamed LLM answer as it is generated."""

Engine = Callable[[list[Source], Settings, Progress | None], Awaitable[Report]]
"""Runs the engine off the event loop: a thread by default, a process pool in the server."""


class History(Protocol):
    """Where analyses are kept: a `Store`, or the embedded file without SQLAlchemy; each
    reads and writes one tenant's rows."""

    @property
    def tenant(self) -> int: ...

    async def save(self, report: Report, meta: AnalysisMeta) -> int: ...

    async def for_request(self, request_id: str) -> tuple[int, Report] | None: ...

    async def keep_input(self, analysis_id: int, blob: bytes) -> None: ...

    async def known_issues(self, template_ids: list[str]) -> dict[str, KnownIssue]: ...

    async def matches(self, template_ids: list[str], content_hash: str) -> list[Match]: ...

    async def incidents(self, analysis_ids: list[int]) -> list[PastIncident]: ...

    async def meanings(self, model: str, content_hash: str) -> list[tuple[int, bytes]]: ...

    async def meaning(self, analysis_id: int) -> tuple[str, bytes] | None: ...


@dataclass(frozen=True)
class InStore:
    """A `Store` as a `History` (`store/repository.py`)."""

    store: Store

    @property
    def tenant(self) -> int:
        return self.store.tenant

    async def save(self, report: Report, meta: AnalysisMeta) -> int:
        from bifrost.store import save_analysis  # noqa: PLC0415 — only when remembering

        return await save_analysis(self.store, report, **meta)

    async def for_request(self, request_id: str) -> tuple[int, Report] | None:
        from bifrost.store import analysis_for_request  # noqa: PLC0415

        return await analysis_for_request(self.store, request_id)

    async def keep_input(self, analysis_id: int, blob: bytes) -> None:
        from bifrost.store import keep_input  # noqa: PLC0415

        await keep_input(self.store, analysis_id, blob)

    async def known_issues(self, template_ids: list[str]) -> dict[str, KnownIssue]:
        from bifrost.store.known import known_issues  # noqa: PLC0415

        pinned = await known_issues(self.store, template_ids)
        return {p.template_id: p.issue for p in pinned}

    async def matches(self, template_ids: list[str], content_hash: str) -> list[Match]:
        from bifrost.store.similar import matches  # noqa: PLC0415

        return await matches(self.store, template_ids, content_hash)

    async def incidents(self, analysis_ids: list[int]) -> list[PastIncident]:
        from bifrost.store.similar import incidents  # noqa: PLC0415

        return await incidents(self.store, analysis_ids)

    async def meanings(self, model: str, content_hash: str) -> list[tuple[int, bytes]]:
        from bifrost.store.similar import meanings  # noqa: PLC0415

        return await meanings(self.store, model, content_hash)

    async def meaning(self, analysis_id: int) -> tuple[str, bytes] | None:
        from bifrost.store.similar import meaning  # noqa: PLC0415

        return await meaning(self.store, analysis_id)


async def in_thread(sources: list[Source], settings: Settings, progress: Progress | None) -> Report:
    return await asyncio.to_thread(analyze_sources, sources, settings, progress)


def open_cache(settings: Settings, store: Store) -> Cache:
    """The cache in front of the history (Redis when configured, else the database): a
    server opens it once and passes it to `analyze_and_remember` with its store."""
    return make_cache(settings, store)


def warm_up() -> int:
    """Load the knowledge base now (an engine process does it before its first input, so
    that no request pays for it); how many signatures it holds."""
    return signatures.prepare()


def analyze(paths: list[str], settings: Settings) -> Report:
    """Analyse the inputs (files, `-` for stdin) and return the Report; no LLM, nothing stored."""
    return analyze_sources(open_sources(paths), settings)


def analyze_sources(
    sources: list[Source], settings: Settings, progress: Progress | None = None
) -> Report:
    # The scanner and the scorer load here, not with this module: an answer from the cache
    # never needs them (0.1 s of imports, most of them compiling patterns).
    from bifrost.engine import curves  # noqa: PLC0415
    from bifrost.engine.scan import Scanner  # noqa: PLC0415
    from bifrost.engine.score import findings  # noqa: PLC0415

    started = time.perf_counter()
    scanner = Scanner(context_lines=settings.context_lines, max_line_bytes=settings.max_line_bytes)
    scan = scanner.scan(sources, settings.chunk_bytes, progress)
    ranked = curves.merged(findings(scan), curves.problems(scan.metrics), scan.file_name)
    return build_report(scan, ranked, settings.top, elapsed=time.perf_counter() - started)


async def analyze_and_store(
    paths: list[str],
    settings: Settings,
    memory: Memory,
    progress: Progress | None = None,
    on_text: OnText | None = None,
) -> Outcome:
    """Analyse the named inputs with the cache in front and the history behind."""
    return await analyze_and_remember(
        open_sources(paths), settings, memory, progress=progress, on_text=on_text
    )


async def analyze_and_remember(
    sources: list[Source],
    settings: Settings,
    memory: Memory,
    *,
    progress: Progress | None = None,
    on_text: OnText | None = None,
    store: Store | None = None,
    cache: Cache | None = None,
    engine: Engine = in_thread,
) -> Outcome:
    """Analyse opened inputs (see the module docstring); spooled inputs are removed at the end.

    A server passes its long-lived `store` and `cache` and its process-pool `engine`; the CLI
    lets this open the database for the one call.
    """
    try:
        if not (memory.store or memory.use_cache):
            return await _unremembered(sources, settings, progress, on_text, engine)
        spool_stdin(sources)
        if store is not None:
            cache = cache or make_cache(settings, store)
            return await _remembered(
                InStore(store), cache, sources, settings, memory, progress, on_text, engine
            )
        embedded = _open_embedded(settings)
        if embedded is not None:
            with _embedded_cache(embedded, settings.cache_ttl_s) as lookup:
                return await _remembered(
                    embedded, lookup, sources, settings, memory, progress, on_text, engine
                )
        from bifrost.store import open_store  # noqa: PLC0415 — only when remembering

        try:
            opened = await open_store(settings)
        except ServiceError as exc:
            problem = f"not stored: {exc.message}"
            return await _unremembered(sources, settings, progress, on_text, engine, problem)
        async with opened:
            cache = make_cache(settings, opened)
            return await _remembered(
                InStore(opened), cache, sources, settings, memory, progress, on_text, engine
            )
    finally:
        discard_spools(sources)


def _open_embedded(settings: Settings) -> EmbeddedStore | None:
    """The embedded history through sqlite3 when it can serve this run: an SQLite file at the
    newest schema, and the cache in it (not Redis). Anything else takes the full path."""
    from bifrost.store.embedded import EmbeddedStore, sqlite_file  # noqa: PLC0415

    if settings.redis_url:
        return None
    try:
        path = sqlite_file(settings.database_url)
    except ServiceError:  # the full path says it, as "not stored"
        return None
    return EmbeddedStore.open(path) if path is not None else None


@contextmanager
def _embedded_cache(embedded: EmbeddedStore, ttl_s: int) -> Iterator[Lookup]:
    """The cache in the embedded history; its lookups are counted, and the file closed, at
    the end."""
    from bifrost.cache.embedded import EmbeddedCache  # noqa: PLC0415

    with embedded:
        cache = EmbeddedCache(embedded, ttl_s)
        try:
            yield cache
        finally:
            cache.close()


async def _unremembered(
    sources: list[Source],
    settings: Settings,
    progress: Progress | None,
    on_text: OnText | None,
    engine: Engine,
    problem: str | None = None,
) -> Outcome:
    """The analysis alone, explained: nothing read from or written to the history."""
    outcome = Outcome(await engine(sources, settings, progress))
    if problem is not None:
        outcome.problems.append(problem)
    await _explain(outcome, settings, on_text)
    track_explained(outcome.report, None, settings)
    return outcome


async def _remembered(
    history: History,
    cache: Lookup,
    sources: list[Source],
    settings: Settings,
    memory: Memory,
    progress: Progress | None,
    on_text: OnText | None,
    engine: Engine,
) -> Outcome:
    if memory.request_id is not None and memory.store:
        earlier = await _for_request(history, memory.request_id)
        if earlier is not None:
            return Outcome(_relabel(earlier[1], sources), analysis_id=earlier[0], cached=True)
    llm = llm_identity(settings)
    content = await asyncio.to_thread(fingerprint, sources)
    key = cache_key(content, settings, tenant=_tenant_part(history), **llm)
    problems: list[str] = []
    cached = await _cache_get(cache, key, problems) if memory.use_cache else None
    if cached is not None:
        outcome = Outcome(
            _relabel(cached.report, sources),
            analysis_id=cached.analysis_id,
            cached=True,
            problems=problems,
        )
    else:
        outcome = Outcome(await engine(sources, settings, progress), problems=problems)
    # Before the explanation: its digest carries what fixed the same failure before.
    outcome.meaning = await _meaning(history, outcome, settings, problems)
    outcome.report = await _with_similar(history, outcome.report, outcome.meaning, problems)
    if cached is None:
        await _explain(outcome, settings, on_text, cache if memory.use_cache else None)
    outcome.report = await _with_known_issues(history, outcome.report, problems)
    if memory.store and cached is None:  # a repeat is already in the history
        outcome.analysis_id = await _save(history, outcome, memory, sources, key)
    elif memory.store and memory.store_input and outcome.analysis_id is not None:
        await _keep_input(history, outcome, sources)  # the repeat asks to keep what it read
    # Cache only what the history holds: a hit names its stored analysis, and an answer that
    # was not stored (`store=false`) or that the LLM failed on never stands in for a full one.
    stored = outcome.analysis_id is not None
    if cached is None and memory.use_cache and stored and not outcome.provider_failed:
        await _cache_put(cache, key, outcome.report, outcome.analysis_id, problems)
    if cached is None:
        track_explained(outcome.report, outcome.analysis_id, settings)
    return outcome


async def _with_known_issues(history: History, report: Report, problems: list[str]) -> Report:
    """The Report with what people pinned to its findings' templates, as they are now (a
    cached answer gets today's pins, not those of the day it was cached)."""
    if not report.findings:
        return report
    try:
        known = await history.known_issues([f.template_id for f in report.findings])
    except ServiceError as exc:
        problems.append(_warning("warning.known_issues", exc.message))
        return report
    findings = [
        f.model_copy(update={"known_issue": known.get(f.template_id)}) for f in report.findings
    ]
    return report.model_copy(update={"findings": findings})


async def _meaning(
    history: History, outcome: Outcome, settings: Settings, problems: list[str]
) -> Meaning | None:
    """The Report's meaning, off the event loop; a model that fails costs a warning. A cached
    answer's is the one stored with its analysis: a repeat never loads the model."""
    try:
        if outcome.cached and outcome.analysis_id is not None:
            stored = await history.meaning(outcome.analysis_id)
            kept = stored_meaning(stored, settings) if stored else None
            if kept is not None:
                return kept
        return await asyncio.to_thread(meaning_of, outcome.report, settings)
    except Exception as exc:
        problems.append(_warning("warning.similar_meaning", exc))
        return None


async def _with_similar(
    history: History, report: Report, meaning: Meaning | None, problems: list[str]
) -> Report:
    """The Report with the past analyses of the same failure, as the history holds them now
    (looked up before this one is stored, and never the same content)."""
    try:
        similar = await similar_incidents(history, report, meaning)
    except ServiceError as exc:
        problems.append(_warning("warning.similar", exc.message))
        return report
    return report.model_copy(update={"similar": similar})


async def _save(
    history: History, outcome: Outcome, memory: Memory, sources: list[Source], key: str
) -> int | None:
    """Store the analysis; a database that fails now costs a warning, not the answer."""
    llm = outcome.report.llm
    assignment = outcome.assignment
    meta: AnalysisMeta = {
        "service": memory.labels.service,
        "environment": memory.labels.environment,
        "tags": list(memory.labels.tags),
        "provider": llm.provider if llm else None,
        "model": llm.model if llm else None,
        "prompt_version": llm.prompt_version if llm else None,
        "prompt_tokens": llm.prompt_tokens if llm else None,
        "completion_tokens": llm.completion_tokens if llm else None,
        "experiment": assignment.experiment if assignment else None,
        "variant": assignment.variant if assignment else None,
        "cache_key": key,
        "request_id": memory.request_id,
        "input_blob": compressed(sources) if memory.store_input else None,
        "meaning": outcome.meaning.to_bytes() if outcome.meaning else None,
        "meaning_model": outcome.meaning.model if outcome.meaning else None,
    }
    try:
        return await history.save(outcome.report, meta)
    except ServiceError as exc:
        outcome.problems.append(_warning("warning.not_stored", exc.message))
        return None


async def _for_request(history: History, request_id: str) -> tuple[int, Report] | None:
    """The request's earlier analysis; a database that fails now is left to the save."""
    try:
        return await history.for_request(request_id)
    except ServiceError:
        return None


async def _keep_input(history: History, outcome: Outcome, sources: list[Source]) -> None:
    assert outcome.analysis_id is not None
    try:
        await history.keep_input(outcome.analysis_id, compressed(sources))
    except ServiceError as exc:
        outcome.problems.append(_warning("warning.input_not_stored", exc.message))


async def _explain(
    outcome: Outcome, settings: Settings, on_text: OnText | None, cache: Lookup | None = None
) -> None:
    """Add the LLM's explanation when a provider is configured; on failure keep the built-in
    Report and say why. With `llm_rerank`, the model first names the cause among the
    findings. Under an experiment, the input's variant explains it. With a `cache`, the same
    failure (its leading findings' templates, the provider, model and prompt) seen in another
    log reuses its explanation: no call."""
    if settings.llm is None:
        return
    if settings.llm_rerank:
        outcome.report, problem = await rerank_report(outcome.report, settings)
        if problem is not None:
            outcome.problems.append(_warning("warning.not_reranked", problem))
    report = outcome.report
    if settings.experiment is not None:
        variant = assign(settings.experiment, report.input.sha256)
        outcome.assignment = Assignment(settings.experiment.name, variant.name)
        settings = variant_settings(settings, variant)
    key = None
    if cache is not None and report.findings:
        key = template_key(report, llm_identity(settings))
        earlier = await _cache_get(cache, key, outcome.problems)
        if earlier is not None and earlier.report.llm is not None:
            outcome.report = _in_experiment(
                reuse_explanation(report, earlier.report.llm), outcome.assignment
            )
            return
    outcome.report, problem = await explain_report(report, settings, on_text)
    if problem is not None:
        outcome.provider_failed = True
        outcome.problems.append(_warning("warning.no_llm", problem))
        return
    outcome.report = _in_experiment(outcome.report, outcome.assignment)
    if cache is not None and key is not None:
        await _cache_put(cache, key, outcome.report, None, outcome.problems)


def _in_experiment(report: Report, assignment: Assignment | None) -> Report:
    """The explanation marked with the experiment and variant that wrote it."""
    if report.llm is None or assignment is None:
        return report
    llm = report.llm.model_copy(
        update={"experiment": assignment.experiment, "variant": assignment.variant}
    )
    return report.model_copy(update={"llm": llm})


REUSE_TEMPLATES = 3
"""The leading findings whose templates make two logs "the same failure": one alone (a
generic `exited with 1`) would hand one project's explanation to another's failure."""


def template_key(report: Report, llm: dict[str, str | None]) -> str:
    """The cache key of an explanation for a failure: the templates of its leading findings,
    with the provider, model and prompt (wording included) that explained it."""
    templates = [f.template_id for f in report.findings[:REUSE_TEMPLATES]]
    parts = {"templates": templates, "engine": __version__, **llm}
    return "template:" + hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def reuse_explanation(report: Report, earlier: LLMExplanation) -> Report:
    """This Report with the explanation of the same failure in another log. What names that
    log's lines (citations) does not carry over; the notes on the same leading findings do."""
    leading = {f.id for f in report.findings[:REUSE_TEMPLATES]}
    notes = [n for n in earlier.findings if n.finding_id in leading]
    reused = earlier.model_copy(
        update={
            "findings": notes,
            "citations": [],
            "reused": True,
            "duration_s": 0.0,
            "experiment": None,
            "variant": None,
        }
    )
    return report.model_copy(update={"llm": reused, "summary": earlier.summary})


async def _cache_get(cache: Lookup, key: str, problems: list[str]) -> Cached | None:
    try:
        return await cache.get(key)
    except ServiceError as exc:
        problems.append(_warning("warning.cache_not_used", exc.message))
        return None


async def _cache_put(
    cache: Lookup, key: str, report: Report, analysis_id: int | None, problems: list[str]
) -> None:
    try:
        await cache.put(key, report, analysis_id)
    except ServiceError as exc:
        problems.append(_warning("warning.not_cached", exc.message))


def _warning(key: str, why: object) -> str:
    """A problem beside the analysis, in English as the Report keeps it; its catalog message
    lets a reader's language say it again (`i18n.reports.reworded`)."""
    return message(key, DEFAULT_LANGUAGE, why=why)


def _relabel(report: Report, sources: list[Source]) -> Report:
    """A cached Report under the names of this run's inputs (the content is the same)."""
    old = report.input
    info = InputInfo.of(
        [s.name for s in sources], lines=old.lines, bytes=old.bytes, sha256=old.sha256
    )
    return report.model_copy(update={"input": info})


def build_report(scan: Scan, ranked: list[Finding], top: int, *, elapsed: float) -> Report:
    """The Report for a scan: the `top` findings, with a verdict and summary over all of them."""
    from bifrost.engine.metrics import report_metrics  # noqa: PLC0415 — loaded by the scan

    return Report(
        input=InputInfo.of(
            [s.name for s in scan.sources],
            lines=scan.lines,
            bytes=sum(s.bytes_read for s in scan.sources),
            sha256=scan.sha256,
        ),
        stats=Stats(
            lines=scan.lines,
            events=scan.events,
            templates=len({scan.miner.find(i) for i in scan.stats}),
            levels=dict(scan.levels),
            elapsed_s=round(elapsed, 3),
            format=scan.format_name,
        ),
        verdict=verdict(ranked),
        findings=ranked[:top],
        finding_counts=finding_counts(ranked),
        summary=summary(ranked, finding_counts(ranked)),
        warnings=[w for s in scan.sources for w in s.warnings],
        metrics=report_metrics(scan.metrics, scan.file_name),
    )


def verdict(ranked: list[Finding]) -> Verdict:
    """`failure` with an error or worse; `warning` with a warning; `unclear` when the only
    findings are suspicious lines that say nothing wrong themselves; else `ok`."""
    from bifrost.engine.score import SUSPICIOUS  # noqa: PLC0415 — loaded by the analysis

    worst = max((SEVERITY_RANK[f.severity] for f in ranked), default=0)
    if worst >= SEVERITY_RANK["error"]:
        return "failure"
    if worst >= SEVERITY_RANK["warning"]:
        return "warning"
    return "unclear" if any(f.category == SUSPICIOUS for f in ranked) else "ok"


def fails(report: Report, fail_on: FailOn) -> bool:
    """Whether the verdict or a reported finding is at or above `fail_on`: the gate of every
    front (a CLI's exit code, a CI check)."""
    if fail_on == "never":
        return False
    threshold = SEVERITY_RANK[fail_on]
    severities = [VERDICT_SEVERITY[report.verdict], *(f.severity for f in report.findings)]
    return any(SEVERITY_RANK[s] >= threshold for s in severities)


def finding_counts(ranked: list[Finding]) -> dict[Severity, int]:
    """How many findings of each severity, over all of them (the Report lists the first few)."""
    counts = Counter(f.severity for f in ranked)
    return {s: counts[s] for s in SEVERITY_ORDER if counts[s]}


def _tenant_part(history: History) -> str | None:
    """The tenant in the cache key: a hit names a stored analysis, which must be the asking
    tenant's. None for the default tenant, whose keys stay as they were before tenants."""
    return None if history.tenant == DEFAULT_TENANT else str(history.tenant)
