"""The command line as integrators meet it: output, exit codes, and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mtbrules.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "qingdao_tumour.json"


def run(args, capsys, stdin=None, monkeypatch=None):
    if stdin is not None:
        import io

        monkeypatch.setattr(
            sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode("utf-8")), encoding="utf-8")
        )
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


class TestEval:
    def test_json(self, capsys):
        """`eval --format json` prints exactly one Decision object and exits 0."""
        code, out, err = run(["eval", str(EXAMPLE)], capsys)
        assert code == 0 and err == ""
        decision = json.loads(out)
        assert decision["pack"] == "qingdao" and decision["outcome"] == "instant"

    def test_text_zh_en(self, capsys):
        """The text report is readable in Chinese and in English."""
        code, out, _ = run(["eval", str(EXAMPLE), "--format", "text"], capsys)
        assert code == 0 and "即时办结" in out
        code, out, _ = run(["eval", str(EXAMPLE), "--format", "text", "--lang", "en"], capsys)
        assert code == 0 and "decided on the spot" in out

    def test_stdin_and_pack_option(self, capsys, monkeypatch):
        """`-` reads standard input; --pack supplies the pack."""
        case = {"service": "certificate", "submitted_on": "2025-09-29", "diseases": ["支气管哮喘"]}
        code, out, _ = run(
            ["eval", "-", "--pack", "qingdao"], capsys, json.dumps(case), monkeypatch
        )
        assert code == 0 and json.loads(out)["outcome"] == "review"

    @pytest.mark.parametrize(
        ("content", "fragment"),
        [
            (
                '{"pack": "qingdao", "service": "certificate", "submitted_on": "2025-09-29", "agen": true}',
                "unknown case field 'agen'",
            ),
            (
                '{"pack": "qingdao", "service": "certificate", "submitted_on": "2025-09-29",\n "age": "x"}',
                "case field 'age'",
            ),
            ('{"pack": "qingdao", "service":', "case.json:1:"),
            (
                '{"pack": "qingdo", "service": "certificate", "submitted_on": "2025-09-29"}',
                "unknown pack 'qingdo'",
            ),
            ('{"service": "certificate", "submitted_on": "2025-09-29"}', "case field 'pack'"),
            ('{"pack": "qingdao", "service": "x", "submitted_on": "2025-09-29"}', "allowed:"),
            ("[1, 2]", "must be a JSON object"),
            ('{"pack": "qingdao", "service": "certificate", "submitted_on": NaN}', "invalid JSON"),
        ],
    )
    def test_bad_input_exits_2(self, tmp_path, capsys, content, fragment):
        """Invalid input exits 2 with one clear message on stderr and no traceback."""
        path = tmp_path / "case.json"
        path.write_text(content, encoding="utf-8")
        code, out, err = run(["eval", str(path)], capsys)
        assert code == 2 and out == ""
        assert fragment in err and "Traceback" not in err

    def test_missing_file(self, capsys):
        """An unreadable file is exit 2 naming it."""
        code, _, err = run(["eval", "/no/such/case.json"], capsys)
        assert code == 2 and "/no/such/case.json" in err

    def test_broken_pack_exits_2_with_position(self, tmp_path, capsys):
        """A pack with a DSL error exits 2 naming file:line:col, with the source line and a caret."""
        from packbuilder import MINI_PACK, write_pack

        rules = MINI_PACK["rules/a.yaml"].replace('"fast" in d.groups', '"fast" in d.grups')
        root = write_pack(tmp_path / "p", {"rules/a.yaml": rules})
        case = tmp_path / "c.json"
        case.write_text(
            '{"service": "certificate", "submitted_on": "2024-05-06"}', encoding="utf-8"
        )
        code, _, err = run(["eval", str(case), "--pack", str(root)], capsys)
        assert code == 2
        assert "a.yaml:14:43:" in err and "MTB301" in err and "^" in err


class TestPacks:
    def test_lists_all_five(self, capsys):
        """`packs` lists every built-in pack with its versions and sources."""
        code, out, _ = run(["packs", "--format", "json"], capsys)
        ids = [p["id"] for p in json.loads(out)]
        assert code == 0 and ids == ["datong", "jinzhou", "qingdao", "quarterly", "rizhao"]


def test_module_entry_point():
    """`python -m mtbrules` runs the same command line in a fresh process."""
    proc = subprocess.run(
        [sys.executable, "-m", "mtbrules", "eval", str(EXAMPLE)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["outcome"] == "instant"
