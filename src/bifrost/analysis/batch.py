"""Batch: many logs analysed side by side, then read across.

Each file is analysed on its own by the engine alone (`analyze`: no cache, no history) in a
worker process: the engine is CPU-bound Python, so threads would share one core. A file that
cannot be read is a result like any other, never an exception, so one bad file costs only its
own row. The cross-file view answers what no single Report can: which error is in every file
(the same error on every pod), and which file failed first (rank 3 failed; the others then
timed out waiting for it).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from glob import glob, has_magic
from pathlib import Path

from bifrost.analysis.run import analyze
from bifrost.choices import Severity
from bifrost.config import Settings
from bifrost.engine import timestamps
from bifrost.errors import BifrostError
from bifrost.report import SEVERITY_RANK, Finding, Report

_ERROR = SEVERITY_RANK["error"]


@dataclass(frozen=True)
class Input:
    """One file to analyse, or an argument that named none (`error` says why)."""

    path: str
    error: str | None = None


@dataclass(frozen=True)
class FileResult:
    """The Report of one file, or why there is none."""

    path: str
    report: Report | None = None
    error: str | None = None


@dataclass(frozen=True)
class SharedTemplate:
    """A finding's template seen among the findings of several files."""

    template_id: str
    template: str
    title: str
    severity: Severity
    files: list[str]
    count: int  # occurrences over all those files


@dataclass(frozen=True)
class FirstFailure:
    """The file whose earliest error-or-worse finding comes first; `note` says it in words.

    `path` is None when no file can be named (no errors, or nothing to compare them by).
    """

    note: str
    path: str | None = None
    ts: str | None = None
    title: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class Batch:
    files: list[FileResult]
    shared: list[SharedTemplate]
    first_failure: FirstFailure


OnDone = Callable[[FileResult], None]
"""Told each file's result as it completes (a progress bar)."""


def expand(arguments: Iterable[str], pattern: str = "*") -> list[Input]:
    """Files named by directories (recursive, file names matching `pattern`), globs and paths.

    Order is stable: arguments in order, each directory's or glob's files sorted; a file named
    twice is analysed once. A plain path is kept even if missing, so that the analysis reports
    it; a directory or glob that names no file is reported as such rather than vanishing.
    """
    inputs: list[Input] = []
    seen: set[str] = set()
    for argument in arguments:
        found: list[str]
        if os.path.isdir(argument):
            found = sorted(str(p) for p in Path(argument).rglob(pattern) if not p.is_dir())
            missing = f"{argument}: no file in it matches {pattern!r}"
        elif has_magic(argument) and not os.path.lexists(argument):
            found = sorted(p for p in glob(argument, recursive=True) if not os.path.isdir(p))
            missing = f"{argument}: no file matches"
        else:
            found, missing = [argument], ""
        if not found:
            inputs.append(Input(argument, missing))
        for path in found:
            if path not in seen:
                seen.add(path)
                inputs.append(Input(path))
    return inputs


def run_batch(
    inputs: list[Input], settings: Settings, jobs: int, on_done: OnDone | None = None
) -> Batch:
    """Analyse every input on at most `jobs` worker processes; results in input order.

    Ctrl-C is this process's alone: the workers never see SIGINT, and an interrupted batch
    stops them rather than waiting for them.
    """
    results: list[FileResult | None] = [None] * len(inputs)
    # spawn, not fork: a fork while another thread (a progress bar's) holds a lock can hang.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        pending: dict[Future[tuple[str | None, str | None]], int] = {}
        try:
            with _sigint_blocked():  # the workers start here
                for index, item in enumerate(inputs):
                    if item.error is not None:
                        results[index] = _done(FileResult(item.path, error=item.error), on_done)
                    else:
                        pending[pool.submit(_analyze_file, item.path, settings)] = index
            for future in as_completed(pending):
                index = pending[future]
                results[index] = _done(_result(inputs[index].path, future), on_done)
        except BaseException:  # Ctrl-C
            _stop(pool)
            raise
    files = [r for r in results if r is not None]
    return Batch(files, shared_templates(files), first_failure(files))


@contextlib.contextmanager
def _sigint_blocked() -> Iterator[None]:
    """SIGINT held back while the pool starts its processes and threads: they inherit the
    signal mask, so they never see it, even while a worker is still starting (a Ctrl-C in the
    terminal goes to every process of its group). A Ctrl-C meanwhile arrives when it ends."""
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Cancel the files still queued and terminate the workers: one may be blocked for ever on
    its input (a FIFO, a pipe), and the pool would wait for it at exit."""
    workers = list(pool._processes.values())  # `terminate_workers()` is Python 3.14+
    for worker in workers:
        worker.terminate()
    # With its workers gone the pool's manager thread ends; wait for it, or the interpreter's
    # exit hook races it on the pipe it is closing ("Exception ignored … Bad file descriptor").
    pool.shutdown(wait=True, cancel_futures=True)


def _analyze_file(path: str, settings: Settings) -> tuple[str | None, str | None]:
    """In a worker: the Report as JSON (cheap to send back), or why the file has none."""
    try:
        return analyze([path], settings).to_json(indent=None), None
    except BifrostError as exc:
        return None, exc.message
    except Exception as exc:  # a bug met on one file must not cost the others their answers
        return None, f"{path}: unexpected {type(exc).__name__}: {exc}"


def _result(path: str, future: Future[tuple[str | None, str | None]]) -> FileResult:
    try:
        report_json, error = future.result()
    except BrokenProcessPool:
        return FileResult(path, error=f"{path}: the worker analysing it died (out of memory?)")
    if report_json is None:
        return FileResult(path, error=error)
    return FileResult(path, report=Report.model_validate_json(report_json))


def _done(result: FileResult, on_done: OnDone | None) -> FileResult:
    if on_done is not None:
        on_done(result)
    return result


def shared_templates(files: list[FileResult], min_files: int = 2) -> list[SharedTemplate]:
    """Finding templates in at least `min_files` files, most widespread (then worst) first."""
    where: dict[str, list[tuple[str, Finding]]] = {}
    for result in files:
        if result.report is not None:
            for finding in result.report.findings:
                where.setdefault(finding.template_id, []).append((result.path, finding))
    shared = []
    for template_id, seen in where.items():
        paths = list(dict.fromkeys(path for path, _ in seen))
        if len(paths) < min_files:
            continue
        first = seen[0][1]
        worst = max((f for _, f in seen), key=lambda f: SEVERITY_RANK[f.severity])
        shared.append(
            SharedTemplate(
                template_id=template_id,
                template=first.template,
                title=first.title,
                severity=worst.severity,
                files=paths,
                count=sum(f.count for _, f in seen),
            )
        )
    shared.sort(key=lambda s: (-len(s.files), -SEVERITY_RANK[s.severity], -s.count))
    return shared


def first_failure(files: list[FileResult]) -> FirstFailure:
    """Which file's first error-or-worse finding is earliest, by the timestamps on its lines.

    Only timestamps with a date are compared across files (a time of day alone cannot order
    two files unless every one has only that); a timestamp without a zone is taken as UTC.
    """
    timed: list[tuple[datetime, bool, str, Finding]] = []  # (moment, has a date, path, finding)
    untimed: list[str] = []
    for result in files:
        errors = [
            f for f in (result.report.findings if result.report else []) if _is_error(f.severity)
        ]
        moments = [(m, f) for f in errors if (m := timestamps.moment(f.first_seen.ts)) is not None]
        if moments:
            (moment, dated), finding = min(moments, key=lambda mf: mf[0][0])
            timed.append((moment, dated, result.path, finding))
        elif errors:
            untimed.append(result.path)
    if any(dated for _, dated, _, _ in timed):
        untimed += [path for _, dated, path, _ in timed if not dated]
        timed = [t for t in timed if t[1]]
    if not timed and not untimed:
        return FirstFailure("No file has an error-or-worse finding.")
    if not timed:
        return FirstFailure(
            f"{_files(len(untimed))} with errors, but their error lines carry no timestamp: "
            "which failed first cannot be told."
        )
    timed.sort(key=lambda t: t[0])
    moment, _, path, finding = timed[0]
    ts = finding.first_seen.ts
    note = f"{path} failed first ({ts}: {finding.title})"
    if len(timed) > 1:
        gap = (timed[1][0] - moment).total_seconds()
        note += f"; {_files(len(timed) - 1)} failed later, the next {gap:g} s after ({timed[1][2]})"
    else:
        note += "; it is the only file with a timed error"
    if untimed:
        note += (
            f"; {_files(len(untimed))} with errors could not be compared (no timestamp with a date)"
        )
    return FirstFailure(
        note + ".", path=path, ts=ts, title=finding.title, line=finding.first_seen.line
    )


def _is_error(severity: str) -> bool:
    return SEVERITY_RANK[severity] >= _ERROR


def _files(n: int) -> str:
    return f"{n} file" if n == 1 else f"{n} files"
