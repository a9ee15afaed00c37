"""Evaluate a caseload: JSONL, CSV or Parquet in and out, streaming, in parallel.

Each output row is exactly `eval`'s Decision JSON with the input row number
added as `row` (JSONL), or key columns plus a `decision_json` column (CSV,
Parquet). A row that cannot be evaluated (bad JSON, unknown field, wrong
type, a runtime conflict) goes to the errors file with its row number, field
and message; the rest goes on.

Row numbers: for JSONL the line number (blank lines are skipped but counted);
for CSV and Parquet the 1-based record number (the first record after the CSV
header is row 1).

Memory stays flat: the input is read in chunks, at most a few chunks per
worker are in flight, and output is written as chunks come back, in order.

>>> import mtbrules
>>> from mtbrules.batch import evaluate_iter
>>> [r.decision["outcome"] for r in evaluate_iter(mtbrules.load_pack("qingdao"),
...     [{"service": "certificate", "submitted_on": "2025-09-29", "diseases": ["恶性肿瘤"]}])]
['instant']
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import json
import multiprocessing
import os
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import attrs

from .errors import InputError, MtbError

CHUNK_ROWS = 2000
FORMATS = ("jsonl", "csv", "parquet")
_EXT = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
#: Key columns of CSV/Parquet output, before `decision_json`.
KEY_COLUMNS = (
    "row",
    "pack",
    "pack_version",
    "service",
    "as_of",
    "outcome",
    "complete",
    "required_documents",
    "missing_documents",
    "channels",
    "decision_due",
    "benefit_start",
    "valid_until",
)


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


# ---------------------------------------------------------------- one row


def _evaluate_row(pack, case) -> dict:
    return pack.evaluate(case).to_dict()


def _failure(exc: BaseException) -> tuple[str | None, str]:
    if isinstance(exc, MtbError):
        return getattr(exc, "field", None), str(exc)
    return None, f"internal error (a bug): {type(exc).__name__}: {exc}"


def evaluate_iter(pack, cases: Iterable, start: int = 1) -> Iterator[RowResult]:
    """Evaluate `cases` (mappings) one by one, in this process; a bad case is a RowResult with `error`."""
    for row, case in enumerate(cases, start):
        try:
            yield RowResult(row, _evaluate_row(pack, case))
        except Exception as exc:  # noqa: BLE001 - a bad row is reported, never raised
            field, message = _failure(exc)
            yield RowResult(row, None, field, message)


# ---------------------------------------------------------------- table rows → cases

_TRUE = {"true", "1", "yes", "y", "t", "是"}
_FALSE = {"false", "0", "no", "n", "f", "否"}
_LIST_FIELDS = {"diseases", "materials"}


def row_to_case(row: Mapping, pack) -> dict:
    """A CSV/Parquet record → a case mapping.

    Empty cells are absent fields; `offsite.x`/`prior.x` columns build the
    objects; text cells are converted by the field's type (booleans accept
    true/false/1/0/yes/no; lists are a JSON array or items separated by `;`).
    A `case_json` column, when present and non-empty, is the whole case.
    """
    from .case import CASE_FIELDS, CASE_OBJECTS, PACK_FIELD_TYPES

    whole = row.get("case_json")
    if isinstance(whole, str) and whole.strip():
        try:
            value = json.loads(whole)
        except ValueError as exc:
            raise _case_error("case_json", f"invalid JSON: {exc}") from None
        return value
    case: dict[str, Any] = {}
    for key, value in row.items():
        if key == "case_json" or value is None or (isinstance(value, str) and not value.strip()):
            continue
        if "." in key:
            obj, sub = key.split(".", 1)
            fields = CASE_OBJECTS.get(obj)
            type_ = fields.get(sub) if fields else None
            target = case.setdefault(obj, {})
            if not isinstance(target, dict):
                raise _case_error(key, f"'{obj}' is given both as a column and as {key}")
            target[sub] = _convert(key, value, type_)
            continue
        if key in CASE_FIELDS:
            type_ = CASE_FIELDS[key]
        elif key in pack.case_fields:
            type_ = PACK_FIELD_TYPES[pack.case_fields[key]]
        else:
            type_ = None  # unknown or `pack`: passed through, the case parser names it
        if key in CASE_OBJECTS and isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError as exc:
                raise _case_error(key, f"invalid JSON object: {exc}") from None
            type_ = None
        case[key] = _convert(key, value, type_)
    return case


def _case_error(field: str, message: str):
    from .errors import CaseError

    return CaseError(f"case field '{field}': {message}", field=field)


def _convert(field: str, value: Any, type_) -> Any:
    if not isinstance(value, str) or type_ is None:
        return _plain(value)
    text = value.strip()
    name = type_.name
    if name == "bool":
        low = text.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise _case_error(field, f"expected true or false, got {text!r}")
    if name == "int":
        try:
            return int(text)
        except ValueError:
            raise _case_error(field, f"expected a whole number, got {text!r}") from None
    if name == "number":
        try:
            number = float(text)
        except ValueError:
            raise _case_error(field, f"expected a number, got {text!r}") from None
        return (
            int(number)
            if number.is_integer() and "." not in text and "e" not in text.lower()
            else number
        )
    if name == "list":
        if text.startswith("["):
            try:
                return json.loads(text)
            except ValueError as exc:
                raise _case_error(field, f"invalid JSON list: {exc}") from None
        return [item.strip() for item in text.replace("；", ";").split(";") if item.strip()]
    return text


def _plain(value: Any) -> Any:
    """Arrow values → case values (datetime → date; numpy-free already)."""
    import datetime as _dt

    if isinstance(value, _dt.datetime):
        return value.date()
    return value


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
    """(kind, start, payload) → (rows, output payload, errors)."""
    kind, start, payload = chunk
    pack = _STATE["pack"]
    out_format = _STATE["out"]
    errors: list = []
    results: list = []  # (row, decision dict)
    evaluate = pack.evaluate
    loads = json.loads
    if kind == "jsonl":
        lines = payload.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        count = len(lines)
        for i, raw in enumerate(lines):
            row = start + i
            if not raw.strip():
                continue
            try:
                case = loads(raw)
            except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8, too deep
                errors.append((row, None, f"invalid JSON: {exc}"))
                continue
            try:
                results.append((row, evaluate(case).to_dict()))
            except Exception as exc:  # noqa: BLE001 - reported per row, as _failure says
                field, message = _failure(exc)
                errors.append((row, field, message))
    else:  # "records": (row, mapping) pairs, or (row, error message) for unreadable records
        count = len(payload)
        for row, record in payload:
            if isinstance(record, str):
                errors.append((row, None, record))
                continue
            try:
                case = row_to_case(record, pack) if kind == "table" else record
                results.append((row, evaluate(case).to_dict()))
            except Exception as exc:  # noqa: BLE001
                field, message = _failure(exc)
                errors.append((row, field, message))
    return count, _encode(results, out_format), errors


def _encode(results: list, out_format: str):
    if out_format == "jsonl":
        dumps = json.dumps
        parts = []
        for row, d in results:
            parts.append(dumps({"row": row, **d}, ensure_ascii=False))
        return "\n".join(parts) + ("\n" if parts else "")
    columns: dict[str, list] = {c: [] for c in KEY_COLUMNS}
    columns["decision_json"] = []
    for row, d in results:
        deadlines = {x["kind"]: x["date"] for x in d["deadlines"]}
        columns["row"].append(row)
        for key in ("pack", "pack_version", "service", "as_of", "outcome", "complete"):
            columns[key].append(d[key])
        columns["required_documents"].append(";".join(x["id"] for x in d["required_documents"]))
        columns["missing_documents"].append(";".join(d["missing_documents"]))
        columns["channels"].append(";".join(x["id"] for x in d["channels"]))
        for kind in ("decision_due", "benefit_start", "valid_until"):
            columns[kind].append(deadlines.get(kind))
        columns["decision_json"].append(json.dumps({"row": row, **d}, ensure_ascii=False))
    return columns


# ---------------------------------------------------------------- parallel, ordered, bounded


def parallel_map(
    func, chunks: Iterable, workers: int, initializer, initargs, inflight: int | None = None
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
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


# ---------------------------------------------------------------- readers


def detect_format(path: str, given: str | None) -> str:
    if given:
        return given
    if path == "-":
        return "jsonl"
    ext = os.path.splitext(path)[1].lower()
    if ext in _EXT:
        return _EXT[ext]
    raise InputError(
        f"{path}: cannot tell the format from the name; use --in-format/--out-format ({', '.join(FORMATS)})"
    )


class _Progress:
    """Rows done and the share of the input read, on standard error, when it is a terminal."""

    def __init__(self, enabled: bool, total_bytes: int | None):
        self.enabled = enabled
        self.total = total_bytes
        self.rows = 0
        self.started = time.monotonic()
        self.last = 0.0

    def update(self, rows: int, position: int | None = None, final: bool = False):
        self.rows += rows
        if not self.enabled:
            return
        now = time.monotonic()
        if not final and now - self.last < 0.2:
            return
        self.last = now
        rate = self.rows / max(now - self.started, 1e-9)
        share = ""
        if self.total and position is not None:
            share = f"{min(100.0, 100.0 * position / self.total):5.1f}%  "
        sys.stderr.write(f"\r{share}{self.rows:,} rows  {rate:,.0f} rows/s ")
        if final:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _jsonl_chunks(stream, chunk_rows: int, progress_pos: list):
    buf: list = []
    start = 1
    for line in stream:
        buf.append(line if line.endswith(b"\n") else line + b"\n")
        if len(buf) >= chunk_rows:
            progress_pos[0] = _tell(stream)
            yield ("jsonl", start, b"".join(buf).replace(b"\r\n", b"\n"))
            start += len(buf)
            buf = []
    if buf:
        progress_pos[0] = _tell(stream)
        yield ("jsonl", start, b"".join(buf).replace(b"\r\n", b"\n"))


def _tell(stream):
    try:
        return stream.tell()
    except (OSError, ValueError):
        return None


def _csv_chunks(path: str, chunk_rows: int, progress_pos: list):
    import csv

    try:
        fh = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed by the `with fh` below
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    with fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            return
        except (csv.Error, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: unreadable CSV header: {exc}") from None
        header = [h.strip() for h in header]
        if not any(header):
            raise InputError(f"{path}:1: the CSV header is empty")
        width = len(header)
        row = 0
        buf: list = []
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                row += 1
                buf.append((row, f"unreadable CSV record (line {reader.line_num}): {exc}"))
                continue
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"{path}: not UTF-8 text near record {row + 1}: {exc.reason}"
                ) from None
            if not cells:
                continue  # a blank line is not a record
            row += 1
            if len(cells) != width:
                buf.append(
                    (
                        row,
                        f"expected {width} cells as in the header, got {len(cells)} (line {reader.line_num})",
                    )
                )
            else:
                buf.append((row, dict(zip(header, cells))))
            if len(buf) >= chunk_rows:
                yield ("table", buf[0][0], buf)
                buf = []
        if buf:
            yield ("table", buf[0][0], buf)


def _parquet_chunks(path: str, chunk_rows: int, progress_pos: list):
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except OSError as exc:
        raise InputError(f"{path}: cannot read as Parquet: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - pyarrow raises ArrowInvalid for non-Parquet files
        raise InputError(f"{path}: not a Parquet file: {exc}") from None
    row = 1
    total = pf.metadata.num_rows or 1
    for batch in pf.iter_batches(batch_size=chunk_rows):
        records = batch.to_pylist()
        payload = [(row + i, r) for i, r in enumerate(records)]
        yield ("table", row, payload)
        row += len(records)
        progress_pos[0] = row - 1
    progress_pos[1] = total


# ---------------------------------------------------------------- writers


class _JsonlWriter:
    def __init__(self, path: str):
        self.fh = sys.stdout if path == "-" else open(path, "w", encoding="utf-8", newline="\n")  # noqa: SIM115 - the writer owns it; close() closes it

    def write(self, payload: str):
        if payload:
            self.fh.write(payload)

    def close(self):
        if self.fh is not sys.stdout:
            self.fh.close()
        else:
            self.fh.flush()


def _arrow_schema():
    import pyarrow as pa

    fields = [pa.field("row", pa.int64())]
    for c in KEY_COLUMNS[1:]:
        fields.append(pa.field(c, pa.bool_() if c == "complete" else pa.string()))
    fields.append(pa.field("decision_json", pa.string()))
    return pa.schema(fields)


class _TableWriter:
    def __init__(self, path: str, fmt: str):
        import pyarrow as pa

        self.pa = pa
        self.schema = _arrow_schema()
        self.fmt = fmt
        if path == "-":
            raise InputError(f"{fmt} output needs a file name (-o FILE)")
        if fmt == "parquet":
            import pyarrow.parquet as pq

            self.writer = pq.ParquetWriter(path, self.schema, compression="zstd")
        else:
            import pyarrow.csv as pacsv

            self.writer = pacsv.CSVWriter(path, self.schema)

    def write(self, columns: dict):
        if not columns["row"]:
            return
        batch = self.pa.RecordBatch.from_pydict(columns, schema=self.schema)
        if self.fmt == "parquet":
            self.writer.write_table(self.pa.Table.from_batches([batch]))
        else:
            self.writer.write_batch(batch)

    def close(self):
        self.writer.close()


class _ErrorWriter:
    def __init__(self, path: str | None):
        self.path = path
        self.count = 0
        if path is None:
            self.fh = None
        else:
            self.csv = path.lower().endswith(".csv")
            self.fh = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed in close()
            if self.csv:
                import csv

                self.writer = csv.writer(self.fh)
                self.writer.writerow(["row", "field", "message"])

    def write(self, errors: list):
        for row, field, message in errors:
            self.count += 1
            if self.fh is None:
                sys.stderr.write(f"row {row}: {field + ': ' if field else ''}{message}\n")
            elif self.csv:
                self.writer.writerow([row, field or "", message])
            else:
                self.fh.write(
                    json.dumps({"row": row, "field": field, "message": message}, ensure_ascii=False)
                    + "\n"
                )

    def close(self):
        if self.fh is not None:
            self.fh.close()


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
    for f in (fin, fout):
        if f not in FORMATS:
            raise InputError(f"unknown format '{f}' (use one of {', '.join(FORMATS)})")
    if src != "-" and not os.path.isfile(src):
        raise InputError(f"{src}: no such file")
    if errors == "auto":
        errors = None if dst == "-" else dst + ".errors.jsonl"
    if progress is None:
        progress = sys.stderr.isatty() and not os.environ.get("CI")
    workers = default_workers() if workers is None else max(1, workers)
    total = None if src == "-" else os.path.getsize(src)
    position = [None, total]
    started = time.monotonic()

    stream = None
    if fin == "jsonl":
        try:
            stream = sys.stdin.buffer if src == "-" else open(src, "rb")  # noqa: SIM115 - closed when the run ends
        except OSError as exc:
            raise InputError(f"{src}: cannot read: {exc.strerror or exc}") from None
        chunks = _jsonl_chunks(stream, chunk_rows, position)
    elif fin == "csv":
        chunks = _csv_chunks(src, chunk_rows, position)
    else:
        chunks = _parquet_chunks(src, chunk_rows, position)
        position[1] = None
        chunks = _parquet_with_total(src, chunks, position)
    # Read the first chunk here so that an unusable input fails before any output is created.
    chunks = _peeked(chunks)
    if fout == "jsonl":
        writer: Any = _JsonlWriter(dst)
    else:
        writer = _TableWriter(dst, fout)
    err = _ErrorWriter(errors)
    meter = _Progress(progress, position[1])
    rows = ok = 0
    # Small inputs are not worth starting processes for.
    if workers > 1 and chunks.small(chunk_rows):
        workers = 1
    folder = pack.folder
    _STATE["pack"] = pack
    try:
        for count, payload, errs in parallel_map(
            _work, chunks, workers, _init_worker, (folder, fout)
        ):
            rows_done = count
            writer.write(payload)
            err.write(errs)
            rows += rows_done
            ok += len(payload["row"]) if isinstance(payload, dict) else payload.count("\n")
            meter.update(rows_done, position[0])
    finally:
        writer.close()
        err.close()
        if stream is not None and stream is not sys.stdin.buffer:
            stream.close()
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


def _parquet_with_total(path, chunks, position):
    import pyarrow.parquet as pq

    try:
        position[1] = pq.ParquetFile(path).metadata.num_rows
    except Exception:  # noqa: BLE001, S110 - no total shown; the reader itself reports the error
        pass
    yield from chunks


class _peeked:
    """An iterator whose first two items are read eagerly (errors surface early; size known)."""

    def __init__(self, it):
        self.it = iter(it)
        self.head = []
        for _ in range(2):
            try:
                self.head.append(next(self.it))
            except StopIteration:
                break

    def small(self, chunk_rows: int) -> bool:
        return len(self.head) < 2

    def __iter__(self):
        yield from self.head
        self.head = []
        yield from self.it
