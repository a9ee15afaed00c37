"""The DataFrame API: a DataFrame of cases → a DataFrame of decisions, on the executors with mapInArrow.

`evaluate_cases` maps the rows with the ordinary engine (`Pack.evaluate`),
the cases read by caseio's `chunk_cases` and the decision JSON written by
caseio's encoder, so a decision is the one `mtbrules eval` prints; the output
schema (`decision_schema`, `DECISION_COLUMNS`) types caseio's key columns.
`with_row_numbers` numbers rows in partition order; `outcome_counts` counts
decisions per outcome.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as _dt
import io
import warnings
from collections.abc import Sequence
from typing import Any

from .. import caseio
from ..caseio import KEY_COLUMNS
from ..decision import OUTCOMES
from ..errors import InputError
from .session import require_pyspark
from .shipping import ShippedPack, executor_pack, ship_pack

#: Decision columns of `evaluate_cases`' output, after the row column and any kept columns:
#: the local batch's key columns (caseio.KEY_COLUMNS, less `row`), then the error and the JSON.
DECISION_COLUMNS = (*KEY_COLUMNS[1:], "error_field", "error", "decision_json")
#: Spark SQL types of DECISION_COLUMNS (DDL).
DECISION_TYPES = {
    "pack": "string",
    "pack_version": "string",
    "service": "string",
    "as_of": "date",
    "outcome": "string",
    "complete": "boolean",
    "required_documents": "array<string>",
    "missing_documents": "array<string>",
    "channels": "array<string>",
    "decision_due": "date",
    "benefit_start": "date",
    "valid_until": "date",
    "error_field": "string",
    "error": "string",
    "decision_json": "string",
}
#: Deadline kinds that get their own date column (the rest are in decision_json).
DEADLINE_COLUMNS = caseio.DEADLINE_COLUMNS
#: The date columns among DECISION_COLUMNS (caseio.decision_keys gives them as ISO text).
_DATE_COLUMNS = tuple(name for name, ddl in DECISION_TYPES.items() if ddl == "date")

_TMP = "__mtb_"


def _spark_type(ddl: str):
    # deferred: pyspark is optional (the spark extra); require_pyspark() names it when missing
    from pyspark.sql.types import ArrayType, BooleanType, DateType, LongType, StringType

    if ddl.startswith("array<"):
        return ArrayType(_spark_type(ddl[6:-1]), True)
    return {
        "string": StringType(),
        "date": DateType(),
        "boolean": BooleanType(),
        "bigint": LongType(),
    }[ddl]


def _spark_schema(prefix_fields: Sequence, columns: Sequence[str] = DECISION_COLUMNS):
    # deferred: pyspark is optional (the spark extra); require_pyspark() names it when missing
    from pyspark.sql.types import StructField, StructType

    return StructType(
        list(prefix_fields)
        + [
            StructField(name, _spark_type(DECISION_TYPES[name]), True, _COMMENTS.get(name))
            for name in columns
        ]
    )


#: Column comments of the output schema (Spark keeps them in a table's DESCRIBE).
_COMMENTS = {"outcome": {"comment": "one of " + ", ".join(OUTCOMES) + " (null: an error row)"}}


def outcome_counts(decisions) -> dict[str, int]:
    """Rows of `evaluate_cases`' output per outcome: every one of `mtbrules.decision.OUTCOMES`
    (0 when no row has it), then `error` for the rows that could not be evaluated.

    One aggregation job; the counts come back to the driver, the rows do not.
    """
    # deferred: pyspark is optional (the spark extra); require_pyspark() names it when missing
    from pyspark.sql import functions as F

    counts = dict.fromkeys(OUTCOMES, 0)
    errors = 0
    for r in decisions.groupBy(F.col("outcome")).count().collect():
        if r["outcome"] is None:
            errors += r["count"]
        else:  # an outcome missing from OUTCOMES would be a bug there: counted, never dropped
            counts[r["outcome"]] = counts.get(r["outcome"], 0) + r["count"]
    counts["error"] = errors
    return counts


def decision_schema(row: str | None = "row"):
    """The Spark schema of `evaluate_cases`' output (without kept columns)."""
    # deferred: pyspark is optional (the spark extra); require_pyspark() names it when missing
    from pyspark.sql.types import LongType, StructField

    return _spark_schema([StructField(row, LongType(), True)] if row else [])


# ---------------------------------------------------------------- row numbers


def with_row_numbers(df, col: str = "row", start: int = 1):
    """`df` with `col`: consecutive numbers from `start` in the DataFrame's partition order.

    For a file read this is the file's order (the line or record number). It
    runs one counting job. The numbering is only stable if `df`'s partitions
    are (a file read is; a shuffle's output is not — cache it first).
    """
    # deferred: pyspark is optional (the spark extra); require_pyspark() names it when missing
    from pyspark.sql import functions as F

    pid, mid = _TMP + "pid", _TMP + "mid"
    tagged = df.withColumn(pid, F.spark_partition_id()).withColumn(
        mid, F.monotonically_increasing_id()
    )
    counts = {r[0]: r[1] for r in tagged.groupBy(pid).count().collect()}
    offsets, total = [], start
    for p in sorted(counts):
        offsets += [F.lit(p), F.lit(total)]
        total += counts[p]
    if not offsets:
        return df.withColumn(col, F.lit(None).cast("long"))
    first = F.create_map(*offsets)[F.col(pid)]
    index = F.col(mid) - F.shiftleft(F.col(pid).cast("long"), 33)
    return tagged.withColumn(col, (first + index).cast("long")).drop(pid, mid)


def with_row_column(df, col: str):
    """`df` with a bigint `col`: its own column cast to long, else `with_row_numbers`."""
    # deferred: pyspark is optional (the spark extra); require_pyspark() names it when missing
    from pyspark.sql import functions as F

    if col in df.columns:
        return df.withColumn(col, F.col(col).cast("long"))
    return with_row_numbers(df, col)


# ---------------------------------------------------------------- executor side


def _decision_values(d: dict) -> dict[str, Any]:
    """caseio.decision_keys (the key columns of the local engine's files) with dates as dates."""
    values = caseio.decision_keys(d)
    for name in _DATE_COLUMNS:
        values[name] = _date(values[name])
    return values


def _date(text):
    if text is None:
        return None
    try:
        return _dt.date.fromisoformat(text)
    except (TypeError, ValueError):
        return None


def _arrow_schema(spark_schema):
    """pyarrow schema for a Spark schema made of the types used here."""
    # deferred: pyspark and pyarrow are optional (the spark extra)
    import pyarrow as pa
    from pyspark.sql.types import ArrayType, BooleanType, DateType, LongType, StringType

    def conv(t):
        if isinstance(t, StringType):
            return pa.string()
        if isinstance(t, LongType):
            return pa.int64()
        if isinstance(t, BooleanType):
            return pa.bool_()
        if isinstance(t, DateType):
            return pa.date32()
        if isinstance(t, ArrayType):
            return pa.list_(conv(t.elementType))
        raise TypeError(t)

    return pa.schema([pa.field(f.name, conv(f.dataType), True) for f in spark_schema.fields])


def _evaluator(
    spec: ShippedPack,
    mode: str,
    row: str | None,
    keep: Sequence[str],
    out_fields: Sequence[str],
    row_in_json: bool,
):
    """The function mapInArrow runs: Arrow batches of cases (as `mode` says, see case_chunk) →
    Arrow batches of decisions; a blank JSONL line gives no row."""

    def run(batches):
        # deferred: pyarrow is optional (the spark extra); require_pyspark() names it when missing
        import pyarrow as pa

        pack = executor_pack(spec)
        evaluate = pack.evaluate
        schema = None
        skip = set(keep) | ({row} if row else set())
        for batch in batches:
            if schema is None:
                schema = _arrow_schema_for(batch.schema, row, keep, out_fields)
            cols: dict[str, list] = {name: [] for name in DECISION_COLUMNS}
            rownums = batch.column(row).to_pylist() if row else [None] * batch.num_rows
            taken: list[int] = []
            # The row numbers of the chunk are the batch's indexes (the row column may be absent).
            for i, case, field, message in caseio.chunk_cases(case_chunk(batch, mode, skip), pack):
                d = None
                if case is not None:
                    try:
                        d = evaluate(case).to_dict()
                    except Exception as exc:  # noqa: BLE001 - a bad row is reported, never raised
                        field, message = caseio.failure(exc)
                taken.append(i)
                if d is None:
                    for name in DECISION_COLUMNS:
                        cols[name].append(None)
                    cols["error_field"][-1] = field
                    cols["error"][-1] = message
                    continue
                for name, value in _decision_values(d).items():
                    cols[name].append(value)
                cols["error_field"].append(None)
                cols["error"].append(None)
                # The local engine's encoder: the same decision_json text.
                cols["decision_json"].append(
                    caseio.dumps({"row": rownums[i], **d} if row_in_json else d)
                )
            arrays = []
            index = pa.array(taken, pa.int64())
            for name in schema.names:
                if name == row:
                    arrays.append(pa.array([rownums[i] for i in taken], pa.int64()))
                elif name in cols:
                    arrays.append(pa.array(cols[name], schema.field(name).type))
                else:
                    arrays.append(batch.column(name).take(index))
            yield pa.RecordBatch.from_arrays(arrays, schema=schema)

    return run


def case_chunk(batch, mode: str, skip: set) -> tuple:
    """An Arrow batch of cases as a caseio chunk whose row numbers are the batch's indexes.

    mode "jsonl": column `value` holds the lines (None: a blank line); "table": every
    column not in `skip` is a case field (or `case_json`), read as `mtbrules batch` reads
    Parquet/CSV records; "csv": as "table", and `_corrupt_record` holds a record whose number
    of cells differs from the header's.
    """
    if mode == "jsonl":
        lines = batch.column("value").to_pylist()
        text = "".join((line or "") + "\n" for line in lines)
        return ("jsonl", 0, text.encode("utf-8").replace(b"\r\n", b"\n"))
    names = [n for n in batch.schema.names if n not in skip and n != "_corrupt_record"]
    records = batch.select(names).to_pylist() if names else [{}] * batch.num_rows
    if mode != "csv":
        return ("table", 0, list(enumerate(records)))
    corrupt = batch.column("_corrupt_record").to_pylist()
    return (
        "table",
        0,
        [
            (i, record)
            if corrupt[i] is None
            else (i, f"expected {len(names)} cells as in the header, got {_cells(corrupt[i])}")
            for i, record in enumerate(records)
        ],
    )


def _cells(raw: str) -> int:
    try:
        return len(next(csv.reader(io.StringIO(raw))))
    except (StopIteration, csv.Error):
        return 0


def _arrow_schema_for(input_schema, row, keep, out_fields):
    """Output Arrow schema: the row column, the kept columns as they came in, the decision columns."""
    # deferred: pyarrow is optional (the spark extra); require_pyspark() names it when missing
    import pyarrow as pa

    fields = [pa.field(row, pa.int64(), True)] if row else []
    fields += [input_schema.field(name) for name in keep]
    return pa.schema(fields + list(_arrow_schema(_spark_schema([]))))


# ---------------------------------------------------------------- the API


def evaluate_cases(
    df,
    pack,
    *,
    row: str | None = "row",
    keep: Sequence[str] = (),
):
    """Evaluate a DataFrame of cases with `pack` (a Pack, built-in id or folder) → a DataFrame of decisions.

    Input columns are case fields (CONTRACT §2): `offsite` and `prior` as
    structs (or `offsite.x` columns, or JSON text), `diseases` and
    `materials` as arrays (of strings, or of structs `{name, issued_on}`)
    or `;`-separated text, dates as dates or ISO text, or one column
    `case_json` with the whole case as JSON text. Nulls are absent fields.

    `row`: the row-number column; taken from `df` when it has it (cast to
    long), else added with `with_row_numbers` (1, 2, … in partition order);
    None for no row column. `keep`: more input columns copied to the output
    (an application id, a partition key); they are not case fields.

    Output: `row`, the `keep` columns, then DECISION_COLUMNS: the key
    fields typed (dates as dates, document and channel ids as arrays), and
    `decision_json`, the Decision JSON as `mtbrules eval` prints it. A row
    that cannot be evaluated has only `error_field` and `error` (the message
    `mtbrules batch` writes to its errors file).
    """
    return map_cases(df, pack, row=row, keep=keep)


def map_cases(
    df,
    pack,
    *,
    row: str | None = "row",
    keep: Sequence[str] = (),
    mode: str = "table",
    row_in_json: bool = False,
):
    """`evaluate_cases`, for a DataFrame whose rows hold cases as `mode` says (`case_chunk`).

    `row_in_json`: each `decision_json` is the local engine's JSONL line for
    the row (the Decision JSON with `row` first), as `mtbrules batch` writes it.
    """
    require_pyspark()

    spec = ship_pack(pack)
    keep = list(keep)
    for name in keep:
        if name not in df.columns:
            raise InputError(
                f"keep: no column '{name}' in the DataFrame (columns: {', '.join(df.columns)})"
            )
    if row:
        df = with_row_column(df, row)
    clash = [n for n in keep if n in DECISION_TYPES or n == row]
    if clash:
        raise InputError(f"keep: column '{clash[0]}' is also an output column")
    out_fields = ([row] if row else []) + keep
    prefix = [df.schema[name] for name in keep]
    # deferred: pyspark is optional (the spark extra); require_pyspark() names it when missing
    from pyspark.sql.types import LongType, StructField

    schema = _spark_schema(([StructField(row, LongType(), True)] if row else []) + prefix)
    fn = _evaluator(spec, mode, row, keep, out_fields, row_in_json)
    with quiet():
        return df.mapInArrow(fn, schema)


@contextlib.contextmanager
def quiet():
    """PySpark 4 warns on every mapInArrow when pandas is 3.x; mapInArrow does not use pandas."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
        )
        yield
