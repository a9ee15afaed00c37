"""Evaluate a caseload: JSONL, CSV or Parquet in and out, streaming, in parallel.

Each output row is exactly `eval`'s Decision JSON with the input row number
added as `row` (JSONL), or key columns plus a `decision_json` column (CSV,
Parquet). A row that cannot be evaluated (bad JSON, unknown field, wrong
type, a runtime conflict) goes to the errors file with its row number, field
and message; the rest goes on. The files themselves are read and written by
`mtbrules.caseio`; the worker processes are `mtbrules.pool`'s.

Memory stays flat: the input is read in chunks, at most a few chunks per
worker are in flight, and output is written as chunks come back, in order.

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

from . import caseio, partial
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

# The names spark.py imported before caseio existed; kept until it uses caseio's.
_failure = failure
_JsonlWriter = caseio.JsonlWriter
_TableWriter = caseio.TableWriter
_ErrorWriter = caseio.ErrorWriter
_Progress = Progress


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


# ---------------------------------------------------------------- worker side

_STATE: dict = {}


class _Ticket:
    """The order in which workers write into one output file: the worker of chunk k takes the
    bytes that follow chunk k-1's, then writes its chunk there itself (os.pwrite) while others
    go on; decisions never pass through the parent. `cancel()` releases a worker still waiting
    for a chunk that will not come (the run is stopping)."""

    def __init__(self, ctx, first_offset: int):
        self.turn = ctx.Condition()
        self.seq = ctx.RawValue("q", 0)
        self.offset = ctx.RawValue("q", first_offset)
        self.cancelled = ctx.RawValue("b", 0)

    def take(self, seq: int, size: int) -> int | None:
        """Where chunk `seq` (`size` bytes) goes, once every earlier chunk has its place."""
        with self.turn:
            while self.seq.value != seq:
                if self.cancelled.value:
                    return None
                self.turn.wait(1.0)
            offset = self.offset.value
            self.offset.value = offset + size
            self.seq.value = seq + 1
            self.turn.notify_all()
        return offset

    def cancel(self) -> None:
        with self.turn:
            self.cancelled.value = 1
            self.turn.notify_all()


def _init_worker(folder: str, out_format: str, out_path: str | None, ticket) -> None:
    pack = _STATE.get("pack")
    if pack is None or pack.folder != folder:
        from .registry import load_pack

        pack = load_pack(folder)
    _STATE["pack"] = pack
    _STATE["out"] = out_format
    _STATE["ticket"] = ticket
    _STATE["fd"] = os.open(out_path, os.O_WRONLY) if out_path else None


def _work(item) -> tuple:
    """(seq, chunk) → (rows it covers, decisions, the end of the output so far or the encoded
    decisions, the errors). With an output file, the worker writes the decisions itself."""
    seq, chunk = item
    pack = _STATE["pack"]
    evaluate = pack.evaluate
    fmt = _STATE["out"]
    errors: list = []
    results: list = []  # (row, decision dict), or JSONL lines
    for row, case, field, message in caseio.chunk_cases(chunk, pack):
        if case is None:
            errors.append((row, field, message))
            continue
        try:
            decision = evaluate(case)
            if fmt == "jsonl":
                results.append(_jsonl_line(row, decision.to_json_bytes()))
            else:
                results.append((row, decision.to_dict()))
        except Exception as exc:  # noqa: BLE001 - reported per row, as failure() says
            errors.append((row, *failure(exc)))
    rows = caseio.chunk_rows(chunk)
    if fmt == "parquet":
        return rows, len(results), caseio.encode_decisions(results, fmt), errors
    if fmt == "jsonl":
        data = b"".join(results)
    else:
        data = caseio.encode_decision_bytes(results, fmt)
    fd = _STATE["fd"]
    if fd is None:
        return rows, len(results), data, errors
    offset = _STATE["ticket"].take(seq, len(data))
    if offset is None:
        return rows, 0, None, []  # the run is stopping; the parent takes no more results
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written
    return rows, len(results), offset, errors


def _jsonl_line(row: int, decision_json: bytes) -> bytes:
    """`{"row": N, ...the decision}` + newline: the decision's own compact JSON with `row` put
    first, the bytes `caseio.dumps_bytes({"row": N, **decision.to_dict()})` gives, without
    building the dict."""
    return b'{"row":%d,%s\n' % (row, decision_json[1:])


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
    """A JSONL or CSV file the workers write into (see _Ticket); this side creates it (with
    the CSV header), or cuts a resumed one back to the manifest, and follows its length."""

    def __init__(self, path: str, header: bytes, resume_at: int | None):
        self.path = path
        if resume_at is None:
            with open(path, "wb") as fh:
                fh.write(header)
            self.end = len(header)
        else:
            partial.truncate(path, resume_at)
            self.end = resume_at

    def write(self, end: int | None) -> None:
        if end is not None:
            self.end = end

    def flush(self) -> int:
        return self.end  # pwrite()s are in the kernel's hands: a killed process loses none

    def close(self) -> None:
        # Chunks the workers wrote after the last one taken (a stopped run) are not in the run.
        partial.truncate(self.path, self.end)


class _ParquetOutput:
    """Parquet decisions; a resumed run copies the rows of the interrupted one first."""

    def __init__(self, path: str, resume_rows: int | None):
        if resume_rows is not None:
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
    from .registry import load_pack

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

    # Read the first chunks here so that an unusable input fails before any output is created.
    chunks = _Peeked(
        tracked(
            caseio.read_chunks(
                src,
                fin,
                chunk_rows,
                position,
                skip_rows=done.rows_done,
                offset=done.input_offset if resume else None,
            )
        )
    )
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
    _STATE["pack"] = pack
    checkpoint = partial.Throttle(0.5)
    reason = None
    exit_code = 0
    finished = False  # every chunk written: a signal that comes now changes nothing
    worker_file = out_path if isinstance(writer, _WorkerOutput) else None
    ticket = _Ticket(pool_context(), writer.flush() if worker_file else 0)
    results = parallel_map(
        _work,
        chunks,
        workers,
        _init_worker,
        (pack.folder, fout, worker_file, ticket),
        on_stop=ticket.cancel,
    )
    try:
        with _Stop() as stop:
            try:
                for count, ok, payload, errs in results:
                    writer.write(payload)
                    err.write(errs)
                    last_row, offset = sent.popleft()
                    done.rows_done = last_row
                    done.input_offset = offset
                    done.ok += ok
                    done.bad += len(errs)
                    meter.update(count, position[0])
                    if manifest is not None and (stop.signum is not None or checkpoint()):
                        manifest.output_bytes = writer.flush()
                        manifest.errors_bytes = err.flush()
                        manifest.save()
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
        ticket.cancel()
        results.close()  # waits for the workers to finish what they hold
        if _STATE.get("fd") is not None:  # one worker: this process wrote
            os.close(_STATE.pop("fd"))
        writer.close()
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
