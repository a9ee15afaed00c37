"""Fuzzing the YAML reader and the pack loader with broken, hostile and mutated files.

The only exception that may come out is PackError (an MtbError); a pack that
loads must still evaluate a plain case. Budgets: strategies.budget.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from strategies import budget, hostile_text, mutated, yaml_text

import mtbrules
from mtbrules._yaml import load_yaml
from mtbrules.errors import MtbError, PackError
from mtbrules.loader import load_pack_folder
from mtbrules.registry import resolve

QINGDAO = resolve("qingdao")
PACK_FILES = sorted(
    p.relative_to(QINGDAO).as_posix() for p in QINGDAO.rglob("*.yaml") if "scenarios" not in p.parts
)
TEXTS = {name: (QINGDAO / name).read_text(encoding="utf-8") for name in PACK_FILES}


def _load_text(text: str):
    try:
        return load_yaml("<fuzz>.yaml", text)
    except PackError as exc:
        assert exc.diagnostics and exc.diagnostics[0].code.startswith("MTB1")
        return None


@budget(300)
@given(yaml_text)
def test_yaml_soup_gives_value_or_pack_error(text):
    _load_text(text)


@budget(150)
@given(st.sampled_from(PACK_FILES).flatmap(lambda name: mutated(TEXTS[name])))
def test_mutated_pack_files_give_value_or_pack_error(text):
    _load_text(text)


@budget(100)
@given(st.binary(max_size=300))
def test_any_bytes_on_disk(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("bytes") / "f.yaml"
    path.write_bytes(raw)
    try:
        load_yaml(str(path))
    except PackError as exc:
        assert exc.diagnostics[0].code in ("MTB101", "MTB102", "MTB103", "MTB104")


@pytest.mark.parametrize(
    "raw",
    [
        b"\xff\xfe\x00a",
        b"id: \xc3\x28",
        b"\xef\xbb\xbfid: x\n",
        b"a: \x00\n",
        b"a: '\x1b[31m'\n",
        b"\x80" * 100,
    ],
)
def test_non_utf8_and_control_bytes(tmp_path, raw):
    path = tmp_path / "f.yaml"
    path.write_bytes(raw)
    try:
        load_yaml(str(path))
    except PackError as exc:
        assert exc.diagnostics[0].location.file == str(path)


# ---------------------------------------------------------------- whole packs

#: Values a YAML file can hold, hostile ones included.
yaml_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.sampled_from([10**30, -1, 0, 2**63, float("nan"), float("inf"), 1e308]),
        st.floats(allow_nan=True),
        hostile_text.filter(lambda s: not any(0xD800 <= ord(c) <= 0xDFFF for c in s)),
        st.sampled_from(
            [
                "2024-02-30",
                "9999-12-31",
                "0001-01-01",
                "../../../etc/passwd",
                "/etc/passwd",
                "__import__('os')",
                "{0.__class__}",
                "%s%s%s",
                "when",
                "rules",
                "true",
                "submitted_on + 99999 days",
                "-1 months",
                "qingdao",
                "group_b",
                "id_or_ss_card",
                "decision_due",
                "instant",
            ]
        ),
        st.dates(),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "name",
                    "doc",
                    "clause",
                    "when",
                    "rules",
                    "kind",
                    "date",
                    "any_of",
                    "groups",
                    "x",
                ]
            ),
            children,
            max_size=3,
        ),
    ),
    max_leaves=6,
)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, prefix + (i,))


@st.composite
def mutated_packs(draw):
    """(file name, new text): one value somewhere in one of Qingdao's files replaced or removed."""
    name = draw(st.sampled_from(PACK_FILES))
    value = yaml.safe_load(TEXTS[name])
    paths = [p for p in _paths(value) if p]
    path = draw(st.sampled_from(paths))
    parent = value
    for key in path[:-1]:
        parent = parent[key]
    if draw(st.booleans()) and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(yaml_values)
    return name, yaml.safe_dump(value, allow_unicode=True, sort_keys=False)


@budget(30)
@given(
    st.one_of(
        mutated_packs(),
        st.sampled_from(PACK_FILES).flatmap(lambda n: mutated(TEXTS[n]).map(lambda t: (n, t))),
    )
)
def test_mutated_pack_loads_or_gives_pack_error(tmp_path_factory, change):
    name, text = change
    root = tmp_path_factory.mktemp("pack")
    shutil.copytree(QINGDAO, root, dirs_exist_ok=True)
    shutil.rmtree(root / "scenarios", ignore_errors=True)
    # Lone surrogates become invalid UTF-8 bytes on disk: that is part of the test.
    (root / name).write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        pack = load_pack_folder(root)
    except PackError as exc:
        assert exc.diagnostics, "a PackError always carries diagnostics"
        for d in exc.diagnostics:
            d.render()
        return
    try:
        pack.evaluate(
            {"service": "certificate", "submitted_on": "2025-09-29", "diseases": ["恶性肿瘤"]}
        ).to_json()
    except MtbError:
        pass


def test_unmodified_copy_loads(tmp_path):
    shutil.copytree(QINGDAO, tmp_path / "q")
    assert load_pack_folder(tmp_path / "q").id == "qingdao"
    assert mtbrules.load_pack(str(Path(tmp_path / "q"))).id == "qingdao"


# -- our nesting limit comes before any parser's (LibYAML refuses flow deeper than
#    1,000 since PyYAML 6.0.4; the lexical scan must fire first, and never on valid YAML).

_tricky_text = st.text(alphabet="[]{}'\"#|>:-, ?\nab", max_size=12)
_nested = st.recursive(
    st.none() | st.integers() | _tricky_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_tricky_text, inner, max_size=3),
    max_leaves=40,
)


@budget(200)
@given(_nested, st.sampled_from([True, False, None]), st.integers(0, 150))
def test_depth_scan_never_refuses_valid_yaml(value, flow, extra):
    from mtbrules._yaml import MAX_DEPTH, _deep_flow

    wrapped = value
    for _ in range(min(extra, MAX_DEPTH - 12)):  # the strategy nests about 10 more at most
        wrapped = [wrapped]
    text = yaml.safe_dump({"k": wrapped}, default_flow_style=flow, allow_unicode=True)
    assert _deep_flow(text) is None


@budget(50)
@given(st.integers(101, 3000), st.sampled_from("[{"), st.sampled_from(["a: ", "- ", "a:\n  - "]))
def test_deep_flow_is_mtb105_whatever_the_parser(levels, opener, prefix):
    closer = "]" if opener == "[" else "}"
    body = (opener + ("x: " if opener == "{" else "")) * levels + "1" + closer * levels
    with pytest.raises(PackError) as info:
        load_yaml("deep.yaml", prefix + body)
    assert info.value.diagnostics[0].code == "MTB105"
