"""Decision and error files out: the one JSON encoder, the JSONL/CSV/Parquet decision writers, the errors file.

Used through `mtbrules.caseio`, which offers every name here: a caller handles
caseload files through one public module (this split only keeps each file to
one job: `caseio` reads, this module writes).
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterable
from typing import Any

from . import jsontext
from .errors import InputError

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


#: One JSON line (no newline) as UTF-8: the encoder of every caseload file mtbrules writes.
dumps_bytes = jsontext.dumps_bytes


def dumps(value: Any) -> str:
    """dumps_bytes() as text."""
    return dumps_bytes(value).decode("utf-8")


def decision_line(row: int, decision_json: bytes) -> bytes:
    """`{"row": N, ...the decision}` and a newline: a decision's own compact JSON with `row` put
    first, the bytes `dumps_bytes({"row": N, **decision.to_dict()})` gives, without building
    the dict."""
    return b'{"row":%d,%s\n' % (row, decision_json[1:])


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
    # deferred: pyarrow is optional (the parquet extra), needed by CSV/Parquet output only
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
    # deferred: pyarrow is optional (the parquet extra), needed by CSV/Parquet output only
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
    # deferred: pyarrow is optional (the parquet extra), needed by CSV/Parquet output only
    import pyarrow as pa

    fields = [pa.field("row", pa.int64())]
    for c in KEY_COLUMNS[1:]:
        fields.append(pa.field(c, pa.bool_() if c == "complete" else pa.string()))
    fields.append(pa.field("decision_json", pa.string()))
    return pa.schema(fields)


class TableWriter:
    """Decision columns (encode_decisions) to a CSV or Parquet file."""

    def __init__(self, path: str, fmt: str):
        # deferred: pyarrow is optional (the parquet extra), needed by CSV/Parquet output only
        import pyarrow as pa

        self.pa = pa
        self.schema = arrow_schema()
        self.fmt = fmt
        if path == "-":
            raise InputError(f"{fmt} output needs a file name (-o FILE)")
        if fmt == "parquet":
            # deferred: pyarrow is optional (the parquet extra), needed by CSV/Parquet output only
            import pyarrow.parquet as pq

            self.writer = pq.ParquetWriter(path, self.schema, compression="zstd")
        else:
            # deferred: pyarrow is optional (the parquet extra), needed by CSV/Parquet output only
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
