"""The process pool of caseload work (`batch`, `diff --cases`): ordered, bounded, in parallel.

`parallel_map` runs a function over chunks in worker processes and yields the
results in input order, with at most a few chunks in flight, so that memory
stays flat however long the input is. One worker means this process, no pool.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any


def parallel_map(
    func: Callable[[Any], Any],
    chunks: Iterable,
    workers: int,
    initializer: Callable[..., None],
    initargs: tuple,
    inflight: int | None = None,
) -> Iterator:
    """`func` over `chunks` in `workers` processes; results in input order, at most `inflight` pending."""
    if workers <= 1:
        initializer(*initargs)
        for chunk in chunks:
            yield func(chunk)
        return
    inflight = inflight or 2 * workers + 1
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else None)
    pending: collections.deque = collections.deque()
    with cf.ProcessPoolExecutor(
        max_workers=workers, mp_context=ctx, initializer=initializer, initargs=initargs
    ) as pool:
        try:
            for chunk in chunks:
                pending.append(pool.submit(func, chunk))
                if len(pending) >= inflight:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for f in pending:
                f.cancel()


def default_workers() -> int:
    """The CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)
