"""Batch end to end: `mtbrules batch` JSONL in -> JSONL out, as a subprocess.

For each size (default 250,000 and 1,000,000 Qingdao cases) it runs

    python -m mtbrules batch IN.jsonl -o OUT.jsonl --pack qingdao -j WORKERS -q

and reports the wall time, rows per second, and memory: the resident set of
the whole process tree (the command and every descendant, summed, sampled
from /proc every 50 ms) at its peak, and the largest single process
(`getrusage(RUSAGE_CHILDREN).ru_maxrss`). Memory is "flat" when the peak of
the largest run is within 25% of the peak of the smallest (a leak or an
unbounded queue grows with the row count; a bounded pipeline does not).

Input files are cached under the work directory (default
$TMPDIR/mtbrules-bench) by size and seed; outputs are deleted after their
rows are counted.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import threading
import time

import caseload

FLAT_TOLERANCE = 1.25


def available() -> str | None:
    """None when `mtbrules batch` can be run, else why not."""
    try:
        import mtbrules.batch
        import mtbrules.commands.batch  # noqa: F401
    except ImportError as exc:
        return f"batch command not available ({exc})"
    return None


def _children(pid_root: int) -> list[int]:
    """pid_root and all its descendants, from /proc/*/stat."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        parents.setdefault(int(fields[1]), []).append(int(entry))
    tree, todo = [], [pid_root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(parents.get(pid, ()))
    return tree


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class TreeSampler(threading.Thread):
    """Samples the summed RSS of a process tree until stopped."""

    def __init__(self, pid: int, every: float = 0.05):
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.samples: list[tuple[float, int, int]] = []  # (seconds, KiB summed, processes)
        self._done = threading.Event()
        self.t0 = time.perf_counter()

    def run(self) -> None:
        while not self._done.is_set():
            pids = _children(self.pid)
            total = sum(_rss_kib(p) for p in pids)
            if total:
                self.samples.append((time.perf_counter() - self.t0, total, len(pids)))
            self._done.wait(self.every)

    def stop(self) -> None:
        self._done.set()
        self.join()

    @property
    def peak_kib(self) -> int:
        return max((s[1] for s in self.samples), default=0)

    def peak_between(self, lo: float, hi: float) -> int:
        """Peak of the samples taken between fractions lo and hi of the run."""
        if not self.samples:
            return 0
        end = self.samples[-1][0]
        return max((s[1] for s in self.samples if lo * end <= s[0] <= hi * end), default=0)


def _count_lines(path: str) -> int:
    if not os.path.exists(path):
        return 0
    n = 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            n += block.count(b"\n")
    return n


def run_one(pack_id: str, rows: int, seed: int, workers: int, workdir: str, log=print) -> dict:
    import mtbrules

    src = os.path.join(workdir, f"{pack_id}-{rows}-{seed}.jsonl")
    if not os.path.exists(src):
        t0 = time.perf_counter()
        caseload.write_jsonl(mtbrules.load_pack(pack_id), src, rows, seed)
        log(f"  wrote {rows:,} cases to {src} in {time.perf_counter() - t0:.1f} s")
    dst = os.path.join(workdir, f"out-{pack_id}-{rows}.jsonl")
    errors = dst + ".errors.jsonl"
    for p in (dst, errors):
        if os.path.exists(p):
            os.remove(p)
    cmd = [
        sys.executable,
        "-m",
        "mtbrules",
        "batch",
        src,
        "-o",
        dst,
        "--pack",
        pack_id,
        "-j",
        str(workers),
        "-q",
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    sampler = TreeSampler(proc.pid)
    sampler.start()
    _, stderr = proc.communicate()
    wall = time.perf_counter() - t0
    sampler.stop()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    out_rows, err_rows = _count_lines(dst), _count_lines(errors)
    out_bytes = os.path.getsize(dst) if os.path.exists(dst) else 0
    for p in (dst, errors):
        if os.path.exists(p):
            os.remove(p)
    result = {
        "rows": rows,
        "workers": workers,
        "exit": proc.returncode,
        "stderr": stderr.decode("utf-8", "replace")[-500:],
        "wall_s": wall,
        "rows_per_s": rows / wall if wall else 0.0,
        "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "out_rows": out_rows,
        "error_rows": err_rows,
        "out_mib": out_bytes / 2**20,
        "peak_tree_mib": sampler.peak_kib / 1024,
        "peak_first_half_mib": sampler.peak_between(0.0, 0.5) / 1024,
        "peak_second_half_mib": sampler.peak_between(0.5, 1.0) / 1024,
        "max_single_mib": after.ru_maxrss / 1024,  # KiB on Linux; max over all children so far
        "processes": max((s[2] for s in sampler.samples), default=0),
        "load_1min": load,  # the machine's load average when the run started (others' work too)
        "command": " ".join(["python", *cmd[1:]]).replace(workdir, "$WORK"),
    }
    log(
        f"  {rows:>9,} rows: {wall:6.1f} s wall, {result['rows_per_s']:,.0f} rows/s, "
        f"peak tree RSS {result['peak_tree_mib']:.0f} MiB over {result['processes']} processes, "
        f"exit {proc.returncode}, {out_rows:,} out + {err_rows:,} errors"
    )
    return result


def run(
    sizes: list[int],
    seed: int,
    workers: int,
    workdir: str | None = None,
    pack_id: str = "qingdao",
    log=print,
) -> dict:
    why = available()
    if why:
        log(f"  {why}")
        return {"available": False, "reason": why}
    workdir = workdir or os.path.join(tempfile.gettempdir(), "mtbrules-bench")
    os.makedirs(workdir, exist_ok=True)
    runs = [run_one(pack_id, rows, seed, workers, workdir, log) for rows in sizes]
    small, big = runs[0], runs[-1]
    # Only comparable when both runs used the same processes (batch runs small inputs in one).
    comparable = len(runs) > 1 and small["peak_tree_mib"] and small["processes"] == big["processes"]
    flat = big["peak_tree_mib"] <= small["peak_tree_mib"] * FLAT_TOLERANCE if comparable else None
    return {
        "available": True,
        "pack": pack_id,
        "seed": seed,
        "workers": workers,
        "source": caseload.synth_source(),
        "pool": caseload.POOL,
        "runs": runs,
        "flat": flat,
        "flat_tolerance": FLAT_TOLERANCE,
    }


def scaling(
    rows: int, seed: int, workers: list[int], workdir: str | None = None, log=print
) -> dict:
    """One input, run with each worker count in turn (interleaved `rounds` times by the caller):
    wall time and the speed-up of each count over one worker, in the same run."""
    workdir = workdir or os.path.join(tempfile.gettempdir(), "mtbrules-bench")
    os.makedirs(workdir, exist_ok=True)
    runs = [run_one("qingdao", rows, seed, j, workdir, log) for j in workers]
    one = next((r for r in runs if r["workers"] == 1), None)
    for r in runs:
        r["speedup"] = one["wall_s"] / r["wall_s"] if one and r["wall_s"] else None
    return {"rows": rows, "runs": runs}


def main(argv: list[str] | None = None) -> int:
    """python benchmarks/batch_bench.py --rows 100000 -j 1 -j 2 [--rounds 2]: a short run,
    with the load average before and after (the machine may be shared)."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("-j", "--workers", type=int, action="append")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--seed", type=int, default=20201105)
    parser.add_argument("--workdir")
    args = parser.parse_args(argv)
    workers = args.workers or [1, 2]
    before = os.getloadavg()
    results = [scaling(args.rows, args.seed, workers, args.workdir) for _ in range(args.rounds)]
    after = os.getloadavg()
    print(
        f"load average before {before[0]:.2f} / {before[1]:.2f} / {before[2]:.2f}, "
        f"after {after[0]:.2f} / {after[1]:.2f} / {after[2]:.2f}"
    )
    print(
        "| workers | wall s | rows/s | CPU s | CPU µs/row | speed-up over -j 1 | peak tree RSS MiB "
        "| load at start | exit |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for result in results:
        for r in result["runs"]:
            speedup = f"{r['speedup']:.2f}×" if r["speedup"] else "—"
            print(
                f"| {r['workers']} | {r['wall_s']:.2f} | {r['rows_per_s']:,.0f} | {r['cpu_s']:.1f} | "
                f"{1e6 * r['cpu_s'] / args.rows:.0f} | {speedup} | {r['peak_tree_mib']:.0f} | "
                f"{r['load_1min']:.2f} | {r['exit']} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
