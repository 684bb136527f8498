"""The console a command prints to (Rich)."""

from __future__ import annotations

import errno
import os

from rich.console import Console


def console(*, no_color: bool = False) -> Console:
    """A console on stdout; colour only on a terminal, never with NO_COLOR or --no-color."""
    return _Stdout(no_color=no_color or "NO_COLOR" in os.environ, highlight=False, soft_wrap=False)


class _Stdout(Console):
    """A closed stdout (`| head`) ends the command as any other write to it does: `run` exits
    141. Rich's own way is to exit 1 there and then."""

    def on_broken_pipe(self) -> None:
        self.quiet = True  # nothing more can be shown
        raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))
