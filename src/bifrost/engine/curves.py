"""Problems of a training run that no line states, found in its metric curves (`metrics`).

A run can fail without an error: the loss turns NaN and the job goes on for hours, the loss
climbs away, the input pipeline slows to a crawl, the learning rate hits zero half-way, GPU
memory grows every step until the process is killed. Each detector reads the series of one
kind of metric and names the lines where the problem shows; thresholds are deliberately
coarse (a factor of 3, half the speed), so that the noise of a healthy run never trips them.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from bifrost.choices import Severity
from bifrost.engine.metrics import MetricLog, Point, Series, values_of
from bifrost.i18n import DEFAULT_LANGUAGE, message
from bifrost.report import SEVERITY_RANK, Evidence, Finding, FindingText, Message, Position
from bifrost.report import metric_value as shown

CATEGORY = "training"
MIN_TREND = 8  # finite values a trend needs before anything is said about it
DIVERGENCE = 3.0  # the loss rose to this many times its lowest value …
DIVERGED_END = 2.0  # … and ended at this many times it at least (not a spike it recovered from)
COLLAPSE = 0.5  # throughput fell below this share of what it was …
COLLAPSED_PEAK = 0.75  # … and never came back above this share
STALL_FACTOR = 10.0  # a gap between metric lines this many times the usual one …
STALL_MIN_S = 300.0  # … and at least this long
MIN_GAPS = 5
LR_ZERO = 0.01  # of the peak learning rate
LR_EARLY = 0.8  # of the run, when the log says how long it is
LR_REMAINING = 0.25  # of the values still to come, when it does not
LEAK_RISING = 0.9  # of the steps between kept values that grew …
LEAK_GROWTH = 1.2  # … and grew the memory by this factor in all


@dataclass(frozen=True)
class Problem:
    """A problem of the curves; its words are catalog messages (`curve.*`), so that a Report
    tells it in the reader's language, with the numbers and moments as the log gave them."""

    kind: str  # non-finite, diverged, throughput-collapse, stall, lr-zero-early, memory-leak
    metric: str  # the series' key as the log writes it
    severity: Severity
    words: dict[FindingText, Message]
    points: tuple[Point, ...]  # the lines where it shows, in order
    at: Point  # where it began
    count: int = 1  # values it concerns (non-finite ones)

    def text(self, which: FindingText) -> str:
        said = self.words[which]
        return message(said.key, DEFAULT_LANGUAGE, **said.fields)


def _words(
    key: str, title: str = "title", explanation: str = "explanation", **fields: object
) -> dict[FindingText, Message]:
    """The title, explanation and fix of the messages `curve.KEY.*` (a variant of a title or an
    explanation named by its suffix), with the same fields."""
    values = {name: str(value) for name, value in fields.items()}
    return {
        "title": Message(key=f"curve.{key}.{title}", fields=values),
        "explanation": Message(key=f"curve.{key}.{explanation}", fields=values),
        "suggestion": Message(key=f"curve.{key}.suggestion", fields=values),
    }


def problems(log: MetricLog) -> list[Problem]:
    """Every problem the run's curves show, in the order of the log."""
    found = [p for series in log.series.values() for p in _series_problems(series)]
    stall = _stalled(log)
    if stall is not None:
        found.append(stall)
    return sorted(found, key=lambda p: (p.at.file, p.at.line))


def _series_problems(series: Series) -> Iterator[Problem]:
    for check in _CHECKS.get(series.kind, []):
        problem = check(series)
        if problem is not None:
            yield problem


def _non_finite(series: Series) -> Problem | None:
    bad = series.first_non_finite
    if bad is None:
        return None
    what = "nan" if bad.value != bad.value else "infinite"
    before = series.before_non_finite
    return Problem(
        kind="non-finite",
        metric=series.key,
        severity="error",
        words=_words(
            "non_finite",
            title=f"title_{what}",
            metric=series.key,
            at=bad.where(),
            bad=series.non_finite,
            count=series.count,
        ),
        points=tuple(p for p in (before, bad) if p is not None),
        at=bad,
        count=series.non_finite,
    )


def _diverged(series: Series) -> Problem | None:
    points = series.numbers()
    if len(points) < MIN_TREND:
        return None
    smooth = _smoothed([p.value for p in points])
    low_at = 0
    for i, value in enumerate(smooth):
        if value < smooth[low_at]:
            low_at = i
        low = smooth[low_at]
        if low > 0 and value >= DIVERGENCE * low and smooth[-1] >= DIVERGED_END * low:
            lowest = min(points[: i + 1], key=lambda p: p.value)  # the raw lowest, shown
            last = points[-1]
            risen = max(points[i:], key=lambda p: p.value)  # the highest it rose to
            return Problem(
                kind="diverged",
                metric=series.key,
                severity="error",
                words=_words(
                    "diverged",
                    metric=series.key,
                    low=shown(lowest.value),
                    low_at=lowest.where(),
                    high=shown(risen.value),
                    high_at=risen.where(),
                    last=shown(last.value),
                ),
                points=_distinct(lowest, risen, last),
                at=lowest,
            )
    return None


def _collapsed(series: Series) -> Problem | None:
    points = series.numbers()
    if len(points) < MIN_TREND:
        return None
    values = [p.value for p in points]
    smooth = _smoothed(values)
    stayed = max(5, len(points) // 10)  # values it must stay down for: not a last blip
    for i in range(3, len(points) - stayed + 1):
        before = statistics.median(values[1:i])  # the first value is often a warm-up
        if before <= 0:
            continue
        after = values[i:]
        if (
            statistics.median(after) < COLLAPSE * before
            and smooth[i] < COLLAPSE * before
            and max(smooth[i:]) < COLLAPSED_PEAK * before
        ):
            return Problem(
                kind="throughput-collapse",
                metric=series.key,
                severity="warning",
                words=_words(
                    "throughput_collapse",
                    metric=series.key,
                    before=shown(before),
                    after=shown(statistics.median(after)),
                    at=points[i].where(),
                    stayed=len(after),
                    total=len(values),
                ),
                points=_distinct(points[i - 1], points[i], points[-1]),
                at=points[i],
            )
    return None


def _lr_zero_early(series: Series) -> Problem | None:
    points = series.numbers()
    if len(points) < MIN_TREND // 2:
        return None
    peak_at = max(range(len(points)), key=lambda i: points[i].value)
    peak = points[peak_at].value
    if peak <= 0:
        return None
    for i in range(peak_at + 1, len(points)):
        if all(p.value <= LR_ZERO * peak for p in points[i:]):
            zero = points[i]
            remaining = len(points) - i
            if zero.progress is not None:
                early = zero.progress < LR_EARLY
            else:
                early = remaining >= max(3, LR_REMAINING * len(points))
            if not early:
                return None
            return Problem(
                kind="lr-zero-early",
                metric=series.key,
                severity="warning",
                words=_words(
                    "lr_zero_early",
                    explanation="explanation" if zero.progress is None else "explanation_into",
                    metric=series.key,
                    peak=shown(peak),
                    value=shown(zero.value),
                    at=zero.where(),
                    progress="" if zero.progress is None else f"{zero.progress:.0%}",
                ),
                points=_distinct(points[peak_at], zero, points[-1]),
                at=zero,
            )
    return None


def _leaking(series: Series) -> Problem | None:
    points = series.numbers()
    if len(points) < MIN_TREND:
        return None
    rises = sum(b.value > a.value for a, b in itertools.pairwise(points))
    first, last = points[0], points[-1]
    if rises < LEAK_RISING * (len(points) - 1) or first.value <= 0:
        return None
    if last.value < LEAK_GROWTH * first.value:
        return None
    return Problem(
        kind="memory-leak",
        metric=series.key,
        severity="warning",
        words=_words(
            "memory_leak",
            metric=series.key,
            first=shown(first.value),
            last=shown(last.value),
            rises=rises,
            intervals=len(points) - 1,
        ),
        points=_distinct(first, points[len(points) // 2], last),
        at=first,
    )


def _stalled(log: MetricLog) -> Problem | None:
    if not log.slowest or len(log.gaps) < MIN_GAPS:
        return None
    usual = statistics.median(log.gaps)
    gap = max(log.slowest, key=lambda g: g.excess(usual))
    lost = gap.excess(usual)
    if lost < max(STALL_MIN_S, STALL_FACTOR * usual):
        return None
    return Problem(
        kind="stall",
        metric="time",
        severity="warning",
        words=_words(
            "stall",
            lost=_duration(lost),
            usual=_duration(usual),
            before=gap.before.where(),
            after=gap.after.where(),
        ),
        points=(gap.before, gap.after),
        at=gap.before,
    )


_CHECKS: dict[str, list[Callable[[Series], Problem | None]]] = {
    "loss": [_non_finite, _diverged],
    "val_loss": [_non_finite],
    "throughput": [_collapsed],
    "lr": [_lr_zero_early],
    "memory": [_leaking],
}
"""The detectors of each kind of metric (the other kinds are only drawn)."""


def _smoothed(values: list[float]) -> list[float]:
    """A running median of 5: one noisy batch is not a trend."""
    return [statistics.median(values[max(0, i - 2) : i + 3]) for i in range(len(values))]


def _distinct(*points: Point) -> tuple[Point, ...]:
    seen: dict[tuple[int, int], Point] = {}
    for point in points:
        seen.setdefault((point.file, point.line), point)
    return tuple(sorted(seen.values(), key=lambda p: (p.file, p.line)))


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.2g} s" if seconds < 10 else f"{seconds:.0f} s"


def _finding(problem: Problem, file_name: Callable[[int], str | None]) -> Finding:
    first, last = problem.at, problem.points[-1]
    return Finding(
        id="",
        title=problem.text("title"),
        severity=problem.severity,
        category=f"{CATEGORY}.{problem.kind}",
        score=0.0,
        template_id=f"{CATEGORY}.{problem.kind}:{problem.metric}",
        template=f"{problem.metric}: {problem.kind.replace('-', ' ')}",
        count=problem.count,
        first_seen=Position(line=first.line, file=file_name(first.file)),
        last_seen=Position(line=last.line, file=file_name(last.file)),
        evidence=[
            Evidence(line=p.line, end_line=p.line, text=p.text, file=file_name(p.file))
            for p in problem.points
        ],
        explanation=problem.text("explanation"),
        suggestion=problem.text("suggestion"),
        messages=problem.words,
    )


def merged(
    ranked: list[Finding], found: list[Problem], file_name: Callable[[int], str | None]
) -> list[Finding]:
    """The log's findings and the curves' problems in one ranking; ids follow the new order.

    A problem that a finding of the log already tells (a signature matched `loss=nan`) takes
    that finding's place: the same trouble, told with the step where it began. Any other
    comes after the log's findings of its severity or worse (an error line says more than a
    trend) and before the milder ones."""
    if not found:
        return ranked
    order: list[Finding] = list(ranked)
    for problem in found:
        curve = _finding(problem, file_name)
        told = next((i for i, f in enumerate(order) if _tells(f, problem, file_name)), None)
        if told is not None:
            update = {"score": order[told].score, "signature": order[told].signature}
            order[told] = curve.model_copy(update=update)
            continue
        rank = SEVERITY_RANK[curve.severity]
        at = next((i for i, f in enumerate(order) if SEVERITY_RANK[f.severity] < rank), len(order))
        score = order[at - 1].score if at else 1.0
        order.insert(at, curve.model_copy(update={"score": score}))
    return [f.model_copy(update={"id": f"F{i}"}) for i, f in enumerate(order, start=1)]


def _tells(finding: Finding, problem: Problem, file_name: Callable[[int], str | None]) -> bool:
    """Whether a finding of the log shows a line of the problem, or (for values that are not
    numbers) a line where the same metric is not a number."""
    if finding.category.startswith(f"{CATEGORY}."):
        return False
    lines = {(file_name(p.file), p.line) for p in problem.points}
    for evidence in finding.evidence:
        texts = evidence.text.split("\n")
        for line, text in enumerate(texts, start=evidence.line):
            if (evidence.file, line) in lines:
                return True
            if problem.kind == "non-finite" and not math.isfinite(
                values_of(text).get(problem.metric, 0.0)
            ):
                return True
    return False
