"""The caseload impact of a pack change (`mtbrules diff --cases`), computed on Spark.

Executors compare each batch of cases as `diff --cases` compares a chunk
(`diff.compare_chunk`: each case as the old pack reads it, its decisions
under both packs) and send back only the cases that differ; the driver adds
them up in row order into the `diff.Impact` the local command computes.
"""

from __future__ import annotations

import json

from .. import diff as dd
from ..registry import load_pack
from .dataframe import case_chunk, quiet, with_row_column
from .files import read_caseload
from .session import require_pyspark, session
from .shipping import ShippedPack, executor_pack, ship_pack


def _impact_fn(old: ShippedPack, new: ShippedPack, mode: str, row: str):
    def run(batches):
        # deferred: pyarrow is optional (the spark extra); require_pyspark() names it when missing
        import pyarrow as pa

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
            rownums = batch.column(row).to_pylist()
            # As `mtbrules diff --cases` does; the chunk's row numbers are the batch's indexes.
            cases, found = dd.compare_chunk(case_chunk(batch, mode, {row}), a_pack, b_pack)
            count += cases
            rows, diffs = [], []
            for d in found:
                d["row"] = rownums[d["row"]]
                rows.append(d["row"])
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
    require_pyspark()
    # deferred: pyspark is optional (the spark extra); require_pyspark() names it when missing
    from pyspark.sql import functions as F

    old = old if hasattr(old, "evaluate") else load_pack(old)
    new = new if hasattr(new, "evaluate") else load_pack(new)
    df = with_row_column(df, row)
    with quiet():
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
