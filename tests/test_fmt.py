"""`mtbrules fmt`: canonical YAML with comments kept, the schema modeline, DSL spacing, --check."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mtbrules.cli import main
from mtbrules.formatter import format_expression, format_text

BAD = Path(__file__).parent / "fixtures" / "bad_packs"


@pytest.mark.parametrize(
    "text, canonical",
    [
        ("a  and(b)", "a and (b)"),
        (
            'len( diseases )>0 and (all d in diseases:"x" in d.groups)',
            'len(diseases) > 0 and (all d in diseases: "x" in d.groups)',
        ),
        ("x == -1", "x == -1"),
        ("submitted_on+7 working_days", "submitted_on + 7 working_days"),
        ("max( a ,b )- 3", "max(a, b) - 3"),
        ('[ "a","b" ]', '["a", "b"]'),
        ("if a then -1 else 2", "if a then -1 else 2"),
        ("offsite . settled", "offsite.settled"),
        ("(a or b) and c", "(a or b) and c"),  # the author's parentheses stay
        ("a and\n  b", "a and\n  b"),  # and so do line breaks
        ("a &&& b", "a &&& b"),  # what does not tokenize is left alone
    ],
)
def test_expression_spacing(text, canonical):
    assert format_expression(text) == canonical
    assert format_expression(canonical) == canonical


REPO = Path(__file__).parents[1]


def test_yaml_is_canonical_and_keeps_comments():
    pack = (
        REPO / "policies" / "demo"
    )  # a pack inside the checkout (need not exist: format_text is pure)
    text = (
        "rules:   # the rules\n"
        "- id: r   # first\n"
        "  when: 'age>=60'\n"
        '  quote: "\\ue257乱码"\n'
        "  effective_to: null\n"
        "  deadlines:\n"
        "  - kind: decision_due\n"
        "    date: submitted_on+7 working_days\n"
    )
    out = format_text(text, pack / "rules" / "r.yaml")
    lines = out.splitlines()
    assert (
        lines[0] == "# yaml-language-server: $schema=../../../src/mtbrules/schemas/pack.schema.json"
    )
    assert "rules:   # the rules" in out and "# first" in out
    assert "  - id: r # first" in out
    assert "    when: 'age >= 60'" in out
    assert "\\ue257乱码" in out  # private-use characters stay escaped
    assert "effective_to: null" in out
    assert "        date: submitted_on + 7 working_days" in out
    assert format_text(out, pack / "rules" / "r.yaml") == out


def test_modeline_fixed_inside_the_checkout_left_alone_outside(tmp_path):
    wrong = (
        "# yaml-language-server: $schema=../../src/mtbrules/schemas/pack.schema.json\nrules: []\n"
    )
    fixed = format_text(wrong, REPO / "policies" / "demo" / "rules" / "r.yaml")
    assert fixed.startswith("# yaml-language-server: $schema=../../../src/")
    assert format_text("rules: []\n", tmp_path / "p" / "rules" / "r.yaml") == "rules: []\n"


def test_fmt_check_then_fix(tmp_path, capsys):
    folder = tmp_path / "pack"
    shutil.copytree(BAD / "_base", folder)
    assert main(["fmt", "--check", str(folder)]) == 0
    rules = folder / "rules" / "rules.yaml"
    original = rules.read_text(encoding="utf-8")
    rules.write_text(
        original.replace("submitted_on + 10 working_days", "submitted_on+10 working_days"),
        encoding="utf-8",
    )
    capsys.readouterr()
    assert main(["fmt", "--check", str(folder)]) == 1
    captured = capsys.readouterr()
    assert (
        "would reformat" in captured.err
        and "+        date: submitted_on + 10 working_days" in captured.out
    )
    assert main(["fmt", str(folder)]) == 0
    assert rules.read_text(encoding="utf-8") == original
    assert main(["fmt", "--check", str(folder)]) == 0


def test_fixtures_are_formatted(capsys):
    assert main(["fmt", "--check", str(BAD / "_base")]) == 0


def test_builtin_packs_are_formatted(capsys):
    assert main(["fmt", "--check"]) == 0
