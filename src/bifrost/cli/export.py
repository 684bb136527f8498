"""`bifrost export`: stored analyses as CSV, JSON or JSONL, streamed in constant memory.

The store (and SQLAlchemy) is imported when the export runs: the CLI starts without it.
"""

from __future__ import annotations

import contextlib
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from bifrost.choices import ExportFormat
from bifrost.cli.history import options_filter
from bifrost.cli.options import (
    Category,
    Environment,
    ProviderOption,
    Query,
    Service,
    Since,
    Tag,
    Until,
    Verbose,
    VerdictOption,
)
from bifrost.cli.output import run

if TYPE_CHECKING:
    from typing import TextIO

    from bifrost.store import HistoryFilter


def export_command(
    format: Annotated[
        ExportFormat,
        typer.Option("--format", "-f", metavar="FORMAT", help="csv, json (one array) or jsonl."),
    ] = "jsonl",
    query: Query = None,
    service: Service = None,
    env: Environment = None,
    tag: Tag = None,
    category: Category = None,
    verdict: VerdictOption = None,
    since: Since = None,
    until: Until = None,
    provider: ProviderOption = None,
    verbose: Verbose = False,
) -> None:
    """Write stored analyses to stdout as CSV, JSON or JSONL.

    Newest first, streamed; the same filters as `history`.
    """
    import asyncio

    def action() -> None:
        filters = options_filter(
            query, service, env, tag, category, verdict, since, until, provider
        )
        asyncio.run(write_export(filters, format, sys.stdout))

    run(action, verbose=verbose)


async def write_export(filters: HistoryFilter, fmt: ExportFormat, out: TextIO) -> None:
    """Write every matching analysis to `out` as it is read.

    The pieces are closed before the store, also when writing fails (`| head`): left to the
    event loop's shutdown, the generators under them are closed all at once, out of order.
    """
    from bifrost.analysis.history import export_rows
    from bifrost.config import load_settings
    from bifrost.store import open_store

    async with (
        await open_store(load_settings()) as store,
        contextlib.aclosing(export_rows(store, filters, fmt)) as pieces,
    ):
        async for piece in pieces:
            out.write(piece)
