"""`bifrost filter`: a log narrowed by level, time, template, regex or source — multi-line
events kept whole — as text, jsonl, one line per template (`--dedupe`) or counts (`--stats`)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, get_args

import typer

from bifrost.cli.options import NoColor, Paths, Verbose, one_of
from bifrost.cli.output import cli_language, run, run_async
from bifrost.i18n import message
from bifrost.levels import Level

if TYPE_CHECKING:
    from rich.console import Console

    from bifrost.analysis.filter import FilterStats, Line, Source
    from bifrost.config import Settings


class LinesFormat(StrEnum):
    text = "text"
    jsonl = "jsonl"


_STYLES: dict[str | None, str] = {
    "critical": "bold red",
    "error": "red",
    "warning": "yellow",
    "debug": "dim",
    "trace": "dim",
}


def filter_command(
    paths: Paths = None,
    level: Annotated[
        Level | None,
        typer.Option(
            "--level",
            "-l",
            metavar="LEVEL",
            help=f"Only events at this level or above: {one_of(get_args(Level))}.",
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="TIME",
            help="Only events at or after this time of the log: 10:02, 10:02:30 or a date and "
            "time (2024-05-01T10:02).",
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--until", metavar="TIME", help="Only events up to this time (same forms)."),
    ] = None,
    regexp: Annotated[
        str | None,
        typer.Option(
            "--regexp", "-e", metavar="REGEX", help="Only events with a line this regex matches."
        ),
    ] = None,
    exclude: Annotated[
        str | None,
        typer.Option("--exclude", metavar="REGEX", help="Hide events with a line it matches."),
    ] = None,
    template: Annotated[
        list[str] | None,
        typer.Option(
            "--template",
            "-t",
            metavar="ID",
            help="Only events with a line of this template (ids as bifrost templates shows "
            "them); repeatable.",
        ),
    ] = None,
    exclude_template: Annotated[
        list[str] | None,
        typer.Option(
            "--exclude-template",
            metavar="ID",
            help="Hide events with a line of this template; repeatable.",
        ),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--source", metavar="NAME", help="Only this pod or service of a merged stream."
        ),
    ] = None,
    around: Annotated[
        str | None,
        typer.Option(
            "--around",
            metavar="FINDING",
            help="Only the lines of a finding (F1, F2, …) of the last analysis of this log.",
        ),
    ] = None,
    context: Annotated[
        int,
        typer.Option(
            "--context", "-C", metavar="N", min=0, max=10_000, help="Lines around each event kept."
        ),
    ] = 0,
    line_numbers: Annotated[
        bool, typer.Option("--line-number", "-N", help="Show each line's number.")
    ] = False,
    deduplicate: Annotated[
        bool,
        typer.Option(
            "--dedupe",
            help="One event per template with its count, at the end of the input.",
        ),
    ] = False,
    stats: Annotated[
        bool,
        typer.Option(
            "--stats", help="Counts of the events kept: by level, template, source, minute."
        ),
    ] = False,
    format: Annotated[
        LinesFormat,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            help="text (the lines as written) or jsonl (line, level, time, template_id, source, "
            "text: one record per line).",
        ),
    ] = LinesFormat.text,
    no_color: NoColor = False,
    verbose: Verbose = False,
) -> None:
    """Narrow a log by level, time, template or regex.

    Reads each PATH, a log file (plain or gzip); '-' or no PATH reads standard input as it
    comes, so it works on endless input (kubectl logs -f). A stack trace or any multi-line
    event is kept or dropped whole. Exits 0 when lines were kept, 1 when none were (as grep).
    """
    from bifrost.analysis.filter import (
        FilterOptions,
        criteria_of,
        dedupe,
        open_sources,
        prepare_filter,
        stats_of,
    )
    from bifrost.cli.console import console
    from bifrost.config import load_settings

    options = FilterOptions(
        level=level,
        since=since,
        until=until,
        pattern=regexp,
        exclude=exclude,
        templates=list(template or []),
        exclude_templates=list(exclude_template or []),
        source=source,
        context=context,
    )

    def action() -> int:
        settings = load_settings()
        sources = open_sources(list(paths or []))
        ranges = run_async(_around(sources, around, settings)) if around else ()
        criteria = criteria_of(options, ranges)
        final_ids = (
            options.needs_template_ids or deduplicate or stats or format is LinesFormat.jsonl
        )
        filtering = prepare_filter(
            sources, criteria, settings, final_ids=final_ids, describe=final_ids
        )
        lines = filtering.lines()
        show = _Show(
            format=format,
            names=[s.name for s in sources] if len(sources) > 1 else None,
            numbers=line_numbers,
            separate=bool(context or around) and not deduplicate,
            out=console(no_color=no_color),
        )
        if stats:
            counted = stats_of(lines)
            show.stats(counted)
            kept = counted.lines
        elif deduplicate:
            repeated = dedupe(lines)
            for entry in repeated:
                show.lines(entry.lines, count=entry.count)
            kept = len(repeated)
        else:
            kept = show.lines(lines)
        for warning in (w for s in sources for w in s.warnings):
            print(f"bifrost: warning: {warning}", file=sys.stderr)
        return 0 if kept else 1

    run(action, verbose=verbose)


async def _around(
    sources: list[Source], finding: str, settings: Settings
) -> tuple[tuple[int, int, int], ...]:
    from bifrost.analysis.filter import around_finding
    from bifrost.store import open_store

    async with await open_store(settings) as store:
        return await around_finding(sources, finding, settings, store)


class _Show:
    """Writes what the filter kept: the lines as written (coloured by level on a terminal),
    or one JSON record per line; and the counts of `--stats`."""

    def __init__(
        self,
        *,
        format: LinesFormat,
        names: list[str] | None,
        numbers: bool,
        separate: bool,
        out: Console,
    ) -> None:
        self.format = format
        self.names = names  # with several inputs, each line says which it comes from
        self.numbers = numbers
        self.separate = separate  # `--` between lines that do not follow each other, as grep -C
        self.out = out
        self.colour = out.is_terminal and out.color_system is not None
        self._last: tuple[int, int] | None = None  # (input, line) of the last line written

    def lines(self, lines: Iterable[Line], count: int | None = None) -> int:
        """Write the lines; how many of them were kept (not context)."""
        from bifrost.analysis.filter import line_record

        kept = 0
        for line in lines:
            kept += line.matched
            if self.format is LinesFormat.jsonl:
                record = line_record(line, self.names, count if line.head else None)
                sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
            else:
                self._text(line, count if line.head and line.matched else None)
        sys.stdout.flush()
        return kept

    def _text(self, line: Line, count: int | None) -> None:
        follows = self._last == (line.file, line.number - 1)
        if self.separate and self._last is not None and not follows:
            self._write("--", None)
        self._last = (line.file, line.number)
        mark = ":" if line.matched else "-"
        prefix = f"{self.names[line.file]}{mark}" if self.names is not None else ""
        if self.numbers:
            prefix += f"{line.number}{mark}"
        if count is not None:
            prefix += f"×{count} "
        self._write(prefix + line.text, line.level)

    def _write(self, text: str, level: str | None) -> None:
        if not self.colour:
            sys.stdout.write(text + "\n")
            return
        from rich.text import Text

        self.out.print(Text(text, style=_STYLES.get(level, "")), overflow="ignore", crop=False)

    def stats(self, stats: FilterStats) -> None:
        from bifrost.analysis.filter import stats_record

        if self.format is LinesFormat.jsonl:
            sys.stdout.write(json.dumps(stats_record(stats), ensure_ascii=False) + "\n")
            return
        lang = cli_language()
        print(
            message(
                "filter.stats_total", lang, events=f"{stats.events:,}", lines=f"{stats.lines:,}"
            )
        )
        tables = [
            ("level", stats.levels.most_common(), None),
            ("template_id", stats.templates.most_common(), stats.examples),
            ("source", stats.sources.most_common(), None),
            ("minute", sorted(stats.minutes.items()), None),
        ]
        for heading, rows, examples in tables:
            if not rows:
                continue
            print(f"\n{heading:<20} events")
            for name, n in rows:
                example = f"  {examples[name]}" if examples is not None else ""
                print(f"{name:<20} {n:>6,}{example}")
        if stats.minutes_cut:
            print(
                message("filter.minutes_cut", lang, limit=f"{len(stats.minutes):,}"),
                file=sys.stderr,
            )
