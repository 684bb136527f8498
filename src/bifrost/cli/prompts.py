"""`bifrost prompts`: the prompts an LLM explanation can use, built-in and your own
(`BIFROST_PROMPT_DIR`), and what one says."""

from __future__ import annotations

from typing import Annotated

import typer

from bifrost.cli.options import Verbose
from bifrost.cli.output import run

app = typer.Typer(
    help="List the prompts; show one.\n\nChoose one with --prompt NAME[/VERSION] or "
    "BIFROST_PROMPT; add your own as NAME_VERSION.md files in BIFROST_PROMPT_DIR.",
    no_args_is_help=True,
)


@app.command("list")
def list_command(verbose: Verbose = False) -> None:
    """List every prompt, and which one is in use.

    Each line: name/version, the start of its SHA-256, and where it comes from.
    """

    def action() -> None:
        from bifrost.analysis.explain import prompt_catalogue
        from bifrost.config import load_settings

        every, chosen = prompt_catalogue(load_settings())
        for prompt in every:
            mark = "*" if prompt.id == chosen.id else " "
            print(f"{mark} {prompt.id:<24} {prompt.sha256[:12]}  {prompt.source}")

    run(action, verbose=verbose)


@app.command("show")
def show_command(
    wanted: Annotated[str, typer.Argument(metavar="NAME[/VERSION]", hidden=True)],
    verbose: Verbose = False,
) -> None:
    """Print a prompt file as it is.

    NAME alone is its newest version.
    """

    def action() -> None:
        from bifrost.analysis.explain import prompt_named
        from bifrost.config import load_settings

        prompt = prompt_named(wanted, load_settings())
        print(f"# {prompt.id}  sha256:{prompt.sha256}  ({prompt.source})")
        print(prompt.text, end="")

    run(action, verbose=verbose)
