"""Renderers: turn a `Report` into something a person reads. No analysis happens here.

Each format lives in its own module and is imported from there, so that importing one renderer
never pulls in the others' dependencies:

    from bifrost.render.terminal import render_terminal   # Rich, for a terminal
    from bifrost.render.markdown import render_markdown   # CI summaries, PR comments, tickets

This module holds the wording the renderers share (verdict headline, stats line, positions), so
the terminal and Markdown outputs say the same thing in the same words, in the reader's language
(`lang`, `bifrost.i18n`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from bifrost.choices import Severity
from bifrost.i18n import DEFAULT_LANGUAGE, counted, message
from bifrost.report import Evidence, Finding, Position, Report, counts_phrase

__all__ = [
    "EvidenceLine",
    "counts_phrase",
    "evidence_lines",
    "finding_counts",
    "headline",
    "is_multi_file",
    "position_phrase",
    "printable",
    "ranking_phrase",
    "seen_before",
    "shown_findings",
    "stats_phrase",
    "total_findings",
    "verdict_phrase",
]

# Characters that must never reach a terminal or a document as themselves: C0 controls except
# tab (ESC starts terminal escape sequences; CR and BS overwrite what was printed), DEL, C1
# controls (0x9b is a one-byte CSI on some terminals) and the bidirectional overrides that can
# make text display in an order other than the one it has ("trojan source").
_UNPRINTABLE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if code < 0x20:
        return chr(0x2400 + code)  # the Unicode "control picture": ␛ for ESC, ␀ for NUL …
    if code == 0x7F:
        return "\u2421"  # ␡
    return f"\\u{code:04x}" if code > 0xFF else f"\\x{code:02x}"


def printable(text: str) -> str:
    """`text` with control characters shown as visible symbols, one per character.

    Log text is untrusted: printed as is, an escape sequence in it could recolour, rewrite or
    hide what the terminal shows. Tabs are kept; newlines are replaced too, so call this on
    one line at a time.
    """
    return _UNPRINTABLE.sub(_visible, text)


def shown_findings(report: Report, top: int | None) -> list[Finding]:
    """The findings to show: all of them, or the first `top` (the report is already ranked)."""
    if top is None:
        return list(report.findings)
    return list(report.findings[: max(top, 0)])


def finding_counts(report: Report) -> dict[Severity, int]:
    """How many findings the analysis found, by severity: the Report's own counts (every
    finding, also those `--top` left out), or, for a Report stored before it had them, the
    findings it lists."""
    if report.finding_counts:
        return dict(report.finding_counts)
    counts: dict[Severity, int] = {}
    for finding in report.findings:
        counts[finding.severity] = counts.get(finding.severity, 0) + 1
    return counts


def total_findings(report: Report) -> int:
    return sum(finding_counts(report).values())


def verdict_phrase(report: Report, lang: str = DEFAULT_LANGUAGE) -> str:
    """The verdict and the best single answer: `"failure — CUDA out of memory"`."""
    text = message(f"verdict.{report.verdict}", lang)
    if report.verdict == "ok":
        return text
    if report.findings:
        text += f" — {report.findings[0].title}"
    elif report.summary:
        text += f" — {report.summary}"
    return printable(text)


def headline(report: Report, lang: str = DEFAULT_LANGUAGE) -> str:
    """The verdict in words, without its symbol.

    `"failure — CUDA out of memory (3 findings, 1 critical)"`, `"no problems found"`.
    """
    if report.verdict == "ok":
        if report.findings:
            notes = counted(total_findings(report), "note", lang)
            return message("headline.notes", lang, notes=notes)
        return message("verdict.ok", lang)
    text = verdict_phrase(report, lang)
    if report.findings:
        text += f" ({counts_phrase(finding_counts(report), lang)})"
    return text


def ranking_phrase(report: Report, lang: str = DEFAULT_LANGUAGE) -> str | None:
    """Which order the findings are in, when the LLM reranked them (`--llm-rerank`)."""
    ranking = report.ranking
    if ranking is None:
        return None
    if ranking.cause is None:
        return message("ranking.no_cause", lang, model=ranking.model)
    key = "ranking.agrees" if ranking.cause == ranking.engine[0] else "ranking.llm"
    return message(
        key,
        lang,
        model=ranking.model,
        cause=ranking.cause,
        engine=ranking.engine[0],
        reason=ranking.reason,
    )


def seen_before(report: Report, lang: str = DEFAULT_LANGUAGE) -> list[str]:
    """The similar past incidents as lines for formats that attach them to the first finding
    (GitHub annotations, JUnit); none when there are none."""
    if not report.similar:
        return []
    lines = [f"- {incident.line(lang)}" for incident in report.similar]
    return [message("seen_before", lang), *lines]


def stats_phrase(report: Report, lang: str = DEFAULT_LANGUAGE) -> str:
    """`"1,836 lines · 211 templates · 14 error lines · 0.04 s · format: klog"`: about the
    log itself (its lines at level error or worse), not the findings."""
    stats = report.stats
    errors = stats.levels.get("error", 0) + stats.levels.get("critical", 0)
    elapsed = stats.elapsed_s
    seconds = f"{elapsed:.2f}" if elapsed < 10 else f"{elapsed:.1f}"
    parts = [
        counted(stats.lines, "line", lang),
        counted(stats.templates, "template", lang),
        counted(errors, "error_line", lang),
        message("stats.seconds", lang, seconds=seconds),
    ]
    if len(report.input.files) > 1:
        parts.insert(0, counted(len(report.input.files), "file", lang))
    if stats.format:
        parts.append(message("stats.format", lang, format=stats.format))
    if report.llm:
        llm = report.llm
        parts.append(
            message(
                "stats.llm",
                lang,
                provider=llm.provider,
                model=llm.model,
                prompt=llm.prompt_tokens or "?",
                completion=llm.completion_tokens or "?",
            )
        )
    return printable(" · ".join(parts))


def is_multi_file(report: Report) -> bool:
    """Whether the report's lines come from more than one file, so positions must name theirs."""
    if len(report.input.files) > 1:
        return True
    files: set[str] = set()
    for finding in report.findings:
        files.update(e.file for e in finding.evidence if e.file)
        files.update(p.file for p in (finding.first_seen, finding.last_seen) if p.file)
    return len(files) > 1


def _place(position: Position, multi_file: bool, lang: str) -> str:
    where = message("position.line", lang, line=position.line)
    if multi_file and position.file:
        where = f"{position.file}:{position.line}"
    if position.ts:
        where += f" ({position.ts})"
    return where


def position_phrase(finding: Finding, multi_file: bool, lang: str = DEFAULT_LANGUAGE) -> str:
    """Where a finding occurs.

    `"line 812 (ts)"`, or `"first line 812 (ts) · last line 1790 (ts)"` when seen more than once.
    """
    first, last = finding.first_seen, finding.last_seen
    if first == last or finding.count == 1:
        return printable(_place(first, multi_file, lang))
    return printable(
        message(
            "position.first_last",
            lang,
            first=_place(first, multi_file, lang),
            last=_place(last, multi_file, lang),
        )
    )


@dataclass(frozen=True, slots=True)
class EvidenceLine:
    """One line to print from a finding's evidence.

    `gap` is true on the first line of an evidence item that does not continue the previous one
    (a `…` goes before it); `new_file` is set when the line starts evidence from another file.
    """

    number: int
    text: str
    file: str | None
    gap: bool
    new_file: bool


def evidence_lines(evidence: Iterable[Evidence]) -> Iterator[EvidenceLine]:
    """The lines of a finding's evidence in order, each with its own line number.

    Multi-line evidence (a stack trace) stays together. A line that an earlier, overlapping item
    of the same file already printed is not printed twice. Text is made `printable`.
    """
    last_file: str | None = None
    last_line: int | None = None
    first = True
    for item in evidence:
        new_file = not first and item.file != last_file
        gap_pending = not first and not new_file
        for offset, raw in enumerate(item.text.split("\n")):
            number = item.line + offset
            if not new_file and last_line is not None and number <= last_line:
                continue  # already printed by an overlapping item
            gap = gap_pending and last_line is not None and number != last_line + 1
            yield EvidenceLine(
                number=number,
                text=printable(raw.removesuffix("\r")),
                file=item.file,
                gap=gap,
                new_file=(first and item.file is not None) or new_file,
            )
            gap_pending = new_file = first = False
            last_line, last_file = number, item.file
