"""Evaluate a caseload: JSONL, CSV or Parquet in and out, streaming, in parallel.

Each output row is exactly `eval`'s Decision JSON with the input row number
added as `row` (JSONL), or key columns plus a `decision_json` column (CSV,
Parquet). A row that cannot be evaluated (bad JSON, unknown field, wrong
type, a runtime conflict) goes to the errors file with its row number, field
and message; the rest goes on. The files themselves are read and written by
`mtbrules.caseio`; the worker processes are `mtbrules.pool`'s, and what each
does with a chunk is `mtbrules.batchwork`'s.

This module is the driver: it cuts the input into chunks (for a JSONL file,
byte ranges cut at line ends, which the workers read themselves), hands them
out, and keeps the errors file, the counts, the progress line and the
manifest. The decisions never pass through it when they go to a JSONL or CSV
file: each worker writes its chunk at its place in the output (standard
output and Parquet, which cannot be written that way, are written here).

Memory stays flat: at most a few chunks per worker are in flight, and each is
written as soon as the chunks before it are.

Nothing is lost or passed off as complete when a run is interrupted: output
goes to `OUT.partial` (and `ERRORS.partial`) and is renamed when the run has
finished; SIGTERM or Ctrl-C stops the run after the chunks in flight, leaves
the partial files and their manifest of rows done (`mtbrules.partial`), and
raises `Interrupted`; `resume=True` continues such a run.

>>> import mtbrules
>>> from mtbrules.batch import evaluate_iter
>>> [r.decision["outcome"] for r in evaluate_iter(mtbrules.load_pack("qingdao"),
...     [{"service": "certificate", "submitted_on": "2025-09-29", "diseases": ["恶性肿瘤"]}])]
['instant']
"""

from __future__ import annotations

import collections
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Self

import attrs

from . import batchwork, caseio, partial
from .caseio import (
    CHUNK_ROWS,
    FORMATS,
    KEY_COLUMNS,
    detect_format,
    failure,
    row_to_case,
)
from .errors import InputError
from .pool import context as pool_context
from .pool import default_workers, parallel_map
from .progress import Progress, wanted
from .registry import load_pack

__all__ = [
    "CHUNK_ROWS",
    "FORMATS",
    "KEY_COLUMNS",
    "BatchStats",
    "Interrupted",
    "RowResult",
    "default_workers",
    "detect_format",
    "evaluate_file",
    "evaluate_iter",
    "parallel_map",
    "row_to_case",
]


@attrs.frozen
class RowResult:
    """One input row: its decision JSON, or why it could not be evaluated."""

    row: int
    decision: dict | None = None
    field: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.decision is not None


@attrs.frozen
class BatchStats:
    rows: int
    ok: int
    bad: int
    seconds: float
    output: str
    errors: str | None

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


class Interrupted(Exception):
    """The run stopped before the end (a signal, or a worker that died); `rows_done` rows are in
    the partial files named by `manifest`, and `resume=True` continues from there."""

    def __init__(self, reason: str, exit_code: int, stats: BatchStats, manifest: str | None):
        self.reason = reason
        self.exit_code = exit_code
        self.stats = stats
        self.manifest = manifest
        where = (
            f"; the rows done are in {partial.partial_name(stats.output)} ({manifest}); "
            "run the same command with --resume to finish"
            if manifest
            else ""
        )
        super().__init__(f"interrupted ({reason}) after {stats.rows:,} rows{where}")


def evaluate_iter(pack, cases: Iterable, start: int = 1) -> Iterator[RowResult]:
    """Evaluate `cases` (mappings) one by one, in this process; a bad case is a RowResult with `error`."""
    for row, case in enumerate(cases, start):
        try:
            yield RowResult(row, pack.evaluate(case).to_dict())
        except Exception as exc:  # noqa: BLE001 - a bad row is reported, never raised
            field, message = failure(exc)
            yield RowResult(row, None, field, message)


# ---------------------------------------------------------------- the output files


class _StreamOutput:
    """JSONL or CSV decisions as bytes, appended in order by the parent (standard output)."""

    def __init__(self, path: str):
        self.fh = sys.stdout.buffer

    def write(self, data: bytes) -> None:
        if data:
            self.fh.write(data)

    def flush(self) -> int:
        self.fh.flush()
        try:
            return self.fh.tell()
        except OSError:  # a pipe
            return 0

    def close(self) -> None:
        self.fh.flush()


class _WorkerOutput:
    """A JSONL or CSV file the workers write into (batchwork.Ticket); this side creates it (with
    the CSV header), or cuts a resumed one back to the manifest, and follows the length of the
    chunks it has taken in."""

    def __init__(self, path: str, header: bytes, resume_at: int | None):
        self.path = path
        if resume_at is None:
            with open(path, "wb") as fh:
                fh.write(header)
            self.end = len(header)
        else:
            partial.truncate(path, resume_at)
            self.end = resume_at

    def write(self, size: int) -> None:
        self.end += size

    def flush(self) -> int:
        return self.end  # pwrite()s are in the kernel's hands: a killed process loses none

    def close(self) -> None:
        # Chunks the workers wrote after the last one taken in (a stopped run) are not in the run.
        partial.truncate(self.path, self.end)


class _ParquetOutput:
    """Parquet decisions; a resumed run copies the rows of the interrupted one first."""

    def __init__(self, path: str, resume_rows: int | None):
        if resume_rows is not None:
            # deferred: pyarrow is optional (the parquet extra)
            import pyarrow.parquet as pq

            old = path + ".resumed"
            os.replace(path, old)
            try:
                table = pq.read_table(old)
            except Exception:  # noqa: BLE001 - pyarrow's ArrowInvalid: no footer, the run was killed
                os.replace(old, path)
                raise InputError(
                    f"--resume: {path} is not a complete Parquet file (the run was killed, not "
                    "stopped); Parquet output can only be resumed after SIGTERM or Ctrl-C; "
                    "run without --resume to start again"
                ) from None
            if table.num_rows < resume_rows:
                os.replace(old, path)
                raise InputError(
                    f"--resume: {path} holds {table.num_rows} decisions, fewer than the "
                    f"{resume_rows} of its manifest; run without --resume to start again"
                )
            table = table.slice(0, resume_rows)  # rows written after the last manifest go
            self.writer = caseio.TableWriter(path, "parquet")
            self.writer.writer.write_table(table)
            os.remove(old)
        else:
            self.writer = caseio.TableWriter(path, "parquet")

    def write(self, columns: dict) -> None:
        self.writer.write(columns)

    def flush(self) -> int:
        return 0  # a Parquet file is complete only when closed; resuming counts rows instead

    def close(self) -> None:
        self.writer.close()


class _Stop:
    """SIGTERM and SIGINT, caught while the run is on: the run stops after the chunks in flight.
    A second signal stops at once (the manifest still names only what was written)."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.previous: dict = {}

    def __enter__(self) -> Self:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self.previous[sig] = signal.signal(sig, self._caught)
        return self

    def _caught(self, signum, frame) -> None:
        if self.signum is not None:
            raise KeyboardInterrupt
        self.signum = signum

    def __exit__(self, *exc) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


# ---------------------------------------------------------------- the whole file


def evaluate_file(
    pack,
    src: str,
    dst: str,
    *,
    errors: str | None = "auto",
    in_format: str | None = None,
    out_format: str | None = None,
    workers: int | None = None,
    chunk_rows: int = CHUNK_ROWS,
    progress: bool | None = None,
    resume: bool = False,
) -> BatchStats:
    """Evaluate every row of `src` with `pack` (a Pack, built-in id or folder) into `dst`.

    `errors`: the errors file (JSONL, or CSV if it ends in .csv); "auto" puts it
    next to `dst` as `<dst>.errors.jsonl` (standard error when `dst` is "-");
    None sends errors to standard error. `workers`: processes (default: the
    CPUs available). `progress`: a progress line on standard error (default:
    when it is a terminal and the CI variable is not set). `resume`: continue
    the interrupted run of the same input, pack and output (see the module).
    Raises InputError when the input cannot be read at all, Interrupted when
    the run was stopped before the end.
    """
    if not hasattr(pack, "evaluate"):
        pack = load_pack(pack)
    fin, fout = caseio.run_formats(src, dst, in_format, out_format)
    if src != "-" and not os.path.isfile(src):
        raise InputError(f"{src}: no such file")
    errors = caseio.errors_path(dst, errors)
    progress = wanted(progress)
    workers = default_workers() if workers is None else max(1, workers)
    started = time.monotonic()
    kept = dst != "-"  # standard output cannot be renamed or resumed
    if resume and not kept:
        raise InputError("--resume: needs an output file (-o FILE), not standard output")
    if resume and src == "-":
        raise InputError("--resume: needs an input file, not standard input")
    manifest = None
    if kept:
        job = {
            **(partial.input_identity(src) if src != "-" else {"input": "-"}),
            "in_format": fin,
            "out_format": fout,
            "pack": pack.id,
            "pack_fingerprint": partial.fingerprint_folder(pack.folder),
        }
        if resume:
            manifest = partial.load(dst, job, errors)
        else:
            manifest = partial.Manifest(dst, errors, job)
    done = manifest or partial.Manifest(dst, errors, {})
    position: list = [None, None]
    # Each chunk's last row and where the input stands after it, in the order sent.
    sent: collections.deque = collections.deque()

    def tracked(chunks):
        for seq, chunk in enumerate(chunks):
            sent.append((chunk[1] + caseio.chunk_rows(chunk) - 1, position[0]))
            yield seq, chunk

    if fin == "jsonl" and src != "-" and (not resume or done.input_offset is not None):
        # Byte ranges: the workers read the lines themselves; only the line ends are read here.
        reader = caseio.jsonl_ranges(
            src,
            chunk_rows,
            position,
            start=done.rows_done + 1,
            offset=done.input_offset if resume and done.input_offset is not None else 0,
        )
    else:
        reader = caseio.read_chunks(
            src,
            fin,
            chunk_rows,
            position,
            skip_rows=done.rows_done,
            offset=done.input_offset if resume else None,
        )
    # Read the first chunks here so that an unusable input fails before any output is created.
    chunks = _Peeked(tracked(reader))
    out_path = partial.partial_name(dst) if kept else dst
    err_path = partial.partial_name(errors) if kept and errors else errors
    try:
        if fout == "parquet":
            writer: Any = _ParquetOutput(out_path, done.ok if resume else None)
        elif kept:
            header = caseio.csv_header() if fout == "csv" else b""
            writer = _WorkerOutput(out_path, header, done.output_bytes if resume else None)
        else:
            writer = _StreamOutput(out_path)
        if resume and err_path:
            partial.truncate(err_path, done.errors_bytes)
        err = caseio.ErrorWriter(err_path, append=resume, format_name=errors)
    except BaseException:
        chunks.close()
        raise
    if manifest is not None:
        manifest.output_bytes = writer.flush()
        manifest.errors_bytes = err.flush()
        manifest.save()
    meter = Progress(progress, position[1])
    meter.rows = done.rows_done
    # Small inputs are not worth starting processes for.
    if workers > 1 and chunks.small():
        workers = 1
    batchwork.prepare(pack)
    checkpoint = partial.Throttle(0.5)
    reason = None
    exit_code = 0
    finished = False  # every chunk handed out and decided: a signal now changes nothing
    worker_file = out_path if isinstance(writer, _WorkerOutput) else None
    ticket = batchwork.Ticket(pool_context(), writer.flush() if worker_file else 0)
    results = parallel_map(
        batchwork.work,
        chunks,
        workers,
        batchwork.init_worker,
        (os.getpid(), pack.folder, fout, worker_file, ticket),
        on_stop=ticket.cancel,
    )
    # Chunks decided whose decisions may not all be written yet (the workers write them): they
    # count, and their errors are written, once they are (`settle`), so that the errors file
    # and the manifest never run ahead of the output.
    decided: collections.deque = collections.deque()

    def settle() -> None:
        written = ticket.written() if worker_file else None
        while decided and (written is None or decided[0][0] < written):
            _, _, ok, payload, errs = decided.popleft()
            writer.write(payload)
            err.write(errs)
            last_row, offset = sent.popleft()
            done.rows_done = last_row
            done.input_offset = offset
            done.ok += ok
            done.bad += len(errs)

    def save() -> None:
        if manifest is not None:
            manifest.output_bytes = writer.flush()
            manifest.errors_bytes = err.flush()
            manifest.save()

    try:
        with _Stop() as stop:
            try:
                for result in results:
                    decided.append(result)
                    meter.update(result[1], position[0])
                    settle()
                    if stop.signum is not None or checkpoint():
                        save()
                    if stop.signum is not None:
                        break
                else:
                    finished = True
            except BrokenProcessPool:
                reason, exit_code = "a worker process ended unexpectedly", 3
            if stop.signum is not None and not finished:
                reason = signal.Signals(stop.signum).name
                exit_code = 128 + stop.signum
    finally:
        if not finished:
            ticket.cancel()  # chunks not yet written are dropped: the manifest never names them
        results.close()  # waits for the workers to finish what they hold (and write it)
        batchwork.close()
        try:
            settle()  # what was written while the workers finished
            if decided and reason is None and finished:
                reason, exit_code = "a worker process ended unexpectedly", 3
            save()
            writer.close()
        finally:
            err.close()
            chunks.close()
    meter.update(0, position[0], final=True)
    stats = BatchStats(
        rows=done.ok + done.bad,
        ok=done.ok,
        bad=done.bad,
        seconds=round(time.monotonic() - started, 3),
        output=dst,
        errors=errors,
    )
    if reason is not None:
        if manifest is not None:
            manifest.interrupted = reason
            manifest.save()
        raise Interrupted(reason, exit_code, stats, manifest.path if manifest else None)
    if manifest is not None:
        partial.commit(manifest)
    return stats


class _Peeked:
    """An iterator whose first two items are read eagerly (errors surface early; size known)."""

    def __init__(self, it: Iterator):
        self.it = it
        self.head: list = []
        for _ in range(2):
            try:
                self.head.append(next(self.it))
            except StopIteration:
                break

    def small(self) -> bool:
        return len(self.head) < 2

    def close(self) -> None:
        close = getattr(self.it, "close", None)
        if close is not None:
            close()

    def __iter__(self):
        yield from self.head
        self.head = []
        yield from self.it
