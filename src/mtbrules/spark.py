"""Evaluate caseloads on Apache Spark (`pip install "mtbrules[spark]"`).

The engine itself is unchanged: each Spark task runs `Pack.evaluate` on its
rows with `mapInArrow`, so a decision computed on Spark is the decision
`mtbrules eval` prints for the same case. Spark only spreads the rows.

- `evaluate_cases(df, pack)` — a DataFrame of cases → a DataFrame of
  decisions with a typed schema (key fields as columns, the full Decision
  JSON in `decision_json`, `error` for a row that cannot be evaluated).
- `impact(df, old, new)` — the caseload impact of `mtbrules diff` for two
  pack versions, computed on Spark, aggregated on the driver.
- `evaluate_file(pack, IN, OUT)` — what `mtbrules batch --engine spark`
  runs: the same output file, row for row, as the local engine, which
  appears at OUT only when every row is done.
- `check_executors(spark)` — a probe job: every executor imports this
  mtbrules, or a SparkError (exit 3) says which Python cannot.
- `outcome_counts(decisions)` — rows per outcome, for every outcome of
  `mtbrules.decision.OUTCOMES`.

Spark failures reach the caller as one SparkError (what failed, the first
Python error, where the log is), never as Py4J's Java stack traces.

The pack is shipped to executors as its files (they may not see the
driver's disk) and compiled once per Python worker process: a module-level
cache keyed by (pack id, content hash) keeps it for every later task and
batch that worker runs (Spark reuses Python workers by default).

>>> from mtbrules.spark import DECISION_COLUMNS
>>> DECISION_COLUMNS[:4]
('pack', 'pack_version', 'service', 'as_of')
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from . import caseio
from .caseio import KEY_COLUMNS
from .decision import OUTCOMES
from .errors import InputError, MtbError
from .progress import Progress, wanted

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


def _require_pyspark():
    try:
        import pyarrow  # noqa: F401
        import pyspark  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise InputError(
            f"the Spark engine needs the 'spark' extra ({exc.name} is not installed): pip install \"mtbrules[spark]\""
        ) from None


# ---------------------------------------------------------------- the session


class SparkError(MtbError):
    """Spark could not run a job: the environment, not the input (exit 3).

    The message says what failed and the first Python error; `log` is the
    file holding the full output of Spark and Java (None when unknown).
    """

    exit_code = 3

    def __init__(self, message: str, log: str | None = None):
        super().__init__(message)
        self.log = log

    def __reduce__(self):
        return (self.__class__, (self.message, self.log))


#: Where the JVM that this process launched writes its output (None: the terminal, or not launched by us).
_JVM_LOG: str | None = None


def _is_local(master: str) -> bool:
    return master == "local" or master.startswith(("local[", "local-cluster["))


def session(
    master: str | None = None,
    app_name: str = "mtbrules",
    conf: Mapping[str, str] | None = None,
    *,
    log: str | os.PathLike | None = None,
):
    """A SparkSession for mtbrules (the active one if there is one, else a new one on `master`).

    Defaults: `local[*]`, no web UI, no console progress bars, UTC session time
    zone (dates are dates, never shifted), Arrow on, Python workers reused (so
    a compiled pack is kept between tasks).

    In local mode the Python workers run this interpreter (`sys.executable`,
    the one that imports mtbrules) unless `PYSPARK_PYTHON` says otherwise,
    so a script, cron job or `.venv/bin/mtbrules` works without an activated
    venv. `log`: a file for everything the JVM (Spark, Java, the Python
    workers) prints, instead of the terminal; it only applies when this call
    starts the JVM.
    """
    global _JVM_LOG
    _require_pyspark()
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None and master is None:
        return active
    master = master or "local[*]"
    builder = SparkSession.builder.appName(app_name).master(master)
    defaults = {
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.python.worker.reuse": "true",
    }
    for key, value in {**defaults, **(conf or {})}.items():
        builder = builder.config(key, value)
    env = {}
    if _is_local(master) and not os.environ.get("PYSPARK_PYTHON"):
        # PySpark starts workers with "python3" from PATH, which is not this venv's Python
        # when the venv is not activated (cron, systemd, pipx, .venv/bin/mtbrules).
        env["PYSPARK_PYTHON"] = sys.executable
    if not os.environ.get("SPARK_HOME"):
        # Else bin/spark-submit runs "python3" from PATH to find it.
        from pyspark.find_spark_home import _find_spark_home

        env["SPARK_HOME"] = _find_spark_home()
    launching = SparkContext._gateway is None
    with _environment(env), _output_to(log if launching else None):
        spark = builder.getOrCreate()
    if launching and log is not None:
        _JVM_LOG = os.fspath(log)
        # Py4J reports a lost connection through logging, which would print to the terminal.
        import logging

        handler = logging.FileHandler(_JVM_LOG, encoding="utf-8")
        logging.getLogger("py4j").addHandler(handler)
        logging.getLogger("py4j").propagate = False
    level = os.environ.get("MTBRULES_SPARK_LOG_LEVEL") or ("WARN" if _JVM_LOG else "ERROR")
    spark.sparkContext.setLogLevel(level)
    return spark


@contextlib.contextmanager
def _environment(values: Mapping[str, str]):
    """os.environ with `values` while Spark starts (PySpark reads PYSPARK_PYTHON once, then)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def _output_to(log: str | os.PathLike | None):
    """Standard output and error at the file descriptor level go to `log` meanwhile.

    The JVM that PySpark starts inherits them, so Spark's and Java's messages
    (and the Python workers', which the JVM starts) go to the file for the
    JVM's whole life, while this process gets its terminal back.
    """
    if log is None:
        yield
        return
    sys.stdout.flush()
    sys.stderr.flush()
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    saved = os.dup(1), os.dup(2)
    try:
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for d in (fd, *saved):
            os.close(d)


# ---------------------------------------------------------------- the executors' Python


@attrs.frozen
class ExecutorPython:
    """What one probe task found on an executor: its host, interpreter and mtbrules version."""

    host: str
    python: str
    mtbrules: str | None
    error: str | None = None
    traceback: str | None = None


def _probe_fn():
    # A nested function: cloudpickle ships it by value, so it runs on a worker
    # that cannot import mtbrules and says so instead of failing to unpickle.
    def probe(_):
        import socket
        import sys
        import traceback

        try:
            from mtbrules import __version__

            return (socket.gethostname(), sys.executable, __version__, None, None)
        except BaseException as exc:  # noqa: BLE001 - reported to the driver
            first = traceback.format_exception_only(type(exc), exc)[-1].strip()
            return (socket.gethostname(), sys.executable, None, first, traceback.format_exc())

    return probe


def check_executors(spark, *, log: str | None = None) -> tuple[ExecutorPython, ...]:
    """Run a tiny job that imports mtbrules on the executors; raise SparkError unless every one can.

    One task per default-parallelism slot (each executor core, when they are
    up). Every executor must import mtbrules at the driver's version, since
    decisions depend on it. Returns what each probe task found.
    """
    from ._version import __version__

    sc = spark.sparkContext
    slots = max(1, sc.defaultParallelism)
    log = log or _JVM_LOG
    try:
        found = sc.parallelize(range(slots), slots).map(_probe_fn()).collect()
    except Exception as exc:  # noqa: BLE001 - Spark's own failure, reported as one message
        raise spark_failure("while starting Python on the executors", exc, log) from None
    results = tuple(ExecutorPython(*r) for r in found)
    for r in results:
        if r.error is not None:
            _append(log, r.traceback or r.error)
            origin = ", from PYSPARK_PYTHON" if os.environ.get("PYSPARK_PYTHON") else ""
            raise SparkError(
                f"Spark's Python workers cannot import mtbrules: {r.error} (worker Python "
                f"{r.python} on {r.host}{origin}; see docs/spark.md, 'The executors' Python')"
                f"{_where(log)}",
                log,
            )
        if r.mtbrules != __version__:
            raise SparkError(
                f"the executors run mtbrules {r.mtbrules} ({r.python} on {r.host}), the driver "
                f"{__version__}: decisions would differ; ship the driver's version (docs/spark.md)"
                f"{_where(log)}",
                log,
            )
    return results


# ---------------------------------------------------------------- Spark failures as one message


def spark_failure(what: str, exc: BaseException, log: str | None = None) -> SparkError:
    """`exc` (raised by Spark or Py4J while doing `what`) as one SparkError; its full text goes to `log`."""
    log = log or _JVM_LOG
    _append(log, f"mtbrules: Spark failed {what}:\n{exc}")
    hint = ""
    if "JAVA_GATEWAY_EXITED" in str(exc):
        hint = " (Spark needs Java 17 or 21: `java -version`, or JAVA_HOME)"
    return SparkError(f"Spark failed {what}: {first_error(exc)}{hint}{_where(log)}", log)


def first_error(exc: BaseException) -> str:
    """The first Python error in a Spark exception's text (the worker's), else its first line."""
    text = str(exc)
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.rstrip().endswith("Traceback (most recent call last):"):
            for after in lines[i + 1 :]:
                if after.strip() and not after.startswith((" ", "\t")):
                    return _short(after.strip())
    for line in lines:
        line = line.strip().lstrip(":").strip()
        if line and not line.startswith("An error occurred while calling"):
            return _short(line)
    return type(exc).__name__


def _short(line: str, limit: int = 400) -> str:
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _where(log: str | None) -> str:
    return f"; full log: {log}" if log else ""


def _append(log: str | None, text: str) -> None:
    if not log:
        return
    try:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(text.rstrip("\n") + "\n")
    except OSError:
        pass  # the message on the terminal still says what failed


# ---------------------------------------------------------------- shipping the pack


@attrs.frozen
class ShippedPack:
    """A pack as executors receive it: its id, the driver's folder, a content hash, and its files."""

    id: str
    folder: str
    digest: str
    files: tuple[tuple[str, bytes], ...] = attrs.field(repr=lambda v: f"<{len(v)} files>")


def _pack_files(folder: Path) -> list[tuple[str, bytes]]:
    out = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_file() and not any(
            part.startswith(".") or part == "__pycache__" for part in rel.parts
        ):
            out.append((rel.as_posix(), path.read_bytes()))
    return out


def _digest(files: Iterable[tuple[str, bytes]]) -> str:
    h = hashlib.sha256()
    for rel, data in files:
        h.update(rel.encode("utf-8") + b"\0" + str(len(data)).encode() + b"\0" + data)
    return h.hexdigest()[:20]


def ship_pack(pack) -> ShippedPack:
    """`pack` (a Pack, built-in id or folder) as files for executors, loaded here first so errors show early."""
    from .registry import load_pack

    if not hasattr(pack, "evaluate"):
        pack = load_pack(pack)
    folder = Path(pack.folder)
    files = tuple(_pack_files(folder))
    return ShippedPack(pack.id, str(folder), _digest(files), files)


#: Packs compiled in this process, by (pack id, content hash). On an executor, one per Python worker.
_PACKS: dict[tuple[str, str], Any] = {}
#: How many times each (pack id, hash) was compiled in this process (tests check it stays 1).
LOADS: dict[tuple[str, str], int] = {}


def executor_pack(spec: ShippedPack):
    """The compiled Pack for `spec`, built once per process.

    The driver's folder is used when this machine has it with the same
    content (local mode); otherwise the shipped files are written once under
    the temporary directory and loaded from there.
    """
    key = (spec.id, spec.digest)
    pack = _PACKS.get(key)
    if pack is not None:
        return pack
    from .loader import load_pack_folder

    folder = Path(spec.folder)
    try:
        same = folder.is_dir() and _digest(_pack_files(folder)) == spec.digest
    except OSError:
        same = False
    if not same:
        folder = _materialise(spec)
    pack = load_pack_folder(folder)
    _PACKS[key] = pack
    LOADS[key] = LOADS.get(key, 0) + 1
    return pack


def _materialise(spec: ShippedPack) -> Path:
    root = Path(tempfile.gettempdir()) / f"mtbrules-spark-{spec.digest}"
    folder = root / Path(spec.folder).name
    if (folder / "pack.yaml").is_file() and _digest(_pack_files(folder)) == spec.digest:
        return folder
    staging = Path(tempfile.mkdtemp(prefix=f"mtbrules-spark-{spec.digest}-"))
    for rel, data in spec.files:
        target = staging / Path(spec.folder).name / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    try:
        os.rename(staging, root)  # atomic; another worker may have won the race
    except OSError:
        pass
    if (folder / "pack.yaml").is_file() and _digest(_pack_files(folder)) == spec.digest:
        return folder
    return staging / Path(spec.folder).name


# ---------------------------------------------------------------- schemas


def _spark_type(ddl: str):
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
    from pyspark.sql.types import LongType, StructField

    return _spark_schema([StructField(row, LongType(), True)] if row else [])


# ---------------------------------------------------------------- row numbers


def with_row_numbers(df, col: str = "row", start: int = 1):
    """`df` with `col`: consecutive numbers from `start` in the DataFrame's partition order.

    For a file read this is the file's order (the line or record number). It
    runs one counting job. The numbering is only stable if `df`'s partitions
    are (a file read is; a shuffle's output is not — cache it first).
    """
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
    """The function mapInArrow runs: Arrow batches of cases → Arrow batches of decisions.

    mode "table": every column but `row` and `keep` is a case field (or
    `case_json`), converted as `mtbrules batch` converts Parquet/CSV records.
    mode "jsonl": column `value` is one JSONL line; blank lines give no row.
    mode "csv": as "table" plus `_corrupt_record` (a record whose width
    differs from the header's).
    """

    def run(batches):
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
            for i, case, field, message in caseio.chunk_cases(_chunk(batch, mode, skip), pack):
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


def _chunk(batch, mode: str, skip: set) -> tuple:
    """An Arrow batch of cases as a caseio chunk whose row numbers are the batch's indexes.

    mode "jsonl": column `value` holds the lines (None: a blank line); "table": every
    column not in `skip` is a case field; "csv": as "table", and `_corrupt_record` holds a
    record whose number of cells differs from the header's.
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
    import csv
    import io

    try:
        return len(next(csv.reader(io.StringIO(raw))))
    except (StopIteration, csv.Error):
        return 0


def _arrow_schema_for(input_schema, row, keep, out_fields):
    """Output Arrow schema: the row column, the kept columns as they came in, the decision columns."""
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
    _mode: str = "table",
    _row_in_json: bool = False,
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
    _require_pyspark()
    from pyspark.sql import functions as F

    spec = ship_pack(pack)
    keep = list(keep)
    for name in keep:
        if name not in df.columns:
            raise InputError(
                f"keep: no column '{name}' in the DataFrame (columns: {', '.join(df.columns)})"
            )
    if row:
        if row in df.columns:
            df = df.withColumn(row, F.col(row).cast("long"))
        else:
            df = with_row_numbers(df, row)
    clash = [n for n in keep if n in DECISION_TYPES or n == row]
    if clash:
        raise InputError(f"keep: column '{clash[0]}' is also an output column")
    out_fields = ([row] if row else []) + keep
    prefix = [df.schema[name] for name in keep]
    from pyspark.sql.types import LongType, StructField

    schema = _spark_schema(([StructField(row, LongType(), True)] if row else []) + prefix)
    fn = _evaluator(spec, _mode, row, keep, out_fields, _row_in_json)
    with _quiet():
        return df.mapInArrow(fn, schema)


@contextlib.contextmanager
def _quiet():
    """PySpark 4 warns on every mapInArrow when pandas is 3.x; mapInArrow does not use pandas."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
        )
        yield


# ---------------------------------------------------------------- files (mtbrules batch --engine spark)


#: Input bytes per partition when reading a caseload file (about 5,000 JSONL cases).
_SPLIT_BYTES = 2 << 20


def read_caseload(spark, path: str, fmt: str, partitions: int | None = None):
    """(DataFrame with a `row` column numbered as `mtbrules batch` numbers rows, mode for evaluate_cases).

    Sets `spark.sql.files.maxPartitionBytes` on the session so that the file is split into
    `partitions` (default: 4 per core, at most ~2 MB each).
    """
    from pyspark.sql.types import StringType, StructField, StructType

    size = _size(path)
    # A few partitions per core, each small enough that its decisions (a few KB a row) sit easily in
    # the driver's memory when they come back in order.
    target = partitions or max(
        1, spark.sparkContext.defaultParallelism * 4, (size or 0) // _SPLIT_BYTES + 1
    )
    if size:
        # Split the file itself so that every core gets work without a shuffle.
        spark.conf.set(
            "spark.sql.files.maxPartitionBytes",
            str(max(1 << 18, min(_SPLIT_BYTES, size // target + 1))),
        )
    if fmt == "jsonl":
        df = spark.read.option("lineSep", "\n").text(path)
        mode = "jsonl"
    elif fmt == "parquet":
        df = spark.read.parquet(path)
        mode = "table"
    elif fmt == "csv":
        options = {"header": "true", "multiLine": "true", "escape": '"', "encoding": "UTF-8"}
        header = spark.read.options(**options).csv(path).columns
        names = [h.lstrip("\ufeff").strip() for h in header]
        schema = StructType(
            [StructField(n, StringType(), True) for n in names]
            + [StructField("_corrupt_record", StringType(), True)]
        )
        df = (
            spark.read.options(
                **options,
                mode="PERMISSIVE",
                columnNameOfCorruptRecord="_corrupt_record",
                enforceSchema="true",
            )
            .schema(schema)
            .csv(path)
        )
        mode = "csv"
    else:
        raise InputError(f"unknown format '{fmt}'")
    df = with_row_numbers(df, "row")
    if df.rdd.getNumPartitions() < target:
        df = df.repartitionByRange(target, "row")
    df = df.sortWithinPartitions("row")
    return df, mode


def _size(path: str) -> int | None:
    try:
        return os.path.getsize(path) if os.path.isfile(path) else None
    except OSError:
        return None


def evaluate_file(
    pack,
    src: str,
    dst: str,
    *,
    errors: str | None = "auto",
    in_format: str | None = None,
    out_format: str | None = None,
    master: str | None = None,
    partitions: int | None = None,
    spark=None,
    progress: bool | None = None,
    log: str | None = "auto",
    conf: Mapping[str, str] | None = None,
):
    """`mtbrules batch` on Spark: the same output file, row for row, as `batch.evaluate_file`.

    The cases are read and evaluated by Spark (`src` may be any path Spark
    reads: a local file in local mode, hdfs://, s3a://…); decisions come
    back to the driver in row order and are written to `dst` by the local
    engine's writers. Returns batch.BatchStats.

    Nothing is written at `dst` (or the errors file) until every row is done:
    the driver writes `<name>.partial<ext>` next to it and renames it on
    success; a failed or interrupted run removes the partial file (a killed
    one leaves it, under that name). Before the cases, a probe job checks that
    the executors import this mtbrules (`check_executors`).

    `log`: the file for Spark's and Java's output when this call starts
    Spark ("auto": `<dst>.spark.log`, or one in the temporary directory when
    `dst` is "-"; None: the terminal). `conf`: more Spark settings for a new
    session. A failure of Spark itself raises SparkError (exit 3).
    """
    from .batch import BatchStats
    from .registry import load_pack

    _require_pyspark()
    if not hasattr(pack, "evaluate"):
        pack = load_pack(pack)
    fin, fout = caseio.run_formats(src, dst, in_format, out_format)
    if src == "-":
        raise InputError(
            "the Spark engine reads a file or a URI Spark can read, not standard input"
        )
    if "://" not in src and not os.path.isfile(src):
        raise InputError(f"{src}: no such file")
    if "://" in dst:
        raise InputError(
            f"{dst}: the Spark engine writes OUT on this machine; to write a table or a folder "
            "on the cluster use the Python API (docs/spark.md)"
        )
    errors = caseio.errors_path(dst, errors)
    if log == "auto":
        log = default_log(dst)
    if log is not None and "://" not in log:
        log = os.path.abspath(log)
    started = time.monotonic()
    from py4j.protocol import Py4JError  # type: ignore[import-untyped]
    from pyspark.errors import PySparkException

    spark_errors = (Py4JError, PySparkException)
    with _quiet():
        if spark is None:
            local = master or "local[*]"
            if local == "local" or local.startswith("local["):
                # Our only shuffles (numbering rows) move a few numbers per partition: a
                # partition per core, not Spark's 200, saves seconds of scheduling per run.
                cores = local[6:-1] if local.startswith("local[") else "1"
                shuffle = str(os.cpu_count() or 1) if cores in ("*", "") else cores
                conf = {"spark.sql.shuffle.partitions": shuffle, **(conf or {})}
            try:
                spark = session(master, conf=conf, log=log)
            except spark_errors as exc:
                raise spark_failure("to start", exc, log) from None
        check_executors(spark, log=log)
        try:
            cases, mode = read_caseload(spark, src, fin, partitions)
        except InputError:
            raise
        except Exception as exc:  # noqa: BLE001 - Spark's AnalysisException for unreadable input
            raise InputError(f"{src}: Spark cannot read it as {fin}: {_first_line(exc)}") from None
        decisions = evaluate_cases(cases, pack, row="row", _mode=mode, _row_in_json=True)
        out_path = partial_name(dst) if dst != "-" else dst
        err_path = partial_name(errors) if errors else None
        writer = caseio.decision_writer(out_path, fout)
        err = caseio.ErrorWriter(err_path, format_name=errors)
        meter = Progress(wanted(progress), None)
        ok = 0
        committed = False
        try:
            pending: list = []
            for r in decisions.toLocalIterator(prefetchPartitions=True):
                if r["error"] is not None:
                    err.write([(r["row"], r["error_field"], r["error"])])
                    meter.update(1)
                    continue
                pending.append(r)
                if len(pending) >= caseio.CHUNK_ROWS:
                    writer.write(_payload(pending, fout))
                    ok += len(pending)
                    meter.update(len(pending))
                    pending = []
            if pending:
                writer.write(_payload(pending, fout))
                ok += len(pending)
                meter.update(len(pending))
            writer.close()
            err.close()
            # The commit: the errors file first, then OUT, whose name says the run finished.
            if errors and err_path:
                os.replace(err_path, errors)
            if out_path != dst:
                os.replace(out_path, dst)
            committed = True
        except spark_errors as exc:
            raise spark_failure("while evaluating the cases", exc, log) from None
        finally:
            if not committed:
                _abandon(spark, (writer, err), (out_path, err_path), dst)
    meter.update(0, final=True)
    return BatchStats(
        rows=ok + err.count,
        ok=ok,
        bad=err.count,
        seconds=round(time.monotonic() - started, 3),
        output=dst,
        errors=errors,
    )


def partial_name(path: str) -> str:
    """Where a run writes `path` until it has finished: `out.jsonl` -> `out.partial.jsonl`.

    >>> partial_name("runs/decisions.csv")
    'runs/decisions.partial.csv'
    """
    folder, name = os.path.split(path)
    stem, ext = os.path.splitext(name)
    return os.path.join(folder, f"{stem}.partial{ext}")


def default_log(dst: str) -> str:
    """Where `evaluate_file` puts Spark's log by default: next to OUT, or in the temporary directory."""
    if dst == "-":
        return os.path.join(tempfile.gettempdir(), f"mtbrules-spark-{os.getpid()}.log")
    return dst + ".spark.log"


def _abandon(spark, writers, paths, dst: str) -> None:
    """A run that did not finish: stop its jobs, close and remove the partial files."""
    with contextlib.suppress(Exception):
        spark.sparkContext.cancelAllJobs()
    for w in writers:
        with contextlib.suppress(Exception):
            w.close()
    for path in paths:
        if path and path not in (dst, "-"):
            with contextlib.suppress(OSError):
                os.remove(path)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _payload(rows: list, fout: str):
    """Spark rows → what the local writers take: caseio.encode_decisions' text or columns."""
    if fout == "jsonl":
        # decision_json is already caseio's line for the row (evaluate_cases(_row_in_json=True)).
        return "".join(r["decision_json"] + "\n" for r in rows)
    return caseio.encode_decisions(
        [(r["row"], caseio.loads(r["decision_json"])) for r in rows], fout
    )


# ---------------------------------------------------------------- impact of a pack change


def _impact_fn(old: ShippedPack, new: ShippedPack, mode: str, row: str):
    def run(batches):
        import pyarrow as pa

        from .diff import compare_case

        a_pack, b_pack = executor_pack(old), executor_pack(new)
        schema = pa.schema(
            [
                pa.field(row, pa.int64()),
                pa.field("count", pa.int64()),
                pa.field("diff", pa.string()),
            ]
        )
        count = 0
        for batch in batches:
            rows, diffs = [], []
            rownums = batch.column(row).to_pylist()
            # As `mtbrules diff --cases` does: the cases as the old pack reads them.
            for i, case, _, message in caseio.chunk_cases(_chunk(batch, mode, {row}), a_pack):
                count += 1
                r = rownums[i]
                d = (
                    {"row": r, "invalid": message}
                    if case is None
                    else compare_case(r, case, a_pack, b_pack)
                )
                if d is not None:
                    rows.append(r)
                    diffs.append(json.dumps(d, ensure_ascii=False))
            if rows:
                yield pa.RecordBatch.from_arrays(
                    [
                        pa.array(rows, pa.int64()),
                        pa.array([None] * len(rows), pa.int64()),
                        pa.array(diffs, pa.string()),
                    ],
                    schema=schema,
                )
        yield pa.RecordBatch.from_arrays(
            [
                pa.array([None], pa.int64()),
                pa.array([count], pa.int64()),
                pa.array([None], pa.string()),
            ],
            schema=schema,
        )

    return run


def impact(df, old, new, *, row: str = "row", examples: int = 3, _mode: str = "table"):
    """The caseload impact of going from pack `old` to `new` (Packs, ids or folders), computed on Spark.

    `df` holds cases as for `evaluate_cases` (a `row` column is added when
    missing). Executors evaluate every case under both packs and send back
    only the cases whose decision differs; the driver aggregates them in
    row order into a `mtbrules.diff.Impact`, the same as `mtbrules diff
    --cases` computes locally.
    """
    _require_pyspark()
    from pyspark.sql import functions as F

    from . import diff as dd
    from .registry import load_pack

    old = old if hasattr(old, "evaluate") else load_pack(old)
    new = new if hasattr(new, "evaluate") else load_pack(new)
    if row in df.columns:
        df = df.withColumn(row, F.col(row).cast("long"))
    else:
        df = with_row_numbers(df, row)
    with _quiet():
        out = df.mapInArrow(
            _impact_fn(ship_pack(old), ship_pack(new), _mode, row),
            f"`{row}` bigint, count bigint, diff string",
        )
    result = dd.Impact(old, new, examples=examples)
    counted = 0
    diffs = 0
    for r in out.orderBy(F.col(row).asc_nulls_first()).toLocalIterator():
        if r["diff"] is None:
            counted += r["count"]
            continue
        diffs += 1
        result.add(json.loads(r["diff"]))
    result.cases += counted - diffs
    return result


def impact_file(
    old,
    new,
    path: str,
    *,
    spark=None,
    master: str | None = None,
    examples: int = 3,
    partitions: int | None = None,
):
    """`impact` for a JSONL caseload file (row = line number), as `mtbrules diff --cases FILE`."""
    spark = spark or session(master)
    cases, mode = read_caseload(spark, path, "jsonl", partitions)
    return impact(cases, old, new, row="row", examples=examples, _mode=mode)
