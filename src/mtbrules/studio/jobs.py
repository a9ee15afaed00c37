"""Impact runs in the background: a caseload through the old and the new pack, with progress and cancel.

A caseload is a file the analyst chose (JSONL, CSV or Parquet, read as
`mtbrules batch` reads them, through `batch.row_to_case`) or a seeded
synthetic one (`synth.synth_cases`). The run compares each case's decision
under the pack as opened and under the draft (`diff.compare_case`), and
aggregates with `diff.Impact`, keeping up to `ROWS_KEPT` example rows per
change so every bar of the charts leads to its cases. The cases stay in this
process's memory only (never in a log), so a bar can show each case's
decisions side by side.
"""

from __future__ import annotations

import csv
import itertools
import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..batch import row_to_case
from ..diff import Impact, compare_case, static_diff
from ..errors import InputError, MtbError
from ..synth import synth_cases

ROWS_KEPT = 500  # example rows kept per change (the drill-down list)
MAX_CASES = 200_000
MAX_SYNTH = 100_000
FORMATS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
}


def caseload_format(name: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"{name}: a caseload is a .jsonl, .csv or .parquet file")
    return FORMATS[suffix]


def count_rows(path: Path, fmt: str) -> int:
    if fmt == "parquet":
        pq = _parquet()
        try:
            return pq.ParquetFile(path).metadata.num_rows
        except Exception as exc:  # noqa: BLE001 - pyarrow raises ArrowInvalid for non-Parquet files
            raise InputError(f"{path.name}: not a Parquet file: {exc}") from None
    with open(path, "rb") as fh:
        lines = sum(1 for line in fh if line.strip())
    return max(0, lines - 1) if fmt == "csv" else lines


def read_caseload(path: Path, fmt: str, pack) -> Iterator[tuple[int, Any]]:
    """(row, case or an error message) for each record; rows numbered as `mtbrules batch` does."""
    if fmt == "jsonl":
        with open(path, "rb") as fh:
            for row, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    yield row, json.loads(line)
                except ValueError as exc:
                    yield row, f"invalid JSON: {exc}"
        return
    if fmt == "csv":
        with open(path, encoding="utf-8-sig", newline="") as fh:
            for row, record in enumerate(csv.DictReader(fh), 1):
                yield row, _converted(record, pack)
        return
    pq = _parquet()
    row = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=2000):
        for record in batch.to_pylist():
            row += 1
            yield row, _converted(record, pack)


def _parquet():
    try:
        # deferred: pyarrow is optional (the parquet extra)
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(
            'Parquet caseloads need pyarrow: pip install "mtbrules[parquet]"'
        ) from None
    return pq


def _converted(record, pack) -> Any:
    try:
        return row_to_case(record, pack)
    except MtbError as exc:
        return str(exc)


class ImpactJob:
    """One impact run: its progress, its result, and a way to stop it."""

    def __init__(self, old, new, cases: Iterator[tuple[int, Any]], total: int, label: str, keep=()):
        self.id = uuid.uuid4().hex[:12]
        self.old, self.new = old, new
        self.label = label
        self.total = total
        self.done = 0
        self.state = "running"  # running | done | cancelled | failed
        self.error: str | None = None
        self.cases: dict[int, Any] = {}
        self.impact: Impact | None = None
        self.static: dict | None = None
        self.started = time.monotonic()
        self.seconds = 0.0
        self._cancel = threading.Event()
        self._source = cases
        self._keep = keep  # objects (drafts) that must live as long as the job
        self._thread = threading.Thread(target=self._run, name=f"impact-{self.id}", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def percent(self) -> float:
        return 100.0 * self.done / self.total if self.total else 100.0

    def _run(self) -> None:
        try:
            self.static = static_diff(self.old, self.new)
            impact = Impact(self.old, self.new, self.static, examples=ROWS_KEPT)
            for row, case in self._source:
                if self._cancel.is_set():
                    self.state = "cancelled"
                    break
                if isinstance(case, str):
                    impact.add({"row": row, "invalid": case})
                else:
                    self.cases[row] = case
                    impact.add(compare_case(row, case, self.old, self.new))
                self.done += 1
                self.impact = impact
            else:
                self.impact = impact
                self.state = "done"
        except MtbError as exc:
            self.state, self.error = "failed", str(exc)
        except Exception as exc:  # noqa: BLE001 - shown on the page instead of killing the thread silently
            self.state, self.error = (
                "failed",
                f"internal error (a bug): {type(exc).__name__}: {exc}",
            )
        finally:
            self.seconds = time.monotonic() - self.started


def synthetic(pack, count: int, seed: int) -> Iterator[tuple[int, Any]]:
    return enumerate(synth_cases(pack, count, seed=seed), 1)


def limited(cases: Iterator[tuple[int, Any]], limit: int = MAX_CASES) -> Iterator[tuple[int, Any]]:
    return itertools.islice(cases, limit)


class Jobs:
    """The studio's impact runs and uploaded caseloads, by id."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.jobs: dict[str, ImpactJob] = {}
        self.caseloads: dict[str, tuple[Path, str, str, int]] = {}  # id -> path, name, fmt, rows

    def add_caseload(self, name: str, body: bytes) -> tuple[str, int]:
        fmt = caseload_format(name)
        ident = uuid.uuid4().hex[:12]
        path = self.folder / f"{ident}{Path(name).suffix.lower()}"
        path.write_bytes(body)
        rows = count_rows(path, fmt)
        self.caseloads[ident] = (path, Path(name).name, fmt, rows)
        return ident, rows

    def get(self, ident: str) -> ImpactJob:
        try:
            return self.jobs[ident]
        except KeyError:
            raise InputError(f"no impact run '{ident}'") from None
