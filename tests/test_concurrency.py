"""Many threads evaluating one Pack give exactly the serial results; the same
input gives byte-identical JSON across runs and processes.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import mtbrules
from mtbrules.errors import MtbError

THREADS = 8
CASES = 2000


def _cases(pack, n: int, seed: int) -> list[dict]:
    """Varied, mostly valid cases (some invalid on purpose), the same for a given seed."""
    rng = random.Random(seed)
    names = sorted(d.name for d in pack.diseases.values()) + ["不存在的病", "惡性腫瘤"]
    docs = sorted(d.name for d in pack.documents.values())
    services = sorted(pack.services) + ["renewal", "bogus_service"]
    out = []
    for i in range(n):
        case = {
            "service": rng.choice(services),
            "submitted_on": f"{rng.randint(2020, 2026)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "diseases": rng.sample(names, k=rng.randint(0, 2)),
        }
        if rng.random() < 0.5:
            case["materials"] = rng.sample(docs, k=rng.randint(0, min(3, len(docs))))
        if rng.random() < 0.3:
            case["age"] = rng.randint(0, 100)
        if rng.random() < 0.3:
            case["first_application"] = rng.random() < 0.5
        if rng.random() < 0.05:
            case["age"] = "old"  # invalid
        out.append(case)
    return out


def _outcome(pack, case) -> str:
    try:
        return pack.evaluate(case).to_json()
    except MtbError as exc:
        return f"{type(exc).__name__}: {exc}"


@pytest.mark.parametrize("pack_id", ["qingdao", "jinzhou"])
def test_threads_match_serial(pack_id):
    pack = mtbrules.load_pack(pack_id)
    cases = _cases(pack, CASES, seed=7)
    serial = [_outcome(pack, c) for c in cases]
    barrier = threading.Barrier(THREADS)

    def chunk(k):
        barrier.wait()  # all threads start together
        return [(i, _outcome(pack, cases[i])) for i in range(k, len(cases), THREADS)]

    with ThreadPoolExecutor(THREADS) as pool:
        results = [r for part in pool.map(chunk, range(THREADS)) for r in part]
    assert len(results) == len(cases)
    for i, text in results:
        assert text == serial[i], cases[i]


def test_threads_loading_the_same_pack_share_one_object():
    from mtbrules import registry

    registry.clear_cache()
    barrier = threading.Barrier(THREADS)

    def load(_):
        barrier.wait()
        return mtbrules.load_pack("rizhao")

    with ThreadPoolExecutor(THREADS) as pool:
        packs = list(pool.map(load, range(THREADS)))
    assert all(p is packs[0] for p in packs)


def test_cold_packs_built_concurrently_agree():
    """Lazily built parts (generated condition functions, name indices) are safe to race on."""
    from mtbrules.loader import load_pack_folder
    from mtbrules.registry import resolve

    folder = resolve("qingdao")
    cases = _cases(mtbrules.load_pack("qingdao"), 200, seed=3)
    expected = [_outcome(mtbrules.load_pack("qingdao"), c) for c in cases]
    for _ in range(3):
        fresh = load_pack_folder(folder)
        barrier = threading.Barrier(THREADS)

        def run(k, fresh=fresh, barrier=barrier):
            barrier.wait()
            return [(i, _outcome(fresh, cases[i])) for i in range(k, len(cases), THREADS)]

        with ThreadPoolExecutor(THREADS) as pool:
            for part in pool.map(run, range(THREADS)):
                for i, text in part:
                    assert text == expected[i]


def test_same_input_same_bytes_in_one_process():
    pack = mtbrules.load_pack("qingdao")
    for case in _cases(pack, 200, seed=11):
        assert _outcome(pack, case) == _outcome(pack, json.loads(json.dumps(case)))


_SCRIPT = """
import json, sys
sys.path.insert(0, {tests!r})
import mtbrules
from test_concurrency import _cases, _outcome
out = []
for pack_id in mtbrules.builtin_packs():
    pack = mtbrules.load_pack(pack_id)
    out.extend(_outcome(pack, c) for c in _cases(pack, 150, seed=5))
sys.stdout.write(json.dumps(out, ensure_ascii=False))
"""


def test_byte_identical_json_across_processes(tmp_path):
    """Two fresh interpreters (different hash seeds, one with the pack cache off) print the same bytes."""
    script = _SCRIPT.format(tests=os.path.dirname(__file__))
    runs = []
    for seed, cache in (("1", "1"), ("12345", "0")):
        env = {
            **os.environ,
            "PYTHONHASHSEED": seed,
            "MTBRULES_CACHE": cache,
            "MTBRULES_CACHE_DIR": str(tmp_path / "cache"),
        }
        proc = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, env=env, timeout=300
        )
        assert proc.returncode == 0, proc.stderr.decode()[-2000:]
        runs.append(proc.stdout)
    assert runs[0] == runs[1]
    assert len(json.loads(runs[0])) == 150 * len(mtbrules.builtin_packs())


def test_cli_output_is_byte_identical(tmp_path):
    case = tmp_path / "c.json"
    case.write_text(
        json.dumps(
            {
                "service": "certificate",
                "submitted_on": "2025-09-29",
                "diseases": ["恶性肿瘤", "糖尿病"],
                "materials": ["身份证"],
            }
        ),
        encoding="utf-8",
    )
    outs = set()
    for seed in ("0", "99"):
        proc = subprocess.run(
            [sys.executable, "-m", "mtbrules", "eval", str(case), "--pack", "qingdao"],
            capture_output=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            timeout=120,
        )
        assert proc.returncode == 0
        outs.add(proc.stdout)
    assert len(outs) == 1
