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

The modules, by job: `session` (the SparkSession, the executor probe,
SparkError), `shipping` (the pack on the executors), `dataframe` (the
DataFrame API and its schema), `files` (`batch --engine spark`), `impact`
(`diff --cases` on Spark). Every public name is importable from here.

>>> from mtbrules.spark import DECISION_COLUMNS
>>> DECISION_COLUMNS[:4]
('pack', 'pack_version', 'service', 'as_of')
"""

from __future__ import annotations

from .dataframe import (
    DEADLINE_COLUMNS,
    DECISION_COLUMNS,
    DECISION_TYPES,
    decision_schema,
    evaluate_cases,
    map_cases,
    outcome_counts,
    with_row_numbers,
)
from .files import default_log, evaluate_file, partial_name, read_caseload
from .impact import impact, impact_file
from .session import (
    ExecutorPython,
    SparkError,
    check_executors,
    first_error,
    session,
    spark_failure,
)
from .shipping import LOADS, ShippedPack, executor_pack, ship_pack

__all__ = [
    "DEADLINE_COLUMNS",
    "DECISION_COLUMNS",
    "DECISION_TYPES",
    "LOADS",
    "ExecutorPython",
    "ShippedPack",
    "SparkError",
    "check_executors",
    "decision_schema",
    "default_log",
    "evaluate_cases",
    "evaluate_file",
    "executor_pack",
    "first_error",
    "impact",
    "impact_file",
    "map_cases",
    "outcome_counts",
    "partial_name",
    "read_caseload",
    "session",
    "ship_pack",
    "spark_failure",
    "with_row_numbers",
]
