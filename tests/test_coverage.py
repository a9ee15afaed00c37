"""`mtbrules test`: scenario failures with file:line, a diff and the path; coverage; the pytest plugin."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from mtbrules.cli import main
from mtbrules.coverage import run_pack
from mtbrules.loader import load_pack_folder

BAD = Path(__file__).parent / "fixtures" / "bad_packs"


def _copy(tmp_path, name="_base") -> Path:
    folder = tmp_path / "pack"
    shutil.copytree(BAD / name, folder)
    return folder


def test_base_pack_passes_with_full_coverage(capsys):
    code = main(["test", "--coverage", "--fail-under", "100", str(BAD / "_base")])
    out = capsys.readouterr().out
    assert code == 0
    assert "sample: 2 passed, 0 failed" in out
    assert "sample: rules 3/3 (100.0%)" in out
    assert "seed-x: clauses 3/3" in out


def test_failure_shows_file_line_diff_and_path(tmp_path, capsys):
    folder = _copy(tmp_path)
    path = folder / "scenarios" / "scenarios.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "decision_due: 2025-10-20", "decision_due: 2025-10-17"
        ),
        encoding="utf-8",
    )
    code = main(["test", str(folder)])
    out = capsys.readouterr().out
    assert code == 1
    assert (
        f"FAIL {path}:3: 哮喘10个工作日" in out
        or "scenarios/scenarios.yaml:3: 哮喘10个工作日" in out
    )
    assert 'deadlines.decision_due: expected "2025-10-17", got "2025-10-20"' in out
    assert '-    "decision_due": "2025-10-17"' in out
    assert '+    "decision_due": "2025-10-20"' in out
    assert "decision path:" in out and "general_time_limit  [seed-x 二]" in out


def test_fail_under(tmp_path, capsys):
    # the unreachable rule of the MTB431 fixture can never be exercised
    code = main(["test", "--fail-under", "100", str(BAD / "MTB431-unreachable")])
    out = capsys.readouterr().out
    assert code == 1
    assert "rules no scenario exercises: never" in out
    assert "below --fail-under 100" in out
    assert main(["test", "--fail-under", "75", str(BAD / "MTB431-unreachable")]) == 0


def test_json_report(capsys):
    assert main(["test", "--coverage", "--format", "json", str(BAD / "_base")]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert entry["rules"] == {"total": 3, "exercised": 3, "percent": 100.0, "missed": []}
    assert entry["failures"] == []


def test_coverage_counts_rules_that_take_effect_only():
    pack = load_pack_folder(BAD / "_base")
    cov = run_pack(pack)
    # the asthma scenario: general rule in effect; the tumour scenario: overridden
    asthma, tumour = cov.runs
    assert "general_time_limit" in asthma.effective
    assert "general_time_limit" not in tumour.effective and "instant_diseases" in tumour.effective


def test_pytest_plugin_collects_scenarios(tmp_path):
    folder = _copy(tmp_path)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(folder),
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(tmp_path),
            "-c",
            os.devnull,
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert "2 passed" in result.stdout, result.stdout + result.stderr


def test_builtin_packs_have_full_rule_coverage(capsys):
    code = main(["test", "--coverage", "--fail-under", "100"])
    out = capsys.readouterr().out
    assert code == 0, out


def test_pytest_plugin_failure_shows_diff_and_path(tmp_path):
    folder = _copy(tmp_path)
    path = folder / "scenarios" / "scenarios.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("outcome: review", "outcome: instant"),
        encoding="utf-8",
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(folder),
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(tmp_path),
            "-c",
            os.devnull,
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    out = result.stdout
    assert "1 failed, 1 passed" in out, out + result.stderr
    assert 'outcome: expected "instant", got "review"' in out
    assert '-  "outcome": "instant"' in out and '+  "outcome": "review"' in out
    assert "path: ['apply_at_window', 'general_time_limit']" in out
