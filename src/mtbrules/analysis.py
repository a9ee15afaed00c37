"""Analyses of expressions and rules: fields read and needed, guards, disease shortcuts, overrides.

One place for the questions checker, explain, synth, coverage, diff and the
compiler ask about a rule's expressions, and the one meaning of `overrides:`. Field keys are the contract's paths:
`age`, `offsite.settled` (CONTRACT §2's objects flattened with a dot).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from . import ir
from . import nodes as n
from .case import CASE_OBJECTS
from .primitives import DATE_PARTS


def object_key(obj: str, name: str) -> str:
    """The field key of field `name` of case object `obj` (`offsite.settled`)."""
    return f"{obj}.{name}"


def field_key(node: n.Node) -> str | None:
    """The key of the case field `node` reads directly (a name or `offsite.x`), else None."""
    if isinstance(node, n.Name):
        return node.name
    if (
        isinstance(node, n.Attr)
        and isinstance(node.operand, n.Name)
        and node.operand.name in CASE_OBJECTS
    ):
        return object_key(node.operand.name, node.name)
    return None


def compared_field(node: n.Node) -> str | None:
    """The field a comparison with `node` constrains: `field_key`, looking through `year(x)` & co.

    `year(admitted_on) >= 2024` constrains `admitted_on`, though the value
    compared is an int, not a date: callers that use the compared value as
    the field's value want `field_key`.
    """
    if isinstance(node, n.Call) and node.args:
        return compared_field(node.args[0]) if node.func in DATE_PARTS else None
    return field_key(node)


def defined_key(node: n.Node, locals_: Iterable[str] = ()) -> str | None:
    """The field key `x` when `node` is `defined(x)`."""
    if not (isinstance(node, n.Call) and node.func == "defined" and len(node.args) == 1):
        return None
    arg = node.args[0]
    if isinstance(arg, n.Name) and arg.name not in locals_:
        return arg.name
    if isinstance(arg, n.Attr) and isinstance(arg.operand, n.Name):
        return object_key(arg.operand.name, arg.name)
    return None


def literals(node: n.Node) -> list[Any]:
    """The constant values `node` is, or lists."""
    if isinstance(node, n.Literal):
        return [node.value]
    if isinstance(node, n.ListLit):
        return [i.value for i in node.items if isinstance(i, n.Literal)]
    return []


def string_literals(node: n.Node) -> set[str]:
    """Every string constant written anywhere in `node`."""
    return {x.value for x in n.walk(node) if isinstance(x, n.Literal) and isinstance(x.value, str)}


def comparisons(node: n.Node) -> Iterator[tuple[n.Node, n.Node]]:
    """Each (side, other side) of every comparison in `node`, both ways round."""
    for x in n.walk(node):
        if isinstance(x, n.Compare):
            yield x.left, x.right
            yield x.right, x.left


def disease_shortcut(node: n.Quantifier) -> tuple[str, Any] | None:
    """The set lookup an `any d in diseases: …` quantifier amounts to, if it is one of the common forms.

    `"g" in d.groups` → ("group", "g"); `d.id == "x"` → ("id", "x");
    `d.id in ["x", "y"]` → ("ids", frozenset). These are most rules' conditions:
    the generic quantifier costs a step per disease, while the case's set of
    groups or ids is built once per case.
    """
    if node.kind != "any" or not (isinstance(node.seq, n.Name) and node.seq.name == "diseases"):
        return None
    body, var = node.body, node.var

    def is_field(x: n.Node, field: str) -> bool:
        return (
            isinstance(x, n.Attr)
            and x.name == field
            and isinstance(x.operand, n.Name)
            and x.operand.name == var
        )

    def const(x: n.Node) -> bool:
        return isinstance(x, n.Literal) and isinstance(x.value, str)

    if not isinstance(body, n.Compare):
        return None
    if body.op == "in" and const(body.left) and is_field(body.right, "groups"):
        return ("group", body.left.value)  # type: ignore[attr-defined]
    if body.op == "==" and is_field(body.left, "id") and const(body.right):
        return ("id", body.right.value)  # type: ignore[attr-defined]
    if body.op == "==" and const(body.left) and is_field(body.right, "id"):
        return ("id", body.left.value)  # type: ignore[attr-defined]
    if (
        body.op == "in"
        and is_field(body.left, "id")
        and isinstance(body.right, n.ListLit)
        and all(const(i) for i in body.right.items)
    ):
        return ("ids", frozenset(i.value for i in body.right.items))  # type: ignore[attr-defined]
    return None


# ---------------------------------------------------------------- over the IR


def fields_read(expr: ir.Expr) -> frozenset[str]:
    """Every case field the expression reads, `defined(x)` tests included."""
    out: set[str] = set()
    for x in ir.walk(expr):
        if isinstance(x, (ir.Field, ir.Defined)):
            out.add(x.key)
        elif isinstance(x, ir.HasDisease):
            out.add("diseases")
    return frozenset(out)


def needs(expr: ir.Expr) -> frozenset[str]:
    """The fields whose absence can leave the value undefined.

    A read guarded by `defined(x) and … x …` is not needed: a missing x
    makes the whole false, not undefined (unless x is needed elsewhere too).
    """
    acc: set[str] = set()
    _needs(expr, acc)
    return frozenset(acc)


def _needs(expr: ir.Expr, acc: set[str]) -> None:
    if isinstance(expr, ir.Field):
        acc.add(expr.key)
    elif isinstance(expr, ir.HasDisease):
        acc.add("diseases")
    elif isinstance(expr, ir.Logic) and expr.op == "and" and isinstance(expr.left, ir.Defined):
        before = set(acc)
        _needs(expr.right, acc)
        if expr.left.key not in before:
            acc.discard(expr.left.key)
    elif isinstance(expr, ir.Quantify):
        _needs(expr.seq, acc)
        inner: set[str] = set()
        _needs(expr.body, inner)
        acc |= inner
    else:
        for child in expr.children():
            _needs(child, acc)


def free_locals(expr: ir.Expr) -> frozenset[str]:
    """Quantifier variables `expr` reads that no quantifier inside it binds."""
    if isinstance(expr, ir.Local):
        return frozenset({expr.name})
    if isinstance(expr, ir.Quantify):
        return free_locals(expr.seq) | (free_locals(expr.body) - {expr.var})
    out: frozenset[str] = frozenset()
    for child in expr.children():
        out |= free_locals(child)
    return out


def present_test(needs_: Iterable[str]) -> frozenset[str]:
    """The needed fields a case can leave out (the engine always sets `diseases` and `materials`)."""
    return frozenset(needs_) - {"diseases", "materials"}


def not_overridden(applying: Iterable[str], suppresses: Mapping[str, frozenset[str]]) -> list[str]:
    """The applying rule ids that take effect: those no applying rule overrides.

    `suppresses` maps a rule id to every rule it overrides, directly or through
    others (prepared.override_closure). The one meaning of `overrides:`
    (docs/dsl.md) for the firing functions and the checker's model analysis;
    the generated firing inlines the same test per rule (tests/test_firing.py).
    Order is kept.

    >>> not_overridden(["a", "b", "c"], {"a": frozenset({"b"})})
    ['a', 'c']
    """
    applying = list(applying)
    suppressed: set[str] = set()
    for rid in applying:
        suppressed |= suppresses.get(rid, frozenset())
    return [rid for rid in applying if rid not in suppressed]
