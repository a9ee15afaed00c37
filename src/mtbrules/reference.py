"""The reference interpreter: the IR as closures, the slow and obvious way.

It exists as the oracle of the differential test (tests/test_differential.py:
generated code ≡ reference, for random well-typed expressions and cases with
undefined fields), and for the one case the generator cannot serve: source
nested deeper than CPython's compiler accepts. It never runs on a decision's
usual path. Every operator comes from the same table as the generated code's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from . import ir
from . import workdays as wd
from .dsltypes import UNDEFINED
from .primitives import PRIMITIVES, case_groups, case_ids, kleene_all, kleene_any, shifter

Closure = Callable[[Mapping[str, Any], dict[str, Any]], Any]


def evaluator(expr: ir.Expr, calendar: wd.WorkingCalendar) -> Callable[[Mapping[str, Any]], Any]:
    """`env -> value` for `expr`; quantifier variables bound in the env's `locals`, if any."""
    fn = _closure(expr, calendar)

    def evaluate(env: Mapping[str, Any]) -> Any:
        return fn(env, dict(getattr(env, "locals", {})))

    return evaluate


def _closure(e: ir.Expr, cal: wd.WorkingCalendar) -> Closure:
    if isinstance(e, ir.Const):
        value = e.value
        return lambda env, loc: value
    if isinstance(e, ir.Field):
        key = e.key
        return lambda env, loc: env.get(key, UNDEFINED)
    if isinstance(e, ir.Local):
        name = e.name
        return lambda env, loc: loc[name]
    if isinstance(e, ir.Defined):
        key = e.key
        return lambda env, loc: env.get(key, UNDEFINED) is not UNDEFINED
    if isinstance(e, ir.Member):
        operand, attr = _closure(e.operand, cal), e.name
        return lambda env, loc: getattr(operand(env, loc), attr)
    if isinstance(e, ir.Items):
        parts = [_closure(i, cal) for i in e.items]

        def items(env, loc):
            values = [p(env, loc) for p in parts]
            if any(v is UNDEFINED for v in values):
                return UNDEFINED
            return tuple(values)

        return items
    if isinstance(e, ir.Apply):
        impl = PRIMITIVES[e.prim].bind(cal)
        return _strict(impl, [_closure(a, cal) for a in e.args])
    if isinstance(e, ir.Shift):
        return _strict(shifter(e.unit, e.amount, cal), [_closure(e.operand, cal)])
    if isinstance(e, ir.Logic):
        return _logic(e.op, _closure(e.left, cal), _closure(e.right, cal))
    if isinstance(e, ir.Choose):
        cf, tf, of = _closure(e.cond, cal), _closure(e.then, cal), _closure(e.otherwise, cal)

        def choose(env, loc):
            c = cf(env, loc)
            if c is UNDEFINED:
                return c
            return tf(env, loc) if c else of(env, loc)

        return choose
    if isinstance(e, ir.Quantify):
        return _quantify(e, _closure(e.seq, cal), _closure(e.body, cal))
    if isinstance(e, ir.HasDisease):
        kind, value = e.kind, e.value
        if kind == "group":
            return lambda env, loc: value in case_groups(env.get("diseases", ()))
        if kind == "id":
            return lambda env, loc: value in case_ids(env.get("diseases", ()))
        return lambda env, loc: not value.isdisjoint(case_ids(env.get("diseases", ())))
    raise TypeError(f"not an IR node: {e!r}")


def _strict(impl: Callable[..., Any], parts: list[Closure]) -> Closure:
    def apply(env, loc):
        values = []
        for p in parts:
            v = p(env, loc)
            if v is UNDEFINED:
                return v
            values.append(v)
        return impl(*values)

    return apply


def _logic(op: str, lf: Closure, rf: Closure) -> Closure:
    stop = op == "or"  # the value that decides alone: True for `or`, False for `and`

    def logic(env, loc):
        a = lf(env, loc)
        if a is stop:
            return stop
        b = rf(env, loc)
        if b is stop:
            return stop
        if a is UNDEFINED or b is UNDEFINED:
            return UNDEFINED
        return not stop

    return logic


def _quantify(e: ir.Quantify, sf: Closure, bf: Closure) -> Closure:
    var, combine = e.var, kleene_any if e.kind == "any" else kleene_all

    def quantify(env, loc):
        seq = sf(env, loc)
        if seq is UNDEFINED:
            return seq

        def values():
            for item in seq:
                yield bf(env, {**loc, var: item})

        return combine(values())

    return quantify
