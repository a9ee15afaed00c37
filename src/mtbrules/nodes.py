"""The DSL's syntax tree: one frozen class per construct, each with its position.

`line` and `col` are 1-based positions inside the expression text; the
loader maps them to the YAML file. Field names are shared (`left`/`right`,
`operand`, `args`) so walkers stay generic.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import attrs


@attrs.frozen
class Node:
    line: int = attrs.field(default=1, kw_only=True, eq=False)
    col: int = attrs.field(default=1, kw_only=True, eq=False)

    def children(self) -> tuple[Node, ...]:
        return ()


@attrs.frozen
class Literal(Node):
    """A constant: bool, int, float, str or date."""

    value: Any


@attrs.frozen
class Duration(Node):
    """`7 working_days`, `1 day`, `6 months`: an amount and a canonical unit."""

    amount: int
    unit: str  # working_days | days | weeks | months | years


@attrs.frozen
class Name(Node):
    """A case field, a pack case field, or a quantifier's variable."""

    name: str


@attrs.frozen
class Attr(Node):
    """`obj.name`: a field of an object (offsite, prior) or of a disease."""

    operand: Node
    name: str

    def children(self):
        return (self.operand,)


@attrs.frozen
class Call(Node):
    """A built-in function call."""

    func: str
    args: tuple[Node, ...]

    def children(self):
        return self.args


@attrs.frozen
class ListLit(Node):
    items: tuple[Node, ...]

    def children(self):
        return self.items


@attrs.frozen
class Not(Node):
    operand: Node

    def children(self):
        return (self.operand,)


@attrs.frozen
class Neg(Node):
    operand: Node

    def children(self):
        return (self.operand,)


@attrs.frozen
class BoolOp(Node):
    """`and` / `or`, with Kleene logic over undefined values."""

    op: str
    left: Node
    right: Node

    def children(self):
        return (self.left, self.right)


@attrs.frozen
class Compare(Node):
    """`==`, `!=`, `<`, `<=`, `>`, `>=`, `in`, `not in`."""

    op: str
    left: Node
    right: Node

    def children(self):
        return (self.left, self.right)


@attrs.frozen
class Arith(Node):
    """`+`, `-`, `*` over numbers; `±` between a date and a duration."""

    op: str
    left: Node
    right: Node

    def children(self):
        return (self.left, self.right)


@attrs.frozen
class If(Node):
    cond: Node
    then: Node
    otherwise: Node

    def children(self):
        return (self.cond, self.then, self.otherwise)


@attrs.frozen
class Quantifier(Node):
    """`any x in seq: body` / `all x in seq: body`."""

    kind: str
    var: str
    seq: Node
    body: Node

    def children(self):
        return (self.seq, self.body)


def walk(node: Node):
    """Every node of the tree, parents before children."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children()))


# Binding strength, loosest first; used by to_source to parenthesise.
_PRECEDENCE = {
    "if": 0,
    "quant": 0,
    "or": 1,
    "and": 2,
    "not": 3,
    "cmp": 4,
    "+": 5,
    "-": 5,
    "*": 6,
    "neg": 7,
}


def _prec(node: Node) -> int:
    if isinstance(node, If):
        return 0
    if isinstance(node, Quantifier):
        return 0
    if isinstance(node, BoolOp):
        return _PRECEDENCE[node.op]
    if isinstance(node, Not):
        return 3
    if isinstance(node, Compare):
        return 4
    if isinstance(node, Arith):
        return _PRECEDENCE[node.op]
    if isinstance(node, Neg):
        return 7
    return 9


def to_source(node: Node) -> str:
    """Canonical text for `node`; parsing it gives back an equal tree."""
    if isinstance(node, Literal):
        v = node.value
        if v is True:
            return "true"
        if v is False:
            return "false"
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, _dt.date):
            return v.isoformat()
        return repr(v)
    if isinstance(node, Duration):
        unit = node.unit[:-1] if node.amount == 1 else node.unit
        return f"{node.amount} {unit}"
    if isinstance(node, Name):
        return node.name
    if isinstance(node, Attr):
        return f"{_wrap(node.operand, 8)}.{node.name}"
    if isinstance(node, Call):
        return f"{node.func}({', '.join(to_source(a) for a in node.args)})"
    if isinstance(node, ListLit):
        return "[" + ", ".join(to_source(i) for i in node.items) + "]"
    if isinstance(node, Not):
        return f"not {_wrap(node.operand, 3)}"
    if isinstance(node, Neg):
        return f"-{_wrap(node.operand, 7)}"
    if isinstance(node, BoolOp):
        p = _PRECEDENCE[node.op]
        return f"{_wrap(node.left, p)} {node.op} {_wrap(node.right, p + 1)}"
    if isinstance(node, Compare):
        return f"{_wrap(node.left, 5)} {node.op} {_wrap(node.right, 5)}"
    if isinstance(node, Arith):
        p = _PRECEDENCE[node.op]
        return f"{_wrap(node.left, p)} {node.op} {_wrap(node.right, p + 1)}"
    if isinstance(node, If):
        return (
            f"if {_wrap(node.cond, 1)} then {_wrap(node.then, 1)} else {to_source(node.otherwise)}"
        )
    if isinstance(node, Quantifier):
        return f"{node.kind} {node.var} in {_wrap(node.seq, 1)}: {to_source(node.body)}"
    raise TypeError(f"not a node: {node!r}")


def _wrap(node: Node, min_prec: int) -> str:
    text = to_source(node)
    return f"({text})" if _prec(node) < min_prec else text
