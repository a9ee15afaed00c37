"""Measure the Spark engine against the local engine and write the table into docs/spark.md.

    python benchmarks/spark_scaling.py                  # 200,000 Qingdao cases, local[1] and local[2]
    python benchmarks/spark_scaling.py -n 20000 --no-write

Cases: `mtbrules.synth.synth_cases(qingdao, N, seed=1)` when that module is
there, else a seeded generator over the pack's catalogues; written once as
JSONL. Every engine reads that file and evaluates every case with the same
pack. Each Spark master runs in its own process (a SparkSession's master is
fixed for the life of the JVM).

Measured:
- local engine: `mtbrules.batch.evaluate_file(..., workers=W)` JSONL → JSONL.
- Spark, evaluation: the cases read and cached as text, then
  `evaluate_cases(...)` written to Spark's `noop` sink (every decision is
  computed and serialised, nothing is collected), timed after a warm-up
  run on 2,000 rows that starts the Python workers and compiles the pack.
- local engine, evaluation: `pack.evaluate(case).to_dict()` + `json.dumps`
  in one process on cases already parsed.
- Spark, batch: `mtbrules.spark.evaluate_file` JSONL → JSONL, what
  `mtbrules batch --engine spark` runs once the session is up (decisions
  come back to the driver in row order and one process writes the file).
- Spark session start-up, separately.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "spark.md"
BEGIN, END = "<!-- scaling:begin -->", "<!-- scaling:end -->"


def _cases(pack, n: int, seed: int):
    try:
        from mtbrules.synth import synth_cases
    except ImportError:
        synth_cases = None
    if synth_cases is not None:
        yield from synth_cases(pack, n, seed=seed)
        return
    rng = random.Random(seed)
    diseases = [d.name for d in pack.diseases.values()] + ["感冒"]
    documents = [d.name for d in pack.documents.values()]
    for _ in range(n):
        case = {
            "service": "certificate",
            "submitted_on": (
                _dt.date(2024, 1, 1) + _dt.timedelta(days=rng.randrange(900))
            ).isoformat(),
            "diseases": [rng.choice(diseases)],
            "first_application": rng.random() < 0.5,
            "hospitalized": rng.random() < 0.5,
            "agent": rng.random() < 0.5,
        }
        if rng.random() < 0.6:
            case["materials"] = rng.sample(documents, rng.randrange(4))
        yield case


def write_cases(path: Path, n: int, seed: int) -> None:
    import mtbrules

    pack = mtbrules.load_pack("qingdao")
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(
            json.dumps(case, ensure_ascii=False, default=str) + "\n"
            for case in _cases(pack, n, seed)
        )


def measure_local(path: Path, workers: int, tmp: Path) -> dict:
    import mtbrules
    from mtbrules.batch import evaluate_file

    pack = mtbrules.load_pack("qingdao")
    started = time.perf_counter()
    stats = evaluate_file(
        pack, str(path), str(tmp / f"local-{workers}.jsonl"), workers=workers, progress=False
    )
    seconds = time.perf_counter() - started
    out = {
        "engine": f"local, {workers} process{'es' if workers > 1 else ''}",
        "rows": stats.rows,
        "batch_s": seconds,
    }
    if workers == 1:
        with open(path, encoding="utf-8") as fh:
            cases = [json.loads(line) for line in fh if line.strip()]
        t = time.perf_counter()
        for case in cases:
            try:
                json.dumps(pack.evaluate(case).to_dict(), ensure_ascii=False)
            except mtbrules.MtbError:
                pass
        out["evaluate_s"] = time.perf_counter() - t
    return out


def measure_spark(path: Path, master: str, tmp: Path) -> dict:
    """Run in a child process: one SparkSession on `master`."""
    import warnings

    warnings.simplefilter("ignore", FutureWarning)
    import mtbrules
    from mtbrules import spark as ms

    pack = mtbrules.load_pack("qingdao")
    started = time.perf_counter()
    spark = ms.session(master)
    startup = time.perf_counter() - started

    cases, mode = ms.read_caseload(spark, str(path), "jsonl")
    cases = cases.cache()
    rows = cases.count()
    runs = []
    # The first run starts the Python workers and compiles the pack in each (on a slice), the second is timed.
    for part in (cases.limit(2000), cases):
        t = time.perf_counter()
        ms.map_cases(part, pack, mode=mode, row_in_json=True).write.format("noop").mode(
            "overwrite"
        ).save()
        runs.append(time.perf_counter() - t)
    cases.unpersist()

    t = time.perf_counter()
    stats = ms.evaluate_file(
        pack,
        str(path),
        str(tmp / f"spark-{re.sub(r'[^0-9a-z]', '', master)}.jsonl"),
        spark=spark,
        progress=False,
    )
    batch_s = time.perf_counter() - t
    spark.stop()
    return {
        "engine": f"Spark {master}",
        "rows": rows,
        "startup_s": startup,
        "evaluate_s": runs[1],
        "evaluate_first_s": runs[0],
        "batch_s": batch_s,
        "batch_rows": stats.rows,
    }


def machine() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        mem = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, AttributeError):
        pass
    try:
        java = subprocess.run(
            ["java", "-version"], capture_output=True, text=True
        ).stderr.splitlines()[0]
    except (OSError, IndexError):
        java = "?"
    try:
        import pyspark

        spark_version = pyspark.__version__
    except ImportError:
        spark_version = "not installed"
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    return {
        "cpu": cpu,
        "cores": cores,
        "memory": mem,
        "os": platform.platform(),
        "python": platform.python_version(),
        "java": java,
        "pyspark": spark_version,
    }


def _load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def render(results: list[dict], info: dict, n: int, command: str, loads: tuple[str, str]) -> str:
    base = next(r for r in results if r["engine"].startswith("local, 1 "))
    base_rate = base["rows"] / base["batch_s"]
    lines = [
        BEGIN,
        f"Measured {_dt.date.today().isoformat()} with `{command}` on {n:,} synthetic Qingdao cases (JSONL, {info['cores']} cores).",
        "",
        "| engine | evaluation, rows/s | batch file → file, rows/s | batch vs local 1 process | session start-up |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in results:
        batch_rate = r["rows"] / r["batch_s"]
        evaluation = f"{r['rows'] / r['evaluate_s']:,.0f}" if "evaluate_s" in r else "—"
        startup = f"{r['startup_s']:.0f} s" if "startup_s" in r else "—"
        lines.append(
            f"| {r['engine']} | {evaluation} | {batch_rate:,.0f} | {batch_rate / base_rate:.2f}× | {startup} |"
        )
    warm = ", ".join(
        f"{r['evaluate_first_s']:.1f} s on {r['engine'].split()[-1]}"
        for r in results
        if "evaluate_first_s" in r
    )
    lines += [
        "",
        "- *evaluation*: for the local engine, `pack.evaluate(case).to_dict()` and `json.dumps` in one process"
        " on cases already parsed; for Spark, evaluating the cases (read and cached) into its `noop` sink, after a"
        " warm-up run on 2,000 rows that starts the Python workers and compiles the pack in each"
        + (f" (it took {warm})." if warm else "."),
        (
            "- *batch*: JSONL file → JSONL file, as `mtbrules batch` does it; for Spark once the session is up"
            " (reading, numbering rows, evaluating, bringing decisions back in row order, writing one file)."
        ),
        "",
        (
            f"Machine: {info['cpu']}; {info['cores']} cores; {info['memory']}; {info['os']}; Python {info['python']};"
            f" {info['java']}; PySpark {info['pyspark']}. Load average before / after: {loads[0]} / {loads[1]}"
            " (the machine was shared with other work while measuring; numbers are indicative)."
        ),
        END,
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", "--cases", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--masters", default="local[1],local[2]")
    parser.add_argument("--local-workers", default="1,2")
    parser.add_argument(
        "--no-write", action="store_true", help="print the table, do not update docs/spark.md"
    )
    parser.add_argument(
        "--child", nargs=3, metavar=("MASTER", "CASES", "TMP"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.child:
        master, path, tmp = args.child
        print(json.dumps(measure_spark(Path(path), master, Path(tmp))))
        return 0

    command = "python benchmarks/spark_scaling.py" + (
        f" -n {args.cases}" if args.cases != 200_000 else ""
    )
    info = machine()
    load_before = _load()
    results = []
    with tempfile.TemporaryDirectory(prefix="mtbrules-spark-bench-") as tmp_name:
        tmp = Path(tmp_name)
        path = tmp / "cases.jsonl"
        t = time.perf_counter()
        write_cases(path, args.cases, args.seed)
        print(f"{args.cases:,} cases written in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        for w in (int(x) for x in args.local_workers.split(",") if x):
            r = measure_local(path, w, tmp)
            print(json.dumps(r), file=sys.stderr)
            results.append(r)
        for master in (m for m in args.masters.split(",") if m):
            proc = subprocess.run(
                [sys.executable, __file__, "--child", master, str(path), str(tmp)],
                capture_output=True,
                text=True,
            )
            if proc.returncode != 0:
                sys.stderr.write(proc.stderr[-4000:])
                return 1
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            print(json.dumps(r), file=sys.stderr)
            results.append(r)
    table = render(results, info, args.cases, command, (load_before, _load()))
    print(table)
    if not args.no_write:
        text = DOC.read_text(encoding="utf-8")
        if BEGIN not in text or END not in text:
            print(f"{DOC}: no {BEGIN} … {END} markers; table not written", file=sys.stderr)
            return 1
        head, rest = text.split(BEGIN, 1)
        DOC.write_text(head + table + rest.split(END, 1)[1], encoding="utf-8")
        print(f"updated {DOC.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
