"""The `bifrost` command line: one Typer app, one module per command group."""

from __future__ import annotations

import sys

import typer

from bifrost import __version__
from bifrost.cli import (
    analyze,
    batch,
    diff,
    export,
    history,
    keys,
    maintenance,
    providers,
    serve,
    templates,
    watch,
)
from bifrost.cli.output import fail

app = typer.Typer(
    name="bifrost",
    help="Find the few lines that explain why a log failed.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command("analyze")(analyze.analyze_command)
app.command("templates")(templates.templates_command)
app.command("diff")(diff.diff_command)
app.command("batch")(batch.batch_command)
app.add_typer(history.app, name="history")
app.command("export")(export.export_command)
app.command("feedback")(maintenance.feedback_command)
app.add_typer(maintenance.db_app, name="db")
app.add_typer(maintenance.cache_app, name="cache")
app.add_typer(keys.app, name="keys")
app.command("providers")(providers.providers_command)
app.command("watch")(watch.watch_command)
app.command("serve")(serve.serve_command)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"bifrost {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Find the few lines that explain why a log failed."""


def main() -> None:
    """Console-script entry point: errors become one line on stderr and an exit code."""
    try:
        app(standalone_mode=True)
    except KeyboardInterrupt:
        sys.exit(fail("interrupted", 130))
