"""`mtbrules check` on deliberately broken packs: one fixture folder per diagnostic,
each with the exact expected code, severity, message, position and counterexample."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from mtbrules.checker import check_folder
from mtbrules.checker.domain import env_to_case
from mtbrules.checker.lint import normalize_quote
from mtbrules.diagnostics import CODES
from mtbrules.errors import ConflictError
from mtbrules.loader import load_pack_folder

BAD = Path(__file__).parent / "fixtures" / "bad_packs"
FIXTURES = sorted(p for p in BAD.iterdir() if p.is_dir() and not p.name.startswith("_"))
#: Codes that cannot be a finding in a pack folder, tested elsewhere:
#: MTB100 unknown pack (exit 2, test_cli_check), MTB105 (below, generated),
#: MTB420 (run-time conflict, below), MTB501–503 (calendar arithmetic on a case).
NOT_FIXTURES = {"MTB100", "MTB105", "MTB420", "MTB501", "MTB502", "MTB503"}


def _found(folder: Path) -> list[dict]:
    out = []
    for d in check_folder(folder).diagnostics:
        loc = d.location
        entry = {
            "code": d.code,
            "severity": d.severity,
            "message": d.message,
            "file": Path(loc.file).relative_to(folder).as_posix(),
            "line": loc.line,
            "col": loc.col,
        }
        if d.example is not None:
            entry["example"] = d.example
        out.append(entry)
    return out


@pytest.mark.parametrize("folder", FIXTURES, ids=lambda p: p.name)
def test_broken_pack_gives_exactly_its_diagnostics(folder):
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    assert _found(folder) == expected
    code = folder.name.split("-")[0]
    assert code in {e["code"] for e in expected}, f"{folder.name} must show {code}"


def test_base_fixture_is_clean():
    assert _found(BAD / "_base") == []


def test_every_code_has_a_broken_fixture():
    covered = {p.name.split("-")[0] for p in FIXTURES}
    assert set(CODES) - NOT_FIXTURES <= covered, sorted(set(CODES) - NOT_FIXTURES - covered)


def test_every_code_is_documented():
    doc = (Path(__file__).parents[1] / "docs" / "diagnostics.md").read_text(encoding="utf-8")
    headings = set(re.findall(r"^### (MTB\d{3})", doc, re.MULTILINE))
    assert set(CODES) <= headings, sorted(set(CODES) - headings)


def test_conflict_example_really_conflicts():
    folder = BAD / "MTB430-conflict"
    (diag,) = check_folder(folder).diagnostics
    pack = load_pack_folder(folder)
    with pytest.raises(ConflictError) as exc:
        pack.evaluate(diag.example)
    assert exc.value.diagnostics[0].code == "MTB420"
    assert {"general_time_limit", "senior_time_limit"} <= set(
        re.findall(r"\w+_time_limit", str(exc.value))
    )


@pytest.mark.parametrize(
    "name", ["MTB433-service-gap", "MTB434-disease-gap", "MTB435-category-gap"]
)
def test_gap_examples_are_real_cases_without_a_decision(name):
    folder = BAD / name
    pack = load_pack_folder(folder)
    for diag in check_folder(folder).diagnostics:
        decision = pack.evaluate(diag.example)
        if "decides its outcome" in diag.message:
            assert decision.outcome == "not_covered"
        if "time limit" in diag.message:
            assert decision.deadline("decision_due") is None and decision.outcome != "instant"


def test_too_many_rule_files_is_mtb105(tmp_path):
    folder = tmp_path / "pack"
    shutil.copytree(BAD / "_base", folder)
    for i in range(201):
        (folder / "rules" / f"r{i:03}.yaml").write_text("rules: []\n", encoding="utf-8")
    codes = [d.code for d in check_folder(folder).diagnostics]
    assert codes == ["MTB105"]


def test_acknowledged_warning_is_silent(tmp_path):
    folder = tmp_path / "pack"
    shutil.copytree(BAD / "MTB433-service-gap", folder)
    with open(folder / "pack.yaml", "a", encoding="utf-8") as fh:
        fh.write(
            "notes:\n  - id: renewal-silent\n    text: 通知未说明续办的办理时限。\n"
            '    acknowledges: ["MTB433:renewal"]\n'
        )
    assert check_folder(folder).diagnostics == ()


def test_acknowledging_an_error_is_an_error(tmp_path):
    folder = tmp_path / "pack"
    shutil.copytree(BAD / "MTB430-conflict", folder)
    with open(folder / "pack.yaml", "a", encoding="utf-8") as fh:
        fh.write("notes:\n  - id: x\n    text: y\n    acknowledges: [MTB430]\n")
    codes = [(d.code, d.severity) for d in check_folder(folder).diagnostics]
    assert ("MTB414", "error") in codes and ("MTB430", "error") in codes


def test_quotes_match_traditional_text_with_pinyin_glosses():
    source = "即時(shí)辦結(jié)次日享受待遇"
    assert normalize_quote("即时办结次日享受待遇") in normalize_quote(source, traditional=True)
    assert normalize_quote("一般病种 为7个\n工作日") == "一般病种为7个工作日"


def test_env_to_case_round_trips_through_the_contract():
    import datetime as dt

    pack = load_pack_folder(BAD / "_base")
    env = {
        "service": "certificate",
        "submitted_on": dt.date(2025, 9, 29),
        "agent": False,
        "diseases": (pack.diseases["tumor"],),
        "materials": frozenset(),
        "offsite.settled": True,
    }
    case = env_to_case(env, pack)
    assert case == {
        "service": "certificate",
        "submitted_on": "2025-09-29",
        "diseases": ["恶性肿瘤"],
        "offsite": {"settled": True},
    }
    assert pack.evaluate(case).outcome == "instant"


def test_check_pack_finds_what_check_folder_finds():
    """The language server checks a loaded pack again with the analysis (check_pack): the
    pack's schedule warnings (MTB511) stay."""
    from mtbrules.checker import check_pack

    for name in ("MTB511-net-days", "MTB430-conflict", "MTB414-stale-acknowledgement"):
        report = check_folder(BAD / name)
        assert report.pack is not None
        assert report.diagnostics
        assert tuple(check_pack(report.pack)) == report.diagnostics
