"""What every command shares: the console, the error line, broken pipes."""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from typing import NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from bifrost.errors import BifrostError


def console(*, no_color: bool = False) -> Console:
    """A console on stdout; colour only on a terminal, never with NO_COLOR or --no-color."""
    return Console(no_color=no_color or "NO_COLOR" in os.environ, highlight=False, soft_wrap=False)


_PROGRESS_MIN_BYTES = 64 << 20  # smaller inputs are done in about a second


@contextlib.contextmanager
def progress_bar(paths: list[str], *, quiet: bool) -> Iterator[Callable[[int], None] | None]:
    """A transient progress bar on stderr for large files, only when stderr is a terminal."""
    sizes = [_size(p) for p in paths]
    total = sum(sizes)
    if quiet or not sys.stderr.isatty() or not paths or total < _PROGRESS_MIN_BYTES:
        yield None
        return
    columns = (TextColumn("reading"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("read", total=total)
        yield lambda n: bar.advance(task, n)


def _size(path: str) -> int:
    try:
        return 0 if path == "-" else os.stat(path).st_size
    except OSError:
        return 0


def run(action: Callable[[], int | None], *, verbose: bool) -> NoReturn:
    """Run a command's body: its exit code, or one error line (a traceback only with -v)."""
    try:
        code = action() or 0
    except Exception as exc:
        code = report_error(exc, verbose=verbose)
    raise typer.Exit(code)


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
