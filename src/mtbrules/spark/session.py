"""The Spark session mtbrules runs on: starting it, the executors' Python, Spark's failures as one message.

`session()` starts (or returns) a SparkSession whose local Python workers run
this interpreter and whose JVM output can go to a log file; `check_executors`
runs a probe job that every executor imports this mtbrules; `spark_failure`
turns what Spark or Py4J raised into one SparkError (exit 3), its full text
appended to the log.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Mapping

import attrs

from .._version import __version__
from ..errors import InputError, MtbError


def require_pyspark() -> None:
    """InputError (exit 2) naming the missing package unless pyspark and pyarrow import."""
    try:
        # deferred: the spark extra is optional: this checks that pyarrow and pyspark import
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
    require_pyspark()
    # deferred: pyspark is optional (the spark extra); require_pyspark() names it when missing
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
        # imported on the worker: cloudpickle ships this function by value
        import socket
        import sys
        import traceback

        try:
            # the probe's point: whether the worker can import mtbrules
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
