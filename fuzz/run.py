"""The long fuzz run: hypothesis fuzz tests with bigger budgets, then atheris harnesses.

    python fuzz/run.py                 # hypothesis x100, then each atheris harness for 60 s
    python fuzz/run.py --scale 20 --atheris-seconds 0
    python fuzz/run.py --only atheris --atheris-seconds 300

Not part of the unit suite (which runs the same hypothesis tests with small,
derandomized budgets). Exit code 0 when nothing was found. Findings: atheris
writes crash-* files into fuzz/findings/; hypothesis prints the falsifying
example. Keep every finding as a test in tests/regressions/.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
HYPOTHESIS_TESTS = ["tests/test_fuzz_yaml.py", "tests/test_fuzz_dsl.py", "tests/test_fuzz_case.py"]
HARNESSES = ["fuzz_yaml.py", "fuzz_dsl.py", "fuzz_case.py"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--scale",
        type=int,
        default=100,
        help="multiply every hypothesis budget by this (default 100)",
    )
    ap.add_argument(
        "--atheris-seconds", type=int, default=60, help="seconds per atheris harness (0: skip)"
    )
    ap.add_argument("--only", choices=("hypothesis", "atheris"))
    args = ap.parse_args(argv)
    failed = False
    if args.only != "atheris":
        env = {**os.environ, "MTBRULES_FUZZ": "long", "MTBRULES_FUZZ_SCALE": str(args.scale)}
        start = time.monotonic()
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                *HYPOTHESIS_TESTS,
                "--hypothesis-show-statistics",
            ],
            cwd=ROOT,
            env=env,
        )
        print(
            f"hypothesis x{args.scale}: exit {proc.returncode} in {time.monotonic() - start:.0f} s",
            flush=True,
        )
        failed |= proc.returncode != 0
    if args.only != "hypothesis" and args.atheris_seconds > 0:
        try:
            import atheris  # noqa: F401
        except ImportError:
            print("atheris is not installed (pip install atheris): skipping the atheris harnesses")
            return int(failed)
        findings = HERE / "findings"
        findings.mkdir(exist_ok=True)
        for harness in HARNESSES:
            # Seeds stay as committed; atheris grows its corpus in fuzz/work/ (ignored by git).
            corpus = HERE / "work" / harness.removesuffix(".py")
            shutil.copytree(
                HERE / "corpus" / harness.removesuffix(".py"), corpus, dirs_exist_ok=True
            )
            cmd = [
                sys.executable,
                str(HERE / harness),
                str(corpus),
                f"-max_total_time={args.atheris_seconds}",
                f"-artifact_prefix={findings}/{harness.removesuffix('.py')}-",
                "-rss_limit_mb=2048",
                "-timeout=20",
            ]
            start = time.monotonic()
            proc = subprocess.run(cmd, cwd=ROOT)
            print(
                f"atheris {harness}: exit {proc.returncode} in {time.monotonic() - start:.0f} s",
                flush=True,
            )
            failed |= proc.returncode != 0
    return int(failed)


if __name__ == "__main__":
    sys.exit(main())
