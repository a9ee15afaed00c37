"""Caseload files: JSONL, CSV and Parquet readers and writers, record → case, the errors file.

The one public module for how a caseload is read and how decisions and errors
are written, for every command and library call that handles caseload files
(`batch`, `diff --cases`, `synth`, Spark). Reading is here; the writers and the
JSON encoder live in `mtbrules.caseout` and are offered here under the same
names (`dumps_bytes`, `JsonlWriter`, `ErrorWriter`, ...).

Reading is by chunks of rows, so that memory stays flat and the chunks can go
to worker processes. A chunk is a tuple `(kind, start, payload)`:

- `("jsonl", start, bytes)`: the raw lines from line `start` on, one per
  line (a missing final newline added, CRLF turned into LF);
- `("jsonl-range", start, (path, offset, length, rows))`: the same lines, not
  yet read: `rows` lines of the file at `path` from byte `offset` on (what
  `jsonl_ranges` gives, so that a worker process reads its lines itself);
- `("table", start, [(row, record or message), ...])`: CSV or Parquet
  records (mappings of column → cell), or the message of an unreadable one.

`chunk_cases(chunk, pack)` turns either kind into `(row, case, field, message)`
tuples: the same row numbers and messages for every caller.

Row numbers: for JSONL the line number (blank lines are skipped but counted);
for CSV and Parquet the 1-based record number (the first record after the CSV
header is row 1).

>>> import mtbrules
>>> pack = mtbrules.load_pack("qingdao")
>>> row_to_case({"submitted_on": "2025-09-29", "offsite.settled": "yes", "age": ""}, pack)
{'submitted_on': '2025-09-29', 'offsite': {'settled': True}}
>>> [(r, m) for r, _, _, m in chunk_cases(("jsonl", 7, b'{"a": 1}\\n\\nnot json\\n'), pack)]
[(7, None), (9, 'invalid JSON: Expecting value: line 1 column 1 (char 0)')]
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import os
import sys
from collections.abc import Iterator, Mapping
from typing import Any

import orjson

from .case import CASE_FIELDS, CASE_OBJECTS, PACK_FIELD_TYPES
from .caseout import (
    DEADLINE_COLUMNS,
    KEY_COLUMNS,
    ErrorWriter,
    JsonlWriter,
    TableWriter,
    arrow_schema,
    csv_header,
    decision_keys,
    decision_line,
    decision_writer,
    dumps,
    dumps_bytes,
    encode_decision_bytes,
    encode_decisions,
    encoded_rows,
)
from .errors import CaseError, InputError, MtbError

__all__ = [
    "CHUNK_ROWS",
    "DEADLINE_COLUMNS",
    "FORMATS",
    "KEY_COLUMNS",
    "ErrorWriter",
    "JsonlWriter",
    "TableWriter",
    "arrow_schema",
    "check_formats",
    "chunk_cases",
    "chunk_rows",
    "csv_header",
    "decision_keys",
    "decision_line",
    "decision_writer",
    "detect_format",
    "dumps",
    "dumps_bytes",
    "encode_decision_bytes",
    "encode_decisions",
    "encoded_rows",
    "errors_path",
    "failure",
    "jsonl_chunks",
    "jsonl_ranges",
    "loads",
    "open_binary_input",
    "read_chunks",
    "read_range",
    "row_to_case",
    "run_formats",
]

#: The formats a caseload or a decision file can have.
FORMATS = ("jsonl", "csv", "parquet")
_EXT = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
#: Rows per chunk unless the caller says otherwise.
CHUNK_ROWS = 2000


def detect_format(path: str, given: str | None) -> str:
    """The format `given`, else the one the name's extension says ("-" is JSONL)."""
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


def check_formats(*formats: str) -> None:
    for f in formats:
        if f not in FORMATS:
            raise InputError(f"unknown format '{f}' (use one of {', '.join(FORMATS)})")


def run_formats(
    src: str, dst: str, in_format: str | None, out_format: str | None
) -> tuple[str, str]:
    """(input format, output format) of a run from `src` to `dst`: given, else from the names."""
    fin, fout = detect_format(src, in_format), detect_format(dst, out_format)
    check_formats(fin, fout)
    return fin, fout


def errors_path(dst: str, errors: str | None) -> str | None:
    """The errors file of a run writing `dst`: `errors`, where "auto" is `<dst>.errors.jsonl`,
    or None (standard error) when `dst` is standard output."""
    if errors == "auto":
        return None if dst == "-" else dst + ".errors.jsonl"
    return errors


# ---------------------------------------------------------------- JSON


def loads(raw: bytes | str) -> Any:
    """One JSON line's value, exactly as `json.loads` gives it (the same values and the same
    messages for bad input): orjson reads the line, and the standard library reads what orjson
    refuses (NaN, a BOM, lone surrogates, bad JSON: its error text) or reads otherwise (an
    integer beyond 64 bits, which orjson makes a float)."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)
    if _may_hold_huge_int(raw) and _has_huge_float(value):
        return json.loads(raw)
    return value


_HUGE = float(2**63)  # 9223372036854775808: 19 digits
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_TEXT_DIGITS_TO_ZERO = str.maketrans("123456789", "000000000")


def _may_hold_huge_int(raw: bytes | bytearray | memoryview | str) -> bool:
    """Whether the line has 19 digits in a row, as an integer beyond 64 bits has: most lines have
    none, and their values need not be walked."""
    if isinstance(raw, str):
        return "0" * 19 in raw.translate(_TEXT_DIGITS_TO_ZERO)
    if isinstance(raw, memoryview):
        raw = raw.tobytes()
    return b"0" * 19 in raw.translate(_DIGITS_TO_ZERO)


def _has_huge_float(value: Any) -> bool:
    """A float at or beyond 2**63 in magnitude: maybe an integer orjson could not keep."""
    if isinstance(value, dict):
        value = value.values()
    elif not isinstance(value, list):
        return isinstance(value, float) and not -_HUGE < value < _HUGE
    for item in value:
        if isinstance(item, (dict, list)):
            if _has_huge_float(item):
                return True
        elif isinstance(item, float) and not -_HUGE < item < _HUGE:
            return True
    return False


# ---------------------------------------------------------------- table records → cases

_TRUE = {"true", "1", "yes", "y", "t", "是"}
_FALSE = {"false", "0", "no", "n", "f", "否"}


def row_to_case(row: Mapping, pack) -> dict:
    """A CSV/Parquet record → a case mapping.

    Empty cells are absent fields; `offsite.x`/`prior.x` columns build the
    objects; text cells are converted by the field's type (booleans accept
    true/false/1/0/yes/no; lists are a JSON array or items separated by `;`).
    A `case_json` column, when present and non-empty, is the whole case.
    """
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


def _case_error(field: str, message: str) -> CaseError:
    return CaseError(f"case field '{field}': {message}", field=field)


def _convert(field: str, value: Any, type_) -> Any:
    if not isinstance(value, str) or type_ is None:
        return _arrow_value(value)
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


def _arrow_value(value: Any) -> Any:
    """Arrow values → case values (datetime → date; numpy-free already)."""
    if isinstance(value, _dt.datetime):
        return value.date()
    return value


def failure(exc: BaseException) -> tuple[str | None, str]:
    """(field, message) for a row that could not be evaluated: ours as they are, others as a bug."""
    if isinstance(exc, MtbError):
        return getattr(exc, "field", None), str(exc)
    return None, f"internal error (a bug): {type(exc).__name__}: {exc}"


def chunk_cases(chunk: tuple, pack) -> Iterator[tuple[int, Any, str | None, str | None]]:
    """The cases of a chunk: `(row, case, None, None)`, or `(row, None, field, message)` for a
    row that is not a case (bad JSON, an unreadable record, a cell of the wrong type)."""
    kind, start, payload = chunk
    if kind == "jsonl-range":
        kind, payload = "jsonl", read_range(*payload)
    if kind == "jsonl":
        lines = payload.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        for row, raw in enumerate(lines, start):
            if not raw or raw.isspace():  # a blank line: counted, not a row of the output
                continue
            try:
                case = loads(raw)
            except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8, too deep
                yield row, None, None, f"invalid JSON: {exc}"
                continue
            yield row, case, None, None
        return
    for row, record in payload:
        if isinstance(record, str):
            yield row, None, None, record
            continue
        try:
            case = row_to_case(record, pack)
        except Exception as exc:  # noqa: BLE001 - reported per row, as failure() says
            yield (row, None, *failure(exc))
            continue
        yield row, case, None, None


def chunk_rows(chunk: tuple) -> int:
    """How many input rows a chunk covers (blank JSONL lines included)."""
    kind, _, payload = chunk
    if kind == "jsonl":
        return payload.count(b"\n")
    if kind == "jsonl-range":
        return payload[3]
    return len(payload)


# ---------------------------------------------------------------- readers


def read_chunks(
    path: str,
    fmt: str,
    chunk_rows: int = CHUNK_ROWS,
    position: list | None = None,
    *,
    skip_rows: int = 0,
    offset: int | None = None,
) -> Iterator[tuple]:
    """The chunks of the caseload at `path` ("-": JSONL on standard input).

    `position`, when given, is `[where, total]` kept current for a progress
    meter: bytes read of the file's size (JSONL, CSV) or rows of the row
    count (Parquet). `skip_rows`: start after that many rows (a resumed run);
    for JSONL, `offset` is where row `skip_rows + 1` begins, so the skipped
    part is not read again. Raises InputError when the file cannot be read.
    """
    position = position if position is not None else [None, None]
    if fmt == "jsonl":
        return _jsonl_file_chunks(path, chunk_rows, position, skip_rows, offset)
    if fmt == "csv":
        chunks = _csv_chunks(path, chunk_rows, position)
    else:
        chunks = _parquet_chunks(path, chunk_rows, position)
    return _skip_records(chunks, skip_rows) if skip_rows else chunks


def _skip_records(chunks: Iterator[tuple], skip_rows: int) -> Iterator[tuple]:
    for kind, start, payload in chunks:
        if start + len(payload) - 1 <= skip_rows:
            continue
        if start <= skip_rows:
            payload = [(row, record) for row, record in payload if row > skip_rows]
            start = payload[0][0]
        yield kind, start, payload


def open_binary_input(path: str):
    """The file at `path` for reading bytes ("-": standard input), or InputError."""
    try:
        return sys.stdin.buffer if path == "-" else open(path, "rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _jsonl_file_chunks(
    path: str, chunk_rows: int, position: list, skip_rows: int, offset: int | None
) -> Iterator[tuple]:
    stream = open_binary_input(path)
    if path != "-":
        position[1] = os.path.getsize(path)
    try:
        if offset is not None:
            stream.seek(offset)
        else:
            for _ in range(skip_rows):
                if not stream.readline():
                    break
        yield from jsonl_chunks(stream, chunk_rows, position, start=skip_rows + 1)
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def jsonl_chunks(stream, chunk_rows: int, position: list | None = None, start: int = 1):
    """Chunks of a binary stream of JSONL lines, the first being line `start`."""
    buf: list = []
    for line in stream:
        buf.append(line if line.endswith(b"\n") else line + b"\n")
        if len(buf) >= chunk_rows:
            if position is not None:
                position[0] = _tell(stream)
            yield ("jsonl", start, b"".join(buf).replace(b"\r\n", b"\n"))
            start += len(buf)
            buf = []
    if buf:
        if position is not None:
            position[0] = _tell(stream)
        yield ("jsonl", start, b"".join(buf).replace(b"\r\n", b"\n"))


def _tell(stream):
    try:
        return stream.tell()
    except (OSError, ValueError):
        return None


#: Bytes the splitter of a JSONL file reads at a time.
RANGE_BLOCK = 1 << 22


def jsonl_ranges(
    path: str, chunk_rows: int, position: list | None = None, *, start: int = 1, offset: int = 0
) -> Iterator[tuple]:
    """The `("jsonl-range", ...)` chunks of the JSONL file at `path`, from byte `offset` (where
    line `start` begins) on: `chunk_rows` lines each, cut after a newline. Only the newlines
    are looked at here; whoever decides the chunk reads its lines (`read_range`), so that the
    lines themselves never pass through this process. `position` as for `read_chunks`."""
    position = position if position is not None else [None, None]
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        position[1] = os.fstat(fd).st_size
        block, block_at, begin = bytearray(), offset, 0  # the file from byte block_at on
        while True:
            rows, end = 0, begin
            while rows < chunk_rows:
                newline = block.find(b"\n", end)
                if newline >= 0:
                    rows, end = rows + 1, newline + 1
                    continue
                more = os.pread(fd, RANGE_BLOCK, block_at + len(block))
                if not more:
                    if end < len(block):  # a last line without its newline
                        rows, end = rows + 1, len(block)
                    break
                del block[:begin]  # (cheap: a bytearray drops its head without copying)
                block += more
                block_at, end, begin = block_at + begin, end - begin, 0
            if not rows:
                return
            position[0] = block_at + end
            yield ("jsonl-range", start, (path, block_at + begin, end - begin, rows))
            start, begin = start + rows, end
    finally:
        os.close(fd)


def read_range(path: str, offset: int, length: int, rows: int = 0) -> bytes:
    """The lines of a `("jsonl-range", ...)` chunk, as a `("jsonl", ...)` chunk holds them (a
    missing final newline added, CRLF turned into LF)."""
    # Opened per chunk (microseconds): a descriptor kept open would outlive the run, and
    # read another file's bytes if the path is later replaced.
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        data = _read_exactly(fd, path, offset, length)
    finally:
        os.close(fd)
    if not data.endswith(b"\n"):
        data += b"\n"
    return data.replace(b"\r\n", b"\n") if b"\r" in data else data


def _read_exactly(fd: int, path: str, offset: int, length: int) -> bytes:
    data = os.pread(fd, length, offset)
    while len(data) < length:  # pread may return less than asked (a signal, a network file)
        more = os.pread(fd, length - len(data), offset + len(data))
        if not more:
            raise InputError(f"{path}: the file became shorter while it was read")
        data += more
    return data


def _csv_chunks(path: str, chunk_rows: int, position: list):
    try:
        fh = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed by the `with fh` below
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    position[1] = os.path.getsize(path)
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


def _parquet_chunks(path: str, chunk_rows: int, position: list):
    # deferred: pyarrow is optional (the parquet extra)
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except OSError as exc:
        raise InputError(f"{path}: cannot read as Parquet: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - pyarrow raises ArrowInvalid for non-Parquet files
        raise InputError(f"{path}: not a Parquet file: {exc}") from None
    position[1] = pf.metadata.num_rows
    row = 1
    for batch in pf.iter_batches(batch_size=chunk_rows):
        records = batch.to_pylist()
        payload = [(row + i, r) for i, r in enumerate(records)]
        yield ("table", row, payload)
        row += len(records)
        position[0] = row - 1
