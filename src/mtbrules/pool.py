"""The process pool of caseload work (`batch`, `diff --cases`): ordered, bounded, in parallel.

`parallel_map` runs a function over chunks in worker processes and yields the
results in input order, with at most a few chunks in flight, so that memory
stays flat however long the input is. One worker means this process, no pool.

Workers never outlive the process that started them: on Linux the kernel
sends them SIGKILL when it dies (`prctl(PR_SET_PDEATHSIG)`), elsewhere a
watchdog thread in each worker notices that its parent is gone. Workers
ignore SIGINT: Ctrl-C reaches the whole process group, and the parent alone
decides how to stop (it finishes what is in flight and keeps the results).
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import ctypes
import gc
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Generator, Iterable
from typing import Any


def parallel_map(
    func: Callable[[Any], Any],
    chunks: Iterable,
    workers: int,
    initializer: Callable[..., None],
    initargs: tuple,
    inflight: int | None = None,
    on_stop: Callable[[], None] | None = None,
) -> Generator[Any, None, None]:
    """`func` over `chunks` in `workers` processes; results in input order, at most `inflight` pending.

    `on_stop` is called when the results stop being taken before the end (an error, or the
    caller closing the iterator), before waiting for the workers to finish what they hold: it
    may release workers that wait on one another. At the end the workers are simply waited
    for (what they do when they end, such as writing what they hold, is done)."""
    if workers <= 1:
        initializer(*initargs)
        for chunk in chunks:
            yield func(chunk)
        return
    inflight = inflight or 2 * workers + 1
    ctx = context()
    pending: collections.deque = collections.deque()
    with cf.ProcessPoolExecutor(
        max_workers=workers,
        mp_context=ctx,
        initializer=_start_worker,
        initargs=(os.getpid(), initializer, initargs),
    ) as pool:
        ended = False
        try:
            for chunk in chunks:
                pending.append(pool.submit(func, chunk))
                if len(pending) >= inflight:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
            ended = True
        finally:
            for f in pending:
                f.cancel()
            if on_stop is not None and not ended:
                on_stop()


def context():
    """The multiprocessing context of the pool (fork where there is one: the pack is inherited,
    not loaded again); locks and shared values the workers use must come from it."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else None)


def default_workers() -> int:
    """The CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _start_worker(parent: int, initializer: Callable[..., None], initargs: tuple) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A forked worker inherits the parent's handlers; SIGTERM ends a worker as it ends any process.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    die_with_parent(parent)
    initializer(*initargs)
    # What the initializer loaded (a pack) lives as long as the worker: the collector need not
    # scan it again at every full collection. (Workers only: the caller's process is not frozen.)
    gc.freeze()


_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """End this process when the process `parent` ends (even by SIGKILL)."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
        except (OSError, AttributeError):
            armed = False
        if armed:
            # The parent may have died before prctl: then we were already re-parented.
            if os.getppid() != parent:
                os._exit(1)
            return
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)
