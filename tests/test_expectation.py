"""expectation.Expectation: one reading of a scenario's `expect:` for the runner (failures)
and the failure reports (expected against actual)."""

from __future__ import annotations

import json

import attrs
import pytest

import mtbrules
from mtbrules.coverage import diff_text
from mtbrules.expectation import Expectation
from mtbrules.tester import ScenarioResult, load_scenarios, run_scenario

CASE = {
    "service": "certificate",
    "submitted_on": "2025-09-29",
    "diseases": ["恶性肿瘤"],
    "first_application": True,
}


@pytest.fixture(scope="module")
def decision():
    return mtbrules.load_pack("qingdao").evaluate(CASE)


def test_it_is_immutable_and_reads_the_keys_once():
    expect = {"outcome": "instant", "channels": ["b", "a"], "deadlines": {"decision_due": None}}
    e = Expectation.parse(expect)
    expect["outcome"] = "review"  # the scenario's mapping changing later changes nothing
    assert e.get("outcome") == "instant" and "channels" in e and "path" not in e
    assert Expectation.parse(e) is e
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        e.given = ()  # type: ignore[misc]


def test_a_matching_expectation_has_no_mismatches(decision):
    d = decision.to_dict()
    e = Expectation.parse(
        {
            "outcome": d["outcome"],
            "complete": d["complete"],
            "required_documents": [x["id"] for x in reversed(d["required_documents"])],
            "path": [p["rule"] for p in d["path"]],
            "path_includes": [d["path"][0]["rule"]],
            "deadlines": {x["kind"]: x["date"] for x in d["deadlines"]},
        }
    )
    assert e.mismatches(decision) == ()
    want, got = e.expected_and_actual(decision)
    assert want == got


def test_each_kind_of_mismatch_is_one_line(decision):
    d = decision.to_dict()
    path = [p["rule"] for p in d["path"]]
    e = Expectation.parse(
        {
            "outcome": "review",
            "required_documents": ["nope"],
            "path": ["x"],
            "path_includes": ["y"],
            "deadlines": {"decision_due": "2025-01-01"},
            "warnings_include": ["zzz"],
        }
    )
    due = decision.deadline("decision_due").date
    docs = sorted(x["id"] for x in d["required_documents"])
    assert e.mismatches(decision) == (
        f'outcome: expected "review", got "{d["outcome"]}"',
        f"required_documents: unexpected {docs}; missing ['nope']",
        f'path: expected ["x"], got {json.dumps(path)}',
        f"path_includes: rule y is not in the path {path}",
        f'deadlines.decision_due: expected "2025-01-01", got "{due}"',
        f"warnings_include: no warning contains 'zzz' (warnings: {d['warnings']})",
    )
    want, got = e.expected_and_actual(decision)
    assert want["required_documents"] == ["nope"] and got["required_documents"] == docs
    assert got["path_includes"] == [] and got["warnings_include"] == []
    assert got["deadlines"] == {"decision_due": due}


def test_expected_errors(decision):
    e = Expectation.parse({"error": "unknown field"})
    assert e.on_error("case field 'x': unknown field 'x'") == ()
    assert e.on_error("bad date") == ("the case was rejected: bad date",)
    assert e.mismatches(decision) == (
        "expected an input error containing 'unknown field', got a decision",
    )
    assert Expectation.parse({"outcome": "instant"}).on_error("bad") == (
        "the case was rejected: bad",
    )
    want, got = Expectation.parse({"error": "x", "deadlines": {"a": None}}).expected_and_actual(
        None, "boom"
    )
    assert want == {"error": "x", "deadlines": {"a": None}} and got == {"error": "boom"}


def test_the_runner_and_the_report_read_the_same_expectation():
    pack = mtbrules.load_pack("qingdao")
    scenario = load_scenarios(pack)[0]
    assert scenario.expectation == Expectation.parse(scenario.expect)
    wrong = attrs.evolve(scenario, expect={**scenario.expect, "outcome": "not_covered"})
    assert wrong.expectation.get("outcome") == "not_covered"
    result = run_scenario(pack, wrong)
    assert not result.passed and result.failures[0].startswith("outcome: expected")
    text = diff_text(wrong.expectation, result)
    assert '-  "outcome": "not_covered",' in text.splitlines()
    assert text == diff_text(wrong.expect, result)  # a plain mapping works too
    assert isinstance(result, ScenarioResult)
