"""Differential test of the whole decision: the generated decision function ≡ the interpreted assembly.

The generated function is tested with its memo on (the default), off, and
bounded to a few entries (so that the bound is reached), and specialised to
each case's pattern of present fields from its first case: always the same
answer. Random cases for every built-in pack and the benchmark's equivalent pack —
synthetic cases with fields dropped, materials added (by name, alias or id,
with and without issue dates, some too old, some unknown), dates moved to
years the calendar knows only provisionally, unknown diseases — decided in
both languages by `evaluate` (the generated function, falling back to the
interpreter where it must) and by `interpreted` (the interpreted assembly
alone): the same contract JSON, byte for byte, or the same error.
"""

from __future__ import annotations

import datetime as dt
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packbuilder import OwnPrepared

import mtbrules
from mtbrules import decisionruntime, evaluator
from mtbrules.errors import MtbError
from mtbrules.prepared import PreparedPack
from mtbrules.synth import synth_cases

EQUIVALENT = os.path.join(os.path.dirname(__file__), "..", "benchmarks", "packs", "equivalent")
PACKS = [*mtbrules.builtin_packs(), EQUIVALENT]
POOL = 200  # synthetic cases per pack to start from


class _Specialised(OwnPrepared):
    """The pack whose decision functions are specialised to every pattern of present fields at once."""

    def __init__(self, pack):
        super().__init__(pack, PreparedPack.decision_memo)
        self.prepared.set_specialisation(after=1, most=100_000)

    def __getattr__(self, name):
        return getattr(self._pack, name)


@pytest.fixture(scope="module", params=PACKS, ids=os.path.basename)
def pack_and_pool(request):
    pack = mtbrules.load_pack(request.param)
    return pack, list(synth_cases(pack, POOL, seed=20201105))


@pytest.fixture(scope="module")
def memo_off_and_small(pack_and_pool):
    pack, _ = pack_and_pool
    return OwnPrepared(pack, 0), OwnPrepared(pack, 3)


def _answer(decide, pack, case, lang):
    try:
        return decide(pack, dict(case), lang=lang).to_json_bytes()
    except MtbError as exc:
        return (type(exc).__name__, str(exc))


def _generated(pack, case, lang="en"):
    return evaluator.evaluate(pack, case, lang=lang)


def _interpreted(pack, case, lang="en"):
    return evaluator.interpreted(pack, case, lang=lang)


@st.composite
def mutated(draw, pool, pack):
    case = dict(draw(st.sampled_from(pool)))
    for key in sorted(case):
        if key not in ("service", "submitted_on") and draw(st.integers(0, 4)) == 0:
            del case[key]
    if draw(st.booleans()):
        day = dt.date.fromisoformat(case["submitted_on"])
        shift = draw(st.sampled_from([0, 1, 7, 365, 800, 1500]))
        case["submitted_on"] = (day + dt.timedelta(days=shift)).isoformat()
    docs = [d for d in pack.documents.values()]
    if docs and draw(st.booleans()):
        materials = []
        for _ in range(draw(st.integers(0, 4))):
            doc = draw(st.sampled_from(docs))
            name = draw(st.sampled_from([doc.id, doc.name, "不认识的材料"]))
            if draw(st.booleans()):
                day = dt.date.fromisoformat(case["submitted_on"])
                back = draw(st.sampled_from([None, 0, 20, 200, 400, 1000]))
                issued = None if back is None else (day - dt.timedelta(days=back)).isoformat()
                materials.append({"name": name, "issued_on": issued} if issued else {"name": name})
            else:
                materials.append(name)
        case["materials"] = materials
    if draw(st.integers(0, 5)) == 0:
        case["diseases"] = [*case.get("diseases", []), draw(st.sampled_from(["感冒", "龋齿"]))]
    if draw(st.integers(0, 7)) == 0:  # a case meant for this pack, or for another
        case["pack"] = draw(st.sampled_from([pack.id, "another-city"]))
    return case


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_generated_decision_equals_interpreted(pack_and_pool, data):
    pack, pool = pack_and_pool
    case = data.draw(mutated(pool, pack))
    lang = data.draw(st.sampled_from(["en", "zh"]))
    assert _answer(_generated, pack, case, lang) == _answer(_interpreted, pack, case, lang)


@pytest.fixture(scope="module")
def specialised(pack_and_pool):
    return _Specialised(pack_and_pool[0])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_specialised_decision_equals_interpreted(pack_and_pool, specialised, data):
    """Each case decided by the function specialised to its present fields (mtbrules.presence)."""
    pack, pool = pack_and_pool
    case = data.draw(mutated(pool, pack))
    lang = data.draw(st.sampled_from(["en", "zh"]))
    assert _answer(_generated, specialised, case, lang) == _answer(_interpreted, pack, case, lang)


def test_patterns_get_their_own_functions(pack_and_pool, specialised):
    """Not a vacuous test above: the specialised functions are made and used."""
    pack, pool = pack_and_pool
    for case in pool[:20]:
        _answer(_generated, specialised, case, "en")
    made = [
        d.shapes.made
        for s in pack.services
        if (d := specialised.prepared.deciders[s]) is not None and hasattr(d, "shapes")
    ]
    if any(r.when is not None and r.when.needs for r in pack.rules):
        assert any(made), "no pattern of present fields got its own function"


def test_a_pattern_is_specialised_after_its_cases_and_within_the_bound():
    pack = mtbrules.load_pack("qingdao")
    own = OwnPrepared(pack, PreparedPack.decision_memo)
    own.prepared.set_specialisation(after=3, most=1)
    decide = own.prepared.deciders["certificate"]
    case = {"service": "certificate", "diseases": ["恶性肿瘤"], "submitted_on": "2025-03-03"}
    other = {**case, "hospitalized": True}
    for _ in range(2):
        evaluator.evaluate(own, case)
    assert decide.shapes.by_pattern == {}  # two cases of the pattern: the general function
    evaluator.evaluate(own, case)
    assert len(decide.shapes.by_pattern) == 1
    for _ in range(5):
        evaluator.evaluate(own, other)
    # The bound: other patterns run the general function.
    assert decide.shapes.made == 1
    assert decide.shapes.by_pattern[next(iter(decide.shapes.by_pattern))] is not decide.general
    assert sum(f is not decide.general for f in decide.shapes.by_pattern.values()) == 1


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_memo_on_equals_memo_off(pack_and_pool, memo_off_and_small, data):
    pack, pool = pack_and_pool
    off, small = memo_off_and_small
    lang = data.draw(st.sampled_from(["en", "zh"]))
    for _ in range(3):  # a few cases in a row: the small memo fills, then refuses
        case = data.draw(mutated(pool, pack))
        want = _answer(_generated, off, case, lang)
        assert _answer(_generated, pack, case, lang) == want
        assert _answer(_generated, small, case, lang) == want


def test_memo_is_bounded(pack_and_pool):
    pack, pool = pack_and_pool
    small = OwnPrepared(pack, 3)
    for case in pool:
        _answer(_generated, small, case, "en")
    for service in pack.services:
        decide = small.prepared.deciders[service]
        if decide is None:
            continue
        functions = {getattr(decide, "general", decide)}
        if hasattr(decide, "shapes"):
            functions |= set(decide.shapes.by_pattern.values())
        kept = [
            v
            for f in functions
            for v in f.__globals__.values()
            if isinstance(v, decisionruntime.Memo)
        ]
        assert kept and all(len(m) <= 3 for m in kept)


def test_memo_off_generates_no_memo():
    pack = mtbrules.load_pack("qingdao")
    source = OwnPrepared(pack, 0).prepared.deciders["certificate"].source
    assert "kept" not in source and ".get((d, basis))" not in source


def test_every_synthetic_case_agrees(pack_and_pool):
    """The seeded pool as it is: no draw left out."""
    pack, pool = pack_and_pool
    for case in pool:
        for lang in ("en", "zh"):
            assert _answer(_generated, pack, case, lang) == _answer(_interpreted, pack, case, lang)


def test_the_generated_function_decides_the_usual_case(pack_and_pool):
    """Most synthetic cases are decided by the generated code, not handed to the interpreter."""
    pack, pool = pack_and_pool
    read = pack.prepared.case_reader.read
    decided = 0
    for case in pool:
        try:
            parsed = read(dict(case))
        except MtbError:
            continue
        decided += evaluator.generated_decision(pack, parsed, "en") is not None
    assert decided >= len(pool) * 0.7


def test_generated_source_is_the_whole_decision():
    pack = mtbrules.load_pack("qingdao")
    source = pack.prepared.deciders["certificate"].source
    assert source.startswith("def decide(")
    assert "_Decision(" in source and "_Deadline(" in source
    assert "市南区" not in source and "group_a" not in source and "import" not in source


def test_a_decision_with_its_parts_json_kept_pickles_and_encodes_the_same():
    """The memo's encoded parts travel with a decision (bytes: it stays picklable)."""
    import pickle

    pack = mtbrules.load_pack("qingdao")
    cases = list(synth_cases(pack, 60, seed=3))
    for case in cases:
        pack.evaluate(dict(case))  # fill the memo
    kept = 0
    for case in cases:
        try:
            decision = pack.evaluate(dict(case))
        except MtbError:
            continue
        copy = pickle.loads(pickle.dumps(decision))
        assert copy == decision and copy.to_json_bytes() == decision.to_json_bytes()
        assert decision.to_json_bytes() == _answer(_interpreted, pack, case, "en")
        kept += decision._parts_json is not None
    assert kept


def _traced(decide, pack, case, lang):
    trace = evaluator.Trace()
    try:
        answer = decide(pack, dict(case), trace=trace, lang=lang).to_json_bytes()
    except MtbError as exc:
        answer = (type(exc).__name__, str(exc))
    env = None if trace.env is None else dict(trace.env)
    version = None if trace.version is None else trace.version.id
    return answer, env, version, trace.results, trace.suppressed


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_trace_of_the_generated_decision_equals_the_interpreted(pack_and_pool, data):
    """explain and coverage read a trace: the generated path's hook fills it as the interpreter does."""
    pack, pool = pack_and_pool
    case = data.draw(mutated(pool, pack))
    assert _traced(evaluator.evaluate, pack, case, "en") == _traced(
        evaluator.interpreted, pack, case, "en"
    )


def test_a_traced_case_is_decided_by_the_generated_function(monkeypatch):
    pack = mtbrules.load_pack("qingdao")
    case = {"service": "certificate", "diseases": ["恶性肿瘤"], "submitted_on": "2025-03-03"}

    def refuse(*args, **kwargs):
        raise AssertionError("the interpreted assembly ran")

    monkeypatch.setattr(evaluator.Evaluation, "run", refuse)
    trace = evaluator.Trace()
    evaluator.evaluate(pack, case, trace=trace)
    assert trace.env is not None and trace.results


def test_a_deadline_counted_on_provisional_days_is_the_generated_functions_too(monkeypatch):
    """Late December: the count crosses into a year with no official schedule yet (2027)."""
    pack = mtbrules.load_pack("qingdao")
    case = {
        "service": "certificate",
        "diseases": ["高血压病合并心、脑、肾等并发症"],
        "submitted_on": "2026-12-28",
    }
    want = evaluator.interpreted(pack, case, lang="zh")

    def refuse(*args, **kwargs):
        raise AssertionError("the interpreted assembly ran")

    monkeypatch.setattr(evaluator.Evaluation, "run", refuse)
    got = evaluator.evaluate(pack, case, lang="zh")
    assert got == want
    due = got.deadline("decision_due")
    assert due is not None and due.provisional and due.latest
