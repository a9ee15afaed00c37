"""A pack can never run Python, import, read files or the environment.

Pack text reaches Python only through the DSL: a Lark grammar (no calls but a
fixed table of functions, no attribute access but a disease's four fields, no
exponent, no string formatting, no regexes) compiled to closures, and a code
generator that emits only identifiers it makes itself. The only file a pack
names is a source text, which must lie inside the pack folder.
"""

from __future__ import annotations

import os
import shutil
import time

import pytest
from packbuilder import MINI_PACK, write_pack

import mtbrules
from mtbrules.compiler import DISEASE_FIELDS, FUNCTION_NAMES
from mtbrules.errors import PackError
from mtbrules.loader import load_pack_folder

CASE = {"service": "certificate", "submitted_on": "2024-06-03", "diseases": ["恶性肿瘤"], "age": 70}


def _pack_with_when(tmp_path, when: str):
    rules = MINI_PACK["rules/a.yaml"].replace(
        """when: 'any d in diseases: "fast" in d.groups'""", "when: " + when
    )
    return load_pack_folder(write_pack(tmp_path / "p", {"rules/a.yaml": rules}))


ESCAPES = [
    # dunder names and attribute access
    "__import__('os').system('touch /tmp/mtb-pwned')",
    '__import__("os")',
    "().__class__.__bases__[0].__subclasses__()",
    '"".__class__.__mro__',
    "any d in diseases: d.__class__ == d",
    "any d in diseases: d.__dict__ == d",
    "any d in diseases: d.name.__len__() > 0",
    "any d in diseases: d.groups.__contains__('x')",
    "any d in diseases: d._replace(id='x') == d",
    "__builtins__",
    "globals()",
    "locals()",
    "vars()",
    "env",
    "get('age')",
    "_U",
    "_k0",
    "v0",
    "q_d",
    # calls of Python built-ins
    'eval("1")',
    'exec("import os")',
    'open("/etc/passwd")',
    'getattr(age, "real")',
    "compile('1', 'x', 'eval')",
    "breakpoint()",
    "input()",
    "print(age)",
    # format strings and operators the DSL does not have
    'f"{age.__class__}" == "x"',
    '"%s" % age == "x"',
    '"{0.__class__}".format(age) == "x"',
    "age ** 999999999 > 1",
    "2 ** 2 ** 2 ** 64 > 1",
    "age // 0 > 1",
    "age / 0 > 1",
    "age % 0 > 1",
    "lambda: 1",
    "[x for x in diseases]",
    "age if true else 1",
    "age; import os",
    "age\nimport os",
    "age # comment",
    "`id`",
    "$(id)",
    "${HOME} == 'x'",
    "os.environ",
    "prior.__class__",
    "offsite.__dict__",
]


@pytest.mark.parametrize("text", ESCAPES)
def test_escape_attempts_are_pack_errors(tmp_path, text):
    quoted = "'" + text.replace("'", "''").replace("\n", "\\n") + "'"
    with pytest.raises(PackError) as info:
        _pack_with_when(tmp_path, quoted)
    assert info.value.diagnostics[0].code[:4] in ("MTB1", "MTB2", "MTB3")
    assert not os.path.exists("/tmp/mtb-pwned")


def test_the_dsl_reaches_only_plain_fields_and_listed_functions():
    assert set(DISEASE_FIELDS) == {"id", "name", "no", "groups"}
    assert all(not f.startswith("_") for f in FUNCTION_NAMES)
    assert FUNCTION_NAMES.isdisjoint(
        {"eval", "exec", "open", "getattr", "compile", "__import__", "format", "input"}
    )


def test_generated_code_holds_no_pack_text(tmp_path):
    """The code generator emits only its own identifiers: a hostile string literal stays a constant."""
    hostile = "'); __import__('os').system('touch /tmp/mtb-pwned'); ('"
    pack = _pack_with_when(tmp_path, "'district == \"" + hostile.replace("'", "''") + "\"'")
    pack.evaluate(CASE)
    pack.evaluate({**CASE, "district": hostile})
    assert not os.path.exists("/tmp/mtb-pwned")
    source = pack.condition_runners["certificate"].source
    assert "__import__" not in source and "system" not in source and "district ==" not in source


def test_huge_numbers_finish_fast(tmp_path):
    """No exponent exists; the largest product a 4000-character expression can write is computed at once."""
    factor = "9" * 60
    text = "'" + " * ".join([factor] * 60) + " > age'"
    pack = _pack_with_when(tmp_path, text)
    start = time.perf_counter()
    pack.evaluate(CASE)
    assert time.perf_counter() - start < 2


def test_regexes_do_not_exist_in_the_dsl(tmp_path):
    for text in [
        "'district =~ \"(a+)+$\"'",
        "'match(district, \"(a+)+$\")'",
        "'district matches \"(a|a)*\"'",
    ]:
        with pytest.raises(PackError):
            _pack_with_when(tmp_path, text)


def test_yaml_cannot_construct_python_objects(tmp_path):
    for tag in [
        "!!python/object/apply:os.system ['touch /tmp/mtb-pwned']",
        "!!python/name:os.system",
        "!!binary AAAA",
        "!!python/module:os",
    ]:
        root = write_pack(tmp_path / f"p{abs(hash(tag))}", {"channels.yaml": f"channels: {tag}\n"})
        with pytest.raises(PackError):
            load_pack_folder(root)
    assert not os.path.exists("/tmp/mtb-pwned")


# -- the one include mechanism: a source's `file`


@pytest.mark.parametrize(
    "name",
    [
        "../../../../../../etc/passwd",
        "/etc/passwd",
        "/dev/zero",
        "/proc/self/environ",
        "sub/../../outside.txt",
        "~/.bashrc",
        "x" * 5000,
        "link.txt",
    ],
)
def test_source_file_must_stay_inside_the_pack(tmp_path, name):
    (tmp_path / "outside.txt").write_text("secret", encoding="utf-8")
    root = write_pack(tmp_path / "p")
    os.symlink(tmp_path / "outside.txt", root / "link.txt")
    text = MINI_PACK["pack.yaml"].replace("file: source.txt", f"file: '{name}'")
    write_pack(root, {"pack.yaml": text})
    with pytest.raises(PackError) as info:
        load_pack_folder(root)
    assert info.value.diagnostics[0].code == "MTB404"
    assert "secret" not in str(info.value)


def test_source_file_inside_the_pack_is_fine(tmp_path):
    root = write_pack(tmp_path / "p")
    (root / "texts").mkdir()
    shutil.move(root / "source.txt", root / "texts" / "source.txt")
    write_pack(
        root,
        {
            "pack.yaml": MINI_PACK["pack.yaml"].replace(
                "file: source.txt", "file: texts/../texts/source.txt"
            )
        },
    )
    assert load_pack_folder(root).id == "mini"


def test_pack_reference_is_a_path_not_code():
    for ref in ["__import__('os')", "qingdao; rm -rf /", "$(id)", "../../../etc", "\x00"]:
        with pytest.raises(mtbrules.MtbError):
            mtbrules.load_pack(ref)


def test_environment_is_not_read_by_rules(tmp_path, monkeypatch):
    """Names in conditions are case fields only: an environment variable of the same name changes nothing."""
    pack = _pack_with_when(tmp_path, "'defined(district)'")
    before = pack.evaluate(CASE).to_json()
    monkeypatch.setenv("district", "市南区")
    monkeypatch.setenv("age", "1")
    assert pack.evaluate(CASE).to_json() == before
