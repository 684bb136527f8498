"""`bifrost experiments`: the A/B experiments of explanations in the history, and how their
variants compare (a table, Markdown for a pull request or a ticket, or JSON).

The figures come from `analysis/experiments.py`; this module only lays them out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from bifrost.cli.options import Verbose
from bifrost.cli.output import cli_counted, cli_message, run, run_async

if TYPE_CHECKING:
    from rich.table import Table

    from bifrost.analysis.experiments import Estimate, ExperimentReport, VariantResult

app = typer.Typer(
    help="Compare the variants of an A/B experiment of explanations.\n\nAn experiment is set "
    "in the settings (`[experiment]`, or BIFROST_EXPERIMENT as JSON); each explained log "
    "goes to one variant, chosen by its content's hash.",
    no_args_is_help=True,
)


@app.command("list")
def list_command(verbose: Verbose = False) -> None:
    """List the experiments in the history.

    Each line: its name and how many analyses it holds; `*` marks the one running now.
    """

    async def body() -> None:
        from bifrost.analysis.experiments import experiment_list
        from bifrost.config import load_settings
        from bifrost.store import open_store

        settings = load_settings()
        async with await open_store(settings) as store:
            found = await experiment_list(settings, store)
        for name, count, running in found:
            print(f"{'*' if running else ' '} {name:<32} {cli_counted(count, 'analysis')}")

    run(lambda: run_async(body()), verbose=verbose)


@app.command("report")
def report_command(
    name: Annotated[str, typer.Argument(metavar="NAME", hidden=True)],
    output: Annotated[
        Literal["table", "markdown", "json"],
        typer.Option("--format", "-f", metavar="FORMAT", help="table, markdown or json."),
    ] = "table",
    verbose: Verbose = False,
) -> None:
    """Compare an experiment's variants.

    Each figure comes with its count and 95% interval. A variant is called better only
    when both have 30 analyses or more and the intervals do not overlap.
    """

    async def body() -> None:
        import json

        from bifrost.analysis.experiments import experiment_report
        from bifrost.cli.console import console
        from bifrost.config import load_settings
        from bifrost.store import open_store

        settings = load_settings()
        async with await open_store(settings) as store:
            report = await experiment_report(settings, store, name)
        if output == "json":
            print(json.dumps(asdict(report), indent=2))
        elif output == "markdown":
            print(experiment_markdown(report), end="")
        else:
            shown = console()
            shown.print(experiment_table(report))
            for line in report.conclusions:
                shown.print(f"- {line}")

    run(lambda: run_async(body()), verbose=verbose)


Formatter = Callable[[float], str]


def _percent(value: float) -> str:
    return f"{value:.0%}"


def _seconds(value: float) -> str:
    return f"{value:.2f}s"


def _count(value: float) -> str:
    return f"{value:,.0f}"


def _dollars(value: float) -> str:
    return f"${value:.4f}"


COLUMNS: tuple[tuple[str, str, Formatter], ...] = (
    ("column.judged_right", "feedback", _percent),
    ("column.grounded", "grounded", _percent),
    ("column.agrees", "agreement", _percent),
    ("column.latency", "latency_s", _seconds),
    ("column.prompt_tokens", "prompt_tokens", _count),
    ("column.output_tokens", "completion_tokens", _count),
    ("column.cost", "cost_usd", _dollars),
)
"""Each figure's heading (a message id), its field of `VariantResult` and how it is shown."""


def estimate_cell(estimate: Estimate, shown: Formatter) -> str:
    """`72% [61–81%] n=58`; `–` when nothing was measured."""
    if estimate.value is None:
        return "–"
    interval = ""
    if estimate.low is not None and estimate.high is not None:
        interval = f" [{shown(estimate.low)}–{shown(estimate.high)}]"
    return f"{shown(estimate.value)}{interval} n={estimate.n}"


def _head(result: VariantResult) -> list[str]:
    return [result.name, str(result.analyses), str(result.failed), str(result.reused)]


HEADINGS = ["column.variant", "column.analyses", "column.failed", "column.reused"]
HEADINGS += [heading for heading, _, _ in COLUMNS]


def _headings() -> list[str]:
    return [cli_message(heading) for heading in HEADINGS]


def _cells(result: VariantResult) -> list[str]:
    return [*_head(result), *(estimate_cell(getattr(result, a), f) for _, a, f in COLUMNS)]


def experiment_table(report: ExperimentReport) -> Table:
    from rich.table import Table

    table = Table(title=cli_message("experiments.title", name=report.name), title_justify="left")
    for heading in _headings():
        table.add_column(heading, overflow="fold")
    for result in report.variants:
        table.add_row(*_cells(result))
    return table


def experiment_markdown(report: ExperimentReport) -> str:
    lines = [
        f"## {cli_message('experiments.title', name=f'`{report.name}`')}",
        "",
        "| " + " | ".join(_headings()) + " |",
        "|" + "---|" * len(HEADINGS),
    ]
    lines += ["| " + " | ".join(_cells(r)) + " |" for r in report.variants]
    lines += ["", *(f"- {c}" for c in report.conclusions)]
    return "\n".join(lines) + "\n"
