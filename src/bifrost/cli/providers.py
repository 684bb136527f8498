"""`bifrost providers`: which LLM providers are reachable, and their models."""

from __future__ import annotations

from bifrost.cli.options import NoColor, Verbose
from bifrost.cli.output import run


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
        table = Table("provider", "where", "reachable", "models / problem", box=None)
        for status in asyncio.run(provider_statuses(settings)):
            chosen = " (configured)" if status.name == settings.llm else ""
            detail = ", ".join(status.models[:8]) if status.reachable else status.problem or ""
            table.add_row(
                status.name + chosen,
                Text(status.target),
                Text("yes", style="green") if status.reachable else Text("no", style="red"),
                Text(detail or "—"),
            )
        console(no_color=no_color).print(table)

    run(action, verbose=verbose)
