"""The one table of the DSL's primitives: every operator and built-in function.

Each entry says how the primitive is computed (`impl`, or `on_calendar` for
the ones that need the pack's working-day calendar) and how generated code
writes it (`template`, an infix form over its operands, when Python has one).
All primitives are strict: an UNDEFINED operand makes the result UNDEFINED.
The lazy constructs (`and`, `or`, `if`, quantifiers, `defined`) are IR nodes
of their own (mtbrules.ir), with their Kleene helpers below.

The compiler types calls against `params`/`result`; operators, whose typing
depends on both operands, are typed by the compiler's own rules and have
`params=None`. Adding an operator means one entry here and its typing rule in
the compiler: the generated code and the reference closures read this table.
"""

from __future__ import annotations

import datetime as _dt
import operator as _op
from collections.abc import Callable, Iterable
from typing import Any

import attrs

from . import workdays as wd
from .dsltypes import BOOL, DATE, INT, UNDEFINED, Type


@attrs.frozen
class Primitive:
    name: str
    impl: Callable[..., Any] | None
    template: str | None = None  # e.g. "({0} < {1})": generated code writes it inline
    params: tuple[Type, ...] | None = None  # None: an operator, typed by the compiler
    result: Type | None = None
    on_calendar: Callable[[wd.WorkingCalendar], Callable[..., Any]] | None = None

    def bind(self, calendar: wd.WorkingCalendar) -> Callable[..., Any]:
        """The Python function computing this primitive for a pack's calendar."""
        if self.on_calendar is not None:
            return self.on_calendar(calendar)
        assert self.impl is not None
        return self.impl


def _days_between(a: _dt.date, b: _dt.date) -> int:
    return (a - b).days


def _contains(a: Any, seq: Any) -> bool:
    return a in seq


def _not_contains(a: Any, seq: Any) -> bool:
    return a not in seq


def _nth_working_day(cal: wd.WorkingCalendar) -> Callable[[_dt.date, int], _dt.date]:
    return lambda d, k: cal.nth_working_day(d.year, d.month, k)


def _operator(name: str, impl: Callable[..., Any], template: str) -> Primitive:
    return Primitive(name, impl, template)


def _function(name: str, impl: Callable[..., Any], params: tuple[Type, ...], result: Type):
    return Primitive(name, impl, None, params, result)


def _date_function(name: str, impl: Callable[[_dt.date], _dt.date]) -> Primitive:
    return _function(name, impl, (DATE,), DATE)


_TABLE = (
    # -- operators (typed by the compiler)
    _operator("==", _op.eq, "({0} == {1})"),
    _operator("!=", _op.ne, "({0} != {1})"),
    _operator("<", _op.lt, "({0} < {1})"),
    _operator("<=", _op.le, "({0} <= {1})"),
    _operator(">", _op.gt, "({0} > {1})"),
    _operator(">=", _op.ge, "({0} >= {1})"),
    _operator("in", _contains, "({0} in {1})"),
    _operator("not in", _not_contains, "({0} not in {1})"),
    _operator("+", _op.add, "({0} + {1})"),
    _operator("-", _op.sub, "({0} - {1})"),
    _operator("*", _op.mul, "({0} * {1})"),
    _operator("days_between", _days_between, "({0} - {1}).days"),
    _operator("neg", _op.neg, "(-{0})"),
    _operator("not", _op.not_, "(not {0})"),
    _operator("len", len, "len({0})"),
    _operator("min", min, "min({0}, {1})"),
    _operator("max", max, "max({0}, {1})"),
    # -- functions (typed by their signature)
    _function("date", _dt.date, (INT, INT, INT), DATE),
    _function("year", lambda d: d.year, (DATE,), INT),
    _function("month", lambda d: d.month, (DATE,), INT),
    _function("day", lambda d: d.day, (DATE,), INT),
    _function("quarter", wd.quarter, (DATE,), INT),
    _date_function("start_of_month", wd.start_of_month),
    _date_function("end_of_month", wd.end_of_month),
    _date_function("start_of_quarter", wd.start_of_quarter),
    _date_function("end_of_quarter", wd.end_of_quarter),
    _date_function("start_of_year", wd.start_of_year),
    _date_function("end_of_year", wd.end_of_year),
    _date_function("start_of_next_month", wd.start_of_next_month),
    _date_function("start_of_next_quarter", wd.start_of_next_quarter),
    _date_function("start_of_next_year", wd.start_of_next_year),
    _function("day_of_month", wd.day_of_month, (DATE, INT), DATE),
    _function("natural_years_end", wd.natural_years_end, (DATE, INT), DATE),
    Primitive("nth_working_day", None, None, (DATE, INT), DATE, _nth_working_day),
    Primitive("is_working_day", None, None, (DATE,), BOOL, lambda cal: cal.is_working_day),
)

#: name -> Primitive: the operators and the built-in functions.
PRIMITIVES: dict[str, Primitive] = {p.name: p for p in _TABLE}

#: The built-in functions a pack may call (the operators are not called by name).
FUNCTIONS: dict[str, Primitive] = {n: p for n, p in PRIMITIVES.items() if p.params is not None}

#: Functions the compiler types itself (their types depend on the arguments'), and `defined`.
SPECIAL_FUNCTIONS = frozenset({"min", "max", "len", "defined"})

FUNCTION_NAMES = frozenset(FUNCTIONS) | SPECIAL_FUNCTIONS

# Date parts: a comparison with `year(x)` constrains the field `x` (analysis.compared_field).
DATE_PARTS = frozenset({"year", "month", "day", "quarter"})


# ---------------------------------------------------------------- durations


def shifter(unit: str, amount: int, calendar: wd.WorkingCalendar) -> Callable[[_dt.date], _dt.date]:
    """The function adding `amount` `unit`s to a date (negative: going back)."""
    if unit == "working_days":
        return lambda d: calendar.add_working_days(d, amount)
    if unit == "days":
        delta = _dt.timedelta(days=amount)
        return lambda d: d + delta
    if unit == "weeks":
        delta = _dt.timedelta(weeks=amount)
        return lambda d: d + delta
    if unit == "months":
        return lambda d: wd.add_months(d, amount)
    return lambda d: wd.add_years(d, amount)


#: How a duration's unit reads in English (bases of deadlines, `issued_within`).
UNIT_WORDS = {
    "working_days": "working days",
    "days": "days",
    "weeks": "weeks",
    "months": "months",
    "years": "years",
}


# ---------------------------------------------------------------- the lazy constructs' helpers


def kleene_any(values: Iterable[Any]) -> Any:
    """`any` over True/False/UNDEFINED, stopping at the first True."""
    undecided = False
    for v in values:
        if v is True:
            return True
        if v is UNDEFINED:
            undecided = True
    return UNDEFINED if undecided else False


def kleene_all(values: Iterable[Any]) -> Any:
    """`all` over True/False/UNDEFINED, stopping at the first False."""
    undecided = False
    for v in values:
        if v is False:
            return False
        if v is UNDEFINED:
            undecided = True
    return UNDEFINED if undecided else True


def case_groups(diseases: Iterable[Any]) -> frozenset[str]:
    """The groups of a case's diseases, for `"g" in d.groups` shortcuts."""
    return frozenset().union(*(d.groups for d in diseases))


def case_ids(diseases: Iterable[Any]) -> frozenset[str]:
    return frozenset(d.id for d in diseases)
