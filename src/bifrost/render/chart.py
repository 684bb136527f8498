"""A training metric drawn: a sparkline for a terminal or a table, an SVG chart for a page.

Both read the points a `Metric` keeps (NaN and infinite values are None). A value that is
not a number is drawn as such, never as zero: `×` in a sparkline, a red mark in a chart.
"""

from __future__ import annotations

import math
from html import escape

from bifrost.i18n import DEFAULT_LANGUAGE, counted, message
from bifrost.report import Metric, metric_value

__all__ = ["metric_phrase", "sparkline", "svg_chart"]

_BARS = "▁▂▃▄▅▆▇█"
_NOT_A_NUMBER = "×"
SPARK_WIDTH = 20


def sparkline(values: list[float | None], width: int = SPARK_WIDTH) -> str:
    """`▇▆▅▄▃▃▂▂▁×××`: the values in at most `width` characters, each the mean of its share
    of the values (× where that share holds only values that are not numbers)."""
    if not values:
        return ""
    buckets = _buckets(values, width)
    finite = [v for v in buckets if v is not None]
    low, high = (min(finite), max(finite)) if finite else (0.0, 0.0)
    span = high - low
    return "".join(
        _NOT_A_NUMBER
        if v is None
        else _BARS[int((v - low) / span * (len(_BARS) - 1)) if span else 0]
        for v in buckets
    )


def _buckets(values: list[float | None], width: int) -> list[float | None]:
    count = min(width, len(values))
    out: list[float | None] = []
    for i in range(count):
        share = values[i * len(values) // count : (i + 1) * len(values) // count]
        finite = [v for v in share if v is not None]
        out.append(sum(finite) / len(finite) if finite else None)
    return out


def metric_phrase(metric: Metric, lang: str = DEFAULT_LANGUAGE) -> str:
    """`2.31 → NaN · 300 values, 11 NaN`: where it started and ended, and how much was read."""
    values = counted(metric.count, "value", lang)
    if metric.non_finite:
        values = message("metric.non_finite", lang, values=values, n=f"{metric.non_finite:,}")
    first, last = metric_value(metric.first), metric_value(metric.last)
    return message("metric.phrase", lang, first=first, last=last, values=values)


def svg_chart(metric: Metric, width: int = 360, height: int = 90) -> str:
    """The metric as a small standalone SVG line chart, its key and range as text (escaped)."""
    points = metric.points or []
    finite = [p.value for p in points if p.value is not None]
    pad_x, pad_top, pad_bottom = 4.0, 16.0, 4.0
    inner_w, inner_h = width - 2 * pad_x, height - pad_top - pad_bottom
    low, high = (min(finite), max(finite)) if finite else (0.0, 1.0)
    span = (high - low) or 1.0
    last_index = max(len(points) - 1, 1)

    def x(i: int) -> float:
        return pad_x + inner_w * i / last_index

    def y(value: float) -> float:
        return pad_top + inner_h * (1 - (value - low) / span)

    runs: list[list[str]] = [[]]
    marks: list[str] = []
    for i, point in enumerate(points):
        if point.value is None or not math.isfinite(point.value):
            runs.append([])
            marks.append(
                f'<line x1="{x(i):.1f}" y1="{pad_top:.1f}" x2="{x(i):.1f}" '
                f'y2="{height - pad_bottom:.1f}" stroke="#d33" stroke-width="1"/>'
            )
            continue
        runs[-1].append(f"{x(i):.1f},{y(point.value):.1f}")
    lines = [
        f'<polyline fill="none" stroke="#36c" stroke-width="1.5" points="{" ".join(run)}"/>'
        for run in runs
        if len(run) > 1
    ]
    dots = [
        f'<circle cx="{run[0].split(",")[0]}" cy="{run[0].split(",")[1]}" r="1.5" fill="#36c"/>'
        for run in runs
        if len(run) == 1
    ]
    label = escape(f"{metric.key}: {metric_phrase(metric)}")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{label}">'
        f'<rect width="{width}" height="{height}" fill="#fff" stroke="#ddd"/>'
        f'<text x="{pad_x}" y="12" font-family="sans-serif" font-size="11" fill="#333">'
        f"{label}</text>" + "".join(lines + dots + marks) + "</svg>"
    )
