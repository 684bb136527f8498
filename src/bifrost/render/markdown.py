"""The report as Markdown (CommonMark + GitHub): CI job summaries, PR comments, tickets.

Layout::

    ## ✗ Failure — CUDA out of memory

    2 findings (1 critical, 1 error) in `trainer.log`.

    Rank 0 ran out of GPU memory …

    ### 1. CUDA out of memory

    **CRITICAL** · ×1 · line 455 (2024-05-14T09:41:02.118Z) · `ml.cuda_oom`

    ```text
    450 | Traceback (most recent call last):
      … |
    455 | torch.OutOfMemoryError: CUDA out of memory. …
    ```

    **What it means:** …

    **Fix:** …

    ---

    _612 lines · 87 templates · 3 errors · 0.03 s · format: python_

Everything taken from the report is escaped: prose so that log words cannot turn into links,
emphasis, HTML or headings; evidence inside a fence longer than any run of backticks it contains.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping

from bifrost.i18n import DEFAULT_LANGUAGE, counted, message
from bifrost.render import (
    counts_phrase,
    evidence_lines,
    finding_counts,
    is_multi_file,
    position_phrase,
    printable,
    ranking_phrase,
    shown_findings,
    stats_phrase,
    total_findings,
    verdict_phrase,
)
from bifrost.render.chart import sparkline, svg_chart
from bifrost.report import Finding, KnownIssue, Report, metric_value

__all__ = ["code_span", "escape", "fence", "render_github_summary", "render_markdown"]

VERDICT_MARK = {"ok": "✓", "warning": "⚠️", "unclear": "❓", "failure": "✗"}

# Characters with a meaning anywhere in a line (emphasis, links, HTML, entities, tables,
# strikethrough, math, code spans, headings' closing sequence), and what a line may start with
# to become a block (list item, quote, heading underline, ordered list item).
_INLINE = re.compile(r"([\\`*_\[\]<>|~#&$!])")
_LINE_START = re.compile(r"^([-+=>])|^(\d+)([.)])")
# GitHub links bare web addresses too (`https://…`, `www.…`): a backslash before their `:` or
# `.` keeps them text. (Its e-mail autolinks cannot be stopped this way; they are only mailto.)
_AUTOLINK = re.compile(r"(:)(?=//)|(?<![\w.])(www)(\.)", re.IGNORECASE)


_WEB_ADDRESS = re.compile(r"https?://[^\s<>]+")


def _known_issue(known: KnownIssue, lang: str) -> str:
    """The pin in bold, and its link as a link: a person gave it (`known add --link`), and it
    was checked to be a web address then; the note is text, as any other."""
    link = known.link if known.link and _WEB_ADDRESS.fullmatch(known.link) else None
    shown = known if link is None else known.model_copy(update={"link": None})
    return f"**{escape(shown.line(lang))}**" + (f" <{link}>" if link else "")


def escape(text: str) -> str:
    """`text` as Markdown that displays exactly `text` (line breaks kept, controls made visible)."""
    lines = []
    for raw in text.split("\n"):
        line = _INLINE.sub(r"\\\1", printable(raw).strip())
        line = _AUTOLINK.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", line)
        line = _LINE_START.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", line)
        lines.append(line)
    return "\n".join(lines)


def _longest_run(text: str, char: str) -> int:
    runs = re.findall(f"{re.escape(char)}+", text)
    return max((len(run) for run in runs), default=0)


def code_span(text: str) -> str:
    """`text` as inline code, whatever backticks it contains."""
    text = printable(text)
    ticks = "`" * (_longest_run(text, "`") + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def fence(body: str, info: str = "text") -> str:
    """`body` as a fenced code block whose fence no line of `body` can close."""
    ticks = "`" * max(3, _longest_run(body, "`") + 1)
    return f"{ticks}{info}\n{body}\n{ticks}"


def render_markdown(
    report: Report,
    *,
    top: int | None = None,
    lang: str = DEFAULT_LANGUAGE,
    file_urls: Mapping[str, str] | None = None,
    fold_after: int | None = None,
) -> str:
    """The report as a Markdown document. `top` limits the findings shown (default: all);
    `lang` is the language of the words around the report's own (`bifrost.i18n`).

    For a page beside the code (a CI job summary): `file_urls` maps an input file's name to the
    page that shows it, so each finding links to its lines there; evidence longer than
    `fold_after` lines is folded away under its line count.
    """
    verdict = verdict_phrase(report, lang)
    parts = [f"## {VERDICT_MARK[report.verdict]} {escape(verdict[:1].upper() + verdict[1:])}"]

    if report.findings:
        intro = counts_phrase(finding_counts(report), lang)
    else:
        intro = message("markdown.no_findings", lang)
    intro = intro[:1].upper() + intro[1:] + "."
    if report.input.name:
        intro += " " + message("markdown.input", lang, name=code_span(report.input.name))
    parts.append(intro)
    if report.summary and (not report.findings or report.summary != report.findings[0].title):
        parts.append(escape(report.summary))
    order = ranking_phrase(report, lang)
    if order is not None:
        parts.append(f"_{escape(order)}_")
    if report.similar:
        seen = "\n".join(f"- {escape(incident.line(lang))}" for incident in report.similar)
        parts.append(f"**{message('seen_before', lang)}**\n\n{seen}")

    findings = shown_findings(report, top)
    if len(findings) < total_findings(report):
        total = counted(total_findings(report), "finding", lang)
        parts.append(f"_{message('markdown.showing', lang, shown=len(findings), total=total)}_")

    multi_file = is_multi_file(report)
    for rank, finding in enumerate(findings, start=1):
        url = _lines_url(report, finding, file_urls or {})
        parts.extend(_finding(rank, finding, multi_file, lang, url, fold_after))

    if report.metrics:
        parts.extend(_metrics(report, lang))

    parts.extend(["---", f"_{escape(stats_phrase(report, lang))}_"])
    return "\n\n".join(parts) + "\n"


def _metrics(report: Report, lang: str) -> list[str]:
    """A training run's curves: a table with a sparkline per metric (it shows wherever
    Markdown does), then the charts as SVG images, folded away: GitHub does not show images
    written into the document itself, most other viewers do."""
    columns = ("metric", "curve", "first", "last", "min", "max", "values")
    rows = [
        "| " + " | ".join(message(f"markdown.{column}", lang) for column in columns) + " |",
        "|---|---|--:|--:|--:|--:|--:|",
    ]
    for m in report.metrics:
        values = f"{m.count:,}" + (f" ({m.non_finite:,} NaN)" if m.non_finite else "")
        cells = [code_span(m.key), sparkline(m.values()), *map(metric_value, (m.first, m.last))]
        rows.append(
            "| " + " | ".join([*cells, metric_value(m.min), metric_value(m.max), values]) + " |"
        )
    charts = "\n".join(
        f"![{escape(m.key)}](data:image/svg+xml;base64,"
        f"{base64.b64encode(svg_chart(m).encode()).decode()})"
        for m in report.metrics
        if m.points
    )
    parts = [f"### {message('markdown.training_metrics', lang)}", "\n".join(rows)]
    if charts:
        summary = message("markdown.charts", lang)
        parts.append(f"<details><summary>{summary}</summary>\n\n{charts}\n\n</details>")
    return parts


def _lines_url(report: Report, finding: Finding, file_urls: Mapping[str, str]) -> str | None:
    """The page of the finding's first evidence, at its lines (`#L450-L455`), if it has one."""
    if not finding.evidence:
        return None
    first = finding.evidence[0]
    page = file_urls.get(first.file or report.input.name)
    if page is None:
        return None
    end = max(first.end_line, first.line)
    return f"{page}#L{first.line}" + (f"-L{end}" if end > first.line else "")


def _finding(
    rank: int,
    finding: Finding,
    multi_file: bool,
    lang: str,
    url: str | None = None,
    fold_after: int | None = None,
) -> list[str]:
    meta = [
        f"**{message(f'severity.{finding.severity}', lang).upper()}**",
        f"×{finding.count:,}",
        escape(position_phrase(finding, multi_file, lang)),
    ]
    if url is not None:
        meta[-1] = f"[{meta[-1]}](<{url}>)"
    if finding.category:
        meta.append(code_span(finding.category))
    parts = [f"### {rank}. {escape(finding.title)}", " · ".join(meta)]
    evidence, lines = _evidence(finding, multi_file)
    if evidence and fold_after is not None and lines > fold_after:
        label = message("markdown.evidence", lang, lines=counted(lines, "line", lang))
        evidence = f"<details><summary>{escape(label)}</summary>\n\n{evidence}\n\n</details>"
    if evidence:
        parts.append(evidence)
    if finding.known_issue:
        parts.append(_known_issue(finding.known_issue, lang))
    if finding.explanation:
        means = message("markdown.what_it_means", lang)
        parts.append(f"**{means}** {escape(finding.explanation.strip())}")
    if finding.suggestion:
        parts.append(f"**{message('markdown.fix', lang)}** {escape(finding.suggestion.strip())}")
    return parts


def _evidence(finding: Finding, multi_file: bool) -> tuple[str, int]:
    """The evidence as a code block, and how many lines of the log it shows."""
    lines = list(evidence_lines(finding.evidence))
    if not lines:
        return "", 0
    width = max(len(str(line.number)) for line in lines)
    out: list[str] = []
    for line in lines:
        if line.new_file and multi_file and line.file:
            out.append(f"==> {line.file} <==")
        elif line.gap:
            out.append(f"{'…':>{width}} |")
        out.append(f"{line.number:>{width}} |" + (f" {line.text}" if line.text else ""))
    return fence("\n".join(out)), len(lines)


SUMMARY_FOLD_AFTER = 12
"""Evidence lines a job summary shows open; longer evidence is folded under its line count."""


def render_github_summary(
    report: Report, *, lang: str = DEFAULT_LANGUAGE, file_urls: Mapping[str, str] | None = None
) -> str:
    """The report for a GitHub job's summary page or a pull-request comment: long evidence
    folded, each finding linked to its lines when the log is a file of the repository."""
    return render_markdown(report, lang=lang, file_urls=file_urls, fold_after=SUMMARY_FOLD_AFTER)
