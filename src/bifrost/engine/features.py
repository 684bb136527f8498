"""Features of a candidate finding: what the ranker weighs to decide what explains a failure.

Each feature is a number in [0, 1] computed from what the scan already knows: what the line
says (level, trouble words, a known signature, a wrapper), how common it is (in this log and
across the corpus of public logs behind `normal`), and where it sits in the structure of the
log (inside the failing step, how far before its exit line, right before a wrapper).
"""

from __future__ import annotations

import bisect
import math
import re
from dataclasses import dataclass

from bifrost.engine import steps
from bifrost.engine.bursts import burst
from bifrost.engine.normal import Normal
from bifrost.engine.scan import Occurrence, Scan, TemplateStats, Window
from bifrost.engine.signatures import Signature
from bifrost.engine.vocabulary import is_mild
from bifrost.levels import RANK

FEATURES: tuple[str, ...] = (
    "level_error",  # its own level is error or above
    "level_warning",  # its own level is warning
    "level_quiet",  # the program said it was information (info, debug, notice)
    "trouble_words",  # distinct trouble words, up to 3
    "signature",  # a known failure signature (not a wrapper)
    "priority",  # how specific the knowledge base says that signature is
    "critical",  # critical by its level or its signature: the program or the machine died
    "wrapper",  # a summary that something failed, not what (see `steps`)
    "mild",  # a deprecation or a retry
    "count",  # how often the log prints it (log scale); 0 for a known signature
    "common",  # share of corpus projects whose logs print it
    "position",  # how far into its input
    "after_failure",  # after the first failing step's exit line
    "distance",  # lines before the failing step's exit line, or the input's end (log scale)
    "in_failed_step",  # inside the first failing step
    "before_wrapper",  # a wrapper or exit line follows within a few lines
    "after_wrapper",  # a wrapper came before it in its step: what follows is aftermath
    "after_command",  # the first lines of output after an echoed command (`$ make`)
    "paragraph",  # starts a paragraph: a blank line (or nothing) just above it
    "after_header",  # follows a header that announces failure details (`There was 1 failure:`)
    "event_lines",  # lines in its event: a stack trace, an error with its details (log scale)
    "burst",  # concentrated in one stretch of the log
    "indented",  # the line is indented: usually a detail of the line above
    "wordless",  # fewer than two words: progress dots, rules, a lone value
    "first_error",  # the first error-level candidate of the failing step
    "last_error",  # the last error-level candidate of the failing step that is not a wrapper
    "step_position",  # how far into the failing step, from its start (0) to its exit (1)
    "headline",  # details follow it in its event (indented lines, frames)
    "location",  # names a place in the source: `file.c:12`, `line 12`
    "once",  # printed once in the log
    "length",  # how long the line is
    "no_failed_step",  # the input shows no failing step: positions count from its end
)

_NEAR_WRAPPER = 3  # lines after an event within which a wrapper makes it the wrapped cause
_AFTER_HEADER = 40  # lines after a failure header that are its details


_LOCATION = re.compile(r"\w\.\w{1,5}[:(]\d+|\bline \d+")
_WORD_OF_LETTERS = re.compile(r"[^\W\d_]{2,}")

# Words (camelCase and snake_case split) and symbols: `AssertionError` is `assertion`, `error`.
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]{2,}(?![a-z])|[^\x00-\x7f\w\s]")


@dataclass(frozen=True)
class Context:
    """What every candidate of one scan is measured against."""

    lines: list[int]  # lines per input
    ordered: list[bool]  # per input: are its lines in time order (not a snapshot)
    failed: dict[int, Window]  # per input, its first failing step
    steps: dict[int, list[tuple[int, int]]]  # per input, (first, last line) of failing steps
    wrappers: dict[int, list[int]]  # per input, sorted lines of wrappers and failing exits
    headers: dict[int, list[int]]  # per input, sorted lines of failure headers
    normal: Normal
    histogram_shift: int
    total_lines: int

    @classmethod
    def of(cls, scan: Scan, normal: Normal) -> Context:
        failed: dict[int, Window] = {}
        for window in scan.failures:
            if window.exit:
                failed.setdefault(window.file, window)
        return cls(
            lines=scan.line_files or [scan.lines],
            ordered=[fmt is None or fmt.ordered for fmt in scan.formats],
            failed=failed,
            steps=_steps(scan.failures),
            wrappers=_by_file(scan.wrappers),
            headers=_by_file(scan.headers),
            normal=normal,
            histogram_shift=scan.histogram_shift,
            total_lines=scan.lines,
        )

    def step_of(self, file: int, line: int) -> tuple[int, int] | None:
        """The (first, last line) of a step that failed or printed a wrapper at `line`."""
        return next((s for s in self.steps.get(file, ()) if s[0] <= line <= s[1]), None)

    def aftermath_end(self, file: int, line: int) -> int:
        """The last line of what follows a reported failure at `line`: the rest of its failing
        step, or of the input when it has no failing step there."""
        window = self.failed.get(file)
        if (
            window is not None
            and window.end is not None
            and window.step_start <= line <= window.end
        ):
            return window.end
        total = self.lines[file] if file < len(self.lines) else self.total_lines
        return total

    def in_failed_step(self, occurrence: Occurrence) -> bool:
        window = self.failed.get(occurrence.file)
        return window is not None and window.step_start <= occurrence.line < (window.end or 0)


def _steps(windows: list[Window]) -> dict[int, list[tuple[int, int]]]:
    found: dict[int, list[tuple[int, int]]] = {}
    for window in windows:
        found.setdefault(window.file, []).append((window.step_start, window.end or 0))
    return found


def _by_file(positions: list[tuple[int, int]]) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    for file, line in positions:
        found.setdefault(file, []).append(line)
    for lines in found.values():
        lines.sort()
    return found


def vector(
    context: Context,
    stats: TemplateStats,
    text: str,
    lead: Occurrence | None,
    signature: Signature | None,
    *,
    troubles: int,
    wrapper: bool,
    first_error: bool,
    last_error: bool,
) -> tuple[float, ...]:
    """The features of one candidate, in the order of `FEATURES`. `troubles` is how many
    trouble words its template or its own line has (`vocabulary.trouble_words`)."""
    level = stats.level
    specific = signature is not None and signature.priority >= 0 and not signature.wrapper
    values: dict[str, float] = {
        "level_error": float(level >= RANK["error"]),
        "level_warning": float(level == RANK["warning"]),
        "level_quiet": float(0 <= level <= RANK["notice"]),
        "trouble_words": min(troubles, 3) / 3,
        "signature": float(specific),
        "priority": max(0, min(signature.priority, 10)) / 10 if signature else 0.0,
        "critical": float(
            level >= RANK["critical"]
            or (signature is not None and signature.severity == "critical")
        ),
        "wrapper": float(wrapper),
        "mild": float(is_mild(text)),
        # a known failure repeated is still that failure: only unknown lines are worn by repetition
        "count": 0.0 if specific else min(1.0, math.log1p(stats.count) / math.log1p(1000)),
        "common": context.normal.commonness(stats.masked),
        "burst": burst(stats.histogram, context.histogram_shift, context.total_lines)
        if stats.histogram is not None
        else 0.0,
        "first_error": float(first_error),
        "last_error": float(last_error),
        "once": float(stats.count == 1),
    }
    values.update(_placement(context, lead))
    return tuple(values[name] for name in FEATURES)


def words(line: str) -> frozenset[str]:
    """The words of a line, lower-cased, for the ranker's word weights."""
    return frozenset(
        word.lower() for word in _WORD.findall(line) if len(word) > 1 or ord(word) > 127
    )


def own_line(lead: Occurrence) -> str:
    """The occurrence's own line (an event's lines start before it when it is an exception
    line inside a trace)."""
    return lead.lines[lead.line - lead.start] if lead.lines else ""


def _placement(context: Context, lead: Occurrence | None) -> dict[str, float]:
    """Where the occurrence sits relative to the structure of its input."""
    if lead is None:
        return {
            "position": 0.0,
            "after_failure": 0.0,
            "distance": 1.0,
            "in_failed_step": 0.0,
            "before_wrapper": 0.0,
            "after_header": 0.0,
            "after_command": 0.0,
            "paragraph": 0.0,
            "after_wrapper": 0.0,
            "event_lines": 0.0,
            "indented": 0.0,
            "wordless": 0.0,
            "no_failed_step": float(not context.failed),
            "step_position": 0.0,
            "headline": 0.0,
            "location": 0.0,
            "length": 0.0,
        }
    file = lead.file
    total = context.lines[file] if file < len(context.lines) else context.total_lines
    window = context.failed.get(file)
    anchor = window.end if window is not None and window.end is not None else total + 1
    before = anchor - lead.line
    end = lead.start + len(lead.lines) - 1
    wrappers = context.wrappers.get(file, [])
    k = bisect.bisect_right(wrappers, end)
    near = k < len(wrappers) and wrappers[k] - end <= _NEAR_WRAPPER
    step_start = window.step_start if window is not None and lead.line < anchor else 1
    w = bisect.bisect_left(wrappers, lead.line)
    after_wrapper = w > 0 and wrappers[w - 1] >= step_start
    headers = context.headers.get(file, [])
    h = bisect.bisect_left(headers, lead.line)
    after_header = h > 0 and lead.line - headers[h - 1] <= _AFTER_HEADER
    own = own_line(lead)
    in_step = context.in_failed_step(lead)
    step_position = 0.0
    if in_step and window is not None:
        step_position = (lead.line - window.step_start) / max(anchor - window.step_start, 1)
    ordered = context.ordered[file] if file < len(context.ordered) else True
    return {
        # a snapshot (`kubectl describe`) prints its sections in a fixed order, not in time
        "position": lead.line / max(total, 1) if ordered else 0.5,
        "after_failure": float(before <= 0),
        "distance": min(1.0, math.log1p(max(before, 0)) / math.log1p(10_000)) if ordered else 0.5,
        "in_failed_step": float(in_step),
        "step_position": step_position,
        "headline": float(lead.line == lead.start and len(lead.lines) > 1),
        "location": float(_LOCATION.search(own) is not None),
        "length": min(1.0, len(own.strip()) / 200),
        "before_wrapper": float(near),
        "after_header": float(after_header),
        "after_command": float(any(steps.is_command(line) for line in lead.context[-2:])),
        "paragraph": float(not lead.context or not lead.context[-1].strip()),
        "after_wrapper": float(after_wrapper),
        "event_lines": min(1.0, math.log1p(len(lead.lines) - 1) / math.log1p(100)),
        "indented": float(own[:1].isspace()),
        "wordless": float(len(_WORD_OF_LETTERS.findall(own)) < 2),
        "no_failed_step": float(window is None),
    }
