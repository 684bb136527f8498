"""The console a command prints to, and the progress bar of a long read (Rich)."""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn


def console(*, no_color: bool = False) -> Console:
    """A console on stdout; colour only on a terminal, never with NO_COLOR or --no-color."""
    return _Stdout(no_color=no_color or "NO_COLOR" in os.environ, highlight=False, soft_wrap=False)


class _Stdout(Console):
    """A closed stdout (`| head`) ends the command as any other write to it does: `run` exits
    141. Rich's own way is to exit 1 there and then."""

    def on_broken_pipe(self) -> None:
        self.quiet = True  # nothing more can be shown
        raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))


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
