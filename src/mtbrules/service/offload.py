"""Decisions off the event loop: processes that hold the served packs, behind a bounded queue.

A batch, an explanation, a comparison (and a single case with a large
body) is decided in one of a few decision processes, so the event loop
goes on answering /v1/health and small requests while it runs. Processes
rather than threads: a thread deciding a batch holds the interpreter lock
in 5 ms slices, and the event loop, which needs the lock for every step of
every request, answered /v1/health in 35 ms (median) and 220 ms (worst)
while two 500-case batches ran; with processes, 5 ms and 65 ms on the same
busy machine.

Each `DecisionPool` serves one PackSet: its processes compile the same
refs when they start and check that every pack's fingerprint is the one
the server holds (a pack edited in between is refused, never served
under the old fingerprint). A reload starts a new pool for the new set;
the old one finishes the requests that had started with it and stops.

`Offload` bounds the work: at most `processes` jobs run and `queue` more
wait; a request beyond that is refused at once (Busy, HTTP 503 with
Retry-After). The count is kept on the event loop's thread only, and a job
leaves it when its process is done with it, not when the client goes away.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from ..errors import InputError, MtbError, error_message
from .answers import HttpError
from .packs import PackSet, load_pack_set, warm

#: Seconds a refused client is told to wait (the `Retry-After` header).
RETRY_AFTER = 1
#: Seconds between a decision process's checks that the server is still there.
WATCH_EVERY = 1.0
#: Seconds the decision processes may take to compile the packs (a busy machine is slow).
START_TIMEOUT = 120


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


class Busy(Exception):
    """Every decision process is busy and the queue is full."""

    def __init__(self, capacity: int):
        super().__init__(f"{capacity} requests are being decided or waiting")
        self.capacity = capacity


class PoolBroken(Exception):
    """A decision process died or cannot serve the packs; the server starts a new pool."""


# -- in the decision process ---------------------------------------------------------

_CHILD: dict[str, Any] = {}


def _child_start(
    refs: tuple[str, ...],
    generation: int,
    fingerprints: dict[str, str],
    barrier: Any,
    server: int,
) -> None:
    # Ctrl-C in a terminal reaches the whole process group: the server stops us, not the signal.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with, args=(server,), daemon=True).start()
    try:
        _CHILD["packs"] = _child_load(refs, generation, fingerprints)
    except MtbError as exc:
        _CHILD["error"] = error_message(exc)
    try:
        barrier.wait(timeout=START_TIMEOUT)  # every process is ready before the pool says so
    except threading.BrokenBarrierError:
        _CHILD.setdefault("error", "another decision process did not start")


def _exit_with(server: int) -> None:
    """Exit when the server process is gone, however it went (SIGKILL runs no clean-up of ours:
    a decision process would otherwise wait for work forever, its parent being the fork server)."""
    while True:
        time.sleep(WATCH_EVERY)
        try:
            os.kill(server, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:  # the pid was taken by another user's process: ours is gone
            os._exit(0)


def _child_load(refs: tuple[str, ...], generation: int, fingerprints: dict[str, str]) -> PackSet:
    packs = load_pack_set(refs, generation)
    mine = {pid: served.fingerprint for pid, served in packs.packs.items()}
    if mine != fingerprints:
        changed = sorted(
            p for p in set(mine) | set(fingerprints) if mine.get(p) != fingerprints.get(p)
        )
        raise InputError(f"pack {', '.join(changed)} changed on disk while it was being loaded")
    warm(packs)
    return packs


def _child_status() -> str | None:
    """None when this process holds the packs, else why not."""
    return None if "packs" in _CHILD else _CHILD.get("error", "not started")


def _child_run(job: Callable[..., bytes], args: tuple) -> tuple[bool, Any, dict[str, Any]]:
    """(True, answer bytes, notes) or (False, the input error, notes); a bug propagates."""
    packs = _CHILD.get("packs")
    if packs is None:
        raise PoolBroken(_CHILD.get("error", "not started"))
    notes: dict[str, Any] = {}
    try:
        return True, job(packs, *args, notes), notes
    except (HttpError, MtbError) as exc:
        return False, exc, notes


# -- in the server -------------------------------------------------------------------


def _context() -> multiprocessing.context.BaseContext:
    # Not fork: the server has threads (uvicorn's, the reload executor's), and a forked child
    # may inherit a lock one of them held. The fork server starts once, clean, with our modules.
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["mtbrules.service.app"])
        return ctx
    return multiprocessing.get_context("spawn")


class DecisionPool:
    """Processes holding the packs of one PackSet (one generation)."""

    def __init__(self, packs: PackSet, processes: int):
        self.packs = packs
        self.processes = max(1, processes)
        fingerprints = {pid: served.fingerprint for pid, served in packs.packs.items()}
        context = _context()
        self._executor = cf.ProcessPoolExecutor(
            self.processes,
            mp_context=context,
            initializer=_child_start,
            initargs=(
                packs.refs,
                packs.generation,
                fingerprints,
                context.Barrier(self.processes),
                os.getpid(),
            ),
        )
        self.users = 0
        self.retired = False

    async def start(self) -> None:
        """Start every process and wait until each holds the packs; InputError if one cannot."""
        try:
            statuses = await asyncio.gather(
                *(
                    asyncio.wrap_future(self._executor.submit(_child_status))
                    for _ in range(self.processes)
                )
            )
        except cf.process.BrokenProcessPool:
            self.close()
            raise InputError("decision processes: one stopped while starting") from None
        problems = sorted({s for s in statuses if s})
        if problems:
            self.close()
            raise InputError(f"decision processes: {problems[0]}")

    def pids(self) -> list[int]:
        """The decision processes' ids (for operators and tests; they are the fork server's children)."""
        processes = getattr(self._executor, "_processes", None) or {}
        return sorted(processes)

    def submit(self, job: Callable[..., bytes], args: tuple) -> cf.Future:
        return self._executor.submit(_child_run, job, args)

    def retire(self) -> None:
        """Stop once the requests that use this pool are done."""
        self.retired = True
        if self.users == 0:
            self.close()

    def close(self, wait: bool = False) -> None:
        """Stop the processes (`wait`: until they are gone; the server does, when it stops)."""
        self._executor.shutdown(wait=wait, cancel_futures=True)


class Offload:
    """Admission to the decision processes: `processes` jobs run, `queue` more wait, then Busy."""

    def __init__(self, processes: int, queue: int):
        self.processes = max(1, processes)
        self.capacity = self.processes + max(0, queue)
        self.admitted = 0

    async def run(self, pool: DecisionPool, job: Callable[..., bytes], args: tuple):
        """`job(packs, *args, notes)` in one of `pool`'s processes: (ok, answer or error, notes)."""
        if self.admitted >= self.capacity:
            raise Busy(self.capacity)
        loop = asyncio.get_running_loop()
        try:
            future = pool.submit(job, args)
        except (RuntimeError, cf.process.BrokenProcessPool) as exc:  # shut down or broken
            raise PoolBroken(str(exc) or type(exc).__name__) from None
        self.admitted += 1

        def release() -> None:
            self.admitted -= 1

        def done(_: cf.Future) -> None:  # on the executor's thread, or here if cancelled unstarted
            try:
                loop.call_soon_threadsafe(release)
            except RuntimeError:  # the loop is closed: the server is gone, nothing to count
                pass

        future.add_done_callback(done)
        try:
            return await asyncio.wrap_future(future)
        except cf.process.BrokenProcessPool as exc:
            raise PoolBroken(str(exc) or "a decision process stopped") from None
