"""What an expression reads while it runs: the case's fields, and quantifier variables.

Field keys are the contract's paths (`age`, `offsite.settled`; see
analysis.field_key); a field the case does not give is absent and reads as
UNDEFINED. Quantifier variables live apart, in `locals`, so no key of one
namespace can be taken for the other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


class Env(dict[str, Any]):
    """Field key -> typed value, plus `locals` (quantifier variable -> item)."""

    __slots__ = ("locals",)

    def __init__(
        self, fields: Mapping[str, Any] | Iterable[tuple[str, Any]] = (), /, **kw: Any
    ) -> None:
        super().__init__(fields, **kw)
        self.locals: dict[str, Any] = {}

    def copy(self) -> Env:
        out = Env(self)
        out.locals = dict(self.locals)
        return out

    def __repr__(self) -> str:
        # Privacy: names only, never values (they may be personal).
        return f"Env({sorted(self)}, locals={sorted(self.locals)})"


def local(env: Mapping[str, Any], name: str) -> Any:
    """The item a quantifier variable is bound to (KeyError when unbound)."""
    return env.locals[name]  # type: ignore[attr-defined]
