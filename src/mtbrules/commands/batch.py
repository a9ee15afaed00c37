"""Evaluate a caseload file with one pack: JSONL, CSV or Parquet in and out, in parallel.

Each output row is `eval`'s Decision JSON plus the input `row` number (JSONL),
or key columns plus `decision_json` (CSV, Parquet). Rows that cannot be
evaluated go to the errors file (row, field, message); the rest goes on.
Exit 0 when every row was evaluated, 1 when some rows were bad, 2 when the
input cannot be used at all; 128 + the signal (143 for SIGTERM, 130 for Ctrl-C)
when the run was stopped: OUT.partial and its manifest hold the rows done, and
`--resume` finishes the run."""

from __future__ import annotations

import sys
import threading

from ..errors import InputError

HELP = "evaluate a caseload (JSONL/CSV/Parquet) in parallel"


def add_arguments(parser) -> None:
    parser.add_argument(
        "input",
        metavar="IN",
        help="cases: .jsonl, .csv or .parquet (- for JSONL on standard input)",
    )
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT",
        help="decisions: .jsonl, .csv or .parquet (- for JSONL on standard output)",
    )
    parser.add_argument(
        "--pack", required=True, metavar="REF", help="built-in pack id, pack folder or git:REV:PATH"
    )
    parser.add_argument(
        "--errors", metavar="FILE", help="errors file, JSONL or .csv (default: OUT.errors.jsonl)"
    )
    parser.add_argument("--in-format", choices=("jsonl", "csv", "parquet"))
    parser.add_argument("--out-format", choices=("jsonl", "csv", "parquet"))
    parser.add_argument(
        "-j", "--workers", type=int, metavar="N", help="processes (default: the CPUs available)"
    )
    parser.add_argument(
        "--chunk-rows",
        type=int,
        default=2000,
        metavar="N",
        help="rows per work unit (default 2000)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue the interrupted run of the same command (OUT.partial and its manifest)",
    )
    parser.add_argument(
        "--engine",
        choices=("local", "spark"),
        default="local",
        help="local processes (default) or Apache Spark (needs mtbrules[spark]; docs/spark.md)",
    )
    parser.add_argument(
        "--master",
        metavar="URL",
        help="Spark master for --engine spark (default local[N] with N = --workers, else local[*])",
    )
    parser.add_argument(
        "--spark-conf",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a Spark setting for --engine spark (repeatable), e.g. spark.archives=env.tar.gz#env",
    )
    parser.add_argument(
        "--spark-log",
        metavar="FILE",
        help="Spark's and Java's output for --engine spark (default: OUT.spark.log)",
    )


def run(args) -> int:
    # deferred: loaded when the command runs (mtbrules --help stays fast)
    from ..batch import Interrupted, evaluate_file
    from ..registry import load_pack

    if args.chunk_rows < 1:
        raise InputError("--chunk-rows: must be at least 1")
    pack = load_pack(args.pack)
    if args.engine == "spark":
        if args.resume:
            raise InputError(
                "--resume: only with the local engine (Spark has its own commit protocol)"
            )
        stats = _on_spark(args, pack)
        if stats is None:
            return 143
    elif args.master or args.spark_conf or args.spark_log:
        flag = "--master" if args.master else "--spark-conf" if args.spark_conf else "--spark-log"
        raise InputError(f"{flag}: only with --engine spark")
    else:
        try:
            stats = evaluate_file(
                pack,
                args.input,
                args.output,
                **_files(args),
                workers=args.workers,
                chunk_rows=args.chunk_rows,
                resume=args.resume,
            )
        except Interrupted as stopped:
            print(f"mtbrules: {stopped}", file=sys.stderr)
            return stopped.exit_code
    if stats.bad:
        where = f"; see {stats.errors}" if stats.errors else ""
        print(
            f"mtbrules: {stats.bad} of {stats.rows} rows could not be evaluated{where}",
            file=sys.stderr,
        )
        return 1
    return 0


def _files(args) -> dict:
    """What both engines are told about the files and the progress line."""
    return {
        "errors": args.errors or "auto",
        "in_format": args.in_format,
        "out_format": args.out_format,
        "progress": False if args.quiet else None,
    }


class _Terminated(Exception):
    """SIGTERM arrived: unwind so that the partial output is removed and Spark stops."""


def _on_spark(args, pack):
    """The Spark engine (docs/spark.md); None when stopped by SIGTERM (after cleaning up)."""
    # deferred: loaded when the command runs (mtbrules --help stays fast)
    import signal

    # deferred: the spark extra is optional, loaded only for --engine spark
    from ..spark import evaluate_file as evaluate_on_spark

    conf = {}
    for item in args.spark_conf:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--spark-conf: expected KEY=VALUE, got '{item}'")
        conf[key.strip()] = value
    master = args.master or (f"local[{args.workers}]" if args.workers else None)

    def stop(signum, frame):
        raise _Terminated

    # Only the main thread may set a handler (main() called from a thread keeps the default).
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, stop) if main_thread else None
    try:
        return evaluate_on_spark(
            pack,
            args.input,
            args.output,
            **_files(args),
            master=master,
            log=args.spark_log or "auto",
            conf=conf,
        )
    except _Terminated:
        print(f"mtbrules: terminated (SIGTERM); {args.output} was not written", file=sys.stderr)
        return None
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
