"""`bifrost history`: past analyses — list and search, show one, where the database lives."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from bifrost.cli.options import (
    Category,
    Environment,
    NoColor,
    Provider,
    Query,
    Service,
    Since,
    Tag,
    Until,
    Verbose,
    VerdictOption,
)
from bifrost.cli.output import console, run
from bifrost.config import load_settings
from bifrost.render.terminal import render_terminal
from bifrost.times import parse_when

if TYPE_CHECKING:
    from bifrost.store import AnalysisSummary, HistoryFilter, StoredAnalysis

app = typer.Typer(help="Past analyses: list and search, show one, where they are kept.")


def history_filter(
    query: str | None,
    service: str | None,
    env: str | None,
    tag: str | None,
    category: str | None,
    verdict: str | None,
    since: str | None,
    until: str | None,
    provider: str | None,
) -> HistoryFilter:
    """The filter the options describe (shared by `history` and `export`)."""
    from bifrost.store import HistoryFilter  # noqa: PLC0415 — SQLAlchemy only when needed

    now = datetime.now(UTC)
    return HistoryFilter(
        query=query,
        service=service,
        environment=env,
        tag=tag,
        category=category,
        verdict=verdict,
        since=parse_when(since, now) if since else None,
        until=parse_when(until, now) if until else None,
        provider=provider,
    )


@app.callback(invoke_without_command=True)
def history_command(
    ctx: typer.Context,
    query: Query = None,
    service: Service = None,
    env: Environment = None,
    tag: Tag = None,
    category: Category = None,
    verdict: VerdictOption = None,
    since: Since = None,
    until: Until = None,
    provider: Provider = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Rows per page.")] = 20,
    page: Annotated[int, typer.Option("--page", min=1, help="Which page.")] = 1,
    no_color: NoColor = False,
    verbose: Verbose = False,
) -> None:
    """Recent analyses, newest first: id, when, input, service, verdict, top finding."""
    if ctx.invoked_subcommand is not None:
        return

    def action() -> None:
        from bifrost.store import open_store, search_analyses  # noqa: PLC0415

        filters = history_filter(
            query, service, env, tag, category, verdict, since, until, provider
        )

        async def fetch() -> list[AnalysisSummary]:
            async with await open_store(load_settings()) as store:
                return await search_analyses(store, filters, limit=limit, offset=(page - 1) * limit)

        rows = asyncio.run(fetch())
        _print_rows(rows, no_color=no_color)

    run(action, verbose=verbose)


@app.command("show")
def show_command(
    analysis_id: Annotated[int, typer.Argument(help="The id `bifrost history` shows.")],
    json_output: Annotated[bool, typer.Option("--json", help="Print the stored Report.")] = False,
    no_color: NoColor = False,
    verbose: Verbose = False,
) -> None:
    """The stored Report, rendered as `analyze` renders it."""

    def action() -> None:
        from bifrost.store import NotFound, get_analysis, open_store  # noqa: PLC0415

        async def fetch() -> StoredAnalysis | None:
            async with await open_store(load_settings()) as store:
                return await get_analysis(store, analysis_id)

        stored = asyncio.run(fetch())
        if stored is None:
            raise NotFound(f"no stored analysis has id {analysis_id}; `bifrost history` lists them")
        report = stored.report
        if json_output:
            sys.stdout.write(report.to_json() + "\n")
        else:
            render_terminal(report, console(no_color=no_color))

    run(action, verbose=verbose)


@app.command("path")
def path_command(verbose: Verbose = False) -> None:
    """Where the history database lives (its URL, without any password)."""

    def action() -> None:
        from bifrost.store import database_url  # noqa: PLC0415
        from bifrost.store.database import safe_url  # noqa: PLC0415

        url = database_url(load_settings())
        print(url.split("///", 1)[1] if url.startswith("sqlite") else safe_url(url))

    run(action, verbose=verbose)


def _print_rows(rows: list[AnalysisSummary], *, no_color: bool) -> None:
    out = console(no_color=no_color)
    if not rows:
        out.print("No stored analyses match.", style="dim")
        return
    table = Table(
        "id", "when (UTC)", "input", "service", "verdict", "top finding", "explained by", box=None
    )
    for row in rows:
        table.add_row(
            str(row.id),
            row.created_at.strftime("%Y-%m-%d %H:%M"),
            Text(row.input_name),
            Text(row.service or "—"),
            Text(row.verdict, style=_VERDICT_STYLE.get(row.verdict, "")),
            Text(row.top_title or "—"),
            Text("/".join(filter(None, (row.provider, row.model))) or "built-in"),
        )
    out.print(table)


_VERDICT_STYLE = {"failure": "bold red", "warning": "yellow", "ok": "green"}
