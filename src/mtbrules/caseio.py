"""Caseload files: JSONL, CSV and Parquet readers and writers, record → case, the errors file.

One place for how a caseload is read and how decisions and errors are written,
for every command and library call that handles caseload files (`batch`,
`diff --cases`, `synth`; Spark and the service may use the same names).

Reading is by chunks of rows, so that memory stays flat and the chunks can go
to worker processes. A chunk is a tuple `(kind, start, payload)`:

- `("jsonl", start, bytes)`: the raw lines from line `start` on, one per
  line (a missing final newline added, CRLF turned into LF);
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

import json
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import orjson

from .errors import CaseError, InputError

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
#: Key columns of CSV/Parquet decision files, before `decision_json`.
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
#: The deadline kinds that have a key column (the rest are in the decision JSON only).
DEADLINE_COLUMNS = ("decision_due", "benefit_start", "valid_until")


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


def dumps_bytes(value: Any) -> bytes:
    """One JSON line (no newline) as UTF-8: the encoder of every caseload file mtbrules writes.

    orjson: compact (no spaces after `,` and `:`), keys in insertion order, the
    same bytes on every run and in every process. What orjson refuses (an
    integer beyond 64 bits, a non-text key) is written by the standard library.
    """
    try:
        return orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def dumps(value: Any) -> str:
    """dumps_bytes() as text."""
    return dumps_bytes(value).decode("utf-8")


def loads(raw: bytes) -> Any:
    """One JSON line's value, exactly as `json.loads` gives it (the same values and the same
    messages for bad input): orjson reads the line, and the standard library reads what orjson
    refuses (NaN, a BOM, lone surrogates, bad JSON: its error text) or reads otherwise (an
    integer beyond 64 bits, which orjson makes a float)."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)
    if _has_huge_float(value):
        return json.loads(raw)
    return value


_HUGE = float(2**63)


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
    import datetime as _dt

    if isinstance(value, _dt.datetime):
        return value.date()
    return value


def failure(exc: BaseException) -> tuple[str | None, str]:
    """(field, message) for a row that could not be evaluated: ours as they are, others as a bug."""
    from .errors import MtbError

    if isinstance(exc, MtbError):
        return getattr(exc, "field", None), str(exc)
    return None, f"internal error (a bug): {type(exc).__name__}: {exc}"


def chunk_cases(chunk: tuple, pack) -> Iterator[tuple[int, Any, str | None, str | None]]:
    """The cases of a chunk: `(row, case, None, None)`, or `(row, None, field, message)` for a
    row that is not a case (bad JSON, an unreadable record, a cell of the wrong type)."""
    kind, start, payload = chunk
    if kind == "jsonl":
        lines = payload.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        for i, raw in enumerate(lines):
            if not raw.strip():
                continue
            try:
                case = loads(raw)
            except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8, too deep
                yield start + i, None, None, f"invalid JSON: {exc}"
                continue
            yield start + i, case, None, None
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


def _csv_chunks(path: str, chunk_rows: int, position: list):
    import csv

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


# ---------------------------------------------------------------- decisions → file rows


def decision_keys(d: dict) -> dict[str, Any]:
    """The key columns of one decision dict (KEY_COLUMNS less `row`), in that order: ids as
    lists, dates as ISO text (None for a deadline kind the decision does not have)."""
    deadlines = {x["kind"]: x["date"] for x in d["deadlines"]}
    return {
        "pack": d["pack"],
        "pack_version": d["pack_version"],
        "service": d["service"],
        "as_of": d["as_of"],
        "outcome": d["outcome"],
        "complete": d["complete"],
        "required_documents": [x["id"] for x in d["required_documents"]],
        "missing_documents": list(d["missing_documents"]),
        "channels": [x["id"] for x in d["channels"]],
        **{kind: deadlines.get(kind) for kind in DEADLINE_COLUMNS},
    }


def encode_decisions(results: Iterable[tuple[int, dict]], fmt: str):
    """(row, decision dict) pairs → what the writer of `fmt` takes: JSONL text, or columns
    (decision_keys, lists of ids joined by `;`)."""
    if fmt == "jsonl":
        parts = [dumps({"row": row, **d}) for row, d in results]
        return "\n".join(parts) + ("\n" if parts else "")
    columns: dict[str, list] = {c: [] for c in KEY_COLUMNS}
    columns["decision_json"] = []
    for row, d in results:
        columns["row"].append(row)
        for key, value in decision_keys(d).items():
            columns[key].append(";".join(value) if isinstance(value, list) else value)
        columns["decision_json"].append(dumps({"row": row, **d}))
    return columns


def encode_decision_bytes(results: Iterable[tuple[int, dict]], fmt: str) -> bytes:
    """(row, decision dict) pairs → the bytes of their lines in a JSONL or CSV decision file
    (CSV without its header: `csv_header()` is written once, first)."""
    if fmt == "jsonl":
        parts = [dumps_bytes({"row": row, **d}) for row, d in results]
        return b"\n".join(parts) + (b"\n" if parts else b"")
    import io

    import pyarrow as pa
    import pyarrow.csv as pacsv

    columns = encode_decisions(results, fmt)
    if not columns["row"]:
        return b""
    sink = io.BytesIO()
    batch = pa.RecordBatch.from_pydict(columns, schema=arrow_schema())
    pacsv.write_csv(batch, sink, pacsv.WriteOptions(include_header=False))
    return sink.getvalue()


def csv_header() -> bytes:
    """The header line of a CSV decision file, as pyarrow writes it."""
    import io

    import pyarrow.csv as pacsv

    sink = io.BytesIO()
    pacsv.write_csv(arrow_schema().empty_table(), sink)
    return sink.getvalue()


def encoded_rows(payload) -> int:
    """How many decisions an encode_decisions() payload holds."""
    return len(payload["row"]) if isinstance(payload, dict) else payload.count("\n")


# ---------------------------------------------------------------- writers


class JsonlWriter:
    """JSON lines to `path` ("-": standard output)."""

    def __init__(self, path: str):
        self.fh = sys.stdout if path == "-" else open(path, "w", encoding="utf-8", newline="\n")  # noqa: SIM115 - the writer owns it; close() closes it

    def write(self, payload: str) -> None:
        if payload:
            self.fh.write(payload)

    def write_objects(self, values: Iterable[Any]) -> None:
        write = self.fh.write
        for value in values:
            write(dumps(value))
            write("\n")

    def close(self) -> None:
        if self.fh is not sys.stdout:
            self.fh.close()
        else:
            self.fh.flush()


def arrow_schema():
    """The Arrow schema of CSV/Parquet decision files."""
    import pyarrow as pa

    fields = [pa.field("row", pa.int64())]
    for c in KEY_COLUMNS[1:]:
        fields.append(pa.field(c, pa.bool_() if c == "complete" else pa.string()))
    fields.append(pa.field("decision_json", pa.string()))
    return pa.schema(fields)


class TableWriter:
    """Decision columns (encode_decisions) to a CSV or Parquet file."""

    def __init__(self, path: str, fmt: str):
        import pyarrow as pa

        self.pa = pa
        self.schema = arrow_schema()
        self.fmt = fmt
        if path == "-":
            raise InputError(f"{fmt} output needs a file name (-o FILE)")
        if fmt == "parquet":
            import pyarrow.parquet as pq

            self.writer = pq.ParquetWriter(path, self.schema, compression="zstd")
        else:
            import pyarrow.csv as pacsv

            self.writer = pacsv.CSVWriter(path, self.schema)

    def write(self, columns: dict) -> None:
        if not columns["row"]:
            return
        batch = self.pa.RecordBatch.from_pydict(columns, schema=self.schema)
        if self.fmt == "parquet":
            self.writer.write_table(self.pa.Table.from_batches([batch]))
        else:
            self.writer.write_batch(batch)

    def close(self) -> None:
        self.writer.close()


def decision_writer(path: str, fmt: str):
    """The writer of decisions in `fmt` to `path`."""
    return JsonlWriter(path) if fmt == "jsonl" else TableWriter(path, fmt)


class ErrorWriter:
    """The errors file: `row, field, message` as JSONL, or CSV when the name ends in .csv
    (`format_name`: the name that says which, when `path` is a temporary one); standard error
    when `path` is None. `append`: continue a file (no second CSV header)."""

    def __init__(self, path: str | None, *, append: bool = False, format_name: str | None = None):
        self.path = path
        self.count = 0
        self.csv = False
        if path is None:
            self.fh = None
        else:
            self.csv = (format_name or path).lower().endswith(".csv")
            self.fh = open(path, "a" if append else "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed in close()
            if self.csv:
                import csv

                self.writer = csv.writer(self.fh)
                if not append:
                    self.writer.writerow(["row", "field", "message"])

    def write(self, errors: Iterable[tuple[int, str | None, str]]) -> None:
        for row, field, message in errors:
            self.count += 1
            if self.fh is None:
                sys.stderr.write(f"row {row}: {field + ': ' if field else ''}{message}\n")
            elif self.csv:
                self.writer.writerow([row, field or "", message])
            else:
                self.fh.write(dumps({"row": row, "field": field, "message": message}) + "\n")

    def flush(self) -> int:
        """Flush to the file; its length in bytes (0 on standard error)."""
        if self.fh is None:
            sys.stderr.flush()
            return 0
        self.fh.flush()
        return self.fh.tell()

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()
