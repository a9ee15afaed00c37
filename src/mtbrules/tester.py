"""Run a pack's scenario files: a case, and the part of the decision it must produce.

A failure names the scenario's file:line, shows expected against actual for
each key that differs (expectation.Expectation), and carries the decision path.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import attrs

from ._yaml import YamlDoc, load_yaml
from .diagnostics import Location
from .errors import InputError, PackError
from .expectation import Expectation
from .files import PackFiles
from .loader import schema_diagnostics
from .pack import Pack


@attrs.frozen
class Scenario:
    name: str
    case: dict
    expect: dict
    location: Location
    source: dict | None = None
    # Its file as parsed and its path there, for positions inside it (`where`).
    doc: YamlDoc | None = attrs.field(default=None, eq=False, repr=False)
    path: tuple = attrs.field(default=(), eq=False, repr=False)
    # `expect` read once, for the runner and the failure reports alike.
    expectation: Expectation = attrs.field(
        default=attrs.Factory(lambda self: Expectation.parse(self.expect), takes_self=True),
        init=False,
        eq=False,
        repr=False,
    )

    def where(self, sub: tuple) -> Location:
        """Where part `sub` of this scenario (`("expect", "path", 0)`) stands in its file."""
        return self.location if self.doc is None else self.doc.location(self.path + sub)


@attrs.frozen
class ScenarioResult:
    scenario: Scenario
    failures: tuple[str, ...]
    decision: Any = None  # the Decision, or None when the case was rejected as input
    error: str | None = None

    @property
    def passed(self) -> bool:
        return not self.failures


def load_scenarios(pack: Pack, files: PackFiles | None = None) -> list[Scenario]:
    """Every scenario in the pack's `scenarios/*.yaml`, in file order (`files`: texts
    that take the place of the disk's, as for `check_folder`)."""
    folder = Path(pack.folder) / "scenarios"
    out: list[Scenario] = []
    paths = files.glob(folder) if files is not None else sorted(folder.glob("*.yaml"))
    problems = []
    for path in paths:
        if files is None:
            doc = load_yaml(str(path))
            diagnostics = schema_diagnostics(doc, "scenarios_file")
        else:  # validated once per text
            doc = files.yaml(path)
            diagnostics = files.memo(
                "schema:scenarios_file",
                path,
                "\n".join(doc.lines),
                functools.partial(schema_diagnostics, doc, "scenarios_file"),
            )
        if diagnostics:
            problems.extend(diagnostics)
            continue
        for i, raw in enumerate(doc.value["scenarios"]):
            out.append(
                Scenario(
                    raw["name"],
                    raw["case"],
                    raw["expect"],
                    doc.location(("scenarios", i, "name")),
                    raw.get("source"),
                    doc,
                    ("scenarios", i),
                )
            )
    if problems:
        raise PackError.from_diagnostics(problems)
    return out


def run_scenario(pack: Pack, scenario: Scenario) -> ScenarioResult:
    """Evaluate one scenario and compare the decision with what it expects."""
    expectation = scenario.expectation
    try:
        decision = pack.evaluate(scenario.case)
    except InputError as exc:
        return ScenarioResult(scenario, expectation.on_error(str(exc)), None, str(exc))
    return ScenarioResult(scenario, expectation.mismatches(decision), decision)
