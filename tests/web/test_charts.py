"""The dashboard's daily chart: a bar a day, gaps for quiet days, scaled to the busiest."""

from __future__ import annotations

from datetime import date

from bifrost.store.overview import Day
from bifrost.web.charts import HEIGHT, WIDTH, daily_chart


def test_a_bar_a_day_scaled_to_the_busiest() -> None:
    days = [Day(date(2026, 1, 1), 4, 1), Day(date(2026, 1, 3), 2, 2)]
    chart = daily_chart(days, date(2026, 1, 1), date(2026, 1, 4))
    assert [b.day.day for b in chart.bars] == [1, 2, 3, 4]
    assert chart.peak == 4
    first, quiet, third, _ = chart.bars
    assert (first.height, first.y, first.failed_height) == (HEIGHT, 0, HEIGHT / 4)
    assert (quiet.analyses, quiet.height) == (0, 0)
    assert third.height == third.failed_height == HEIGHT / 2
    assert chart.bars[-1].x + chart.bars[-1].width <= WIDTH


def test_a_period_without_analyses_draws_no_bars() -> None:
    chart = daily_chart([], date(2026, 1, 1), date(2026, 1, 7))
    assert len(chart.bars) == 7
    assert all(b.height == 0 for b in chart.bars)
