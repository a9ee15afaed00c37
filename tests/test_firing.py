"""Rule firing of packs with many disease rules (looked up by the case's diseases) equals
rule-by-rule firing: the same rules take effect, in the same order, overrides included."""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mtbrules
from mtbrules import codegen
from mtbrules.env import Env

N = 120  # 3 in 4 rules gated: above codegen.GATE_MIN, the pack is fired through the index


def _write(tmp_path):
    root = tmp_path / "many"
    (root / "rules").mkdir(parents=True)
    (root / "pack.yaml").write_text(
        textwrap.dedent("""
            id: many
            name: 多规则
            city: 测试市
            sources:
              s1: {title: 测试通知, file: source.txt}
            versions:
              - {id: v1, effective_from: 2024-01-01, effective_to: 2024-12-31}
              - {id: v2, effective_from: 2025-01-01}
            services:
              - {id: certificate, name: 认定}
        """),
        encoding="utf-8",
    )
    (root / "source.txt").write_text("一、测试条款。\n", encoding="utf-8")
    diseases = "".join(
        f"  - {{id: d{k}, name: 病种{k}{', groups: [g' + str(k % 3) + ']' if k % 2 else ''}}}\n"
        for k in range(N)
    )
    (root / "diseases.yaml").write_text(
        "groups:\n  - {id: g0, name: 组0}\n  - {id: g1, name: 组1}\n  - {id: g2, name: 组2}\n"
        "diseases:\n" + diseases,
        encoding="utf-8",
    )
    (root / "documents.yaml").write_text(
        "documents:\n  - {id: doc, name: 材料, name_en: Document}\n", encoding="utf-8"
    )
    rules = [
        (
            "rules:\n  - id: general\n    title: 一般\n    source: {doc: s1, clause: 一}\n"
            "    outcome: review\n"
        )
    ]
    for k in range(N):
        when = [
            f'any d in diseases: d.id == "d{k}"',
            f'(any d in diseases: "g{k % 3}" in d.groups) and age >= {k}',
            f'(any d in diseases: d.id in ["d{k}", "d{(k + 1) % N}"]) and not retired',
            f"age > {k} or hospitalized",  # not gated
        ][k % 4]
        extra = f"    overrides: [r{k - 1}]\n" if k % 5 == 1 else ""
        extra += "    versions: [v2]\n" if k % 7 == 3 else ""
        rules.append(
            f"  - id: r{k}\n    title: 规则{k}\n    source: {{doc: s1, clause: 一}}\n"
            f"    when: '{when}'\n    reason: 规则{k}\n{extra}"
        )
    (root / "rules" / "all.yaml").write_text("".join(rules), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def pack(tmp_path_factory):
    return mtbrules.load_pack(str(_write(tmp_path_factory.mktemp("firing"))))


def test_indexed_firing_equals_rule_by_rule(pack):
    rules = pack.rules_by_service["certificate"]
    assert sum(codegen.gate_of(r) is not None for r in rules) >= codegen.GATE_MIN
    indexed = pack.prepared.firing["certificate"]
    assert "def g0(" in indexed.source or "def g1(" in indexed.source
    saved = codegen.GATE_MIN
    codegen.GATE_MIN = 10**9
    try:
        inline = codegen.build_firing("inline", rules, pack.suppresses, pack.calendar)
    finally:
        codegen.GATE_MIN = saved
    diseases = list(pack.diseases.values())

    @settings(max_examples=300, deadline=None)
    @given(
        st.lists(st.sampled_from(diseases), max_size=6, unique=True),
        st.fixed_dictionaries(
            {},
            optional={
                "age": st.integers(0, 90),
                "retired": st.booleans(),
                "hospitalized": st.booleans(),
            },
        ),
        st.sampled_from(["v1", "v2"]),
    )
    def check(ds, fields, version):
        env = Env(fields)
        env["diseases"] = tuple(ds)
        env["materials"] = frozenset()
        env["submitted_on"] = dt.date(2025, 3, 3)
        got, want = indexed(env, version), inline(env, version)
        assert [r.id for r in got[0]] == [r.id for r in want[0]]
        assert [r.id for r in got[1]] == [r.id for r in want[1]]

    check()


def test_decisions_and_traces_agree(pack):
    """A traced evaluation (explain, coverage) decides exactly as an untraced one."""
    from mtbrules.evaluator import Trace, evaluate

    case = {"service": "certificate", "submitted_on": "2025-03-03", "diseases": ["病种3", "病种9"]}
    trace = Trace()
    assert evaluate(pack, case, trace) == pack.evaluate(case)
    assert trace.results["r0"] is False and trace.results["general"] is True
