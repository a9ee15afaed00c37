"""Fuzzing case validation and evaluation with every built-in pack.

Wrong types in every field, absurd dates, NaN and huge numbers, giant strings
and lists, deep nesting, control characters and lone surrogates: the result is
a Decision whose JSON is strict (no NaN) and serialisable, or an MtbError with
a message that names a field. Budgets: strategies.budget.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from strategies import CASE_FIELD_NAMES, budget, hostile_cases, hostile_values, valid_cases

import mtbrules
from mtbrules.errors import CaseError, MtbError

PACKS = mtbrules.builtin_packs()


def _decide(pack_id, case):
    pack = mtbrules.load_pack(pack_id)
    try:
        decision = pack.evaluate(case)
    except CaseError as exc:
        assert str(exc).startswith(("case", "unknown case field", "rule ")), str(exc)
        assert len(str(exc)) < 2000
        return None
    except MtbError as exc:
        assert str(exc)
        return None
    data = decision.to_dict()
    text = json.dumps(data, ensure_ascii=False, allow_nan=False)
    text.encode("utf-8")  # no lone surrogates reach the output
    assert json.loads(text) == json.loads(decision.to_json())
    return decision


def _hostile_test(pack_id):
    @budget(80)
    @given(hostile_cases(pack_id))
    def run(case):
        _decide(pack_id, case)

    return run


def _valid_test(pack_id):
    @budget(60)
    @given(valid_cases(pack_id))
    def run(case):
        _decide(pack_id, case)

    return run


@pytest.mark.parametrize("pack_id", PACKS)
def test_hostile_cases(pack_id):
    _hostile_test(pack_id)()


@pytest.mark.parametrize("pack_id", PACKS)
def test_well_typed_cases_decide(pack_id):
    _valid_test(pack_id)()


@budget(150)
@given(hostile_values)
def test_anything_as_a_whole_case(value):
    _decide("qingdao", value)


@pytest.mark.parametrize("field", CASE_FIELD_NAMES)
def test_every_field_with_every_kind_of_wrong_value(field):
    wrong = [
        None,
        True,
        0,
        -1,
        10**100,
        float("nan"),
        float("inf"),
        "",
        " ",
        "\x00",
        "\ud800",
        "x" * 100_000,
        [],
        [None],
        [[[]]],
        {},
        {"a": {"b": {}}},
        b"bytes",
        object(),
        ("t",),
        "2024-02-30",
        "9999-12-31",
    ]
    for value in wrong:
        _decide("qingdao", {"service": "certificate", "submitted_on": "2025-09-29", field: value})


def test_module_level_evaluate_rejects_hostile_pack_refs():
    for ref in [None, 3, "", "\x00", "../" * 50, "x" * 10_000, ["qingdao"], {"a": 1}]:
        with pytest.raises(MtbError):
            mtbrules.evaluate({"pack": ref, "service": "certificate", "submitted_on": "2025-09-29"})
