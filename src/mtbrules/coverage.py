"""Scenario runs with rule and clause coverage (`mtbrules test --coverage`).

A rule is *exercised* when it takes effect in at least one scenario: its
service and version scope match, its `when` is true, and no applying rule
overrides it (the evaluator's Trace says which). A clause of a source is
exercised when an exercised rule cites it. Coverage is per pack.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from typing import Any

import attrs

from .errors import InputError
from .evaluator import Trace, evaluate
from .expectation import Expectation
from .pack import Pack
from .tester import Scenario, ScenarioResult, load_scenarios, run_scenario


@attrs.frozen
class ScenarioRun:
    scenario: Scenario
    result: ScenarioResult
    effective: frozenset  # rule ids that took effect

    @property
    def passed(self) -> bool:
        return self.result.passed


@attrs.frozen
class PackCoverage:
    pack: Pack
    runs: tuple[ScenarioRun, ...]

    @property
    def exercised(self) -> frozenset:
        out: set = set()
        for run in self.runs:
            out |= run.effective
        return frozenset(out)

    @property
    def missed_rules(self) -> list[str]:
        hit = self.exercised
        return [r.id for r in self.pack.rules if r.id not in hit]

    @property
    def rule_percent(self) -> float:
        total = len(self.pack.rules)
        if not total:
            return 100.0
        return 100.0 * (total - len(self.missed_rules)) / total

    def clauses(self) -> dict[str, dict[str, bool]]:
        """Source id → clause → exercised, for every clause a rule cites."""
        hit = self.exercised
        out: dict[str, dict[str, bool]] = {}
        for rule in self.pack.rules:
            by_clause = out.setdefault(rule.source.doc, {})
            by_clause[rule.source.clause] = (
                by_clause.get(rule.source.clause, False) or rule.id in hit
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        clauses = self.clauses()
        return {
            "pack": self.pack.id,
            "scenarios": len(self.runs),
            "failed": sum(not r.passed for r in self.runs),
            "rules": {
                "total": len(self.pack.rules),
                "exercised": len(self.pack.rules) - len(self.missed_rules),
                "percent": round(self.rule_percent, 1),
                "missed": self.missed_rules,
            },
            "clauses": {
                doc: {
                    "total": len(c),
                    "exercised": sum(c.values()),
                    "missed": [k for k, v in c.items() if not v],
                }
                for doc, c in clauses.items()
            },
        }


def run_pack(pack: Pack) -> PackCoverage:
    """Run every scenario of `pack`, recording which rules took effect."""
    runs = []
    for scenario in load_scenarios(pack):
        runs.append(run_one(pack, scenario))
    return PackCoverage(pack, tuple(runs))


def run_one(pack: Pack, scenario: Scenario) -> ScenarioRun:
    trace = Trace()
    try:
        evaluate(pack, scenario.case, trace)
    except InputError:
        pass
    effective = frozenset(
        rid for rid, res in trace.results.items() if res is True and rid not in trace.suppressed
    )
    return ScenarioRun(scenario, run_scenario(pack, scenario), effective)


# ---------------------------------------------------------------- failure reports


def diff_text(expect: Expectation | Mapping[str, Any], result: ScenarioResult) -> str:
    """A unified diff, expected (-) against actual (+), of the keys the scenario gives
    (`expect`: the scenario's Expectation, or its `expect:` mapping)."""
    want, got = Expectation.parse(expect).expected_and_actual(result.decision, result.error)
    a = json.dumps(want, ensure_ascii=False, indent=2, sort_keys=True, default=str).splitlines()
    b = json.dumps(got, ensure_ascii=False, indent=2, sort_keys=True, default=str).splitlines()
    return "\n".join(difflib.unified_diff(a, b, "expected", "actual", lineterm="", n=1))


def coverage_report(cov: PackCoverage) -> str:
    d = cov.to_dict()
    rules = d["rules"]
    lines = [
        f"{cov.pack.id}: rules {rules['exercised']}/{rules['total']} ({rules['percent']:.1f}%)"
    ]
    if rules["missed"]:
        lines.append("  rules no scenario exercises: " + ", ".join(rules["missed"]))
    for doc, c in d["clauses"].items():
        lines.append(
            f"  {doc}: clauses {c['exercised']}/{c['total']}"
            + (f"; not exercised: {', '.join(c['missed'])}" if c["missed"] else "")
        )
    return "\n".join(lines)
