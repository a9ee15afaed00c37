"""The worker side of a batch run: decide a chunk of cases and write its decisions at their place in the output.

`mtbrules.batch` (the driver) hands each worker process small tickets of work
(`(seq, chunk)`, where a JSONL chunk is only a byte range of the input file:
the worker reads its lines itself) and gets back counts and the rows that
failed. The decisions never pass through the driver: for a JSONL or CSV
output file the worker writes them itself, with `os.pwrite`, right after the
bytes of the chunk before (`Ticket`). A worker does not wait for its turn to
write: a thread of its own (`_Writes`) holds the encoded chunk until then, and
the worker goes on deciding the next one.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from multiprocessing import util as mp_util
from typing import Any

from . import caseio

_STATE: dict[str, Any] = {}


class Ticket:
    """The order in which chunks are written into one output file, shared by the workers: chunk
    k is written once chunks 0..k-1 are, right after them. `written()` is the number of chunks
    completely written. `cancel()` releases writers still waiting for a turn that will not come
    (the run is stopping): their chunks are dropped.

    No multiprocessing Condition: its `notify()` waits until every sleeper has woken, so one
    worker SIGKILLed while waiting would hang whoever notifies next (the driver's `cancel()`
    included). A writer polls for its turn instead (a chunk takes tens of milliseconds to
    decide; the poll sleeps at most `_POLL_MAX`), and only the writer whose turn it is touches
    the offset, so no lock is held while writing.
    """

    _POLL_MIN, _POLL_MAX = 0.0002, 0.005

    def __init__(self, ctx, first_offset: int):
        # The lock only orders the two stores of a turn's end for the next writer's loads; it is
        # never waited for without a bound (a worker killed holding it must not hang the rest).
        self.lock = ctx.Lock()
        self.seq = ctx.RawValue("q", 0)  # chunks written
        self.offset = ctx.RawValue("q", first_offset)  # where the next chunk goes
        self.cancelled = ctx.RawValue("b", 0)

    def write(self, fd: int, seq: int, data: bytes) -> bool:
        """Write chunk `seq` when its turn comes; False when the run stopped before that."""
        pause = self._POLL_MIN
        while self.seq.value != seq:
            if self.cancelled.value:
                return False
            time.sleep(pause)
            pause = min(2 * pause, self._POLL_MAX)
        if self.cancelled.value or not self.lock.acquire(timeout=_LOCK_WAIT):
            return False
        try:
            offset = self.offset.value
        finally:
            self.lock.release()
        view = memoryview(data)
        while view:
            done = os.pwrite(fd, view, offset)
            view, offset = view[done:], offset + done
        if not self.lock.acquire(timeout=_LOCK_WAIT):
            return False
        try:
            # Offset first: once `seq` moves on, the next writer reads it.
            self.offset.value = offset
            self.seq.value = seq + 1
        finally:
            self.lock.release()
        return True

    def written(self) -> int:
        """How many chunks are completely in the file (a single aligned word: read unlocked)."""
        return self.seq.value

    def cancel(self) -> None:
        """Stop: writers waiting for a turn give up at their next poll."""
        self.cancelled.value = 1


#: How long a writer waits for the turn's lock, held only for two loads or stores: longer means
#: its holder was killed between them, and the run is stopping anyway.
_LOCK_WAIT = 5.0


class _Writes:
    """This worker's encoded chunks waiting for their turn (Ticket.write), in a thread of their
    own; `finish()` (when the worker ends) writes those still waiting, or drops them if the run
    was cancelled."""

    def __init__(self, ticket: Ticket, fd: int):
        self.ticket, self.fd = ticket, fd
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name="mtbrules-writes", daemon=True)
        self.thread.start()

    def put(self, seq: int, data: bytes) -> None:
        self.queue.put((seq, data))

    def _run(self) -> None:
        while (item := self.queue.get()) is not None:
            self.ticket.write(self.fd, *item)

    def finish(self) -> None:
        self.queue.put(None)
        self.thread.join()
        os.close(self.fd)


def prepare(pack) -> None:
    """The pack the workers decide with: set before they start, so that forked ones inherit it."""
    _STATE["pack"] = pack


def init_worker(
    driver: int, folder: str, out_format: str, out_path: str | None, ticket: Ticket
) -> None:
    """Set up this process (a pool worker, or the driver `driver` itself with one worker)."""
    pack = _STATE.get("pack")
    if pack is None or pack.folder != folder:
        from .registry import load_pack  # not forked (spawn): this process loads the pack

        pack = load_pack(folder)
    _STATE["pack"] = pack
    _STATE["out"] = out_format
    _STATE["ticket"] = ticket
    _STATE["writes"] = None
    fd = os.open(out_path, os.O_WRONLY) if out_path else None
    _STATE["fd"] = fd
    if fd is not None and os.getpid() != driver:
        writes = _Writes(ticket, fd)
        _STATE["writes"] = writes
        # Run when the worker ends (the pool shutting down): the chunks still waiting are written.
        mp_util.Finalize(writes, writes.finish, exitpriority=10)


def close() -> None:
    """The driver's own output descriptor (one worker: the driver wrote), closed."""
    fd = _STATE.pop("fd", None)
    if fd is not None and _STATE.get("writes") is None:
        os.close(fd)


def work(item: tuple) -> tuple:
    """(seq, chunk) → (seq, rows it covers, decisions, payload, errors). With an output file the
    decisions are written here and the payload is their size in bytes; else the payload is the
    encoded decisions, for the driver to write (standard output, Parquet)."""
    seq, chunk = item
    pack = _STATE["pack"]
    evaluate = pack.evaluate
    fmt = _STATE["out"]
    errors: list = []
    results: list = []  # (row, decision dict); for JSONL the pieces of the lines instead
    append = results.append
    decided = 0
    for row, case, field, message in caseio.chunk_cases(chunk, pack):
        if case is None:
            errors.append((row, field, message))
            continue
        try:
            if fmt == "jsonl":
                body = evaluate(case).to_json_bytes()
                # caseio.decision_line(row, body) in pieces, joined once for the whole chunk
                # (a third less copying of the 3 KB lines).
                append(b'{"row":%d,' % row)
                append(memoryview(body)[1:])
                append(b"\n")
                decided += 1
            else:
                append((row, evaluate(case).to_dict()))
        except Exception as exc:  # noqa: BLE001 - reported per row, as failure() says
            errors.append((row, *caseio.failure(exc)))
    rows = caseio.chunk_rows(chunk)
    if fmt != "jsonl":
        decided = len(results)
    if fmt == "parquet":
        return seq, rows, decided, caseio.encode_decisions(results, fmt), errors
    data = b"".join(results) if fmt == "jsonl" else caseio.encode_decision_bytes(results, fmt)
    fd = _STATE["fd"]
    if fd is None:
        return seq, rows, decided, data, errors
    writes = _STATE["writes"]
    if writes is not None:
        writes.put(seq, data)
    else:
        _STATE["ticket"].write(fd, seq, data)  # the driver itself: always its turn
    return seq, rows, decided, len(data), errors
