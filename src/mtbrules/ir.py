"""The typed IR: what a checked DSL expression means, with every name resolved.

The compiler lowers each syntax tree once into these nodes; the code
generator (codegen.py) turns them into Python, the reference interpreter
(reference.py) into closures, and analyses (analysis.py) read them. Every
computing node is an `Apply` of a primitive of the one table
(mtbrules.primitives); the nodes below it are the lazy constructs whose
Kleene logic no strict primitive can express.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import attrs

from . import nodes as n
from .dsltypes import Type


@attrs.frozen
class Expr:
    type: Type

    def children(self) -> tuple[Expr, ...]:
        return ()


@attrs.frozen
class Const(Expr):
    value: Any


@attrs.frozen
class Field(Expr):
    """A case field, by its key: `age`, `offsite.settled` (analysis.field_key)."""

    key: str


@attrs.frozen
class Local(Expr):
    """A quantifier's variable."""

    name: str


@attrs.frozen
class Member(Expr):
    """A field of a disease value: `d.groups`."""

    operand: Expr
    name: str

    def children(self) -> tuple[Expr, ...]:
        return (self.operand,)


@attrs.frozen
class Defined(Expr):
    """`defined(x)`: the case gives the field."""

    key: str


@attrs.frozen
class Items(Expr):
    """A list written in the expression whose items are not all constants."""

    items: tuple[Expr, ...]

    def children(self) -> tuple[Expr, ...]:
        return self.items


@attrs.frozen
class Apply(Expr):
    """A strict primitive (mtbrules.primitives.PRIMITIVES) applied to its operands."""

    prim: str
    args: tuple[Expr, ...]

    def children(self) -> tuple[Expr, ...]:
        return self.args


@attrs.frozen
class Shift(Expr):
    """`d + 7 working_days`: a date moved by a literal duration (negative: back)."""

    operand: Expr
    unit: str
    amount: int

    def children(self) -> tuple[Expr, ...]:
        return (self.operand,)


@attrs.frozen
class Logic(Expr):
    """`and` / `or` with Kleene logic: False (True) wins over undefined."""

    op: str
    left: Expr
    right: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.left, self.right)


@attrs.frozen
class Choose(Expr):
    """`if c then a else b`; `site` is the syntax node (a deadline's basis names the branch)."""

    cond: Expr
    then: Expr
    otherwise: Expr
    site: n.If = attrs.field(eq=False, repr=False)

    def children(self) -> tuple[Expr, ...]:
        return (self.cond, self.then, self.otherwise)


@attrs.frozen
class Quantify(Expr):
    kind: str  # any | all
    var: str
    seq: Expr
    body: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.seq, self.body)


@attrs.frozen
class HasDisease(Expr):
    """`any d in diseases: "g" in d.groups` (or `d.id == x`, `d.id in [...]`) as a set lookup.

    `kind` is "group", "id" or "ids"; `value` a string or a frozenset of ids.
    """

    kind: str
    value: Any


def walk(expr: Expr) -> Iterator[Expr]:
    """Every node, parents before children."""
    stack = [expr]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children()))


Evaluator = Callable[[Any], Any]


@attrs.frozen
class Compiled:
    """A checked, compiled expression: its type, IR, and the fields it reads.

    `fn(env)` evaluates it with generated code (built on first call); `env`
    maps field keys to values (an `Env`, or any mapping when no quantifier
    variable is free).
    """

    type: Type
    ir: Expr
    fields: frozenset[str]
    node: n.Node
    # Fields whose absence can leave the value undefined (reads guarded by `defined(x) and …` excluded).
    needs: frozenset[str] = frozenset()
    # id(If node) -> evaluator of its condition, so a deadline's basis can name the branch taken.
    conditions: dict[int, Evaluator] = attrs.field(factory=dict, eq=False, repr=False)
    fn: Evaluator = attrs.field(default=None, eq=False, repr=False)
