"""What a scenario's `expect:` asks of a decision, read once: its mismatches, and the
expected-against-actual view a failure report shows (`mtbrules test`, coverage, pytest)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

#: Keys whose value is a set of ids: the order a scenario writes them in does not matter.
SET_KEYS = ("required_documents", "missing_documents", "channels", "reasons", "diseases")


def _frozen(value: Any) -> Any:
    """A YAML value as immutable data: lists become tuples, a mapping (`deadlines`) a
    tuple of pairs. The schema allows no deeper nesting."""
    if isinstance(value, Mapping):
        return tuple(value.items())
    if isinstance(value, (list, tuple)):
        return tuple(value)
    return value


@attrs.frozen
class Expectation:
    """A scenario's `expect:` (validated by the scenario schema), keys in the file's order."""

    given: tuple[tuple[str, Any], ...]

    @classmethod
    def parse(cls, expect: Mapping[str, Any] | Expectation) -> Expectation:
        if isinstance(expect, Expectation):
            return expect
        return cls(tuple((key, _frozen(value)) for key, value in expect.items()))

    def __contains__(self, key: str) -> bool:
        return any(k == key for k, _ in self.given)

    def get(self, key: str, default: Any = None) -> Any:
        return next((v for k, v in self.given if k == key), default)

    @property
    def error(self) -> str | None:
        """The text an expected input error contains, if the scenario expects one."""
        return self.get("error")

    def on_error(self, message: str) -> tuple[str, ...]:
        """The failures when the case was rejected as input with `message`."""
        wanted = self.error
        if wanted is not None and wanted in message:
            return ()
        return (f"the case was rejected: {message}",)

    def mismatches(self, decision: Any) -> tuple[str, ...]:
        """Differences between what is expected and `decision`, one line each."""
        if "error" in self:
            return (f"expected an input error containing {self.error!r}, got a decision",)
        seen = _observed(decision)
        failures = []

        def differ(key: str, want: Any, got: Any) -> None:
            failures.append(f"{key}: expected {_as_json(want)}, got {_as_json(got)}")

        for key in ("outcome", "complete"):
            if key in self and self.get(key) != seen[key]:
                differ(key, self.get(key), seen[key])
        for key in SET_KEYS:
            if key in self and set(self.get(key)) != set(seen[key]):
                want = set(self.get(key))
                extra, missing = sorted(set(seen[key]) - want), sorted(want - set(seen[key]))
                detail = "; ".join(
                    x
                    for x in (
                        f"unexpected {extra}" if extra else "",
                        f"missing {missing}" if missing else "",
                    )
                    if x
                )
                failures.append(f"{key}: {detail}")
        path = seen["path"]
        if "path" in self and list(self.get("path")) != path:
            differ("path", list(self.get("path")), path)
        for rule in self.get("path_includes", ()):
            if rule not in path:
                failures.append(f"path_includes: rule {rule} is not in the path {path}")
        if "deadlines" in self:
            for kind, date in self.get("deadlines"):
                if seen["deadlines"].get(kind) != date:
                    differ(f"deadlines.{kind}", date, seen["deadlines"].get(kind))
        warnings = seen["warnings"]
        for text in self.get("warnings_include", ()):
            if not any(text in w for w in warnings):
                failures.append(
                    f"warnings_include: no warning contains {text!r} (warnings: {warnings})"
                )
        return tuple(failures)

    def expected_and_actual(
        self, decision: Any, error: str | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The expected values and the same keys read from `decision` (or, when the case
        was rejected, the input error `error`), as JSON-ready data for a diff."""
        if decision is None:
            return {k: _thawed(k, v) for k, v in self.given}, {"error": error}
        seen = _observed(decision)
        want: dict[str, Any] = {}
        got: dict[str, Any] = {}
        for key, value in self.given:
            if key in SET_KEYS:
                want[key], got[key] = sorted(value), sorted(seen[key])
            elif key == "path":
                want[key], got[key] = list(value), seen["path"]
            elif key == "path_includes":
                want[key], got[key] = list(value), [r for r in value if r in seen["path"]]
            elif key == "deadlines":
                want[key] = dict(value)
                got[key] = {k: seen["deadlines"].get(k) for k, _ in value}
            elif key == "warnings_include":
                want[key] = list(value)
                got[key] = [t for t in value if any(t in w for w in seen["warnings"])]
            elif key == "error":
                want[key], got[key] = value, None
            else:
                want[key], got[key] = value, seen.get(key)
        return want, got


def _observed(decision: Any) -> dict[str, Any]:
    """The parts of a decision an expectation can name, from its JSON form."""
    actual = decision.to_dict()
    return {
        "outcome": actual["outcome"],
        "complete": actual["complete"],
        "required_documents": [d["id"] for d in actual["required_documents"]],
        "missing_documents": list(actual["missing_documents"]),
        "channels": [c["id"] for c in actual["channels"]],
        "reasons": sorted({r["rule"] for r in actual["reasons"]}),
        "diseases": [d["id"] for d in actual["diseases"]],
        "path": [p["rule"] for p in actual["path"]],
        "deadlines": {d["kind"]: d["date"] for d in actual["deadlines"]},
        "warnings": actual["warnings"],
    }


def _thawed(key: str, value: Any) -> Any:
    """The scenario's value as it was written (for the report of a rejected case)."""
    if key == "deadlines":
        return dict(value)
    return list(value) if isinstance(value, tuple) else value


def _as_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
