"""Inputs the fuzzers found, kept so the bugs they showed stay fixed.

Each test names the fuzzer that found the input and the fix (docs/reliability.md
lists them all). Add new ones at the end, smallest reproducing input first.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import mtbrules

sys.path.insert(
    0, str(__import__("pathlib").Path(__file__).resolve().parents[1])
)  # packbuilder, strategies
from mtbrules.case import parse_case

BASE = {"service": "certificate", "submitted_on": "2025-09-29"}


def _case_error(case) -> mtbrules.CaseError:
    with pytest.raises(mtbrules.CaseError) as info:
        parse_case(case)
    return info.value


# -- test_fuzz_case: non-text keys reached difflib (TypeError) or str() of the key


@pytest.mark.parametrize("key", [None, 362880, True, 1.5, (1, 2)])
def test_non_text_key_in_offsite_or_prior(key):
    for obj in ("offsite", "prior"):
        err = _case_error({**BASE, obj: {key: True}})
        assert err.field == obj
        assert "field names must be text" in str(err)


def test_non_text_key_in_material_object():
    err = _case_error({**BASE, "materials": [{"name": "身份证", 3: "x"}]})
    assert err.field == "materials[0]"


def test_non_text_top_level_key_is_not_str_formatted():
    class Hostile:
        def __str__(self):
            raise RuntimeError("str() called on input")

        __format__ = __str__
        __repr__ = __str__

    err = _case_error({Hostile(): 1})
    assert "field names must be text" in str(err)


def test_huge_int_is_not_converted_to_text():
    # repr(10**5000) raises ValueError (int max str digits); the message names the kind instead.
    err = _case_error({**BASE, "age": 10**5000})
    assert err.field == "age" and "out of range" in str(err)


def test_odd_object_in_number_field_is_not_repr_formatted():
    class Hostile:
        def __repr__(self):
            raise RuntimeError("repr() called on input")

    err = _case_error({**BASE, "outpatient_years": Hostile()})
    assert err.field == "outpatient_years"


def test_giant_unknown_field_name_is_cut():
    err = _case_error({**BASE, "x" * 100_000: 1})
    assert len(str(err)) < 200


# -- test_fuzz_case (CLI): a lone surrogate in a name crashed JSON output with exit 3


def test_lone_surrogate_is_a_case_error():
    err = _case_error({**BASE, "materials": ["\ud800"]})
    assert err.field == "materials[0]" and "surrogate" in str(err)
    err = _case_error({**BASE, "diseases": ["恶性\udfff肿瘤"]})
    assert err.field == "diseases[0]"


def test_lone_surrogate_via_cli_exits_2(tmp_path):
    case = tmp_path / "case.json"
    # JSON escapes can spell a lone surrogate; json.loads accepts it.
    case.write_text(
        json.dumps({**BASE, "pack": "qingdao", "materials": ["\ud800"]}), encoding="ascii"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "mtbrules", "eval", str(case), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr


# -- test_limits / test_fuzz_dsl: the nesting check counted every '-' and 'not ' in
#    expressions over 200 characters, so long expressions with dates were refused,
#    and brackets inside string literals counted as nesting.


def test_long_expression_with_many_dates_parses():
    from mtbrules.parser import parse_expression

    text = " or ".join(
        f"submitted_on == 2024-{m:02d}-{d:02d}" for m in range(1, 13) for d in (1, 15, 28)
    )
    assert len(text) > 200 and text.count("-") > 64
    parse_expression(text)


def test_brackets_inside_strings_are_not_nesting():
    from mtbrules.parser import parse_expression

    parse_expression('district == "' + "(" * 70 + '"')
    parse_expression("district == '" + "[" * 70 + "'")


@pytest.mark.parametrize(
    "text",
    [
        "any x in diseases: " * 70 + "true",
        "if true then " * 70 + "1" + " else 2" * 70,
        " or ".join(["true"] * 70),
        " + ".join(["1"] * 1000),
        "x" + ".y" * 1900,
    ],
    ids=["any-70", "if-70", "or-70", "plus-1000", "attr-1900"],
)
def test_deep_syntax_trees_are_mtb205(text):
    from mtbrules.parser import parse_expression

    with pytest.raises(mtbrules.DslSyntaxError) as info:
        parse_expression(text)
    assert info.value.diagnostics[0].code == "MTB205"


# -- test_fuzz_yaml: text handed to load_yaml with a lone surrogate crashed LibYAML
#    with UnicodeEncodeError; it now gets the checks a file's bytes get.


def test_yaml_text_with_lone_surrogate():
    from mtbrules._yaml import load_yaml

    with pytest.raises(mtbrules.PackError) as info:
        load_yaml("x.yaml", "a: '\ud800'\n")
    assert info.value.diagnostics[0].code == "MTB101"


def test_yaml_text_over_the_size_limit():
    from mtbrules._yaml import MAX_FILE_BYTES, load_yaml

    with pytest.raises(mtbrules.PackError) as info:
        load_yaml("x.yaml", "#" * (MAX_FILE_BYTES + 1))
    assert info.value.diagnostics[0].code == "MTB105"


# -- test_sandbox / test_fuzz_yaml: a source `file` of 5000 characters raised OSError
#    (file name too long) out of the loader; absolute paths, '..' and symlinks out of
#    the pack folder were accepted, and `mtbrules check` then read them.


def test_source_file_name_too_long(tmp_path):
    from packbuilder import MINI_PACK, write_pack

    from mtbrules.loader import load_pack_folder

    root = write_pack(
        tmp_path / "p", {"pack.yaml": MINI_PACK["pack.yaml"].replace("source.txt", "x" * 5000)}
    )
    with pytest.raises(mtbrules.PackError) as info:
        load_pack_folder(root)
    assert info.value.diagnostics[0].code == "MTB404"


# -- test_limits: deeply nested YAML raised RecursionError in the builder and, at
#    about 50,000 levels, crashed the whole process (LibYAML's composer recursing
#    in C: exit 139). Depth is now checked on the event stream first (MTB105).


@pytest.mark.parametrize(
    "text",
    [
        "a: " + "[" * 50_000 + "]" * 50_000,
        "a: " + "{x: " * 50_000 + "1" + "}" * 50_000,
        "- " * 50_000 + "1",
        "".join("  " * i + "k:\n" for i in range(200)) + "  " * 200 + "v",
        # aliases nest what the text does not: each anchor is only 60 deep
        "x0: &x0 "
        + "[" * 60
        + "1"
        + "]" * 60
        + "\n"
        + "".join(f"x{i}: &x{i} " + "[" * 60 + f"*x{i - 1}" + "]" * 60 + "\n" for i in range(1, 5)),
    ],
    ids=["flow-seq", "flow-map", "compact-seq", "block-map", "alias-chain"],
)
def test_deep_yaml_is_mtb105_not_a_crash(text):
    from mtbrules._yaml import load_yaml

    with pytest.raises(mtbrules.PackError) as info:
        load_yaml("deep.yaml", text)
    assert info.value.diagnostics[0].code == "MTB105"


# -- test_fuzz_case: a pack reference of 10,000 characters raised OSError (file name
#    too long) from Path.is_file in registry.resolve and load_pack_folder.


@pytest.mark.parametrize("ref", ["x" * 10_000, "a/" * 3000])
def test_overlong_pack_reference(ref):
    from mtbrules.loader import load_pack_folder

    with pytest.raises(mtbrules.PackError) as info:
        mtbrules.load_pack(ref)
    assert info.value.diagnostics[0].code == "MTB100" and len(str(info.value)) < 600
    with pytest.raises(mtbrules.PackError):
        load_pack_folder(ref)
    with pytest.raises(mtbrules.MtbError):
        mtbrules.evaluate({"pack": ref, "service": "certificate", "submitted_on": "2025-09-29"})


# -- fuzz/run.py (test_fuzz_yaml x20): an explicit tag with a value PyYAML's constructor
#    does not expect raised IndexError/KeyError/AttributeError out of load_yaml.


@pytest.mark.parametrize(
    "text",
    ["a: !!int", "a: !!float", "a: !!bool x", "a: !!timestamp x", 'a: !!int ""', "- !!float"],
)
def test_explicit_tags_with_bad_values(text):
    from mtbrules._yaml import load_yaml

    with pytest.raises(mtbrules.PackError) as info:
        load_yaml("t.yaml", text)
    assert info.value.diagnostics[0].code == "MTB102"
