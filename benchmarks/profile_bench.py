"""Where the time of a full Qingdao decision goes.

cProfile (deterministic; its own overhead inflates small functions, so read
the shares, not the absolute times) of `pack.evaluate(case).to_dict()` over
the equivalent benchmark's seeded cases, plus, when pyinstrument is
installed, its statistical call tree of the same loop (less distortion).
"""

from __future__ import annotations

import cProfile
import os
import pstats

import cases as _cases
import peers


def _short(filename: str) -> str:
    for marker in ("/src/mtbrules/", "/site-packages/", "/lib/python3"):
        i = filename.find(marker)
        if i >= 0:
            return filename[i + len(marker) :]
    return os.path.basename(filename) if filename.startswith("/") else filename


def run(n: int, seed: int, top: int = 20, pack_id: str = "qingdao") -> dict:
    import mtbrules

    pack = mtbrules.load_pack(pack_id)
    cases = [peers.mtbrules_case(c) for c in _cases.seeded_cases(n, seed)]
    decide = pack.evaluate
    for case in cases:  # warm-up: caches filled, as in a long-running process
        decide(case).to_dict()

    prof = cProfile.Profile()
    prof.enable()
    for case in cases:
        decide(case).to_dict()
    prof.disable()
    st = pstats.Stats(prof)
    total = st.total_tt
    rows = []
    for (f, line, fn), (_cc, ncalls, tt, ct, _callers) in st.stats.items():
        rows.append(
            {
                "function": f"{_short(f)}:{line}({fn})",
                "calls_per_case": ncalls / n,
                "tottime_pct": 100 * tt / total,
                "cumtime_pct": 100 * ct / total,
            }
        )
    rows.sort(key=lambda r: r["tottime_pct"], reverse=True)
    result = {
        "pack": pack_id,
        "cases": n,
        "cprofile_total_s": total,
        "top": rows[:top],
        "pyinstrument": None,
    }
    try:
        from pyinstrument import Profiler
    except ImportError:
        return result
    profiler = Profiler(interval=0.0002)
    profiler.start()
    for _ in range(3):
        for case in cases:
            decide(case).to_dict()
    profiler.stop()
    text = profiler.output_text(unicode=True, color=False, show_all=False, short_mode=True)
    result["pyinstrument"] = "\n".join(line.rstrip() for line in text.splitlines()[:60])
    return result
