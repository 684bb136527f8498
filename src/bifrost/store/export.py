"""Stored analyses as CSV, JSON or JSONL text, produced piece by piece in constant memory.

CSV cells that a spreadsheet would run as formulas are neutralised (`render/spreadsheet.py`).

The CLI writes the pieces to stdout; the API streams them as the response body.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import AsyncGenerator

from bifrost.choices import ExportFormat
from bifrost.render.spreadsheet import SafeDictWriter
from bifrost.store.database import Store
from bifrost.store.records import SUMMARY_FIELDS
from bifrost.store.repository import iter_analyses
from bifrost.store.search import HistoryFilter


async def export_text(
    store: Store, filters: HistoryFilter, fmt: ExportFormat
) -> AsyncGenerator[str, None]:
    """Every matching analysis (newest first), one piece of text per row, as it is read.

    A caller that stops early must close it (`contextlib.aclosing`): that closes the database
    cursor too."""
    buffer = io.StringIO()
    writer = SafeDictWriter(buffer, fieldnames=SUMMARY_FIELDS)
    if fmt == "csv":
        writer.writeheader()
        yield _drain(buffer)
    elif fmt == "json":
        yield "["
    written = 0
    async with contextlib.aclosing(iter_analyses(store, filters)) as analyses:
        async for analysis in analyses:
            row = analysis.to_row()
            if fmt == "csv":
                writer.writerow({**row, "tags": " ".join(analysis.tags)})
                yield _drain(buffer)
            elif fmt == "json":
                yield ("," if written else "") + "\n" + json.dumps(row)
            else:
                yield json.dumps(row) + "\n"
            written += 1
    if fmt == "json":
        yield "\n]\n" if written else "]\n"


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
