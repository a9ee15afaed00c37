"""pytest plugin (entry point `mtbrules`): collects packs' scenario files.

`pytest policies/` (or any path holding a pack) runs every scenario in
`<pack>/scenarios/*.yaml` as a test item, reported at the scenario's line.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_collect_file(file_path: Path, parent):
    if (
        file_path.suffix == ".yaml"
        and file_path.parent.name == "scenarios"
        and (file_path.parent.parent / "pack.yaml").is_file()
    ):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    def collect(self):
        # deferred: this plugin loads with every pytest run; the engine only for a scenario file
        from .registry import load_pack
        from .tester import load_scenarios

        pack = load_pack(str(self.path.parent.parent))
        for scenario in load_scenarios(pack):
            if Path(scenario.location.file).resolve() == self.path.resolve():
                yield ScenarioItem.from_parent(
                    self,
                    name=f"{scenario.location.line}:{scenario.name}",
                    pack=pack,
                    scenario=scenario,
                )


class ScenarioItem(pytest.Item):
    def __init__(self, *, pack, scenario, **kwargs):
        super().__init__(**kwargs)
        self.pack = pack
        self.scenario = scenario
        # No fixtures; but plugins' hook wrappers may look for them (pytest-lsp 1.0's
        # pytest_runtest_call returns without yielding for an item that lacks funcargs).
        self.funcargs: dict = {}

    def runtest(self):
        # deferred: the engine only when a scenario runs (this plugin loads with every pytest run)
        from .tester import run_scenario

        result = run_scenario(self.pack, self.scenario)
        if not result.passed:
            raise ScenarioFailure(result)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, ScenarioFailure):
            result = excinfo.value.result
            path = [p.rule for p in result.decision.path] if result.decision else []
            # deferred: only when a scenario fails (this plugin loads with every pytest run)
            from .coverage import diff_text

            diff = ["  " + line for line in diff_text(self.scenario.expect, result).splitlines()]
            return "\n".join(
                [
                    f"{self.scenario.location}: {self.scenario.name}",
                    *("  " + f for f in result.failures),
                    *diff,
                    f"  path: {path}",
                ]
            )
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, self.scenario.location.line - 1, f"scenario: {self.scenario.name}"


class ScenarioFailure(Exception):
    def __init__(self, result):
        super().__init__(result.failures)
        self.result = result
