"""`bifrost db` (migrations), `bifrost cache` (stats, clear) and `bifrost feedback`.

The store, the cache and Alembic are imported inside the commands that use them: the CLI
starts without them.
"""

from __future__ import annotations

from typing import Annotated

import typer

from bifrost.cli.options import Verbose
from bifrost.cli.output import cli_message, run
from bifrost.errors import UsageError

db_app = typer.Typer(help="Apply and inspect the history database's migrations.")
cache_app = typer.Typer(help="Inspect or clear the analysis cache.")


@db_app.command("upgrade")
def upgrade_command(verbose: Verbose = False) -> None:
    """Apply every migration.

    The embedded SQLite does this by itself on first use; PostgreSQL needs it once per upgrade.
    """
    import asyncio

    from bifrost.config import load_settings

    def action() -> None:
        from bifrost.analysis.maintenance import upgrade_database

        revision = asyncio.run(upgrade_database(load_settings()))
        print(cli_message("db.at_revision", revision=revision))

    run(action, verbose=verbose)


@db_app.command("current")
def current_command(verbose: Verbose = False) -> None:
    """Print the revision the database is at.

    `none` for an empty database.
    """
    import asyncio

    from bifrost.config import load_settings

    def action() -> None:
        from bifrost.analysis.maintenance import database_revision

        print(asyncio.run(database_revision(load_settings())) or "none")

    run(action, verbose=verbose)


@cache_app.command("stats")
def cache_stats_command(verbose: Verbose = False) -> None:
    """Show the entries, hits and misses of the cache.

    The cache in use: Redis, or the database.
    """
    import asyncio

    def action() -> None:
        from bifrost.analysis.maintenance import cache_stats
        from bifrost.config import load_settings

        stats = asyncio.run(cache_stats(load_settings()))
        total = stats.hits + stats.misses
        rate = f"{stats.hits / total:.0%}" if total else "—"
        print(cli_message("cache.entries", n=stats.entries))
        print(cli_message("cache.hits", n=stats.hits))
        print(cli_message("cache.misses", n=stats.misses))
        print(cli_message("cache.hit_rate", rate=rate))
        if stats.oldest and stats.newest:
            print(cli_message("cache.oldest", when=stats.oldest.isoformat()))
            print(cli_message("cache.newest", when=stats.newest.isoformat()))

    run(action, verbose=verbose)


@cache_app.command("clear")
def cache_clear_command(verbose: Verbose = False) -> None:
    """Forget every cached answer (the history stays)."""
    import asyncio

    from bifrost.analysis.maintenance import clear_cache
    from bifrost.config import load_settings

    def action() -> None:
        removed = asyncio.run(clear_cache(load_settings()))
        print(cli_message("cache.cleared", n=removed))

    run(action, verbose=verbose)


def feedback_command(
    analysis_id: Annotated[int, typer.Argument(metavar="ID", hidden=True)],
    good: Annotated[bool, typer.Option("--good", help="The analysis was right.")] = False,
    bad: Annotated[bool, typer.Option("--bad", help="The analysis was wrong.")] = False,
    note: Annotated[
        str | None, typer.Option("--note", metavar="TEXT", help="What was right or wrong.")
    ] = None,
    verbose: Verbose = False,
) -> None:
    """Say whether an analysis was right.

    ID is the id `bifrost history` shows; the feedback is kept with the analysis.
    """
    import asyncio

    from bifrost.config import load_settings

    async def record() -> None:
        from bifrost.analysis.history import give_feedback
        from bifrost.store import open_store

        settings = load_settings()
        async with await open_store(settings) as store:
            await give_feedback(store, analysis_id, good, note, settings)

    def action() -> None:
        if good == bad:
            raise UsageError.said("usage.good_or_bad")
        asyncio.run(record())
        print(cli_message("feedback.recorded", id=analysis_id))

    run(action, verbose=verbose)
