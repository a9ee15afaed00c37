"""Start-up: `import mtbrules`, and loading every built-in pack, in fresh processes.

Each measurement is the wall time of a whole `python -c ...` subprocess
(interpreter start included), median of several runs:

- cold: every run gets an empty TMPDIR (so Lark finds no `.lark_cache_*`
  grammar cache: `tempfile.gettempdir()`), an empty PYTHONPYCACHEPREFIX
  (so no module has its bytecode cached) and an empty MTBRULES_CACHE_DIR
  (mtbrules' compiled-pack cache). The OS page cache is not dropped.
- warm: the same command again with the directories the previous run filled.
  (PYTHONDONTWRITEBYTECODE is removed from both runs' environment, so that
  the warm run has the bytecode the cold one wrote.)
- machine caches: the command as this shell would run it (its own
  environment, the shared /tmp Lark cache, whatever __pycache__ exists).

A bare `python -c pass` is measured the same way, so the interpreter's own
start-up can be subtracted. Also: `python -X importtime` (the 10 slowest
imports, by their own time) of `import mtbrules` and of import + load, where
a warm load's time goes (in-process phases, medians of fresh processes, with
counts of what the load path imports and builds), and a cProfile of loading
the packs in-process.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

SNIPPETS = {
    "python -c pass": "pass",
    "import mtbrules": "import mtbrules",
    "import + load every built-in pack": "import mtbrules\nfor p in mtbrules.builtin_packs(): mtbrules.load_pack(p)",
    "the same, pack cache off (MTBRULES_CACHE=0)": "import os\nos.environ['MTBRULES_CACHE'] = '0'\nimport mtbrules\n"
    "for p in mtbrules.builtin_packs(): mtbrules.load_pack(p)",
}


def _wall(code: str, env: dict) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def _env(tmp: str | None, pycache: str | None, packs: str | None = None) -> dict:
    env = dict(os.environ)
    if packs:  # mtbrules' compiled-pack cache (src/mtbrules/cache.py)
        env["MTBRULES_CACHE_DIR"] = packs
    # the cold/warm pair is about caches being filled: let Python write bytecode
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if tmp:
        env["TMPDIR"] = tmp
    if pycache:
        env["PYTHONPYCACHEPREFIX"] = pycache
    return env


def measure(code: str, runs: int) -> dict:
    cold, warm = [], []
    for _ in range(runs):
        base = tempfile.mkdtemp(prefix="mtb-startup-")
        try:
            tmp, pyc = os.path.join(base, "tmp"), os.path.join(base, "pyc")
            os.makedirs(tmp)
            env = _env(tmp, pyc, os.path.join(base, "packs"))
            cold.append(_wall(code, env))
            warm.append(_wall(code, env))
        finally:
            shutil.rmtree(base, ignore_errors=True)
    # warm also with the machine's own caches (what a user sees on a second run)
    default = [_wall(code, dict(os.environ)) for _ in range(runs)]
    return {
        "cold_ms": statistics.median(cold) * 1e3,
        "warm_ms": statistics.median(warm) * 1e3,
        "default_ms": statistics.median(default) * 1e3,
        "cold_runs_ms": [c * 1e3 for c in cold],
        "warm_runs_ms": [w * 1e3 for w in warm],
    }


def importtime(top: int = 10, code: str = "import mtbrules") -> list[dict]:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        env=dict(os.environ),
    )
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        try:  # "import time:  self_us |  cumulative_us | <indent>module"
            self_us, cum_us, module = line[len("import time:") :].split("|")
            rows.append(
                {
                    "module": module.strip(),
                    "self_ms": int(self_us) / 1e3,
                    "cumulative_ms": int(cum_us) / 1e3,
                }
            )
        except ValueError:
            continue
    rows.sort(key=lambda r: r["self_ms"], reverse=True)
    return rows[:top]


_PHASES = """
import json, sys, time
t0 = time.perf_counter()
import mtbrules
t1 = time.perf_counter()
from mtbrules import loader, registry  # what loading a pack imports
t2 = time.perf_counter()
packs = {}
for p in mtbrules.builtin_packs():
    t = time.perf_counter()
    mtbrules.load_pack(p)
    packs[p] = (time.perf_counter() - t) * 1e3
t3 = time.perf_counter()
own = [m for n, m in sys.modules.items() if n.startswith("mtbrules")]
attrs_classes = sum(
    1
    for m in own
    for v in vars(m).values()
    if isinstance(v, type) and hasattr(v, "__attrs_attrs__") and v.__module__ == m.__name__
)
json.dump({
    "import mtbrules": (t1 - t0) * 1e3,
    "the load path's imports": (t2 - t1) * 1e3,
    "loading the packs": (t3 - t2) * 1e3,
    "packs": packs,
    "modules": len(sys.modules),
    "mtbrules modules": len(own),
    "attrs classes": attrs_classes,
    "yaml imported": "yaml" in sys.modules,
    "lark imported": "lark" in sys.modules,
}, sys.stdout)
"""


def phases(runs: int) -> dict:
    """Where a warm import + load of every built-in pack spends its time, in-process
    (milliseconds, the median of `runs` fresh processes; the compiled-pack cache warm)."""
    import json

    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([sys.executable, "-c", _PHASES], env=env, check=True, capture_output=True)
    found = [
        json.loads(
            subprocess.run(
                [sys.executable, "-c", _PHASES], env=env, check=True, capture_output=True
            ).stdout
        )
        for _ in range(runs)
    ]
    out = dict(found[0])
    for key in ("import mtbrules", "the load path's imports", "loading the packs"):
        out[key] = statistics.median(f[key] for f in found)
    out["packs"] = {p: statistics.median(f["packs"][p] for f in found) for p in out["packs"]}
    return out


def profile_load(top: int = 15) -> dict:
    """cProfile of loading every built-in pack in a fresh process (packs not yet cached)."""
    code = (
        "import cProfile, pstats, io, mtbrules, json, sys\n"
        "prof = cProfile.Profile()\n"
        "prof.enable()\n"
        "for p in mtbrules.builtin_packs(): mtbrules.load_pack(p)\n"
        "prof.disable()\n"
        "st = pstats.Stats(prof)\n"
        "rows = []\n"
        "for (f, l, fn), (cc, nc, tt, ct, _) in st.stats.items():\n"
        "    rows.append([f'{f}:{l}({fn})', nc, tt, ct])\n"
        "rows.sort(key=lambda r: r[2], reverse=True)\n"
        f"json.dump({{'total_s': st.total_tt, 'rows': rows[:{top}]}}, sys.stdout)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ)
    )
    if proc.returncode:
        return {"error": proc.stderr[-500:]}
    import json

    return json.loads(proc.stdout)


def run(runs: int, log=print) -> dict:
    results = {}
    for label, code in SNIPPETS.items():
        results[label] = measure(code, runs)
        r = results[label]
        log(
            f"  {label:<34} cold {r['cold_ms']:7.1f} ms   warm {r['warm_ms']:7.1f} ms   "
            f"(machine caches {r['default_ms']:7.1f} ms)"
        )
    return {
        "runs": runs,
        "snippets": results,
        "importtime": importtime(),
        "load_importtime": importtime(code=SNIPPETS["import + load every built-in pack"]),
        "phases": phases(max(runs, 3)),
        "load_profile": profile_load(),
    }


if __name__ == "__main__":  # pragma: no cover
    import json

    print(json.dumps(run(3), indent=2))
