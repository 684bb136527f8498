"""The engine in a pool of processes, for the long-lived fronts (`bifrost serve`, `bifrost
worker -c N`): analyses run in parallel and never hold the event loop's GIL."""

from __future__ import annotations

import asyncio
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from bifrost.analysis.inputs import Source
from bifrost.analysis.run import Progress, analyze_sources, warm_up
from bifrost.config import Settings
from bifrost.errors import ServiceError
from bifrost.report import Report

_PR_SET_PDEATHSIG = 1  # linux/prctl.h
_TRIES = 2
"""Runs of one analysis when engine processes die under it (`EnginePool`)."""


class EnginePool:
    """The engine in worker processes, so analyses never hold the event loop's GIL.

    A process that dies (out of memory, killed) breaks the pool, and every analysis running on
    it fails with it, not only the one that process ran. So the pool is replaced and each of
    them is tried once more: a killed process costs a wait, and only an analysis during which
    the pool breaks twice (most likely one that needs more memory than there is) gets a 503.
    The processes die with the process that made the pool (see `_start_engine_process`), and
    closing the pool ends them.
    """

    def __init__(self, processes: int) -> None:
        self._processes = processes
        self._executor = self._new()
        self._closed = False

    def _new(self) -> ProcessPoolExecutor:
        """A pool whose processes start now and load the knowledge base in the background, so
        the front answers at once and the first analysis does not pay for it.

        Starting them all before any analysis also lets the pool see each of them die:
        Python 3.11's pool watches the processes it knew when it last woke, and one started
        by a later `submit` can be missed until something wakes it (each warm-up result
        does)."""
        executor = ProcessPoolExecutor(
            self._processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_engine_process,
            initargs=(os.getpid(),),
        )
        for _ in range(self._processes):
            executor.submit(warm_up)
        return executor

    async def __call__(
        self, sources: list[Source], settings: Settings, progress: Progress | None
    ) -> Report:
        del progress  # byte counts do not cross processes; the stream reports stages instead
        loop = asyncio.get_running_loop()
        for _ in range(_TRIES):
            executor = self._executor
            try:
                return await loop.run_in_executor(executor, analyze_sources, sources, settings)
            except BrokenProcessPool:
                if self._closed:
                    raise ServiceError.said("engine.stopped") from None
                self._replace(executor)
        raise ServiceError.said("engine.died_twice")

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        """A new pool for a broken one; once, however many of its analyses report it."""
        if self._executor is broken:
            broken.shutdown(wait=False, cancel_futures=True)
            self._executor = self._new()

    def close(self) -> None:
        """End the engine processes and wait for them. The server closes its services once its
        requests are answered or given up on, so an analysis still running is one nobody waits
        for: it is stopped rather than waited for, which could take minutes."""
        self._closed = True
        for process in list(self._executor._processes.values()):  # public from Python 3.14
            process.terminate()
        self._executor.shutdown(wait=True, cancel_futures=True)


def _start_engine_process(owner_pid: int) -> None:
    """In a new engine process. A Ctrl-C in the terminal reaches every process of its group;
    the owner (a server or worker process) stops its engine processes itself, so they ignore
    it and print no traceback of their own. An owner that is killed cannot stop them, and they
    would wait on its queue for ever (about 80 MB each): they die with it instead."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with(owner_pid)


def _die_with(parent_pid: int) -> None:
    """End this process when its parent `parent_pid` ends: on Linux the kernel kills it at
    once (PR_SET_PDEATHSIG; it fires when the parent's thread that started this process ends,
    and the pool starts its processes from the event loop's thread, which lives as long as the
    owner); elsewhere a thread notices within a second."""
    linux = sys.platform == "linux"
    if not linux or ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()
    if os.getppid() != parent_pid:  # it ended before we asked to follow it
        os._exit(1)


def _watch_parent(parent_pid: int) -> None:
    """Exit once `parent_pid` is no longer this process's parent (it ended: we were adopted)."""
    while os.getppid() == parent_pid:
        time.sleep(1)
    os._exit(1)
