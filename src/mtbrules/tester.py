"""Run a pack's scenario files: a case, and the part of the decision it must produce.

A failure names the scenario's file:line, shows expected against actual for
each key that differs, and carries the decision path.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import attrs

from ._yaml import YamlDoc, load_yaml
from .diagnostics import Location
from .errors import InputError, PackError
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
    expect = scenario.expect
    try:
        decision = pack.evaluate(scenario.case)
    except InputError as exc:
        wanted = expect.get("error")
        if wanted is not None and wanted in str(exc):
            return ScenarioResult(scenario, (), None, str(exc))
        return ScenarioResult(scenario, (f"the case was rejected: {exc}",), None, str(exc))
    if "error" in expect:
        return ScenarioResult(
            scenario,
            (f"expected an input error containing {expect['error']!r}, got a decision",),
            decision,
        )
    return ScenarioResult(scenario, tuple(compare(expect, decision)), decision)


def compare(expect: dict, decision) -> list[str]:
    """Differences between what a scenario expects and the decision, one line each."""
    actual = decision.to_dict()
    failures = []

    def differ(key, want, got):
        failures.append(f"{key}: expected {_show(want)}, got {_show(got)}")

    for key in ("outcome", "complete"):
        if key in expect and expect[key] != actual[key]:
            differ(key, expect[key], actual[key])
    sets = {
        "required_documents": [d["id"] for d in actual["required_documents"]],
        "missing_documents": actual["missing_documents"],
        "channels": [c["id"] for c in actual["channels"]],
        "reasons": sorted({r["rule"] for r in actual["reasons"]}),
        "diseases": [d["id"] for d in actual["diseases"]],
    }
    for key, got in sets.items():
        if key in expect and set(expect[key]) != set(got):
            want = set(expect[key])
            extra, missing = sorted(set(got) - want), sorted(want - set(got))
            detail = "; ".join(
                x
                for x in (
                    f"unexpected {extra}" if extra else "",
                    f"missing {missing}" if missing else "",
                )
                if x
            )
            failures.append(f"{key}: {detail}")
    path = [p["rule"] for p in actual["path"]]
    if "path" in expect and list(expect["path"]) != path:
        differ("path", expect["path"], path)
    for rule in expect.get("path_includes", ()):
        if rule not in path:
            failures.append(f"path_includes: rule {rule} is not in the path {path}")
    if "deadlines" in expect:
        got = {d["kind"]: d["date"] for d in actual["deadlines"]}
        for kind, date in expect["deadlines"].items():
            if got.get(kind) != date:
                differ(f"deadlines.{kind}", date, got.get(kind))
    for text in expect.get("warnings_include", ()):
        if not any(text in w for w in actual["warnings"]):
            failures.append(
                f"warnings_include: no warning contains {text!r} (warnings: {actual['warnings']})"
            )
    return failures


def _show(value) -> str:
    return json.dumps(value, ensure_ascii=False)
