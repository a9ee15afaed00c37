"""Every size limit is a clear error with its own code, never a hang, a crash or a MemoryError.

| limit | where | error |
|---|---|---|
| YAML file bytes | _yaml.MAX_FILE_BYTES | MTB105 |
| YAML nesting | _yaml.MAX_DEPTH | MTB105 |
| YAML values after aliases (billion laughs) | _yaml.MAX_NODES | MTB104 |
| recursive alias | _yaml | MTB104 |
| pack bytes, rule files, rules | loader.MAX_PACK_BYTES, MAX_RULE_FILES, packbuild.MAX_RULES | MTB105 |
| source text bytes | _yaml.MAX_FILE_BYTES | MTB404 |
| expression length, nesting | parser.MAX_EXPRESSION_LENGTH, MAX_DEPTH | MTB205 |
| case text, list length, numbers | case.MAX_STRING, MAX_LIST, MAX_INT | CaseError naming the field |
| JSON input bytes, nesting | commands._io.MAX_INPUT_BYTES | InputError, exit 2 |
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from packbuilder import MINI_PACK, write_pack

import mtbrules
from mtbrules import _yaml, case, loader, packbuild, parser
from mtbrules._yaml import load_yaml
from mtbrules.case import parse_case
from mtbrules.errors import CaseError, DslSyntaxError, PackError
from mtbrules.loader import load_pack_folder

BASE = {"service": "certificate", "submitted_on": "2024-06-03"}


def code_of(exc: mtbrules.MtbError) -> str:
    return exc.diagnostics[0].code


# ---------------------------------------------------------------- YAML


def test_yaml_file_size(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_bytes(b"# " + b"x" * _yaml.MAX_FILE_BYTES)
    with pytest.raises(PackError) as info:
        load_yaml(str(path))
    assert code_of(info.value) == "MTB105"


def test_billion_laughs():
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    start = time.perf_counter()
    with pytest.raises(PackError) as info:
        load_yaml("laughs.yaml", "\n".join(lines) + "\n")
    assert code_of(info.value) == "MTB104"
    # Not a speed claim: expanding 9**9 values would take hours, refusing at MAX_NODES takes
    # seconds even on a loaded machine, so a generous bound tells the two apart.
    assert time.perf_counter() - start < 60


def test_quadratic_blowup_of_a_wide_alias():
    """One anchor of 1,000 items referenced 1,000 times is a million values: over the limit."""
    text = "a: &a [" + ",".join(["1"] * 1000) + "]\nb: [" + ",".join(["*a"] * 1000) + "]\n"
    with pytest.raises(PackError) as info:
        load_yaml("wide.yaml", text)
    assert code_of(info.value) == "MTB104"


def test_recursive_alias():
    with pytest.raises(PackError) as info:
        load_yaml("rec.yaml", "a: &a [*a]\n")
    assert code_of(info.value) in ("MTB102", "MTB104")


def test_yaml_nesting_limit_and_just_below():
    ok = "a: " + "[" * (_yaml.MAX_DEPTH - 1) + "]" * (_yaml.MAX_DEPTH - 1)
    load_yaml("ok.yaml", ok)
    deep = "a: " + "[" * (_yaml.MAX_DEPTH + 1) + "]" * (_yaml.MAX_DEPTH + 1)
    with pytest.raises(PackError) as info:
        load_yaml("deep.yaml", deep)
    assert code_of(info.value) == "MTB105"


def test_giant_scalar_within_the_file_limit_is_fine():
    doc = load_yaml("s.yaml", "a: " + "病" * 1_000_000 + "\n")
    assert len(doc.value["a"]) == 1_000_000


# ---------------------------------------------------------------- packs


def test_pack_bytes(tmp_path, monkeypatch):
    monkeypatch.setattr(loader, "MAX_PACK_BYTES", 2000)
    root = write_pack(tmp_path / "p", {"rules/b.yaml": "# " + "x" * 3000 + "\nrules: []\n"})
    with pytest.raises(PackError) as info:
        load_pack_folder(root)
    assert code_of(info.value) == "MTB105"


def test_rule_files(tmp_path, monkeypatch):
    monkeypatch.setattr(loader, "MAX_RULE_FILES", 3)
    root = write_pack(tmp_path / "p", {f"rules/x{i}.yaml": "rules: []\n" for i in range(4)})
    with pytest.raises(PackError) as info:
        load_pack_folder(root)
    assert any(d.code == "MTB105" for d in info.value.diagnostics)


def test_rules_per_pack(tmp_path, monkeypatch):
    monkeypatch.setattr(packbuild, "MAX_RULES", 3)
    rules = "rules:\n" + "".join(
        f"  - {{id: r{i}, title: t, source: {{doc: s1, clause: 一}}, reason: x}}\n"
        for i in range(5)
    )
    root = write_pack(tmp_path / "p", {"rules/b.yaml": rules})
    with pytest.raises(PackError) as info:
        load_pack_folder(root)
    assert any(d.code == "MTB105" and "rules" in d.message for d in info.value.diagnostics)


def test_real_limits_leave_room():
    assert loader.MAX_PACK_BYTES >= 4 * _yaml.MAX_FILE_BYTES
    for pack_id in mtbrules.builtin_packs():
        pack = mtbrules.load_pack(pack_id)
        assert len(pack.rules) * 20 < packbuild.MAX_RULES


def test_source_text_size(tmp_path):
    root = write_pack(tmp_path / "p")
    with open(root / "source.txt", "wb") as fh:
        fh.truncate(_yaml.MAX_FILE_BYTES + 1)  # sparse: no real disk use
    with pytest.raises(PackError) as info:
        load_pack_folder(root)
    assert code_of(info.value) == "MTB404"


# ---------------------------------------------------------------- expressions


def test_expression_length():
    parser.parse_expression("age > " + "1" * (parser.MAX_EXPRESSION_LENGTH - 6))
    with pytest.raises(DslSyntaxError) as info:
        parser.parse_expression("age > " + "1" * parser.MAX_EXPRESSION_LENGTH)
    assert code_of(info.value) == "MTB205"


@pytest.mark.parametrize(
    "make",
    [
        lambda n: "not " * n + "true",
        lambda n: "- " * n + "1",
        lambda n: "-" * n + "1",
        lambda n: "(" * n + "1" + ")" * n,
        lambda n: "[" * n + "]" * n,
        lambda n: "len(" * n + "[]" + ")" * n,
        lambda n: " and ".join(["true"] * n),
        lambda n: "if true then " * n + "1" + " else 2" * n,
    ],
    ids=["not", "neg-spaced", "neg", "parens", "lists", "calls", "and-chain", "if"],
)
@pytest.mark.parametrize("n", [parser.MAX_DEPTH + 1, 500, 3000])
def test_deep_expressions_are_mtb205(make, n):
    text = make(n)
    if len(text) > parser.MAX_EXPRESSION_LENGTH:
        text = text[: parser.MAX_EXPRESSION_LENGTH]  # still deep; may also be unbalanced
    with pytest.raises(DslSyntaxError) as info:
        parser.parse_expression(text)
    assert code_of(info.value) in ("MTB205", "MTB203")
    if len(make(n)) <= parser.MAX_EXPRESSION_LENGTH:
        assert code_of(info.value) == "MTB205"


@pytest.mark.parametrize(
    "text",
    [
        # right-nested and/or at the depth limit: the generated Python nests ~3 brackets per level
        "(age > 1 and " * 61 + "age > 2" + ")" * 61,
        "(age > 1 or " * 61 + "age > 2" + ")" * 61,
        "not " * 62 + "(age > 1)",
        "if age > 1 then " * 31 + "true" + " else false" * 31,
        "min(" * 61 + "age" + ", 1)" * 61 + " > 0",
        "any d in diseases: " * 30 + "age > 1",
    ],
    ids=["and", "or", "not", "if", "min", "any"],
)
def test_deepest_accepted_expressions_load_and_run(tmp_path, text):
    """At the limit, every layer (parser, type checker, closures, generated code) still works."""
    rules = MINI_PACK["rules/a.yaml"].replace(
        """when: 'any d in diseases: "fast" in d.groups'""", "when: '" + text + "'"
    )
    pack = load_pack_folder(write_pack(tmp_path / "p", {"rules/a.yaml": rules}))
    for extra in ({}, {"age": 5}, {"age": 0, "diseases": ["恶性肿瘤"]}):
        pack.evaluate({**BASE, **extra}).to_json()


# ---------------------------------------------------------------- cases


def test_case_text_length():
    parse_case({**BASE, "district": "区" * case.MAX_STRING})
    with pytest.raises(CaseError) as info:
        parse_case({**BASE, "district": "区" * (case.MAX_STRING + 1)})
    assert info.value.field == "district"


def test_case_list_length():
    parse_case({**BASE, "diseases": ["x"] * case.MAX_LIST})
    with pytest.raises(CaseError) as info:
        parse_case({**BASE, "diseases": ["x"] * (case.MAX_LIST + 1)})
    assert info.value.field == "diseases"
    with pytest.raises(CaseError) as info:
        parse_case({**BASE, "materials": ["身份证"] * 10**6})
    assert info.value.field == "materials"


@pytest.mark.parametrize(
    "value", [case.MAX_INT + 1, -case.MAX_INT - 1, 10**100, float("inf"), float("nan"), 1e300]
)
def test_case_numbers(value):
    for field in ("age", "outpatient_years"):
        with pytest.raises(CaseError) as info:
            parse_case({**BASE, field: value})
        assert info.value.field == field


def test_case_nesting_is_bounded_by_its_shape():
    """The case is flat but for three objects; anything deeper is a type error at the first level."""
    from strategies import deep_dict, deep_list

    for field in ("offsite", "prior", "materials", "diseases", "age"):
        for value in (deep_list(100_000), deep_dict(100_000)):
            with pytest.raises(CaseError):
                parse_case({**BASE, field: value})


def test_largest_accepted_case_is_fast():
    pack = mtbrules.load_pack("qingdao")
    big = {
        **BASE,
        "submitted_on": "2025-09-29",
        "diseases": ["病" * case.MAX_STRING] * case.MAX_LIST,
        "materials": [{"name": "材" * case.MAX_STRING, "issued_on": "2025-01-01"}] * case.MAX_LIST,
        "district": "区" * case.MAX_STRING,
    }
    start = time.perf_counter()
    pack.evaluate(big).to_json()
    assert time.perf_counter() - start < 10


# ---------------------------------------------------------------- command-line input


def _eval(tmp_path, raw: bytes):
    path = tmp_path / "case.json"
    path.write_bytes(raw)
    return subprocess.run(
        [sys.executable, "-m", "mtbrules", "eval", str(path), "--pack", "qingdao"],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_deep_json_is_exit_2(tmp_path):
    proc = _eval(tmp_path, b"[" * 200_000 + b"]" * 200_000)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_cli_input_size_is_exit_2(tmp_path):
    from mtbrules.commands._io import MAX_INPUT_BYTES

    proc = _eval(tmp_path, b" " * (MAX_INPUT_BYTES + 1) + b"{}")
    assert proc.returncode == 2 and "larger than" in proc.stderr


@pytest.mark.parametrize(
    "raw", [b"\xff\xfe{}", b'{"service": NaN}', b'{"age": Infinity}', b"\x00", b'{"a": 1, "a": 2}']
)
def test_cli_hostile_json_is_exit_2(tmp_path, raw):
    proc = _eval(tmp_path, raw)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.splitlines()) <= 3


def test_cli_case_json_roundtrip(tmp_path):
    proc = _eval(
        tmp_path,
        json.dumps({**BASE, "submitted_on": "2025-09-29", "diseases": ["恶性肿瘤"]}).encode(),
    )
    assert proc.returncode == 0 and json.loads(proc.stdout)["outcome"] == "instant"
