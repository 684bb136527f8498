"""The report for a person at a terminal, with Rich.

Layout::

    ✗ failure — CUDA out of memory (2 findings, 1 critical, 1 error)

    #1 CRITICAL  CUDA out of memory  ×1
       line 412 (2024-05-14T09:41:02.118Z) · ml.cuda_oom
        398 │ Traceback (most recent call last):
        399 │   File "/workspace/train.py", line 412, in <module>
          … │
        412 │ torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB …
       The GPU ran out of memory …
       → fix: lower the per-device batch size …

    1,836 lines · 211 templates · 14 errors · 0.04 s · format: klog

Log text is never parsed as Rich markup (it is full of `[ERROR]`-style brackets): everything
from the report goes into `rich.text.Text` as plain text, with control characters made visible.
On a terminal, evidence lines longer than the screen fold at the exact cell width under a blank
gutter, so no character is lost; elsewhere (a pipe, a file) they are written whole, one log line
per output line, so the output stays greppable. Colour is the console's business: a console made
with `no_color=True`, or one that is not a terminal, prints none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from bifrost.i18n import DEFAULT_LANGUAGE, counted, message
from bifrost.render import (
    evidence_lines,
    headline,
    is_multi_file,
    position_phrase,
    printable,
    ranking_phrase,
    shown_findings,
    stats_phrase,
    total_findings,
)
from bifrost.render.chart import metric_phrase, sparkline
from bifrost.report import DiffSection, Finding, LLMExplanation, Report

__all__ = ["render_terminal"]

INDENT = 3
_MIN_FOLD_WIDTH = 20

VERDICT_STYLE = {
    "ok": "bold green",
    "warning": "bold yellow",
    "unclear": "bold magenta",
    "failure": "bold red",
}
SEVERITY_STYLE = {"critical": "bold red", "error": "red", "warning": "yellow", "info": "blue"}

# Words that mark trouble, highlighted in evidence. Counters that say "nothing went wrong"
# (`errors=0`, `failed: 0`) are left alone.
_NOT_ZERO = r"(?![\s]*[=:][\s]*0(?![\d.]))"
ERROR_WORDS = re.compile(
    r"\b(?:errors?|exceptions?|fatal|fail(?:s|ed|ure|ures|ing)?|killed|oom-?killed|refused"
    r"|timed[ -]?out|timing out|time-?outs?|panic(?:ked)?|traceback|abort(?:s|ed)?|crash(?:es|ed)?"
    r"|denied|segmentation fault|segfault|out of memory|unreachable|sig(?:kill|segv|abrt))\b"
    + _NOT_ZERO,
    re.IGNORECASE,
)
# CamelCase names: torch.OutOfMemoryError, ChildFailedError, CrashLoopBackOff, OOMKilled.
ERROR_NAMES = re.compile(r"\b[\w.]*(?:Error|Exception|Failure|Fault|BackOff|Killed|Failed)\b")
WARNING_WORDS = re.compile(
    r"\b(?:warn(?:s|ing|ings)?|deprecat(?:ed|ion)|retry(?:ing)?|retries|retried|throttl(?:ed|ing)"
    r"|evicted|unhealthy|back-?off|slow)\b" + _NOT_ZERO,
    re.IGNORECASE,
)
WARNING_NAMES = re.compile(r"\b[\w.]*Warning\b")


@dataclass(frozen=True, slots=True)
class _Glyphs:
    verdict: dict[str, str]
    bar: str
    gap: str
    arrow: str
    times: str

    @property
    def chars(self) -> str:
        return "".join(self.verdict.values()) + self.bar + self.gap + self.arrow + self.times


_UNICODE = _Glyphs({"ok": "✓", "warning": "!", "unclear": "?", "failure": "✗"}, "│", "…", "→", "×")
_ASCII = _Glyphs({"ok": "+", "warning": "!", "unclear": "?", "failure": "x"}, "|", "...", "->", "x")
# One character for one, so that styled spans keep their places.
_ASCII_FALLBACK = {"—": "-", "–": "-", "·": "-", "×": "x", "…": ".", "│": "|", "→": ">", "✓": "+"}


class _Out:
    """The console, and a way to print only characters its encoding can write.

    On a UTF-8 console (nearly all) text passes through untouched. On another (a redirected
    Windows console, a Latin-1 locale) each character it cannot encode becomes one it can, so
    spans stay aligned and a stray `✗` or `错` in a log never aborts the report.
    """

    def __init__(self, console: Console, lang: str) -> None:
        self.console = console
        self.lang = lang
        encoding = console.encoding.lower().replace("-", "").replace("_", "")
        self.encoding = None if encoding.startswith("utf") else console.encoding
        self.glyphs = _ASCII if self.encoding and not self._can_encode(_UNICODE.chars) else _UNICODE

    @property
    def width(self) -> int:
        return self.console.width

    def _can_encode(self, text: str) -> bool:
        if self.encoding is None:
            return True
        try:
            text.encode(self.encoding)
        except (UnicodeEncodeError, LookupError):
            return False
        return True

    def fit(self, text: Text) -> Text:
        if self.encoding is None or self._can_encode(text.plain):
            return text
        text.plain = "".join(
            c if self._can_encode(c) else _ASCII_FALLBACK.get(c, "?") for c in text.plain
        )
        return text

    def print(self, text: Text | None = None, *, soft: bool = False) -> None:
        """Print one line laid out already; `soft=True` leaves any wrapping to the terminal."""
        if text is None:
            self.console.print()
        elif soft:
            self.console.print(self.fit(text), soft_wrap=True)
        else:
            self.console.print(self.fit(text), no_wrap=True, overflow="ignore", crop=False)


_SOURCES_SHOWN = 6
_SEVERITY_WIDTH = 8  # cells: `CRITICAL`


def render_terminal(
    report: Report, console: Console, *, top: int | None = None, lang: str = DEFAULT_LANGUAGE
) -> None:
    """Print `report` to `console`: verdict, ranked findings with evidence, one stats line.

    `top` limits how many findings are shown (default: every finding in the report); `lang`
    is the language of the words around the report's own (`bifrost.i18n`).
    """
    out = _Out(console, lang)
    out.print(_verdict(report, out.glyphs, lang))
    if report.llm is not None:
        _explanation(out, report.llm)
    elif report.summary and not _restates(report):
        _indented(out, Text(_prose(report.summary)))
    order = ranking_phrase(report, lang)
    if order is not None:
        _indented(out, Text(_prose(order), style="dim"))
    if report.similar:
        out.print()
        _indented(out, Text(message("seen_before", lang), style="bold"))
        for incident in report.similar:
            _indented(out, Text(_prose(incident.line(lang))), indent=INDENT * 2)
    if report.diff is not None:
        _comparison(out, report.diff)

    findings = shown_findings(report, top)
    multi_file = is_multi_file(report)
    for rank, finding in enumerate(findings, start=1):
        out.print()
        _finding(out, rank, finding, multi_file)

    if report.metrics:
        _metrics(out, report)

    hidden = total_findings(report) - len(findings)
    out.print()
    if hidden > 0:
        more = counted(hidden, "more_finding", lang)
        shown = message("terminal.not_shown", lang, more=more, top=len(findings))
        out.print(Text(f"{out.glyphs.gap} {shown}", style="dim"))
    _indented(out, Text(stats_phrase(report, lang), style="dim"), indent=0)


_METRIC_KEY_WIDTH = 14  # a longer key (`eval_samples_per_second`) pushes its own line only


def _metrics(out: _Out, report: Report) -> None:
    """A training run's curves: one sparkline per metric, with where it started and ended."""
    out.print()
    _indented(out, Text(message("terminal.training_metrics", out.lang), style="bold"), indent=0)
    width = min(max(len(m.key) for m in report.metrics), _METRIC_KEY_WIDTH)
    for metric in report.metrics:
        line = Text(f"{metric.key:<{width}}  ")
        line.append(sparkline(metric.values()), style="cyan")
        line.append(f"  {metric_phrase(metric, out.lang)}", style="dim")
        _indented(out, line)


def _restates(report: Report) -> bool:
    """Whether the summary only says what the verdict line does (the engine's own summary
    starts with the top finding's title and counts the findings, or says no problems were
    found)."""
    if not report.findings:
        return report.verdict == "ok"
    return report.summary.startswith(report.findings[0].title)


_TEMPLATES_SHOWN = 5


def _comparison(out: _Out, diff: DiffSection) -> None:
    """`bifrost diff`: what the failing run wrote that the baseline did not, and the reverse."""
    out.print()
    head = message(
        "diff.compared",
        out.lang,
        name=diff.baseline.name,
        new=f"{diff.new:,}",
        gone=f"{diff.gone:,}",
        changed=f"{diff.changed:,}",
    )
    _indented(out, Text(printable(head), style="bold"))
    for kind, deltas, total in (
        ("new", diff.new_templates, diff.new),
        ("gone", diff.gone_templates, diff.gone),
        ("changed", diff.changed_templates, diff.changed),
    ):
        label = message(f"diff.{kind}", out.lang)
        for delta in deltas[:_TEMPLATES_SHOWN]:
            counts = f"{delta.baseline_count:,} {out.glyphs.arrow} {delta.failing_count:,}"
            line = f"{label:<8}{counts:>14}  {printable(delta.template)}"
            _indented(out, Text(line))
        if total > min(len(deltas), _TEMPLATES_SHOWN):
            left = total - min(len(deltas), _TEMPLATES_SHOWN)
            more = counted(left, "more_template", out.lang, label=label)
            _indented(out, Text(f"{out.glyphs.gap} {more}", style="dim"))


def _explanation(out: _Out, llm: LLMExplanation) -> None:
    """The model's diagnosis above the findings; claims the log does not back are marked, and
    quotes the model placed on the wrong line are shown where they are."""
    out.print()
    lang = out.lang
    confidence = message(f"confidence.{llm.confidence}", lang)
    header = message(
        "llm.header", lang, provider=llm.provider, model=llm.model, confidence=confidence
    )
    _indented(out, Text(header, style="bold"))
    _indented(out, Text(_prose(llm.summary)))
    cause = llm.root_cause or message("llm.no_root_cause", lang)
    _indented(out, Text.assemble((message("llm.root_cause", lang), "bold"), _prose(cause)))
    for fix in llm.fixes:
        fix_label = f"{out.glyphs.arrow} {message('finding.fix', lang)}"
        _indented(out, Text.assemble((fix_label, "bold green"), _prose(fix)))
    for citation in llm.citations:
        quote = f"“{printable(citation.text)}”"
        if not citation.grounded:
            text = message("llm.not_in_log", lang, line=citation.line, quote=quote)
            _indented(out, Text(text, style="yellow"))
        elif citation.claimed_line is not None:
            text = message(
                "llm.wrong_line",
                lang,
                line=citation.line,
                claimed=citation.claimed_line,
                quote=quote,
            )
            _indented(out, Text(text, style="yellow"))


def _verdict(report: Report, glyphs: _Glyphs, lang: str) -> Text:
    style = VERDICT_STYLE[report.verdict]
    return Text(f"{glyphs.verdict[report.verdict]} {headline(report, lang)}", style=style)


def _prose(text: str) -> str:
    """Explanations and summaries: printable line by line, paragraphs kept."""
    return "\n".join(printable(line) for line in text.strip().split("\n"))


def _indented(out: _Out, text: Text, indent: int = INDENT) -> None:
    """Print `text` word-wrapped to the console width, every line indented."""
    width = max(out.width - indent, _MIN_FOLD_WIDTH)
    for line in text.wrap(out.console, width, overflow="fold"):
        line.rstrip()
        out.print(Text.assemble(" " * indent, line))


def _finding(out: _Out, rank: int, finding: Finding, multi_file: bool) -> None:
    g = out.glyphs
    header = Text()
    header.append(f"#{rank} ", style="bold")
    label = message(f"severity.{finding.severity}", out.lang).upper()
    label += " " * max(_SEVERITY_WIDTH - cell_len(label), 0)
    header.append(label, style=SEVERITY_STYLE[finding.severity])
    header.append("  ")
    header.append(printable(finding.title), style="bold")
    header.append(f"  {g.times}{finding.count:,}", style="cyan")
    _indented(out, header, indent=0)

    where = position_phrase(finding, multi_file, out.lang)
    if finding.category:
        where += f" · {printable(finding.category)}"
    _indented(out, Text(where, style="dim"))
    if finding.sources:
        shown = ", ".join(printable(s) for s in finding.sources[:_SOURCES_SHOWN])
        more = len(finding.sources) - _SOURCES_SHOWN
        shown += f" (+{more})" if more > 0 else ""
        _indented(out, Text(message("finding.from", out.lang, sources=shown), style="dim"))

    _evidence(out, finding, multi_file)

    if finding.known_issue:
        _indented(out, Text(_prose(finding.known_issue.line(out.lang)), style="bold magenta"))
    if finding.explanation:
        _indented(out, Text(_prose(finding.explanation)))
    if finding.suggestion:
        fix = f"{g.arrow} {message('finding.fix', out.lang)}"
        _indented(out, Text.assemble((fix, "bold green"), _prose(finding.suggestion)))


def highlight(line: str) -> Text:
    """A log line as `Text`, with error words in bold red and warning words in yellow."""
    text = Text(line)
    for pattern in (WARNING_WORDS, WARNING_NAMES):
        text.highlight_regex(pattern, "yellow")
    for pattern in (ERROR_WORDS, ERROR_NAMES):
        text.highlight_regex(pattern, "bold red")
    return text


def _evidence(out: _Out, finding: Finding, multi_file: bool) -> None:
    g = out.glyphs
    lines = list(evidence_lines(finding.evidence))
    if not lines:
        return
    number_width = max(len(str(line.number)) for line in lines)
    pad = " " * INDENT
    text_width = out.width - INDENT - number_width - len(g.bar) - 2
    fold = out.console.is_terminal and text_width >= _MIN_FOLD_WIDTH

    for line in lines:
        if line.new_file and multi_file and line.file:
            out.print(Text(f"{pad}{printable(line.file)}", style="dim underline"), soft=True)
        elif line.gap:
            out.print(Text(f"{pad}{g.gap:>{number_width}} {g.bar}", style="dim"), soft=True)
        body = highlight(line.text)
        body.expand_tabs(8)
        chunks = _fold(body, text_width) if fold else [body]
        for i, chunk in enumerate(chunks):
            number = str(line.number) if i == 0 else ""
            gutter = Text(f"{pad}{number:>{number_width}} {g.bar} ", style="dim", end="")
            out.print(Text.assemble(gutter, chunk), soft=not fold)


def _fold(text: Text, width: int) -> list[Text]:
    """`text` cut into pieces of at most `width` cells, dropping nothing.

    A piece ends after the last space that leaves it at least half full (the space stays at the
    end of the piece); a run with no such space is cut at the exact cell.
    """
    plain = text.plain
    offsets: list[int] = []
    start = used = 0
    index = 0
    while index < len(plain):
        size = cell_len(plain[index])
        if used + size > width and used > 0:
            space = plain.rfind(" ", start, index)
            half_full = space >= 0 and cell_len(plain[start : space + 1]) * 2 >= width
            cut = space + 1 if half_full else index
            offsets.append(cut)
            start, used, index = cut, 0, cut
            continue
        used += size
        index += 1
    return list(text.divide(offsets)) if offsets else [text]
