"""`mtbrules batch --engine spark`: a caseload file read by Spark, evaluated there, written in row order here.

`evaluate_file` writes the local engine's output file and errors file, row
for row (caseio's writers and encoding), and only at the end: the rows go to
OUT's partial name, renamed into place when the last one is written.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Mapping

from .. import caseio
from ..batch import BatchStats
from ..errors import InputError
from ..progress import Progress, wanted
from ..registry import load_pack
from .dataframe import map_cases, quiet, with_row_numbers
from .session import check_executors, require_pyspark, session, spark_failure

#: Input bytes per partition when reading a caseload file (about 5,000 JSONL cases).
_SPLIT_BYTES = 2 << 20


def read_caseload(spark, path: str, fmt: str, partitions: int | None = None):
    """(DataFrame with a `row` column numbered as `mtbrules batch` numbers rows, its mode for map_cases).

    Sets `spark.sql.files.maxPartitionBytes` on the session so that the file is split into
    `partitions` (default: 4 per core, at most ~2 MB each).
    """
    # deferred: pyspark is optional (the spark extra); require_pyspark() names it when missing
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
    require_pyspark()
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
    # deferred: py4j and pyspark are optional (the spark extra)
    from py4j.protocol import Py4JError  # type: ignore[import-untyped]
    from pyspark.errors import PySparkException

    spark_errors = (Py4JError, PySparkException)
    with quiet():
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
        decisions = map_cases(cases, pack, row="row", mode=mode, row_in_json=True)
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
        # decision_json is already caseio's line for the row (map_cases(row_in_json=True)).
        return "".join(r["decision_json"] + "\n" for r in rows)
    return caseio.encode_decisions(
        [(r["row"], caseio.loads(r["decision_json"])) for r in rows], fout
    )
