"""Evaluate a caseload: JSONL, CSV or Parquet in and out, streaming, in parallel.

Each output row is exactly `eval`'s Decision JSON with the input row number
added as `row` (JSONL), or key columns plus a `decision_json` column (CSV,
Parquet). A row that cannot be evaluated (bad JSON, unknown field, wrong
type, a runtime conflict) goes to the errors file with its row number, field
and message; the rest goes on. The files themselves are read and written by
`mtbrules.caseio`; the worker processes are `mtbrules.pool`'s.

Memory stays flat: the input is read in chunks, at most a few chunks per
worker are in flight, and output is written as chunks come back, in order.

>>> import mtbrules
>>> from mtbrules.batch import evaluate_iter
>>> [r.decision["outcome"] for r in evaluate_iter(mtbrules.load_pack("qingdao"),
...     [{"service": "certificate", "submitted_on": "2025-09-29", "diseases": ["恶性肿瘤"]}])]
['instant']
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any

import attrs

from . import caseio
from .caseio import (
    CHUNK_ROWS,
    FORMATS,
    KEY_COLUMNS,
    detect_format,
    failure,
    row_to_case,
)
from .errors import InputError
from .pool import default_workers, parallel_map
from .progress import Progress

__all__ = [
    "CHUNK_ROWS",
    "FORMATS",
    "KEY_COLUMNS",
    "BatchStats",
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


def _init_worker(folder: str, out_format: str) -> None:
    pack = _STATE.get("pack")
    if pack is None or pack.folder != folder:
        from .registry import load_pack

        pack = load_pack(folder)
    _STATE["pack"] = pack
    _STATE["out"] = out_format


def _work(chunk) -> tuple:
    """A chunk → (rows it covers, the encoded decisions, the errors)."""
    pack = _STATE["pack"]
    evaluate = pack.evaluate
    errors: list = []
    results: list = []  # (row, decision dict)
    for row, case, field, message in caseio.chunk_cases(chunk, pack):
        if case is None:
            errors.append((row, field, message))
            continue
        try:
            results.append((row, evaluate(case).to_dict()))
        except Exception as exc:  # noqa: BLE001 - reported per row, as failure() says
            errors.append((row, *failure(exc)))
    return caseio.chunk_rows(chunk), caseio.encode_decisions(results, _STATE["out"]), errors


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
) -> BatchStats:
    """Evaluate every row of `src` with `pack` (a Pack, built-in id or folder) into `dst`.

    `errors`: the errors file (JSONL, or CSV if it ends in .csv); "auto" puts it
    next to `dst` as `<dst>.errors.jsonl` (standard error when `dst` is "-");
    None sends errors to standard error. `workers`: processes (default: the
    CPUs available). `progress`: a progress line on standard error (default:
    when it is a terminal and the CI variable is not set).
    Raises InputError when the input cannot be read at all.
    """
    from .registry import load_pack

    if not hasattr(pack, "evaluate"):
        pack = load_pack(pack)
    fin = detect_format(src, in_format)
    fout = detect_format(dst, out_format)
    caseio.check_formats(fin, fout)
    if src != "-" and not os.path.isfile(src):
        raise InputError(f"{src}: no such file")
    if errors == "auto":
        errors = None if dst == "-" else dst + ".errors.jsonl"
    if progress is None:
        progress = sys.stderr.isatty() and not os.environ.get("CI")
    workers = default_workers() if workers is None else max(1, workers)
    position: list = [None, None]
    started = time.monotonic()

    # Read the first chunks here so that an unusable input fails before any output is created.
    chunks = _Peeked(caseio.read_chunks(src, fin, chunk_rows, position))
    try:
        writer = caseio.decision_writer(dst, fout)
        err = caseio.ErrorWriter(errors)
    except BaseException:
        chunks.close()
        raise
    meter = Progress(progress, position[1])
    rows = ok = 0
    # Small inputs are not worth starting processes for.
    if workers > 1 and chunks.small():
        workers = 1
    _STATE["pack"] = pack
    try:
        for count, payload, errs in parallel_map(
            _work, chunks, workers, _init_worker, (pack.folder, fout)
        ):
            writer.write(payload)
            err.write(errs)
            rows += count
            ok += caseio.encoded_rows(payload)
            meter.update(count, position[0])
    finally:
        writer.close()
        err.close()
        chunks.close()
    meter.update(0, position[0], final=True)
    bad = err.count
    return BatchStats(
        rows=ok + bad,
        ok=ok,
        bad=bad,
        seconds=round(time.monotonic() - started, 3),
        output=dst,
        errors=errors,
    )


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
