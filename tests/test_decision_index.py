"""Differential test of the indexed whole decision (mtbrules.decisionindex) ≡ the interpreted assembly.

A synthetic pack of many disease rules (above codegen.GATE_MIN, so its
service is decided by the indexed generated function), written to a
temporary folder: rules gated by a disease id, a group or a set of ids (the
gate alone, or with more to test, some on the working-day calendar),
overrides, rejections, instant outcomes (two of them applying conflict),
requirements with alternatives and recency windows, deadlines with and
without their own basis words (one choosing a branch, one reading an
optional field), rules scoped to a version, ungated rules reading optional
fields. Random cases — disease subsets, fields present or absent, materials
with and without issue dates (some unknown), days in years the calendar knows
only provisionally — decided in both languages by `evaluate` and by
`interpreted`, with the memo on, off and bounded to a few entries: the same
contract JSON, byte for byte, or the same error; traces alike.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from functools import partial

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packbuilder import OwnPrepared

import mtbrules
from mtbrules import codegen, decisionindex, evaluator
from mtbrules.errors import ConflictError, MtbError

N = 90  # disease rules, every one gated
# 2026-12-24: deadlines counted into 2027, a year the calendar knows only provisionally.
DAYS = ["2024-03-01", "2024-12-31", "2025-03-03", "2025-06-30", "2026-12-24", "2027-03-01"]


def _rule(k: int) -> str:
    """Disease rule k: five kinds in turn (see the module docstring)."""
    head = f"  - id: r{k}\n    title: 病种规则{k}\n    source: {{doc: s1, clause: 二}}\n"
    kind = k % 5
    if kind == 0:
        doc = "{doc: report, issued_within: 6 months}" if k % 10 == 0 else "doc_a"
        when = f'any d in diseases: d.id == "d{k}"'
        if k % 10 == 5:  # reads the working-day calendar
            when = f"({when}) and submitted_on <= discharged_on + 10 working_days"
        return head + f"    when: '{when}'\n    require: [{doc}]\n    reason: 病种{k}须提交材料\n"
    if kind == 1:
        when = f'any d in diseases: "g{k % 3}" in d.groups'
        if k % 15 != 1:  # else the gate is the whole condition
            when = f"({when}) and age >= {k}"
        return head + (
            f"    when: '{when}'\n"
            f"    overrides: [r{k - 1}]\n    channels: [online]\n    warn: 规则{k}的提示\n"
        )
    if kind == 2:
        when = f'any d in diseases: d.id in ["d{k}", "d{(k + 1) % N}"]'
        if k % 10 != 7:  # else the gate is the whole condition
            when = f"({when}) and not retired"
        out = head + f"    when: '{when}'\n    require: [id_or_card]\n    reason: 须提交身份证明\n"
        if k % 10 == 2:  # two of these applying both set valid_until: a conflict
            out += (
                "    deadlines:\n      - kind: valid_until\n"
                "        date: end_of_year(submitted_on)\n        basis: 当年年底\n"
            )
        return out
    if kind == 3:
        out = head + f"    when: 'any d in diseases: d.id == \"d{k}\"'\n    warn: 病种{k}另行办理\n"
        return out + (
            f"    reject: 病种{k}不予认定\n" if k % 10 == 3 else "    channels: [online]\n"
        )
    out = head + (
        f"    when: '(any d in diseases: d.id == \"d{k}\") and hospitalized'\n"
        "    overrides: [general]\n    outcome: instant\n    require: [id_or_card]\n"
    )
    if k % 20 == 4:  # its own decision_due: no instant one added
        out += (
            "    deadlines:\n      - kind: decision_due\n"
            "        date: submitted_on + 3 working_days\n"
        )
    return out


PACK = {
    "pack.yaml": """
        id: indexed
        name: 多病种
        city: 测试市
        sources:
          s1: {title: 测试通知, file: source.txt}
        versions:
          - {id: v1, effective_from: 2024-01-01, effective_to: 2024-12-31}
          - {id: v2, effective_from: 2025-01-01}
        services:
          - {id: certificate, name: 认定}
    """,
    "source.txt": "一、一般规定。二、病种规定。\n",
    "documents.yaml": """
        documents:
          - {id: id_card, name: 身份证, name_en: ID card}
          - {id: ss_card, name: 社会保障卡, name_en: Social security card, aliases: [社保卡]}
          - {id: id_or_card, name: 身份证或社会保障卡, name_en: ID or card, any_of: [id_card, ss_card]}
          - {id: report, name: 检查报告, name_en: Examination report}
          - {id: doc_a, name: 病历, name_en: Medical record}
    """,
    "channels.yaml": """
        channels:
          - {id: counter, name: 经办窗口, kind: window}
          - {id: online, name: 网上办理, kind: online}
    """,
    "rules/general.yaml": """
        rules:
          - id: general
            title: 一般
            source: {doc: s1, clause: 一}
            when: not retired
            outcome: review
            require: [id_or_card, {doc: report, issued_within: 3 months}]
            channels: [counter]
            deadlines:
              - kind: decision_due
                date: submitted_on + 7 working_days
          - id: senior
            title: 高龄或住院
            source: {doc: s1, clause: 一}
            when: age >= 60 or hospitalized
            channels: [online, counter]
            reason: 高龄或住院者可网上办理
            warn: 请携带住院证明
          - id: new_version
            title: 新版须近期检查报告
            source: {doc: s1, clause: 一}
            versions: [v2]
            require: [{doc: report, issued_within: 6 months}]
            reason: 新版规定
          - id: filing
            title: 出院后备案
            source: {doc: s1, clause: 一}
            when: hospitalized
            deadlines:
              - kind: file_by
                date: discharged_on + 30 days
          - id: cutoff
            title: 季度截止
            source: {doc: s1, clause: 一}
            when: 'age > 80 or (any d in diseases: d.id == "d1")'
            deadlines:
              - kind: submission_cutoff
                date: >-
                  if submitted_on <= day_of_month(end_of_quarter(submitted_on), 15)
                  then day_of_month(end_of_quarter(submitted_on), 15)
                  else end_of_quarter(start_of_next_quarter(submitted_on))
    """,
}


def _write(root):
    files = dict(PACK)
    groups = "groups:\n" + "".join(f"  - {{id: g{i}, name: 组{i}}}\n" for i in range(3))
    diseases = "".join(
        f"  - {{id: d{k}, name: 病种{k}{', groups: [g' + str(k % 3) + ']' if k % 2 else ''}}}\n"
        for k in range(N)
    )
    files["diseases.yaml"] = groups + "diseases:\n" + diseases
    files["rules/diseases.yaml"] = "rules:\n" + "".join(_rule(k) for k in range(N))
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def pack(tmp_path_factory):
    return mtbrules.load_pack(str(_write(tmp_path_factory.mktemp("indexed") / "indexed")))


@pytest.fixture(scope="module")
def variants(pack):
    return [pack, OwnPrepared(pack, 0), OwnPrepared(pack, 3)]


DOCS = ["身份证", "社保卡", "ss_card", "id_or_card", "检查报告", "report", "病历", "不认识的材料"]


FIELDS = {
    "age": st.integers(0, 95),
    "retired": st.sampled_from([False, False, False, True]),
    "hospitalized": st.booleans(),
    "discharged_on": st.sampled_from(["2024-02-20", "2025-02-27", "2026-12-20", "2027-02-22"]),
}


@st.composite
def cases(draw):
    day = draw(st.sampled_from(DAYS))
    case = {
        "service": "certificate",
        "submitted_on": day,
        "diseases": draw(
            st.lists(st.sampled_from([f"病种{k}" for k in range(N)]), max_size=5, unique=True)
        ),
    }
    for field, values in FIELDS.items():
        if draw(st.integers(0, 3)):  # given three times in four
            case[field] = draw(values)
    if draw(st.booleans()):
        materials = []
        for _ in range(draw(st.integers(0, 6))):
            name = draw(st.sampled_from(DOCS))
            back = draw(st.sampled_from([None, None, 0, 60, 150, 300, -3]))
            if back is None:
                materials.append(name)
            else:
                issued = dt.date.fromisoformat(day) - dt.timedelta(days=back)
                materials.append({"name": name, "issued_on": issued.isoformat()})
        case["materials"] = materials
    if draw(st.integers(0, 7)) == 0:  # a case meant for this pack, or for another
        case["pack"] = draw(st.sampled_from(["indexed", "another-city"]))
    return case


def _answer(decide, pack, case, lang):
    try:
        return decide(pack, dict(case), lang=lang).to_json_bytes()
    except MtbError as exc:
        return (type(exc).__name__, str(exc))


def test_the_pack_is_decided_by_the_indexed_function(pack):
    rules = pack.prepared.rules_by_service["certificate"]
    assert sum(codegen.gate_of(r) is not None for r in rules) >= codegen.GATE_MIN
    assert decisionindex.indexed(rules)
    decide = pack.prepared.deciders["certificate"]
    assert decide is not None
    assert "def g6(get" in decide.source and "def dl2(get" in decide.source
    assert "def g0(" not in decide.source  # its gate is its whole condition: no function
    case = {"service": "certificate", "submitted_on": "2025-03-03", "diseases": ["病种10"]}
    case.update(retired=False, age=70)
    got = evaluator.generated_decision(pack, pack.prepared.case_reader.read(case), "zh")
    assert got is not None and got.outcome == "review"
    assert [p.rule for p in got.path] == ["r10", "general", "senior", "new_version"]


def test_compile_shows_the_indexed_source(pack):
    source = pack.prepared.generated_source("certificate")
    assert source.startswith("def decide(case, values,")
    assert "def g2(get" in source and "# constants" in source


def test_a_conflict_is_left_to_the_interpreter(pack):
    # r4 and r9: both instant for a hospitalised case, neither overrides the other.
    case = {
        "service": "certificate",
        "submitted_on": "2025-03-03",
        "diseases": ["病种4", "病种9"],
        "hospitalized": True,
    }
    assert evaluator.generated_decision(pack, pack.prepared.case_reader.read(case), "en") is None
    with pytest.raises(ConflictError, match="r4 and r9"):
        evaluator.interpreted(pack, case)
    with pytest.raises(ConflictError, match="r4 and r9"):
        pack.evaluate(case)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_indexed_decision_equals_interpreted(pack, variants, data):
    lang = data.draw(st.sampled_from(["en", "zh"]))
    for _ in range(3):  # a few in a row: the small memo fills, then refuses
        case = data.draw(cases())
        want = _answer(evaluator.interpreted, pack, case, lang)
        for variant in variants:
            assert _answer(evaluator.evaluate, variant, case, lang) == want
        # The generated function decided it, unless rules conflict (the interpreter names them).
        got = evaluator.generated_decision(pack, pack.prepared.case_reader.read(dict(case)), lang)
        if isinstance(want, tuple):
            assert got is None and want[0] == "ConflictError"
        else:
            assert got is not None and got.to_json_bytes() == want


def _traced(decide, pack, case):
    trace = evaluator.Trace()
    answer = _answer(partial(decide, trace=trace), pack, case, "en")
    env = None if trace.env is None else dict(trace.env)
    version = None if trace.version is None else trace.version.id
    return answer, env, version, trace.results, trace.suppressed


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
def test_trace_of_the_indexed_decision_equals_the_interpreted(pack, case):
    assert _traced(evaluator.evaluate, pack, case) == _traced(evaluator.interpreted, pack, case)
