"""The `bifrost` Typer app: one module per command group, registered here."""

from __future__ import annotations

import os
import sys

import typer
from typer._click.exceptions import ClickException

from bifrost import __version__
from bifrost.cli import (
    analyze,
    batch,
    completion,
    config,
    diff,
    experiments,
    export,
    filter,
    history,
    jobs,
    keys,
    known,
    maintenance,
    mcp,
    notify,
    prompts,
    providers,
    serve,
    templates,
    tenants,
    watch,
    worker,
)
from bifrost.cli.output import INTERRUPTED, stop_on_ctrl_c
from bifrost.cli.usage import usage_error
from bifrost.i18n import language

app = typer.Typer(
    name="bifrost",
    help="Find the few lines that explain why a log failed.",
    no_args_is_help=True,
    add_completion=False,  # `bifrost completion SHELL` prints the script instead
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help, like other Unix tools: no boxes, no <bool>
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command("analyze")(analyze.analyze_command)
app.command("templates")(templates.templates_command)
app.command("filter")(filter.filter_command)
app.command("diff")(diff.diff_command)
app.command("batch")(batch.batch_command)
app.add_typer(history.app, name="history")
app.command("export")(export.export_command)
app.command("feedback")(maintenance.feedback_command)
app.add_typer(maintenance.db_app, name="db")
app.add_typer(maintenance.cache_app, name="cache")
app.add_typer(keys.app, name="keys")
app.add_typer(tenants.app, name="tenants")
app.add_typer(known.app, name="known")
app.add_typer(experiments.app, name="experiments")
app.command("providers")(providers.providers_command)
app.command("watch")(watch.watch_command)
app.command("serve")(serve.serve_command)
app.command("worker")(worker.worker_command)
app.command("mcp")(mcp.mcp_command)
app.add_typer(jobs.app, name="jobs")
app.add_typer(notify.app, name="notify")
app.add_typer(prompts.app, name="prompts")
app.command("completion")(completion.completion_command)
app.add_typer(config.app, name="config")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"bifrost {__version__}")
        raise typer.Exit


def _language(value: str | None) -> str | None:
    """`--lang` before the command (`bifrost --lang ko keys list`), for the commands that have
    no `--lang` of their own; a language Bifrost does not speak is a usage error."""
    if value is None:
        return None
    try:
        return language(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{exc} (got {value!r})") from None


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        "-V",
        callback=_version,
        is_eager=True,
        help="Print the version and exit.",
    ),
    config_file: str | None = typer.Option(
        None,
        "--config",
        metavar="PATH",
        help="Settings file (TOML) to read instead of bifrost.toml in the user config "
        "directory; same as BIFROST_CONFIG.",
    ),
    lang: str | None = typer.Option(
        None,
        "--lang",
        metavar="LANG",
        callback=_language,
        help="The language of every command's words: en or ko; same as BIFROST_LANG.",
    ),
) -> None:
    """Find the few lines that explain why a log failed."""
    from bifrost.config import CONFIG_ENV

    if config_file is not None:
        os.environ[CONFIG_ENV] = config_file  # every command's load_settings reads it
    if lang is not None:
        os.environ["BIFROST_LANG"] = lang  # so do `cli_language` and the settings


def run() -> None:
    """Run the command line: errors become one line on stderr and an exit code."""
    stop_on_ctrl_c()
    try:
        sys.exit(app(prog_name="bifrost", standalone_mode=False))
    except ClickException as exc:  # Click's usage errors, found before any command runs
        sys.exit(usage_error(exc))
    except KeyboardInterrupt:  # before or after a command: the handler said so already
        sys.exit(INTERRUPTED)
