"""`mtbrules check` as CI meets it: exit codes, and every fixture in all four formats."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from mtbrules.cli import main

BAD = Path(__file__).parent / "fixtures" / "bad_packs"
FIXTURES = sorted(p for p in BAD.iterdir() if p.is_dir() and not p.name.startswith("_"))
SARIF = json.loads(
    (Path(__file__).parent / "fixtures" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8")
)
GITHUB_LINE = re.compile(
    r"^::(error|warning) file=[^,:]+,line=\d+,col=\d+,title=MTB\d{3}[^:]*::MTB\d{3} .+$"
)


def _expected(folder):
    return json.loads((folder / "expected.json").read_text(encoding="utf-8"))


def run(capsys, *argv):
    code = main(["check", *map(str, argv)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_clean_pack_exits_0(capsys):
    code, out, _ = run(capsys, BAD / "_base")
    assert code == 0
    assert "0 errors, 0 warnings" in out


def test_findings_exit_1(capsys):
    code, out, _ = run(capsys, BAD / "MTB430-conflict")
    assert code == 1
    assert "example case: {" in out


def test_warnings_exit_0_unless_strict(capsys):
    assert run(capsys, BAD / "MTB440-unused-document")[0] == 0
    code, out, _ = run(capsys, "--strict", BAD / "MTB440-unused-document")
    assert code == 1
    assert out.startswith("error: ")


@pytest.mark.parametrize("ref", ["no/such/folder", "qingdoa"])
def test_unusable_input_exits_2(capsys, ref):
    code, _, err = run(capsys, ref)
    assert code == 2
    assert "MTB100" in err


def test_loading_errors_are_findings_not_exit_2(capsys):
    code, out, _ = run(capsys, BAD / "MTB102-yaml-syntax")
    assert code == 1
    assert "MTB102" in out


@pytest.mark.parametrize("folder", FIXTURES, ids=lambda p: p.name)
def test_text_format_shows_line_and_caret(capsys, folder):
    _, out, _ = run(capsys, folder)
    for exp in _expected(folder):
        head = (
            f"{exp['file']}:{exp['line']}:{exp['col']}: {exp['code']} {exp['message']}"
            if exp["line"]
            else f"{exp['file']}: {exp['code']}"
        )
        assert head in out
    for exp in _expected(folder):
        # A syntax error may point past the last line; a file that is not UTF-8 has
        # no text line to show under its position.
        if exp["line"] and exp["code"] not in ("MTB101", "MTB102"):
            # the caret stands under the column
            lines = out.splitlines()
            i = next(
                k
                for k, line in enumerate(lines)
                if f":{exp['line']}:{exp['col']}: {exp['code']}" in line
            )
            assert lines[i + 2].rstrip().endswith("^")
            assert len(lines[i + 2].rstrip()) - 4 == exp["col"]


@pytest.mark.parametrize("folder", FIXTURES, ids=lambda p: p.name)
def test_json_format(capsys, folder):
    _, out, _ = run(capsys, "--format", "json", folder)
    (report,) = json.loads(out)
    got = [
        {k: d.get(k) for k in ("code", "severity", "message", "line", "col")}
        for d in report["diagnostics"]
    ]
    want = [
        {k: e[k] for k in ("code", "severity", "message", "line", "col")} for e in _expected(folder)
    ]
    assert got == want
    for d, e in zip(report["diagnostics"], _expected(folder)):
        assert d["file"].endswith(e["file"])
        assert d.get("example") == e.get("example")


@pytest.mark.parametrize("folder", FIXTURES, ids=lambda p: p.name)
def test_github_format(capsys, folder):
    _, out, _ = run(capsys, "--format", "github", folder)
    lines = out.splitlines()
    assert len(lines) == len(_expected(folder))
    for line, exp in zip(lines, _expected(folder)):
        if exp["line"]:
            assert GITHUB_LINE.match(line), line
            assert f",line={exp['line']},col={exp['col']}," in line
        assert line.startswith(f"::{exp['severity']} file=")
        assert f"title={exp['code']}" in line
        assert "\n" not in line


@pytest.mark.parametrize("folder", FIXTURES, ids=lambda p: p.name)
def test_sarif_format_is_valid_sarif_2_1_0(capsys, folder):
    _, out, _ = run(capsys, "--format", "sarif", folder)
    sarif = json.loads(out)
    jsonschema.Draft4Validator(SARIF).validate(sarif)
    results = sarif["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == [e["code"] for e in _expected(folder)]
    rules = sarif["runs"][0]["tool"]["driver"]["rules"]
    for r, e in zip(results, _expected(folder)):
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
        assert r["level"] == e["severity"]
        if e["line"]:
            region = r["locations"][0]["physicalLocation"]["region"]
            assert (region["startLine"], region["startColumn"]) == (e["line"], e["col"])


def test_output_file(capsys, tmp_path):
    target = tmp_path / "out.sarif"
    code, out, _ = run(capsys, "--format", "sarif", "-o", target, BAD / "MTB412-misquote")
    assert code == 1 and out == ""
    jsonschema.Draft4Validator(SARIF).validate(json.loads(target.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def builtin_report():
    """`mtbrules check --format json` on every built-in pack, once, with its wall time."""
    import contextlib
    import io
    import time

    buf = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(buf):
        code = main(["check", "--format", "json"])
    return code, json.loads(buf.getvalue()), time.perf_counter() - start


def test_builtin_packs_load_and_check_without_errors(builtin_report):
    """Errors (not warnings) in a built-in pack would break `mtbrules eval`; none are allowed."""
    code, report, seconds = builtin_report
    errors = [d for pack in report for d in pack["diagnostics"] if d["severity"] == "error"]
    assert errors == [] and code == 0
    assert seconds < 30  # ~5 s on a quiet machine; generous for a loaded CI runner


def test_builtin_packs_are_clean_under_strict(builtin_report):
    _, report, _ = builtin_report
    assert [d for pack in report for d in pack["diagnostics"]] == []
