"""The analysis use case: input → engine → Report. Every front (CLI, API, worker) calls this."""

from __future__ import annotations

import time
from collections import Counter

from bifrost.config import Settings
from bifrost.engine.read import open_sources
from bifrost.engine.scan import Scan, Scanner
from bifrost.engine.score import findings
from bifrost.report import SEVERITY_RANK, Finding, InputInfo, Report, Stats, Verdict


def analyze(paths: list[str], settings: Settings) -> Report:
    """Analyse the inputs (files, `-` for stdin) and return the Report; no LLM, nothing stored."""
    started = time.perf_counter()
    sources = open_sources(paths)
    scanner = Scanner(context_lines=settings.context_lines, max_line_bytes=settings.max_line_bytes)
    scan = scanner.scan(sources, settings.chunk_bytes)
    return build_report(scan, findings(scan), settings.top, elapsed=time.perf_counter() - started)


def scan_templates(paths: list[str], settings: Settings) -> Scan:
    """Mine the inputs keeping the template of every line, for `bifrost templates`."""
    sources = open_sources(paths)
    scanner = Scanner(max_line_bytes=settings.max_line_bytes, keep_line_templates=True)
    return scanner.scan(sources, settings.chunk_bytes)


def build_report(scan: Scan, ranked: list[Finding], top: int, *, elapsed: float) -> Report:
    """The Report for a scan: the `top` findings, with a verdict and summary over all of them."""
    names = [s.name for s in scan.sources]
    return Report(
        input=InputInfo(
            name=names[0] if len(names) == 1 else f"{len(names)} files",
            lines=scan.lines,
            bytes=sum(s.bytes_read for s in scan.sources),
            sha256=scan.sha256,
            files=names if len(names) > 1 else [],
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
        summary=summary(ranked),
        warnings=[w for s in scan.sources for w in s.warnings],
    )


def verdict(ranked: list[Finding]) -> Verdict:
    worst = max((SEVERITY_RANK[f.severity] for f in ranked), default=0)
    if worst >= SEVERITY_RANK["error"]:
        return "failure"
    return "warning" if worst >= SEVERITY_RANK["warning"] else "ok"


def summary(ranked: list[Finding]) -> str:
    if not ranked:
        return "No problems found."
    top = ranked[0]
    counts = Counter(f.severity for f in ranked)
    parts = ", ".join(f"{counts[s]} {s}" for s in ("critical", "error", "warning") if counts[s])
    where = f"line {top.first_seen.line}"
    if top.first_seen.file:
        where = f"{top.first_seen.file}:{top.first_seen.line}"
    return f"{top.title} (first at {where}). {len(ranked)} findings: {parts or 'info only'}."
