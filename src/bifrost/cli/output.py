"""What every command shares: the error line, the exit codes, Ctrl-C, broken pipes, the
progress bar of a long read, and its own words in the language asked for (`cli_message`).

Rich is not imported here (`console.py` has it): a command loads it only to print, and the
progress bar only when it shows one (never in a pipe or in CI).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading
import traceback
import unicodedata
from collections.abc import Callable, Coroutine, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn, ParamSpec, TypeVar

import typer

from bifrost.errors import BifrostError
from bifrost.i18n import DEFAULT_LANGUAGE, counted, language, message

if TYPE_CHECKING:
    import asyncio

P = ParamSpec("P")
T = TypeVar("T")

INTERRUPTED = 130
"""The exit code after Ctrl-C: 128 + SIGINT, as a shell reports it."""
READER_GONE = 141
"""The exit code when the reader of stdout went away (`bifrost export | head -1`): 128 + SIGPIPE,
as a shell reports a program that SIGPIPE ended (`yes | head -1`), so that `set -o pipefail`
never takes a cut-off report for a complete one, nor for a passing one."""


_PROGRESS_MIN_BYTES = 64 << 20  # smaller inputs are done in about a second


@contextlib.contextmanager
def progress_bar(paths: list[str], *, quiet: bool) -> Iterator[Callable[[int], None] | None]:
    """A transient progress bar on stderr for large files, only when stderr is a terminal."""
    sizes = [_size(p) for p in paths]
    total = sum(sizes)
    if quiet or not sys.stderr.isatty() or not paths or total < _PROGRESS_MIN_BYTES:
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    reading = TextColumn(cli_message("progress.reading"))
    columns = (reading, BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("read", total=total)
        yield lambda n: bar.advance(task, n)


def _size(path: str) -> int:
    try:
        return 0 if path == "-" else os.stat(path).st_size
    except OSError:
        return 0


def run(action: Callable[[], int | None], *, verbose: bool) -> NoReturn:
    """Run a command's body: its exit code, or one error line (a traceback only with -v).

    Ctrl-C ends it with 130 (see `stop_on_ctrl_c`); a reader of stdout that went away
    (`| head`) ends it quietly with 141.
    """
    try:
        code = action() or 0
        sys.stdout.flush()  # a closed pipe shows here, not as Python's complaint at exit
    except KeyboardInterrupt:
        code = INTERRUPTED
    except BrokenPipeError:
        code = _reader_gone()
    except Exception as exc:
        code = report_error(exc, verbose=verbose)
    raise typer.Exit(code)


def fail(message: str, code: int) -> int:
    """Print one clear line on stderr and return the exit code."""
    sys.stderr.write(_error_line(message))
    return code


def _error_line(message: str) -> str:
    return f"bifrost: error: {message}\n"


def report_error(exc: BaseException, *, verbose: bool) -> int:
    """Turn an exception into one stderr line (a traceback only with -v) and an exit code, in
    the language asked for (`cli_language`) when the message is in the catalog."""
    if verbose:
        traceback.print_exception(exc, file=sys.stderr)
    lang = cli_language()
    if isinstance(exc, BifrostError):
        return fail(exc.message_in(lang), exc.exit_code)
    if isinstance(exc, MemoryError):
        return fail(message("cli.out_of_memory", lang), 2)
    return fail(message("cli.unexpected", lang, kind=type(exc).__name__, problem=exc), 70)


def cli_language(argv: Sequence[str] | None = None) -> str:
    """The language of the command's own words: `--lang`, else `BIFROST_LANG`, else English
    (also when the one named is unknown: the settings say so, in English)."""
    args = list(sys.argv[1:] if argv is None else argv)
    asked = os.environ.get("BIFROST_LANG", "")
    for index, arg in enumerate(args):
        if arg == "--lang" and index + 1 < len(args):
            asked = args[index + 1]
        elif arg.startswith("--lang="):
            asked = arg.removeprefix("--lang=")
    try:
        return language(asked) if asked else DEFAULT_LANGUAGE
    except ValueError:
        return DEFAULT_LANGUAGE


def cli_message(key: str, /, **fields: object) -> str:
    """The catalog message `key` in the language of `cli_language`: for the sentences, headings
    and status lines a person reads, never for machine output (JSON, CSV, ids, values)."""
    return message(key, cli_language(), **fields)


def cli_counted(count: int, noun: str, /) -> str:
    """`"3 analyses"`, `"분석 3건"`: `counted` in the language of `cli_language`."""
    return counted(count, noun, cli_language())


def aligned(rows: Sequence[tuple[str, str]]) -> list[str]:
    """Indented `label  value` lines, the values in one column two spaces after the widest
    label. Widths are terminal columns: a Korean syllable takes two, so `str.ljust` would leave
    the values after translated labels out of line."""
    width = max((_columns(label) for label, _ in rows), default=0) + 2
    return [f"  {label}{' ' * (width - _columns(label))}{value}" for label, value in rows]


def _columns(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _reader_gone() -> int:
    """Stdout onto /dev/null, so that Python's own flush at exit stays quiet (what is left in
    its buffer cannot be written anyway); see `READER_GONE`."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return READER_GONE


def stop_on_ctrl_c() -> None:
    """Make Ctrl-C stop every command at once, wherever the main thread is.

    The first Ctrl-C says so on stderr and raises KeyboardInterrupt, so the command unwinds
    (temporary files removed, databases closed, worker processes stopped) and `run` ends it
    with 130. A second one, while that cleaning up runs, ends the process there and then; so
    does a cleaning up that takes over `CLEANUP_S` (a connection being closed to a server that
    never answers may wait for ever).

    Installed before any event loop starts, this keeps `asyncio.run` from putting its own
    handler in place, which only cancels the task: a blocking read in the command's coroutine
    (standard input being spooled) would go on. See `_interrupt` for where it is raised.
    """
    _said_interrupted.clear()
    _interrupted_line[:] = [_error_line(cli_message("cli.interrupted")).encode()]
    signal.signal(signal.SIGINT, _interrupt)


_COMMAND_TASK = "bifrost-command"
_said_interrupted: list[bool] = []  # not empty once a Ctrl-C was said (no `global` needed)
_interrupted_line: list[bytes] = []  # what it says, in the language asked for, made beforehand
CLEANUP_S = 5.0
"""How long a command may take to clean up after Ctrl-C before it is ended without."""


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """Raise KeyboardInterrupt where the main thread is, unless it is running an event loop
    outside the command's own task (see `run_async`). In another task, which may be in a task
    group (anyio's, under httpx), the interrupt would be handed on wrapped in an exception
    group, logged at exit; in a plain callback (a transport's `connection_made`) it would
    leave the protocol half set up, and its `connection_lost` would fail. There it is raised
    by the event loop, as soon as the task or callback lets go.

    The second handler goes in before anything else: Python runs a pending handler between
    the calls of a running one, so a second Ctrl-C pressed at once would otherwise run this
    one again, inside itself (two lines, two interrupts)."""
    signal.signal(signal.SIGINT, _exit_at_once)
    if not _say_interrupted():  # a second one, run inside the first, did it all already
        return
    deadline = threading.Timer(CLEANUP_S, _exit_at_once, (signum, None))
    deadline.daemon = True
    deadline.start()
    loop = _running_loop()
    if loop is not None:
        task = _running_task()
        if task is None or task.get_name() != _COMMAND_TASK:
            loop.call_soon_threadsafe(_raise_interrupt)
            return
    raise KeyboardInterrupt


def _say_interrupted() -> bool:
    """The one line of a Ctrl-C, said by whichever handler runs first (True for that one). It
    is written to the file descriptor: a write to sys.stderr may be what was interrupted."""
    if _said_interrupted:
        return False
    _said_interrupted.append(True)
    with contextlib.suppress(OSError):
        os.write(2, b"".join(_interrupted_line))
    return True


def _running_loop() -> asyncio.AbstractEventLoop | None:
    loaded = sys.modules.get("asyncio")  # not loaded: no event loop is running
    if loaded is None:
        return None
    try:
        loop: asyncio.AbstractEventLoop = loaded.get_running_loop()
        return loop
    except RuntimeError:  # no event loop running
        return None


def _running_task() -> asyncio.Task[Any] | None:
    loaded = sys.modules.get("asyncio")  # not loaded: no task is running
    if loaded is None:
        return None
    try:
        task: asyncio.Task[Any] | None = loaded.current_task()
        return task
    except RuntimeError:  # no event loop running
        return None


def _raise_interrupt() -> NoReturn:
    raise KeyboardInterrupt


def _exit_at_once(signum: int, frame: FrameType | None) -> NoReturn:
    """The last resort, in case the cleaning up is what hangs: worker processes (which never
    see SIGINT) are stopped, stdout is flushed, and nothing else runs."""
    _say_interrupted()
    for child in multiprocessing.active_children():
        child.terminate()
    with contextlib.suppress(OSError, RuntimeError):  # RuntimeError: a write it interrupted
        sys.stdout.flush()
    os._exit(INTERRUPTED)


def run_async(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run` for a command's coroutine: Ctrl-C interrupts it where it is (see
    `_interrupt`), and what it hands to threads (`asyncio.to_thread`) runs on daemon threads.

    A thread blocked on input that never comes (a FIFO without a writer, a silent pipe) cannot
    be interrupted; after Ctrl-C, `asyncio.run` and then Python's exit would wait for it for
    ever. Daemon threads are left behind instead.
    """
    import asyncio  # only for the commands that run a coroutine

    with asyncio.Runner() as runner:
        runner.get_loop().set_default_executor(_DaemonThreads())
        return runner.run(_as_command(main))


async def _as_command(main: Coroutine[Any, Any, T]) -> T:
    task = _running_task()
    assert task is not None
    task.set_name(_COMMAND_TASK)
    return await main


class _DaemonThreads(ThreadPoolExecutor):
    """Each call on a daemon thread of its own, which nothing waits for at exit.

    A ThreadPoolExecutor's own threads are joined at exit, daemon or not; the event loop only
    accepts a ThreadPoolExecutor as its default executor, hence the subclass.
    """

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future: Future[T] = Future()

        def call() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # the caller's to handle, as with any executor
                future.set_exception(exc)

        threading.Thread(target=call, name="bifrost-blocking", daemon=True).start()
        return future
