"""`bifrost history`: past analyses — list and search, show one, where the database lives.

The store (and SQLAlchemy) is imported inside the commands that use it: the CLI starts
without it.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from bifrost.cli.options import (
    Category,
    Environment,
    Lang,
    NoColor,
    ProviderOption,
    Query,
    Service,
    Since,
    Tag,
    Until,
    Verbose,
    VerdictOption,
)
from bifrost.cli.output import cli_language, cli_message, run
from bifrost.errors import UsageError

if TYPE_CHECKING:
    from rich.text import Text

    from bifrost.report import SimilarIncident
    from bifrost.store import AnalysisSummary, HistoryFilter, StoredAnalysis

app = typer.Typer(
    help="List and search past analyses; show one.\n\nWithout a command: the newest analyses "
    "that match the options (all of them with none), a page at a time.",
)


def options_filter(
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
    """The filter the options describe (shared by `history` and `export`); a bad time is a
    usage error that names its option."""
    from bifrost.analysis.history import BadTime, history_filter

    try:
        return history_filter(
            query=query,
            service=service,
            environment=env,
            tag=tag,
            category=category,
            verdict=verdict,
            since=since,
            until=until,
            provider=provider,
        )
    except BadTime as exc:
        raise UsageError.said("usage.bad_when", option=exc.field, text=repr(exc.text)) from None


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
    provider: ProviderOption = None,
    limit: Annotated[int, typer.Option("--limit", metavar="N", min=1, help="Rows per page.")] = 20,
    page: Annotated[int, typer.Option("--page", metavar="N", min=1, help="Which page.")] = 1,
    no_color: NoColor = False,
    verbose: Verbose = False,
) -> None:
    """Recent analyses, newest first: id, when, input, service, verdict, top finding."""
    import asyncio

    from bifrost.config import load_settings

    if ctx.invoked_subcommand is not None:
        return

    def action() -> None:
        from bifrost.store import open_store, search_analyses

        filters = options_filter(
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
    analysis_id: Annotated[int, typer.Argument(metavar="ID", hidden=True)],
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the stored Report as JSON.")
    ] = False,
    lang: Lang = None,
    no_color: NoColor = False,
    verbose: Verbose = False,
) -> None:
    """Show a stored Report, rendered as `analyze` renders it.

    ID is the id `bifrost history` shows.
    """
    import asyncio

    from bifrost.cli.analyze import ReportFormat, print_report
    from bifrost.config import load_settings

    def action() -> None:
        from bifrost.store import NotFound, get_analysis, open_store

        settings = load_settings(lang=lang)

        async def fetch() -> StoredAnalysis | None:
            async with await open_store(settings) as store:
                return await get_analysis(store, analysis_id)

        stored = asyncio.run(fetch())
        if stored is None:
            raise NotFound.said("store.no_analysis", id=analysis_id)
        fmt = ReportFormat.json if json_output else ReportFormat.terminal
        print_report(stored.report, fmt, no_color=no_color, series=True, lang=settings.lang)

    run(action, verbose=verbose)


@app.command("similar")
def similar_command(
    analysis_id: Annotated[int, typer.Argument(metavar="ID", hidden=True)],
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON lines instead.")] = False,
    verbose: Verbose = False,
) -> None:
    """List past analyses of the same failure.

    The same failure: its leading findings' templates (the same lines, in any log), or what
    they say (with the [memory] extra). Each line: when, which service, how alike, and what
    fixed it (a pinned known issue, else a feedback note).
    """
    import asyncio

    from bifrost.config import load_settings

    def action() -> None:
        from bifrost.analysis.history import similar_to
        from bifrost.store import open_store

        async def fetch() -> list[SimilarIncident]:
            settings = load_settings()
            async with await open_store(settings) as store:
                return await similar_to(store, analysis_id, settings)

        found = asyncio.run(fetch())
        for incident in found:
            print(incident.model_dump_json() if json_output else incident.line(cli_language()))
        if not found and not json_output:
            print(cli_message("history.no_similar"), file=sys.stderr)

    run(action, verbose=verbose)


@app.command("path")
def path_command(verbose: Verbose = False) -> None:
    """Print where the history database lives.

    Its file, or its URL without any password.
    """
    from bifrost.config import load_settings

    def action() -> None:
        from bifrost.store import database_url
        from bifrost.store.database import safe_url

        url = database_url(load_settings())
        print(url.split("///", 1)[1] if url.startswith("sqlite") else safe_url(url))

    run(action, verbose=verbose)


def _print_rows(rows: list[AnalysisSummary], *, no_color: bool) -> None:
    from rich.table import Table
    from rich.text import Text

    from bifrost.analysis.history import title_in
    from bifrost.cli.console import console

    out = console(no_color=no_color)
    if not rows:
        out.print(cli_message("history.none"), style="dim")
        return
    # One line a row at any width: long texts are cut, never wrapped; on a narrow terminal
    # the provider column gives its room to the top finding.
    wide = out.width >= _WIDE
    input_width = min(28 if wide else 16, max(len(r.input_name) for r in rows))
    service_width = min(16 if wide else 10, max(len(r.service or "—") for r in rows))
    id_width = max(len(str(r.id)) for r in rows)
    columns = (id_width, 16, max(5, input_width), max(7, service_width), 7, 20 if wide else 0)
    fixed = sum(columns) + 2 * (len(columns) if wide else len(columns) - 1)
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column(cli_message("column.id"), justify="right", no_wrap=True)
    table.add_column(cli_message("column.when"), no_wrap=True)
    table.add_column(
        cli_message("column.input"), no_wrap=True, overflow="ellipsis", max_width=input_width
    )
    table.add_column(
        cli_message("column.service"), no_wrap=True, overflow="ellipsis", max_width=service_width
    )
    table.add_column(cli_message("column.verdict"), no_wrap=True)
    top_width = max(16, out.width - fixed)
    table.add_column(
        cli_message("column.top_finding"), no_wrap=True, overflow="ellipsis", max_width=top_width
    )
    if wide:
        table.add_column(
            cli_message("column.explained_by"), no_wrap=True, overflow="ellipsis", max_width=20
        )
    built_in = cli_message("history.built_in")
    lang = cli_language()
    for row in rows:
        cells: list[str | Text] = [
            str(row.id),
            row.created_at.strftime("%Y-%m-%d %H:%M"),
            Text(row.input_name),
            Text(row.service or "—"),
            Text(row.verdict, style=_VERDICT_STYLE.get(row.verdict, "")),
            Text(title_in(row.top_title, lang) or "—"),
        ]
        if wide:
            cells.append(Text("/".join(filter(None, (row.provider, row.model))) or built_in))
        table.add_row(*cells)
    out.print(table)


_WIDE = 120  # columns from which the provider column is shown
_VERDICT_STYLE = {"failure": "bold red", "unclear": "magenta", "warning": "yellow", "ok": "green"}
