"""What every command shares: the console, the error line, broken pipes."""

from __future__ import annotations

import os
import sys
import traceback

from rich.console import Console

from bifrost.errors import BifrostError


def console(*, no_color: bool = False) -> Console:
    """A console on stdout; colour only on a terminal, never with NO_COLOR or --no-color."""
    return Console(no_color=no_color or "NO_COLOR" in os.environ, highlight=False, soft_wrap=False)


def fail(message: str, code: int) -> int:
    """Print one clear line on stderr and return the exit code."""
    print(f"bifrost: error: {message}", file=sys.stderr)
    return code


def report_error(exc: BaseException, *, verbose: bool) -> int:
    """Turn an exception into one stderr line (a traceback only with -v) and an exit code."""
    if verbose:
        traceback.print_exception(exc, file=sys.stderr)
    if isinstance(exc, BifrostError):
        return fail(exc.message, exc.exit_code)
    if isinstance(exc, BrokenPipeError):
        _silence_stdout()
        return 0
    if isinstance(exc, MemoryError):
        return fail("out of memory; try a smaller input or --chunk-bytes", 2)
    return fail(f"unexpected {type(exc).__name__}: {exc} (run with -v for details)", 70)


def _silence_stdout() -> None:
    """After the reader of a pipe went away (`| head`), keep Python quiet at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
