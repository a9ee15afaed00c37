"""`check DIR`, `test DIR` and `fmt DIR` find every pack below DIR, as ruff and OPA do;
and invalid input gets the one message README promises (exit 2)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

import mtbrules
from mtbrules.cli import main
from mtbrules.registry import builtin_root, pack_folders, packs_below

BAD = Path(__file__).parent / "fixtures" / "bad_packs"


@pytest.fixture()
def tree(tmp_path):
    """policies/{a, nested/b} plus a hidden copy that must not be found."""
    root = tmp_path / "policies"
    shutil.copytree(builtin_root() / "qingdao", root / "a")
    shutil.copytree(builtin_root() / "jinzhou", root / "nested" / "b")
    shutil.copytree(builtin_root() / "datong", root / ".git" / "c")
    (root / "README.md").write_text("not a pack\n", encoding="utf-8")
    return root


def test_packs_below_finds_nested_packs_and_skips_hidden_folders(tree):
    assert packs_below(tree) == [tree / "a", tree / "nested" / "b"]


def test_pack_folders_of_files_and_folders_inside_a_pack(tree):
    rules = tree / "a" / "rules"
    assert pack_folders([str(rules), str(next(rules.iterdir())), str(tree / "a")]) == [tree / "a"]


def test_folder_without_packs_is_mtb100(tmp_path):
    with pytest.raises(mtbrules.PackError) as info:
        pack_folders([str(tmp_path)])
    assert info.value.diagnostics[0].code == "MTB100"
    assert "no pack in" in info.value.message


def test_check_dir_checks_every_pack(capsys, tree):
    assert main(["check", str(tree), "--format", "json"]) == 0
    import json

    report = json.loads(capsys.readouterr().out)
    assert sorted(p["pack"] for p in report) == ["jinzhou", "qingdao"]


def test_check_of_the_policies_folder_checks_all_builtin_packs(capsys):
    assert main(["check", str(builtin_root())]) == 0
    out = capsys.readouterr().out
    for pack in mtbrules.builtin_packs():
        assert re.search(rf"^{pack}: 0 errors, 0 warnings$", out, re.MULTILINE), pack


def test_test_dir_runs_every_packs_scenarios(capsys, tree):
    assert main(["test", str(tree)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^qingdao: \d+ passed, 0 failed$", out, re.MULTILINE)
    assert re.search(r"^jinzhou: \d+ passed, 0 failed$", out, re.MULTILINE)


def test_fmt_dir_formats_every_pack(capsys, tree):
    target = tree / "nested" / "b" / "documents.yaml"
    target.write_text(target.read_text(encoding="utf-8") + "\n\n", encoding="utf-8")
    assert main(["fmt", "--check", str(tree)]) == 1
    assert "nested/b/documents.yaml" in capsys.readouterr().err
    assert main(["fmt", str(tree)]) == 0
    assert main(["fmt", "--check", str(tree)]) == 0


# A whole-file problem (unreadable, too large) has no line:column to name.
_HEAD = re.compile(r"^mtbrules: [^\s:]+(:\d+:\d+)?: MTB\d{3} \S")
_WHOLE_FILE = re.compile(r"cannot read|larger than")


@pytest.mark.parametrize(
    "fixture", sorted(p.name for p in BAD.iterdir() if p.is_dir() and p.name[:4] == "MTB1")
)
def test_invalid_pack_is_one_message_naming_file_line_column(capsys, tmp_path, fixture):
    # README: exit 2, one message on stderr, its first line names file:line:column and the
    # code; the source line and a caret may follow; never a traceback.
    case = tmp_path / "case.json"
    case.write_text('{"service": "certificate", "submitted_on": "2025-09-29"}', encoding="utf-8")
    code = main(["eval", str(case), "--pack", str(BAD / fixture)])
    err = capsys.readouterr().err
    assert code == 2
    lines = err.rstrip("\n").split("\n")
    head = _HEAD.match(lines[0])
    assert head, lines[0]
    assert head.group(1) or _WHOLE_FILE.search(lines[0]), lines[0]
    assert "Traceback" not in err
    assert len(lines) <= 4  # message, source line, caret, "(and N more …)"
