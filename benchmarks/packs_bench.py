"""Full-pack evaluation of every built-in pack on a synthetic caseload.

Per pack and per mode (`evaluate`, `evaluate + to_dict()`,
`evaluate + json.dumps(to_dict())`) every call is timed on its own with
`perf_counter_ns` (garbage collector left on, as in production), after one
warm-up pass. Reported: median, p99 and mean µs per case, and throughput
per core = 1 / mean (one process, one core). Cases the engine refuses
(CaseError, ConflictError, ...) are counted and left out of the timing.
"""

from __future__ import annotations

import json
import statistics
import time

import caseload

MODES = ("evaluate", "to_dict", "json")
MODE_LABEL = {
    "evaluate": "evaluate",
    "to_dict": "evaluate + to_dict()",
    "json": "evaluate + json.dumps(to_dict())",
}


def _call(pack, mode: str):
    evaluate = pack.evaluate
    if mode == "evaluate":
        return evaluate
    if mode == "to_dict":
        return lambda case: evaluate(case).to_dict()
    dumps = json.JSONEncoder(ensure_ascii=False).encode
    return lambda case: dumps(evaluate(case).to_dict())


def percentile(sorted_values, q: float) -> float:
    """Nearest-rank percentile of an already sorted sequence."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


def time_calls(fn, cases: list, passes: int = 1) -> list[int]:
    clock = time.perf_counter_ns
    out = []
    append = out.append
    for _ in range(passes):
        for case in cases:
            t0 = clock()
            fn(case)
            append(clock() - t0)
    return out


def summarise(ns: list[int]) -> dict:
    ns = sorted(ns)
    mean = statistics.fmean(ns)
    return {
        "calls": len(ns),
        "median_us": percentile(ns, 50) / 1e3,
        "p99_us": percentile(ns, 99) / 1e3,
        "mean_us": mean / 1e3,
        "per_core_per_s": 1e9 / mean if mean else float("inf"),
    }


def run(n: int, seed: int, packs: list[str] | None = None, log=print) -> dict:
    import mtbrules

    ids = packs or list(mtbrules.builtin_packs())
    rows = []
    for pack_id in ids:
        pack = mtbrules.load_pack(pack_id)
        t0 = time.perf_counter()
        cases = caseload.pack_cases(pack, n, seed)
        made_s = time.perf_counter() - t0
        good, refused = [], {}
        for case in cases:  # also the warm-up pass
            try:
                pack.evaluate(case)
            except mtbrules.MtbError as exc:
                key = type(exc).__name__
                refused[key] = refused.get(key, 0) + 1
            else:
                good.append(case)
        outcomes: dict[str, int] = {}
        for case in good[:2000]:
            o = pack.evaluate(case).outcome
            outcomes[o] = outcomes.get(o, 0) + 1
        row = {
            "pack": pack_id,
            "cases": len(cases),
            "timed": len(good),
            "refused": refused,
            "synth_s": made_s,
            "outcomes_first_2000": outcomes,
            "modes": {},
        }
        for mode in MODES:
            row["modes"][mode] = summarise(time_calls(_call(pack, mode), good))
        ev, td, js = (row["modes"][m]["median_us"] for m in MODES)
        row["to_dict_us"] = td - ev
        row["json_us"] = js - td
        log(
            f"  {pack_id:<10} {len(good):>6} cases  evaluate median {ev:7.1f} µs  "
            f"p99 {row['modes']['evaluate']['p99_us']:7.1f} µs  +to_dict {td - ev:6.1f} µs  "
            f"+json {js - td:6.1f} µs"
        )
        rows.append(row)
    return {"n": n, "seed": seed, "source": caseload.synth_source(), "rows": rows}
