"""Training metrics drawn: sparklines in the terminal and in Markdown, SVG charts, and the
series in JSON only when asked for."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import pytest
from rich.console import Console

from bifrost.analysis.run import analyze
from bifrost.config import Settings
from bifrost.render.chart import sparkline, svg_chart
from bifrost.render.formats import render
from bifrost.render.markdown import render_markdown
from bifrost.render.terminal import render_terminal
from bifrost.report import Metric, MetricPoint, Report

TRAINING = Path(__file__).parent.parent / "data" / "training"


@pytest.fixture(scope="module")
def nan_run() -> Report:
    return analyze([str(TRAINING / "torch_nan.log")], Settings())


def test_a_sparkline_scales_to_its_range_and_marks_what_is_not_a_number() -> None:
    assert sparkline([1.0, 2.0, 3.0, None, None]) == "▁▄█××"
    assert sparkline([5.0, 5.0, 5.0]) == "▁▁▁"
    assert sparkline([]) == ""
    assert len(sparkline([float(i) for i in range(1000)], width=24)) == 24


def metric(key: str, values: list[float | None]) -> Metric:
    finite = [v for v in values if v is not None]
    return Metric(
        key=key,
        kind="loss",
        count=len(values),
        non_finite=len(values) - len(finite),
        first=values[0],
        last=values[-1],
        min=min(finite),
        max=max(finite),
        first_line=1,
        last_line=len(values),
        points=[MetricPoint(index=i, value=v, line=i) for i, v in enumerate(values, start=1)],
    )


def test_an_svg_chart_is_a_line_with_red_marks_where_values_are_not_numbers() -> None:
    svg = svg_chart(metric("loss", [3.0, 2.0, 1.0, None, None]))
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    assert svg.count("<polyline") == 1
    assert len(re.findall(r'<line [^>]*stroke="#d33"', svg)) == 2
    assert "loss: 3 → NaN · 5 values, 2 NaN" in svg


def test_an_svg_chart_escapes_its_text() -> None:
    svg = svg_chart(metric('x"<script>', [1.0, 2.0]))
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg


def test_the_terminal_shows_a_sparkline_per_metric(nan_run: Report) -> None:
    out = io.StringIO()
    render_terminal(nan_run, Console(file=out, width=120, no_color=True, _environ={}))
    text = out.getvalue()
    assert "Training metrics:" in text
    section = text.split("Training metrics:")[1].splitlines()
    loss = next(line for line in section if line.strip().startswith("loss "))
    assert re.search(r"[▁-█]+×+", loss)  # falls, then is not a number
    assert "3.481 → NaN · 150 values, 144 NaN" in loss


def test_markdown_has_a_table_and_the_charts_as_images(nan_run: Report) -> None:
    md = render_markdown(nan_run)
    assert "### Training metrics" in md
    assert "| `loss` |" in md
    images = re.findall(r"!\[([^\]]+)\]\(data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)\)", md)
    assert [key.replace("\\", "") for key, _ in images] == [m.key for m in nan_run.metrics]
    assert base64.b64decode(images[0][1]).decode().startswith("<svg")


def test_json_holds_the_series_only_when_asked_for(nan_run: Report) -> None:
    summary = json.loads(render(nan_run, "json"))
    assert all(m["points"] is None for m in summary["metrics"])
    assert summary["metrics"][0]["non_finite"] == 144
    full = json.loads(render(nan_run, "json", series=True))
    loss = full["metrics"][0]
    assert len(loss["points"]) == 150
    assert loss["points"][6] == {
        "index": 7,
        "value": None,
        "line": 7,
        "file": None,
        "step": 7,
        "epoch": None,
    }
