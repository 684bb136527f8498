"""`bifrost providers`: which LLM providers are reachable, and their models."""

from __future__ import annotations

from bifrost.cli.options import NoColor, Verbose
from bifrost.cli.output import cli_message, run


def providers_command(no_color: NoColor = False, verbose: Verbose = False) -> None:
    """Check which LLM providers answer.

    Each provider: where it is, whether it answers, its models, and what to fix if not.
    """
    import asyncio

    from rich.table import Table
    from rich.text import Text

    from bifrost.analysis.explain import provider_statuses
    from bifrost.cli.console import console
    from bifrost.config import load_settings

    def action() -> None:
        settings = load_settings()
        headings = (
            "column.provider",
            "column.where",
            "column.reachable",
            "column.models_or_problem",
        )
        table = Table(*(cli_message(heading) for heading in headings), box=None)
        for status in asyncio.run(provider_statuses(settings)):
            name = status.name
            if name == settings.llm:
                name = cli_message("providers.configured", name=name)
            detail = ", ".join(status.models[:8]) if status.reachable else status.problem or ""
            table.add_row(
                name,
                Text(status.target),
                Text(cli_message("word.yes"), style="green")
                if status.reachable
                else Text(cli_message("word.no"), style="red"),
                Text(detail or "—"),
            )
        console(no_color=no_color).print(table)

    run(action, verbose=verbose)
