"""Pack references and the pack a case goes to: one rule for the library, every command and
`git:REV:PATH` (registry.resolve, registry.pack_for_case, gitref)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import mtbrules
from mtbrules import gitref
from mtbrules.cli import main
from mtbrules.errors import CaseError, InputError, PackError
from mtbrules.registry import load_pack, pack_folders, pack_for_case, resolve

CASE = {"service": "certificate", "submitted_on": "2025-09-29", "diseases": ["恶性肿瘤"]}
OTHER = "the case names pack 'qingdao' but was evaluated with 'rizhao'"


# -- the rule ---------------------------------------------------------------------


def test_the_asked_pack_decides_and_the_decision_warns():
    choice = pack_for_case({**CASE, "pack": "qingdao"}, "rizhao")
    assert choice.pack.id == "rizhao" and choice.other_pack == "qingdao"
    decision = choice.evaluate()
    assert decision.pack == "rizhao" and OTHER in decision.warnings
    assert "个案指定规则包“qingdao”，但按“rizhao”判断" in choice.evaluate("zh").warnings
    # The library's own form says the same.
    assert load_pack("rizhao").evaluate({**CASE, "pack": "qingdao"}).warnings == decision.warnings


def test_the_same_pack_named_another_way_is_no_warning():
    for named in ("qingdao", str(resolve("qingdao")), str(resolve("qingdao") / "pack.yaml")):
        choice = pack_for_case({**CASE, "pack": named}, "qingdao")
        assert choice.other_pack is None and "pack" not in choice.case
        assert not any("names pack" in w for w in choice.evaluate().warnings)
    choice = pack_for_case({**CASE, "pack": "qingdao"}, load_pack("qingdao"))
    assert choice.other_pack is None


def test_without_an_asked_pack_the_case_chooses():
    choice = pack_for_case({**CASE, "pack": "rizhao"})
    assert choice.pack.id == "rizhao" and "pack" not in choice.case
    assert mtbrules.evaluate({**CASE, "pack": "rizhao"}).pack == "rizhao"
    with pytest.raises(CaseError, match=r"is required here \(or use load_pack") as caught:
        mtbrules.evaluate(CASE)
    assert caught.value.field == "pack"
    with pytest.raises(CaseError, match="is required when --pack"):
        pack_for_case({**CASE, "pack": ""}, required="when --pack is not given")
    with pytest.raises(CaseError, match="expected text, got a number"):
        pack_for_case({**CASE, "pack": 3}, "qingdao")
    with pytest.raises(CaseError, match="case.json: a case must be a JSON object, got a list"):
        pack_for_case([CASE], "qingdao", name="case.json")
    with pytest.raises(PackError, match="unknown pack 'qingdoa'"):
        pack_for_case({**CASE, "pack": "qingdoa"})


def test_a_loader_of_served_packs_is_never_asked_for_the_case_s_pack():
    asked = []

    def served(ref):
        asked.append(ref)
        return load_pack("qingdao")

    folder = str(resolve("qingdao") / "pack.yaml")
    assert pack_for_case({**CASE, "pack": folder}, "qingdao").other_pack is None
    choice = pack_for_case({**CASE, "pack": folder}, "qingdao", load=served)
    # A path is not the served id: the request's own text is never resolved on disk.
    assert asked == ["qingdao"] and choice.other_pack == folder


def test_the_command_line_follows_the_rule(tmp_path, capsys):
    path = tmp_path / "case.json"
    path.write_text(json.dumps({**CASE, "pack": "qingdao"}), encoding="utf-8")
    assert main(["eval", str(path), "--pack", "rizhao"]) == 0
    out, err = capsys.readouterr()
    assert err == ""  # the warning is in the decision, as it was for the library
    assert json.loads(out)["pack"] == "rizhao" and OTHER in json.loads(out)["warnings"]
    assert main(["explain", str(path), "--pack", "rizhao", "--format", "json"]) == 0
    assert OTHER in json.loads(capsys.readouterr().out)["decision"]["warnings"]
    assert main(["eval", str(path)]) == 0
    assert not any("names pack" in w for w in json.loads(capsys.readouterr().out)["warnings"])
    path.write_text(json.dumps(CASE), encoding="utf-8")
    assert main(["explain", str(path)]) == 2
    assert "case field 'pack': is required when --pack is not given" in capsys.readouterr().err


def test_compare_ignores_the_case_s_own_pack():
    from mtbrules.compare import compare

    rows = compare({**CASE, "pack": "qingdao"}, ["rizhao"])
    assert rows[0].decision.warnings == load_pack("rizhao").evaluate(CASE).warnings


# -- git:REV:PATH -----------------------------------------------------------------


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A repository with two commits of a pack: the second one changes a time limit."""
    root = tmp_path / "repo"
    shutil.copytree(resolve("qingdao"), root / "packs" / "qd")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-C", str(root)]
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(git + ["add", "."], check=True)
    subprocess.run(git + ["commit", "-q", "-m", "one"], check=True)
    rules = root / "packs" / "qd" / "rules" / "s2_3_time_limits.yaml"
    text = rules.read_text(encoding="utf-8")
    rules.write_text(text.replace("7 working_days", "8 working_days"), encoding="utf-8")
    subprocess.run(git + ["commit", "-q", "-am", "two"], check=True)
    monkeypatch.chdir(root)
    return root


def test_every_command_takes_a_git_reference(repo, capsys):
    old = load_pack("git:HEAD~1:packs/qd")
    assert old.id == "qingdao" and Path(old.folder).name == "qd"
    assert Path(old.folder) != repo / "packs" / "qd"
    # One export per commit and path in a process: the cached Pack is shared.
    assert load_pack("git:HEAD~1:packs/qd") is old
    assert load_pack("git:HEAD:packs/qd") is not old
    assert main(["check", "git:HEAD~1:packs/qd"]) == 0
    assert main(["test", "git:HEAD~1:packs"]) == 0  # a folder holding packs, at a revision
    assert main(["fmt", "--check", "git:HEAD:packs/qd"]) == 0
    case = repo / "case.json"
    case.write_text(json.dumps(CASE), encoding="utf-8")
    capsys.readouterr()
    assert main(["eval", str(case), "--pack", "git:HEAD~1:packs/qd"]) == 0
    assert json.loads(capsys.readouterr().out)["pack"] == "qingdao"
    assert main(["diff", "git:HEAD~1:packs/qd", "packs/qd", "--format", "json"]) == 1
    out = capsys.readouterr().out
    assert json.loads(out[out.index("{") :])["static"]["rules"]


def test_a_git_reference_is_read_only_for_fmt(repo, capsys):
    assert main(["fmt", "git:HEAD:packs/qd"]) == 2
    assert "cannot be rewritten; use --check" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("git:HEAD", "expected git:REV:PATH"),
        ("git::packs/qd", "expected git:REV:PATH"),
        ("git:--output=x:packs/qd", "is not a git revision"),
        ("git:HEAD:../outside", "PATH must be a folder inside the repository"),
        ("git:HEAD:/etc", "PATH must be relative to the repository"),
        ("git:NOPE:packs/qd", "unknown revision 'NOPE'"),
        ("git:HEAD:packs/nowhere", "git:HEAD:packs/nowhere: fatal: pathspec"),
        ("git:HEAD:packs/qd/rules", "no pack.yaml there at that revision"),
        ("git:HEAD::(glob)packs/*", "pathspec ':(glob)packs/*' did not match"),
    ],
)
def test_a_bad_git_reference_is_one_message(repo, capsys, ref, message):
    with pytest.raises(InputError, match=re.escape(message)):
        load_pack(ref)
    case = repo / "case.json"
    case.write_text(json.dumps(CASE), encoding="utf-8")
    assert main(["eval", str(case), "--pack", ref]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_outside_a_repository(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match="needs to be run inside a git repository"):
        gitref.export("git:HEAD:packs/qd")
    with pytest.raises(InputError, match="needs to be run inside a git repository"):
        pack_folders(["git:HEAD:packs"])


def test_the_export_is_removed_when_the_process_ends(repo):
    script = "import mtbrules; print(mtbrules.load_pack('git:HEAD~1:packs/qd').folder, flush=True)"
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=repo
    )
    folder = Path(proc.stdout.strip())
    assert folder.name == "qd" and "mtbrules-git-" in str(folder)
    assert not folder.exists() and not folder.parent.parent.exists()
