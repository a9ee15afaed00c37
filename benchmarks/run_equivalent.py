"""The equivalent-decision benchmark: same answers first, then time per case.

    python benchmarks/run_equivalent.py                 # check 1,000 cases, then time
    python benchmarks/run_equivalent.py --check-only -n 200   # harness self-check
    python benchmarks/run_equivalent.py --engines python,zen-engine --repeats 7

1. Builds every engine in peers.ENGINES (an engine that cannot be built, e.g.
   mtbrules before its engine and Qingdao pack exist, is SKIPPED with its
   reason printed).
2. Runs every built engine on the same n seeded cases (cases.seeded_cases)
   and compares each answer with the hand-written floor's, exactly (==). On
   any disagreement it prints the case and both answers and exits 1.
3. Unless --check-only: times each engine over the same cases, timeit-style
   (garbage collector off, a whole pass over the cases per loop, several
   repeats), and prints µs per case (best and median of the repeats) and the
   ratio of the median to the floor's median.

With --check-only it also checks the check: a deliberately wrong copy of the
floor (one document dropped on one case) must be reported, or it exits 1.

Exit codes: 0 all engines agree (and were timed); 1 an engine disagreed or
raised; 2 bad command line.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
from importlib import metadata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cases as _cases
import peers

DISTRIBUTIONS = {  # engine -> distribution whose version is reported
    "python": None,
    "mtbrules": "mtbrules",
    "mtbrules-equivalent": "mtbrules",
    "zen-engine": "zen-engine",
    "business-rules": "business-rules",
    "rule-engine": "rule-engine",
    "cel-python": "cel-python",
    "durable-rules": "durable_rules",
}


def version_of(engine: str) -> str:
    dist = DISTRIBUTIONS.get(engine)
    if dist is None:
        return f"CPython {platform.python_version()}"
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "?"


def build_all(names: list[str]) -> dict:
    built = {}
    for name in names:
        t0 = time.perf_counter()
        try:
            built[name] = peers.ENGINES[name]()
        except peers.Unavailable as exc:
            print(f"SKIPPED {name}: {exc}")
            continue
        print(f"built   {name} in {(time.perf_counter() - t0) * 1e3:.1f} ms ({version_of(name)})")
    return built


def check(built: dict, cases: list[dict]) -> bool:
    """Every engine's answer == the floor's answer on every case."""
    floor = built[peers.FLOOR]
    expected = [floor(case) for case in cases]
    ok = True
    for name, decide in built.items():
        if name == peers.FLOOR:
            continue
        for i, (case, want) in enumerate(zip(cases, expected)):
            try:
                got = decide(case)
            except Exception as exc:  # noqa: BLE001 - report, never hide
                got = f"raised {type(exc).__name__}: {exc}"
            if got != want:
                ok = False
                print(
                    f"DISAGREEMENT {name} on case #{i}:\n"
                    f"  case:     {json.dumps(case, ensure_ascii=False)}\n"
                    f"  {peers.FLOOR}:   {json.dumps(want, ensure_ascii=False)}\n"
                    f"  {name}: {json.dumps(got, ensure_ascii=False, default=str)}"
                )
                break
        else:
            print(f"agree   {name}: {len(cases)} cases identical to {peers.FLOOR}")
    return ok


def harness_notices_disagreement(built: dict, cases: list[dict]) -> bool:
    """Self-check of check(): a copy of the floor that drops one document
    from one review case must be reported as a disagreement."""
    floor = built[peers.FLOOR]
    victim = next((i for i, c in enumerate(cases) if floor(c)["outcome"] == "review"), None)
    if victim is None:
        return True  # nothing to perturb in so few cases

    def broken(case):
        result = floor(case)
        if case is cases[victim]:
            result = {**result, "required_documents": result["required_documents"][:-1]}
        return result

    print("self-check: a deliberately wrong engine must be caught ...")
    caught = not check({peers.FLOOR: floor, "deliberately-wrong": broken}, cases)
    print("self-check: " + ("caught, as it should be" if caught else "NOT CAUGHT"))
    return caught


def time_engine(decide, cases: list[dict], repeats: int, min_repeat_s: float) -> list[float]:
    """µs per case for each repeat; each repeat runs whole passes over the
    cases, as many as make it last at least min_repeat_s (timeit's autorange)."""

    def one_pass():
        for case in cases:
            decide(case)

    one_pass()  # warm-up
    t0 = time.perf_counter()
    one_pass()
    per_pass = time.perf_counter() - t0
    loops = max(1, int(min_repeat_s / per_pass) + 1) if per_pass < min_repeat_s else 1
    results = []
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(loops):
                one_pass()
            results.append((time.perf_counter() - t0) / (loops * len(cases)) * 1e6)
    finally:
        if gc_was_enabled:
            gc.enable()
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", "--cases", type=int, default=1000, help="seeded cases (default 1000)")
    ap.add_argument("--seed", type=int, default=20201105)
    ap.add_argument("--check-only", action="store_true", help="only check agreement")
    ap.add_argument("--repeats", type=int, default=5, help="timing repeats (default 5)")
    ap.add_argument(
        "--min-repeat",
        type=float,
        default=0.2,
        help="least seconds per timing repeat (default 0.2)",
    )
    ap.add_argument(
        "--engines",
        default=",".join(peers.ENGINES),
        help=f"comma-separated subset of: {', '.join(peers.ENGINES)}",
    )
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = ap.parse_args(argv)

    names = [n.strip() for n in args.engines.split(",") if n.strip()]
    unknown = [n for n in names if n not in peers.ENGINES]
    if unknown or args.cases < 1 or args.repeats < 1:
        ap.error(f"unknown engine(s) {unknown}" if unknown else "-n and --repeats must be >= 1")
    if peers.FLOOR not in names:
        names.insert(0, peers.FLOOR)  # the reference answers and the ratio base

    print(
        f"equivalent decision: {args.cases} seeded cases (seed {args.seed}), "
        f"CPython {platform.python_version()} on {platform.machine()}, "
        f"{os.cpu_count()} CPUs"
    )
    cases = _cases.seeded_cases(args.cases, args.seed)
    built = build_all(names)
    if not check(built, cases):
        print("FAILED: engines disagree (see above)")
        return 1
    if args.check_only:
        if not harness_notices_disagreement(built, cases):
            print("FAILED: the check let a wrong answer through")
            return 1
        print(f"OK: {len(built)} engines agree on {len(cases)} cases")
        return 0

    rows = []
    for name, decide in built.items():
        runs = time_engine(decide, cases, args.repeats, args.min_repeat)
        rows.append(
            {
                "engine": name,
                "version": version_of(name),
                "best_us": min(runs),
                "median_us": statistics.median(runs),
                "runs_us": runs,
            }
        )
    floor = next(r for r in rows if r["engine"] == peers.FLOOR)["median_us"]
    print()
    print(
        f"{'engine':<16} {'version':<16} {'best µs/case':>13} {'median µs/case':>15} {'× floor':>9}"
    )
    for r in rows:
        r["ratio"] = r["median_us"] / floor
        print(
            f"{r['engine']:<16} {r['version']:<16} {r['best_us']:>13.1f} "
            f"{r['median_us']:>15.1f} {r['ratio']:>9.1f}"
        )
    print(
        f"\n(× floor = median / median of '{peers.FLOOR}', the hand-written function; "
        f"{args.repeats} repeats, each ≥ {args.min_repeat}s of whole passes over the cases)"
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(
                {
                    "cases": args.cases,
                    "seed": args.seed,
                    "python": platform.python_version(),
                    "results": rows,
                },
                f,
                indent=2,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
