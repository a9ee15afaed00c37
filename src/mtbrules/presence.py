"""An expression specialised to one pattern of present fields: the Kleene logic the pattern decides, folded.

Cases come in few shapes: a caseload's cases mostly give the same fields.
For one shape, every field an expression reads is known to be present or
absent, so whether each subexpression is undefined is known before the case
is read: `specialise` replaces the absent fields with the undefined constant
and folds what that decides (`x and undefined` is `False if not x else
undefined`; a strict primitive of an undefined operand is undefined). What is
left reads only present fields; the code generator writes it as plain Python
where no undefined constant is left (mtbrules.codegen, `Gen(absent=...)`).

Folding never drops a subexpression the reference would evaluate and that can
raise (a date moved out of range): the error stays the case's.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet

from . import ir
from .dsltypes import BOOL, UNDEFINED
from .primitives import PRIMITIVES

__all__ = ["holds_undefined", "is_undefined", "specialise"]

_TRUE = ir.Const(BOOL, True)
_FALSE = ir.Const(BOOL, False)


def specialise(expr: ir.Expr, absent: AbstractSet[str]) -> ir.Expr:
    """`expr` for a case without the fields `absent` and with every other field it reads."""
    return _fold(expr, absent)


def holds_undefined(expr: ir.Expr) -> bool:
    """The (specialised) expression can be undefined: an undefined constant is left in it."""
    return any(is_undefined(x) for x in ir.walk(expr))


def is_undefined(expr: ir.Expr) -> bool:
    """The (specialised) expression is the undefined constant: undefined for every such case."""
    return isinstance(expr, ir.Const) and expr.value is UNDEFINED


def _undefined(e: ir.Expr) -> ir.Expr:
    return ir.Const(e.type, UNDEFINED)


def _may_raise(e: ir.Expr) -> bool:
    """Evaluating `e` can raise (moving a date, a primitive written as a call): never dropped."""
    for x in ir.walk(e):
        if isinstance(x, ir.Shift):
            return True
        if isinstance(x, ir.Apply) and PRIMITIVES[x.prim].template is None:
            return True
    return False


def _bool(e: ir.Expr) -> bool | None:
    if isinstance(e, ir.Const) and isinstance(e.value, bool):
        return e.value
    return None


def _fold(e: ir.Expr, absent: AbstractSet[str]) -> ir.Expr:
    if isinstance(e, ir.Field):
        return _undefined(e) if e.key in absent else e
    if isinstance(e, ir.Defined):
        return _FALSE if e.key in absent else _TRUE
    if isinstance(e, (ir.Const, ir.Local, ir.HasDisease)):
        return e
    if isinstance(e, ir.Member):
        operand = _fold(e.operand, absent)
        return _undefined(e) if is_undefined(operand) else ir.Member(e.type, operand, e.name)
    if isinstance(e, ir.Items):
        items = _strict(e.items, absent)
        return _undefined(e) if items is None else ir.Items(e.type, items)
    if isinstance(e, ir.Apply):
        args = _strict(e.args, absent)
        return _undefined(e) if args is None else ir.Apply(e.type, e.prim, args)
    if isinstance(e, ir.Shift):
        operand = _fold(e.operand, absent)
        if is_undefined(operand):
            return _undefined(e)
        return ir.Shift(e.type, operand, e.unit, e.amount)
    if isinstance(e, ir.Logic):
        return _logic(e, absent)
    if isinstance(e, ir.Choose):
        cond = _fold(e.cond, absent)
        if is_undefined(cond):
            return _undefined(e)
        known = _bool(cond)
        if known is not None:
            return _fold(e.then if known else e.otherwise, absent)
        then, otherwise = _fold(e.then, absent), _fold(e.otherwise, absent)
        return ir.Choose(e.type, cond, then, otherwise, e.site)
    if isinstance(e, ir.Quantify):
        seq = _fold(e.seq, absent)
        if is_undefined(seq):
            return _undefined(e)
        return ir.Quantify(e.type, e.kind, e.var, seq, _fold(e.body, absent))
    raise TypeError(f"not an IR node: {e!r}")


def _strict(operands: tuple[ir.Expr, ...], absent: AbstractSet[str]) -> tuple[ir.Expr, ...] | None:
    """The folded operands; None when the first undefined one makes the whole undefined.

    Operands run in order and stop at the first undefined one, so an earlier
    operand that can raise keeps the node (its undefined operand included).
    """
    folded: list[ir.Expr] = []
    for x in operands:
        f = _fold(x, absent)
        if is_undefined(f) and not any(_may_raise(y) for y in folded):
            return None
        folded.append(f)
    return tuple(folded)


def _logic(e: ir.Logic, absent: AbstractSet[str]) -> ir.Expr:
    """Kleene `and` / `or` with what the pattern decides folded away."""
    stop = e.op == "or"  # the value that decides: False for `and`, True for `or`
    left = _fold(e.left, absent)
    if _bool(left) is stop:
        return left  # the right side is never evaluated
    right = _fold(e.right, absent)
    if _bool(left) is (not stop):
        return right  # `True and x` is x, undefined included
    if _bool(right) is (not stop):
        return left  # `x and True` is x
    if _bool(right) is stop and not _may_raise(left):
        return right
    if is_undefined(left) and is_undefined(right):
        return left
    if is_undefined(left) and not holds_undefined(right):
        # `undefined and x`: False when x is False, else undefined (dually for `or`).
        return _either(right, e, stop)
    if is_undefined(right) and not holds_undefined(left):
        return _either(left, e, stop)
    return ir.Logic(e.type, e.op, left, right)


def _either(decider: ir.Expr, e: ir.Logic, stop: bool) -> ir.Expr:
    """`stop` when the defined `decider` is `stop`, else undefined: `if decider …` in the IR."""
    decided = _TRUE if stop else _FALSE
    undefined = _undefined(e)
    site = None  # no syntax node: a condition's branch is never a deadline's basis
    if stop:
        return ir.Choose(e.type, decider, decided, undefined, site)  # type: ignore[arg-type]
    return ir.Choose(e.type, decider, undefined, decided, site)  # type: ignore[arg-type]
