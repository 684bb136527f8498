"""Charts as SVG drawn on the server: readable without JavaScript, styled by the page's CSS.

Only geometry is computed here; `dashboard.html` draws it. Every bar carries its numbers in a
`<title>`, and the page repeats them in a table, for screen readers and for copying.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from bifrost.store.overview import Day

WIDTH = 720
HEIGHT = 160
GAP = 2.0


@dataclass(frozen=True)
class Bar:
    """One day: a bar for its analyses, and inside it one for its failures."""

    day: date
    analyses: int
    failures: int
    x: float
    width: float
    y: float
    height: float
    failed_y: float
    failed_height: float


@dataclass(frozen=True)
class DailyChart:
    bars: list[Bar]
    peak: int
    width: int = WIDTH
    height: int = HEIGHT


def daily_chart(days: Sequence[Day], first: date, last: date) -> DailyChart:
    """A bar per day from `first` to `last`, days without analyses included (as gaps)."""
    count = (last - first).days + 1
    by_day = {d.day: d for d in days}
    peak = max((d.analyses for d in days), default=0)
    slot = WIDTH / max(count, 1)
    bars = []
    for i in range(count):
        day = first + timedelta(days=i)
        found = by_day.get(day)
        analyses = found.analyses if found else 0
        failures = found.failures if found else 0
        height = HEIGHT * analyses / peak if peak else 0.0
        failed = HEIGHT * failures / peak if peak else 0.0
        bars.append(
            Bar(
                day=day,
                analyses=analyses,
                failures=failures,
                x=round(i * slot + GAP / 2, 2),
                width=round(max(slot - GAP, 1.0), 2),
                y=round(HEIGHT - height, 2),
                height=round(height, 2),
                failed_y=round(HEIGHT - failed, 2),
                failed_height=round(failed, 2),
            )
        )
    return DailyChart(bars, peak)
