"""Options shared by several commands, declared once."""

from __future__ import annotations

from typing import Annotated

import typer

Paths = Annotated[
    list[str] | None,
    typer.Argument(help="Log files (plain or gzip); '-' or nothing reads standard input."),
]
NoColor = Annotated[bool, typer.Option("--no-color", help="No colour, even on a terminal.")]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Show tracebacks on errors.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing; only the exit code.")]
Top = Annotated[int | None, typer.Option("--top", min=1, help="Findings to report (default: 5).")]
FailOnOption = Annotated[
    str | None,
    typer.Option(
        "--fail-on",
        help="Exit 1 when a finding is at or above this: warning, error, critical, never "
        "(default: error).",
    ),
]

Query = Annotated[
    str | None, typer.Option("--query", "-q", help="Full-text search in titles and summaries.")
]
Service = Annotated[str | None, typer.Option("--service", help="Only this service.")]
Environment = Annotated[str | None, typer.Option("--env", help="Only this environment.")]
Tag = Annotated[str | None, typer.Option("--tag", help="Only analyses with this tag.")]
Category = Annotated[
    str | None,
    typer.Option("--category", help="Only analyses with a finding of this category (or prefix)."),
]
VerdictOption = Annotated[
    str | None, typer.Option("--verdict", help="Only this verdict: ok, warning, failure.")
]
Since = Annotated[
    str | None,
    typer.Option("--since", help="Only newer than this: 30m, 12h, 7d, 2w or a date (2024-05-01)."),
]
Until = Annotated[str | None, typer.Option("--until", help="Only older than this (same forms).")]
Provider = Annotated[str | None, typer.Option("--provider", help="Only this LLM provider.")]
