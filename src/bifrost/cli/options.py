"""Options shared by several commands, declared once.

Help reads like a Unix tool's: a flag shows no value, a value a short uppercase metavar, and
choices are named in the help text. Arguments are described in each command's help and kept out
of the argument table, where Typer would print their Python type (`<list[str]>`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, get_args

import typer

from bifrost.choices import FailOn, Verdict


def one_of(choices: Iterable[str]) -> str:
    """Choices as a sentence names them: `a, b or c`."""
    *rest, last = choices
    return f"{', '.join(rest)} or {last}" if rest else last


Paths = Annotated[list[str] | None, typer.Argument(metavar="PATH", hidden=True)]
NoColor = Annotated[bool, typer.Option("--no-color", help="No colour, even on a terminal.")]
Lang = Annotated[
    str | None,
    typer.Option(
        "--lang", metavar="LANG", help="The language of the report: en or ko [BIFROST_LANG]."
    ),
]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Show tracebacks on errors.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing; only the exit code.")]
Top = Annotated[
    int | None,
    typer.Option("--top", metavar="N", min=1, max=100, help="Findings to report (default: 5)."),
]
FailOnOption = Annotated[
    FailOn | None,
    typer.Option(
        "--fail-on",
        metavar="LEVEL",
        help="Exit 1 when a finding is at or above this level: "
        f"{one_of(get_args(FailOn))} (default: error).",
    ),
]

# `--query` has no short flag: `-q` is `--quiet` wherever it appears.
Query = Annotated[
    str | None,
    typer.Option("--query", metavar="TEXT", help="Full-text search in titles and summaries."),
]
Service = Annotated[
    str | None, typer.Option("--service", metavar="NAME", help="Only this service.")
]
Environment = Annotated[
    str | None, typer.Option("--env", metavar="NAME", help="Only this environment.")
]
Tag = Annotated[
    str | None, typer.Option("--tag", metavar="TAG", help="Only analyses with this tag.")
]
Category = Annotated[
    str | None,
    typer.Option(
        "--category",
        metavar="CATEGORY",
        help="Only analyses with a finding of this category (or prefix).",
    ),
]
VerdictOption = Annotated[
    Verdict | None,
    typer.Option(
        "--verdict", metavar="VERDICT", help=f"Only this verdict: {one_of(get_args(Verdict))}."
    ),
]
Since = Annotated[
    str | None,
    typer.Option(
        "--since",
        metavar="WHEN",
        help="Only newer than this: 30m, 12h, 7d, 2w or a date (2024-05-01).",
    ),
]
Until = Annotated[
    str | None,
    typer.Option("--until", metavar="WHEN", help="Only older than this (same forms)."),
]
ProviderOption = Annotated[
    str | None, typer.Option("--provider", metavar="NAME", help="Only this LLM provider.")
]
