"""mtbrules synth: seeded, varied cases that reach every reachable rule."""

from __future__ import annotations

import json
import shutil

import pytest

import mtbrules
from mtbrules.cli import main
from mtbrules.registry import resolve
from mtbrules.synth import Synth, synth_cases

N = 2000
#: Rules of the built-in packs no case can reach (checked to stay exactly this list).
UNREACHABLE: set = set()


@pytest.mark.parametrize("pack_id", mtbrules.builtin_packs())
def test_every_rule_is_reached(pack_id):
    pack = mtbrules.load_pack(pack_id)
    gen = Synth(pack, seed=11)
    cases = list(gen.cases(N))
    seen, outcomes = set(), set()
    for case in cases:
        decision = pack.evaluate(case)  # every case is valid input
        outcomes.add(decision.outcome)
        seen.update(p.rule for p in decision.path)
    missing = {r.id for r in pack.rules} - seen
    expected = {r for p, r in UNREACHABLE if p == pack_id}
    assert missing == expected
    assert set(gen.unreached) == expected
    assert len(outcomes) >= 2


def test_seeded_and_deterministic():
    pack = mtbrules.load_pack("qingdao")
    a = list(synth_cases(pack, 50, seed=3))
    assert a == list(synth_cases(pack, 50, seed=3))
    assert a != list(synth_cases(pack, 50, seed=4))


def test_variety():
    pack = mtbrules.load_pack("qingdao")
    cases = list(synth_cases(pack, 500, seed=1, cover=False))
    names = [d for c in cases for d in c.get("diseases", [])]
    catalogue = {d.name for d in pack.diseases.values()}
    assert any(
        n not in catalogue and pack.disease_index.lookup(n) for n in names
    )  # aliases / Traditional
    assert any(pack.disease_index.lookup(n) is None for n in names)  # not covered
    assert any("materials" not in c for c in cases)
    assert any(isinstance(m, dict) for c in cases for m in c.get("materials", []))


def test_cli(tmp_path, capsys):
    out = tmp_path / "cases.jsonl"
    assert main(["synth", "--pack", "rizhao", "-n", "25", "--seed", "5", "-o", str(out)]) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 25 and all(json.loads(x)["service"] for x in lines)
    assert main(["synth", "--pack", "qingdao", "-n", "0"]) == 0
    assert capsys.readouterr().out == ""


def test_unreachable_rules_are_reported(tmp_path, capsys):
    folder = tmp_path / "rizhao"
    shutil.copytree(resolve("rizhao"), folder)
    source = next(iter(mtbrules.load_pack("rizhao").sources))
    (folder / "rules" / "9-never.yaml").write_text(
        "rules:\n"
        "  - id: never_applies\n"
        "    title: never\n"
        f"    source: {{doc: {source}, clause: x}}\n"
        "    when: 'false'\n"
        "    reason: never\n",
        encoding="utf-8",
    )
    assert main(["synth", "--pack", str(folder), "-n", "3"]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 3
    assert "rule never_applies is not reached" in captured.err
