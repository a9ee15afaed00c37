"""Every built-in pack's scenario files, written from the seeds' own sentences."""

from __future__ import annotations

import pytest

import mtbrules
from mtbrules.tester import load_scenarios, run_scenario


def _all_scenarios():
    for pack_id in mtbrules.builtin_packs():
        pack = mtbrules.load_pack(pack_id)
        for scenario in load_scenarios(pack):
            yield pytest.param(
                pack, scenario, id=f"{pack_id}:{scenario.location.line}:{scenario.name}"
            )


@pytest.mark.parametrize(("pack", "scenario"), list(_all_scenarios()))
def test_scenario(pack, scenario):
    """The decision for the scenario's case has every expected value."""
    result = run_scenario(pack, scenario)
    if not result.passed:
        path = [p.rule for p in result.decision.path] if result.decision else []
        pytest.fail(
            f"{scenario.location}: {scenario.name}\n  "
            + "\n  ".join(result.failures)
            + f"\n  path: {path}"
        )
