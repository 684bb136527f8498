"""`bifrost known`: resolutions pinned to a failure's template, shown on every later finding
of it ("Known issue: …")."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from bifrost.cli.options import Verbose
from bifrost.cli.output import cli_message, run, run_async

app = typer.Typer(
    help="Pin what fixed a failure to its findings.\n\nEvery later finding of the same "
    "template (the same line in any log) shows the note.",
    no_args_is_help=True,
)


@app.command("add")
def add_command(
    analysis_id: Annotated[int, typer.Argument(metavar="ANALYSIS_ID", hidden=True)],
    finding: Annotated[str, typer.Argument(metavar="FINDING", hidden=True)],
    note: Annotated[str, typer.Option("--note", metavar="TEXT", help="What fixed it.")],
    link: Annotated[
        str | None, typer.Option("--link", metavar="URL", help="A ticket or runbook.")
    ] = None,
    verbose: Verbose = False,
) -> None:
    """Pin a note to a finding of a stored analysis.

    FINDING is its id (F2) or its rank (2), as the Report shows them.
    """

    async def body() -> str:
        from bifrost.analysis.known import pin_known
        from bifrost.config import load_settings
        from bifrost.store import open_store

        async with await open_store(load_settings()) as store:
            pinned = await pin_known(store, analysis_id, finding, note, link)
        return cli_message("known.pinned", template=pinned.template_id, title=pinned.title)

    run(lambda: print(run_async(body())), verbose=verbose)


@app.command("list")
def list_command(
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON lines instead.")] = False,
    verbose: Verbose = False,
) -> None:
    """List the pinned notes, newest first."""

    async def body() -> None:
        from bifrost.analysis.known import list_known
        from bifrost.config import load_settings
        from bifrost.store import open_store

        async with await open_store(load_settings()) as store:
            pinned = await list_known(store)
        for item in pinned:
            issue = item.issue
            if json_output:
                row = {"template_id": item.template_id, "title": item.title}
                print(json.dumps(row | issue.model_dump(mode="json")))
            else:
                when = issue.pinned_at.strftime("%Y-%m-%d")
                print(f"{item.template_id}  {when}  {item.title}\n    {issue.note}")

    run(lambda: run_async(body()), verbose=verbose)


@app.command("remove")
def remove_command(
    template_id: Annotated[str, typer.Argument(metavar="TEMPLATE_ID", hidden=True)],
    verbose: Verbose = False,
) -> None:
    """Remove the note pinned to a template.

    `bifrost known list` shows the template ids.
    """

    async def body() -> None:
        from bifrost.analysis.known import forget_known
        from bifrost.config import load_settings
        from bifrost.store import open_store

        async with await open_store(load_settings()) as store:
            await forget_known(store, template_id)

    run(lambda: run_async(body()), verbose=verbose)
