"""`bifrost completion`: the shell completion script on stdout, as kubectl and gh print theirs.

The script calls `bifrost` back with `_BIFROST_COMPLETE` set, and Typer answers with the
commands, options and choices that fit before any command runs. Typer registers the classes
that answer only for its own `--install-completion`, which edits the user's shell files and is
off here, so this module registers them.
"""

from __future__ import annotations

from typing import Annotated, Literal

import typer
from typer._completion_classes import completion_init
from typer._completion_shared import get_completion_script

from bifrost.cli.output import run

Shell = Literal["bash", "zsh", "fish"]
COMPLETE_VAR = "_BIFROST_COMPLETE"  # what Typer derives from the name `bifrost`

completion_init()


def completion_command(
    shell: Annotated[Shell, typer.Argument(metavar="SHELL", hidden=True)],
) -> None:
    """Print the completion script for SHELL: bash, zsh or fish.

    \b
    Load it from your shell's start-up file:
      bash  ~/.bashrc:  source <(bifrost completion bash)
      zsh   ~/.zshrc, after compinit:  source <(bifrost completion zsh)
      fish  bifrost completion fish > ~/.config/fish/completions/bifrost.fish
    """

    def action() -> None:
        print(get_completion_script(prog_name="bifrost", complete_var=COMPLETE_VAR, shell=shell))

    run(action, verbose=False)
