"""mtbrules diff: static differences between two packs and their impact on a caseload."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

import mtbrules
from mtbrules.cli import main
from mtbrules.diff import impact, report, static_diff
from mtbrules.loader import load_pack_folder
from mtbrules.registry import resolve

CASES = [
    {"service": "certificate", "submitted_on": "2025-09-29", "diseases": ["恶性肿瘤"]},
    {"service": "certificate", "submitted_on": "2025-09-29", "diseases": ["白血病"]},
    {"service": "certificate", "submitted_on": "2025-09-29", "diseases": ["结核病"]},
    {"service": "certificate", "submitted_on": "2025-03-03", "diseases": ["慢性乙型病毒性肝炎"]},
    {"service": "certificate", "submitted_on": "2025-03-03", "agee": 3},
]


def _changed_copy(tmp_path):
    """Qingdao with 10 instead of 7 working days, and leukaemia no longer instant."""
    folder = tmp_path / "qingdao"
    shutil.copytree(resolve("qingdao"), folder)
    rules = folder / "rules" / "s2_3_time_limits.yaml"
    text = rules.read_text(encoding="utf-8")
    assert "submitted_on + 7 working_days" in text
    text = text.replace("submitted_on + 7 working_days", "submitted_on + 10 working_days")
    old_when = '"instant_hospital" in d.groups)\''
    assert old_when in text
    text = text.replace(old_when, '"instant_hospital" in d.groups and d.id != "leukemia")\'', 1)
    rules.write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def packs(tmp_path_factory):
    folder = _changed_copy(tmp_path_factory.mktemp("d"))
    return mtbrules.load_pack("qingdao"), load_pack_folder(folder), folder


def test_no_change():
    q = mtbrules.load_pack("qingdao")
    s = static_diff(q, q)
    assert s["sections"] == {} and s["summary"]["changed"] == 0
    rep = report(s, impact(q, q, CASES))
    assert rep["summary"]["changed"] == 0 and rep["summary"]["cases"] == len(CASES)
    assert rep["summary"]["invalid"] == 1


def test_static_diff_names_rules_time_limits_and_clauses(packs):
    old, new, _ = packs
    s = static_diff(old, new)["sections"]
    changed = {e["id"]: e for e in s["rules"]["changed"]}
    assert set(changed) == {"general_time_limit", "instant_time_limit"}
    assert changed["general_time_limit"]["source"] == "seed-000 二(三)1"
    assert "when" in changed["instant_time_limit"]["changes"]
    tl = s["time_limits"]["changed"][0]
    assert tl["changes"]["date"] == {
        "old": "submitted_on + 7 working_days",
        "new": "submitted_on + 10 working_days",
    }


def test_impact_counts_and_blame(packs):
    old, new, _ = packs
    imp = impact(old, new, CASES).to_dict()
    s = imp["summary"]
    assert s["cases"] == 5 and s["changed"] == 2 and s["invalid"] == 1
    outcome = imp["outcomes"][0]
    assert (outcome["from"], outcome["to"], outcome["count"]) == ("instant", "review", 1)
    assert outcome["examples"] == [2]
    assert "instant_time_limit" in outcome["rules"]
    shifted = next(g for g in imp["deadlines"] if g["change"] == "shifted")
    # Case 4: 7 → 10 working days. Case 2: instant (due the day of submission, contract
    # amendment 2026-12) → review, due 10 working days later.
    assert shifted["rules"] == {"general_time_limit": 2} and shifted["examples"] == [2, 4]
    assert set(shifted["shift_days"]) <= {"+3", "+5", "+14", "+21"}


def test_empty_caseload(packs):
    old, new, _ = packs
    rep = report(static_diff(old, new), impact(old, new, []))
    assert rep["summary"]["cases"] == 0 and rep["summary"]["changed"] == 0
    assert rep["summary"]["static_changes"] > 0


def _write_cases(path, cases):
    path.write_text(
        "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases) + "{oops\n",
        encoding="utf-8",
    )


def test_cli_exit_codes_and_formats(packs, tmp_path, capsys):
    _, _, folder = packs
    cases = tmp_path / "cases.jsonl"
    _write_cases(cases, CASES)
    assert main(["diff", "qingdao", "qingdao", "--cases", str(cases), "-j", "1"]) == 0
    capsys.readouterr()
    assert (
        main(["diff", "qingdao", str(folder), "--cases", str(cases), "--format", "json", "-j", "2"])
        == 1
    )
    data = json.loads(capsys.readouterr().out)
    assert data["summary"]["changed"] == 2 and data["summary"]["invalid"] == 2
    assert main(["diff", "qingdao", str(folder), "--format", "markdown"]) == 1
    assert "### rules" in capsys.readouterr().out
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    assert main(["diff", "qingdao", "qingdao", "--cases", str(empty)]) == 0


def test_git_revisions(tmp_path, monkeypatch, capsys):
    repo = tmp_path / "repo"
    shutil.copytree(resolve("qingdao"), repo / "packs" / "qd")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-C", str(repo)]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(git + ["add", "."], check=True)
    subprocess.run(git + ["commit", "-q", "-m", "one"], check=True)
    _changed_copy_into(repo / "packs" / "qd")
    subprocess.run(git + ["commit", "-q", "-am", "two"], check=True)
    monkeypatch.chdir(repo)
    assert main(["diff", "git:HEAD:packs/qd", "packs/qd"]) == 0
    assert main(["diff", "git:HEAD~1:packs/qd", "git:HEAD:packs/qd", "--format", "json"]) == 1
    out = capsys.readouterr().out
    assert json.loads(out[out.index("{") :])["static"]["rules"]
    assert main(["diff", "git:NOPE:packs/qd", "packs/qd"]) == 2


def _changed_copy_into(folder):
    rules = folder / "rules" / "s2_3_time_limits.yaml"
    rules.write_text(
        rules.read_text(encoding="utf-8").replace(
            "submitted_on + 7 working_days", "submitted_on + 8 working_days"
        ),
        encoding="utf-8",
    )
