"""Syntax tree → type-checked Python closures, once, when a pack loads.

One recursive pass checks each node against the case schema and the pack's
catalogues and returns its type with a closure `env -> value`. The closures
read a flat environment dict (`"age"`, `"offsite.settled"`, `"$d"` for a
quantifier's variable); a field the case does not give is absent and reads
as UNDEFINED, which every operator propagates (Kleene logic for and/or).
Nothing here evaluates pack text as Python.
"""

from __future__ import annotations

import datetime as _dt
import difflib
from collections.abc import Callable
from typing import Any

import attrs

from . import nodes as n
from . import workdays as wd
from .diagnostics import Diagnostic, Location
from .errors import PackError


class _Undefined:
    """A value the case does not give. Falsy, and distinct from False."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self):
        return (_undefined, ())


def _undefined():
    return UNDEFINED


UNDEFINED = _Undefined()

Closure = Callable[[dict], Any]


# ---------------------------------------------------------------- types


@attrs.frozen
class Type:
    """A DSL type. `vocab` names the catalogue a string's values come from."""

    name: str
    item: Type | None = None
    vocab: str | None = None

    def __str__(self) -> str:
        if self.name == "list":
            return f"list[{self.item}]"
        return self.name

    def same_kind(self, other: Type) -> bool:
        if self.name == "any" or other.name == "any":
            return True
        if {self.name, other.name} <= {"int", "number"}:
            return True
        if self.name != other.name:
            return False
        if self.name == "list":
            return self.item.same_kind(other.item)
        return True


BOOL = Type("bool")
INT = Type("int")
NUMBER = Type("number")
STRING = Type("string")
DATE = Type("date")
DURATION = Type("duration")
DISEASE = Type("disease")
ANY = Type("any")


def list_of(item: Type) -> Type:
    return Type("list", item=item)


def enum(vocab: str) -> Type:
    return Type("string", vocab=vocab)


_NUMERIC = ("int", "number")

#: Fields of a disease value in the DSL.
DISEASE_FIELDS = {
    "id": enum("disease"),
    "name": STRING,
    "no": INT,
    "groups": list_of(enum("group")),
}


@attrs.frozen
class Scope:
    """What names mean while compiling: case fields, objects, vocabularies."""

    fields: dict  # name -> Type (top-level case fields, incl. the pack's own)
    objects: dict  # name -> {field: Type}  (offsite, prior)
    vocab: dict  # vocabulary name -> frozenset of allowed values
    calendar: wd.WorkingCalendar
    locals: dict = attrs.field(factory=dict)  # quantifier variable -> Type

    def with_local(self, name: str, type_: Type) -> Scope:
        return attrs.evolve(self, locals={**self.locals, name: type_})


@attrs.frozen
class Compiled:
    """A checked, compiled expression: its type, closure and the fields it reads."""

    type: Type
    fn: Closure
    fields: frozenset
    node: n.Node
    # Fields whose absence can leave the value undefined (reads guarded by `defined(x) and …` excluded).
    needs: frozenset = frozenset()
    # id(If node) -> its condition's closure, so a deadline's basis can name the branch taken.
    conditions: dict = attrs.field(factory=dict, eq=False, repr=False)


Locate = Callable[[int, int], Location]


def compile_expression(
    node: n.Node, scope: Scope, locate: Locate, expect: Type | None = None
) -> Compiled:
    """Check and compile `node`; PackError (MTB3xx) at the node's position."""
    comp = _Compiler(scope, locate)
    type_, fn = comp.compile(node)
    if expect is not None and not expect.same_kind(type_):
        raise comp.error(node, "MTB302", f"expected a {expect} expression, got {type_}")
    return Compiled(
        type_, fn, frozenset(comp.fields_read), node, frozenset(comp.needs), comp.conditions
    )


# ---------------------------------------------------------------- functions


def _date_fn(f):
    return ((DATE,), DATE, f)


def _nth_working_day(cal):
    return lambda d, k: cal.nth_working_day(d.year, d.month, k)


# name -> (argument types, result type, implementation or factory(calendar))
_FUNCTIONS: dict[str, tuple] = {
    "date": ((INT, INT, INT), DATE, lambda y, m, d: _dt.date(y, m, d)),
    "year": ((DATE,), INT, lambda d: d.year),
    "month": ((DATE,), INT, lambda d: d.month),
    "day": ((DATE,), INT, lambda d: d.day),
    "quarter": ((DATE,), INT, wd.quarter),
    "start_of_month": _date_fn(wd.start_of_month),
    "end_of_month": _date_fn(wd.end_of_month),
    "start_of_quarter": _date_fn(wd.start_of_quarter),
    "end_of_quarter": _date_fn(wd.end_of_quarter),
    "start_of_year": _date_fn(wd.start_of_year),
    "end_of_year": _date_fn(wd.end_of_year),
    "start_of_next_month": _date_fn(wd.start_of_next_month),
    "start_of_next_quarter": _date_fn(wd.start_of_next_quarter),
    "start_of_next_year": _date_fn(wd.start_of_next_year),
    "day_of_month": ((DATE, INT), DATE, wd.day_of_month),
    "natural_years_end": ((DATE, INT), DATE, wd.natural_years_end),
}
_CALENDAR_FUNCTIONS: dict[str, tuple] = {
    "nth_working_day": ((DATE, INT), DATE, _nth_working_day),
    "is_working_day": ((DATE,), BOOL, lambda cal: cal.is_working_day),
}
FUNCTION_NAMES = (
    frozenset(_FUNCTIONS) | frozenset(_CALENDAR_FUNCTIONS) | {"min", "max", "len", "defined"}
)


def _duration_adder(unit: str, amount: int, cal: wd.WorkingCalendar):
    if unit == "working_days":
        return lambda d: cal.add_working_days(d, amount)
    if unit == "days":
        delta = _dt.timedelta(days=amount)
        return lambda d: d + delta
    if unit == "weeks":
        delta = _dt.timedelta(weeks=amount)
        return lambda d: d + delta
    if unit == "months":
        return lambda d: wd.add_months(d, amount)
    return lambda d: wd.add_years(d, amount)


# ---------------------------------------------------------------- compiler


class _Compiler:
    def __init__(self, scope: Scope, locate: Locate):
        self.scope = scope
        self.locate = locate
        self.fields_read: set[str] = set()
        self.needs: set[str] = set()
        self.conditions: dict = {}

    def error(self, node: n.Node, code: str, message: str, hint: str | None = None) -> PackError:
        return PackError.from_diagnostics(
            [Diagnostic(code, message, self.locate(node.line, node.col), hint=hint)]
        )

    def compile(self, node: n.Node) -> tuple[Type, Closure]:
        method = getattr(self, "_" + type(node).__name__)
        return method(node)

    # -- leaves

    def _Literal(self, node: n.Literal):
        v = node.value
        if isinstance(v, bool):
            t = BOOL
        elif isinstance(v, int):
            t = INT
        elif isinstance(v, float):
            t = NUMBER
        elif isinstance(v, str):
            t = STRING
        else:
            t = DATE
        return t, (lambda env: v)

    def _Duration(self, node: n.Duration):
        return DURATION, (lambda env, v=(node.amount, node.unit): v)

    def _Name(self, node: n.Name):
        name = node.name
        if name in self.scope.locals:
            key = "$" + name
            return self.scope.locals[name], (lambda env: env[key])
        if name in self.scope.fields:
            self.fields_read.add(name)
            self.needs.add(name)
            return self.scope.fields[name], (lambda env: env.get(name, UNDEFINED))
        if name in self.scope.objects:
            raise self.error(
                node,
                "MTB305",
                f"'{name}' is an object; use one of its fields",
                hint=", ".join(f"{name}.{f}" for f in sorted(self.scope.objects[name])),
            )
        if name in FUNCTION_NAMES:
            raise self.error(node, "MTB304", f"'{name}' is a function; call it as {name}(…)")
        known = list(self.scope.fields) + list(self.scope.locals) + list(self.scope.objects)
        raise self.error(node, "MTB301", f"unknown name '{name}'", hint=_did_you_mean(name, known))

    def _Attr(self, node: n.Attr):
        if (
            isinstance(node.operand, n.Name)
            and node.operand.name in self.scope.objects
            and node.operand.name not in self.scope.locals
        ):
            obj = node.operand.name
            fields = self.scope.objects[obj]
            if node.name not in fields:
                raise self.error(
                    node,
                    "MTB301",
                    f"unknown field '{obj}.{node.name}'",
                    hint=_did_you_mean(node.name, fields),
                )
            key = f"{obj}.{node.name}"
            self.fields_read.add(key)
            self.needs.add(key)
            return fields[node.name], (lambda env: env.get(key, UNDEFINED))
        t, fn = self.compile(node.operand)
        if t != DISEASE:
            raise self.error(node, "MTB302", f"a {t} has no fields")
        if node.name not in DISEASE_FIELDS:
            raise self.error(
                node,
                "MTB301",
                f"a disease has no field '{node.name}'",
                hint=_did_you_mean(node.name, DISEASE_FIELDS),
            )
        attr = node.name
        return DISEASE_FIELDS[attr], (lambda env: getattr(fn(env), attr))

    def _ListLit(self, node: n.ListLit):
        if not node.items:
            return list_of(ANY), (lambda env: ())
        compiled = [self.compile(item) for item in node.items]
        first = compiled[0][0]
        for (t, _), item in zip(compiled, node.items):
            if not t.same_kind(first):
                raise self.error(item, "MTB302", f"list items must share one type: {first} and {t}")
        if all(isinstance(i, n.Literal) for i in node.items):
            constant = frozenset(i.value for i in node.items)
            return list_of(first), (lambda env: constant)
        fns = [fn for _, fn in compiled]

        def make(env):
            values = [f(env) for f in fns]
            if any(v is UNDEFINED for v in values):
                return UNDEFINED
            return tuple(values)

        return list_of(first), make

    # -- operators

    def _Not(self, node: n.Not):
        t, fn = self.compile(node.operand)
        self._want(node.operand, t, BOOL, "not")

        def not_(env):
            v = fn(env)
            return v if v is UNDEFINED else not v

        return BOOL, not_

    def _Neg(self, node: n.Neg):
        t, fn = self.compile(node.operand)
        if t.name not in _NUMERIC:
            raise self.error(node, "MTB302", f"cannot negate a {t}")

        def neg(env):
            v = fn(env)
            return v if v is UNDEFINED else -v

        return t, neg

    def _BoolOp(self, node: n.BoolOp):
        lt, lf = self.compile(node.left)
        needs_before = set(self.needs)
        rt, rf = self.compile(node.right)
        guard = _defined_key(node.left, self.scope) if node.op == "and" else None
        if guard is not None and guard not in needs_before:
            # `defined(x) and … x …`: a missing x makes the whole false, not undefined.
            self.needs.discard(guard)
        self._want(node.left, lt, BOOL, node.op)
        self._want(node.right, rt, BOOL, node.op)
        if node.op == "and":

            def and_(env):
                a = lf(env)
                if a is False:
                    return False
                b = rf(env)
                if b is False:
                    return False
                if a is UNDEFINED or b is UNDEFINED:
                    return UNDEFINED
                return True

            return BOOL, and_

        def or_(env):
            a = lf(env)
            if a is True:
                return True
            b = rf(env)
            if b is True:
                return True
            if a is UNDEFINED or b is UNDEFINED:
                return UNDEFINED
            return False

        return BOOL, or_

    def _Compare(self, node: n.Compare):
        if node.op in ("in", "not in"):
            return self._membership(node)
        lt, lf = self.compile(node.left)
        rt, rf = self.compile(node.right)
        if not lt.same_kind(rt):
            raise self.error(node, "MTB302", f"cannot compare {lt} with {rt}")
        if node.op not in ("==", "!=") and lt.name not in ("int", "number", "date", "string"):
            raise self.error(node, "MTB302", f"'{node.op}' does not order {lt} values")
        if lt.name in ("list", "disease", "duration"):
            raise self.error(node, "MTB302", f"cannot compare {lt} values with '{node.op}'")
        self._check_vocab(node.left, lt, node.right)
        self._check_vocab(node.right, rt, node.left)
        op = node.op
        if isinstance(node.right, n.Literal):
            const = node.right.value
            ops = {
                "==": lambda env: _cmp_const(lf(env), const, _eq),
                "!=": lambda env: _cmp_const(lf(env), const, _ne),
                "<": lambda env: _cmp_const(lf(env), const, _lt),
                "<=": lambda env: _cmp_const(lf(env), const, _le),
                ">": lambda env: _cmp_const(lf(env), const, _gt),
                ">=": lambda env: _cmp_const(lf(env), const, _ge),
            }
            return BOOL, ops[op]
        pyop = _OPS[op]

        def compare(env):
            a = lf(env)
            if a is UNDEFINED:
                return a
            b = rf(env)
            if b is UNDEFINED:
                return b
            return pyop(a, b)

        return BOOL, compare

    def _membership(self, node: n.Compare):
        lt, lf = self.compile(node.left)
        rt, rf = self.compile(node.right)
        if rt.name != "list":
            raise self.error(
                node.right, "MTB302", f"'{node.op}' needs a list on its right, got {rt}"
            )
        if not lt.same_kind(rt.item):
            raise self.error(node, "MTB302", f"cannot look for a {lt} in a {rt}")
        self._check_vocab(node.right, rt, node.left, rt.item)  # "literal" in a catalogue-typed list
        self._check_vocab(node.left, lt, node.right)  # a catalogue-typed value in ["literal", …]
        negate = node.op == "not in"

        def member(env):
            a = lf(env)
            if a is UNDEFINED:
                return a
            seq = rf(env)
            if seq is UNDEFINED:
                return seq
            return (a in seq) is not negate

        return BOOL, member

    def _Arith(self, node: n.Arith):
        lt, lf = self.compile(node.left)
        rt, rf = self.compile(node.right)
        op = node.op
        if lt == DATE and rt == DURATION and op in "+-":
            if not isinstance(node.right, n.Duration):
                raise self.error(
                    node.right,
                    "MTB302",
                    "a duration must be written as a literal, e.g. 7 working_days",
                )
            amount = node.right.amount if op == "+" else -node.right.amount
            add = _duration_adder(node.right.unit, amount, self.scope.calendar)

            def shift(env):
                d = lf(env)
                return d if d is UNDEFINED else add(d)

            return DATE, shift
        if lt == DATE and rt == DATE and op == "-":
            return INT, _binary(lf, rf, lambda a, b: (a - b).days)
        if lt.name in _NUMERIC and rt.name in _NUMERIC:
            result = INT if lt == INT and rt == INT else NUMBER
            return result, _binary(lf, rf, _OPS[op])
        raise self.error(node, "MTB302", f"cannot {_VERB[op]} {lt} and {rt}")

    def _If(self, node: n.If):
        ct, cf = self.compile(node.cond)
        self._want(node.cond, ct, BOOL, "if")
        tt, tf = self.compile(node.then)
        et, ef = self.compile(node.otherwise)
        self.conditions[id(node)] = cf
        if not tt.same_kind(et):
            raise self.error(node, "MTB302", f"'then' gives {tt} but 'else' gives {et}")

        def choose(env):
            c = cf(env)
            if c is UNDEFINED:
                return c
            return tf(env) if c else ef(env)

        return (tt if tt.name != "any" else et), choose

    def _Quantifier(self, node: n.Quantifier):
        st, sf = self.compile(node.seq)
        if st.name != "list":
            raise self.error(node.seq, "MTB302", f"'{node.kind}' ranges over a list, got {st}")
        if node.var in self.scope.fields or node.var in self.scope.objects:
            raise self.error(node, "MTB306", f"quantifier variable '{node.var}' hides a case field")
        inner = _Compiler(self.scope.with_local(node.var, st.item), self.locate)
        bt, bf = inner.compile(node.body)
        self.fields_read |= inner.fields_read
        self.needs |= inner.needs
        self.conditions.update(inner.conditions)
        self._want(node.body, bt, BOOL, node.kind)
        key = "$" + node.var
        want_any = node.kind == "any"
        fast = _disease_shortcut(node) if want_any else None
        if fast is not None:
            return BOOL, fast

        def quantify(env):
            seq = sf(env)
            if seq is UNDEFINED:
                return seq
            saved = env.get(key, UNDEFINED)
            undecided = False
            try:
                for item in seq:
                    env[key] = item
                    v = bf(env)
                    if v is UNDEFINED:
                        undecided = True
                    elif v is want_any:
                        return want_any
            finally:
                if saved is UNDEFINED:
                    env.pop(key, None)
                else:
                    env[key] = saved
            return UNDEFINED if undecided else not want_any

        return BOOL, quantify

    def _Call(self, node: n.Call):
        name = node.func
        if name == "defined":
            return self._defined(node)
        if name == "len":
            self._arity(node, 1)
            t, fn = self.compile(node.args[0])
            if t.name != "list":
                raise self.error(node.args[0], "MTB302", f"len() takes a list, got {t}")
            return INT, _unary(fn, len)
        if name in ("min", "max"):
            self._arity(node, 2)
            (at, af), (bt, bf) = self.compile(node.args[0]), self.compile(node.args[1])
            if not at.same_kind(bt) or at.name not in ("int", "number", "date"):
                raise self.error(
                    node, "MTB302", f"{name}() takes two numbers or two dates, got {at} and {bt}"
                )
            return at, _binary(af, bf, min if name == "min" else max)
        if name in _FUNCTIONS:
            params, result, impl = _FUNCTIONS[name]
        elif name in _CALENDAR_FUNCTIONS:
            params, result, factory = _CALENDAR_FUNCTIONS[name]
            impl = factory(self.scope.calendar)
        else:
            raise self.error(
                node,
                "MTB304",
                f"unknown function '{name}'",
                hint=_did_you_mean(name, FUNCTION_NAMES),
            )
        self._arity(node, len(params))
        fns = []
        for arg, want in zip(node.args, params):
            t, fn = self.compile(arg)
            if not want.same_kind(t) or (want == INT and t == NUMBER):
                raise self.error(arg, "MTB302", f"{name}() expects a {want} here, got {t}")
            fns.append(fn)
        if len(fns) == 1:
            return result, _unary(fns[0], impl)
        if len(fns) == 2:
            return result, _binary(fns[0], fns[1], impl)

        def call(env):
            values = [f(env) for f in fns]
            if any(v is UNDEFINED for v in values):
                return UNDEFINED
            return impl(*values)

        return result, call

    def _defined(self, node: n.Call):
        self._arity(node, 1)
        arg = node.args[0]
        if not isinstance(arg, (n.Name, n.Attr)):
            raise self.error(arg, "MTB302", "defined() takes a case field")
        sub = _Compiler(self.scope, self.locate)
        sub.compile(arg)  # checks the name; only its key is kept
        if len(sub.fields_read) != 1:
            raise self.error(arg, "MTB302", "defined() takes a case field")
        (key,) = sub.fields_read
        self.fields_read.add(key)
        return BOOL, (lambda env: key in env)

    # -- helpers

    def _arity(self, node: n.Call, count: int):
        if len(node.args) != count:
            raise self.error(
                node,
                "MTB304",
                f"{node.func}() takes {count} argument{'s' if count != 1 else ''}, got {len(node.args)}",
            )

    def _want(self, node: n.Node, got: Type, want: Type, where: str):
        if not want.same_kind(got) or got.name == "any":
            raise self.error(node, "MTB302", f"'{where}' needs a {want}, got {got}")

    def _check_vocab(self, typed: n.Node, t: Type, other: n.Node, item_type: Type | None = None):
        """A string literal compared with a catalogue-typed value must be in the catalogue."""
        vocab_type = item_type if item_type is not None else t
        if vocab_type is None or vocab_type.vocab is None:
            return
        allowed = self.scope.vocab.get(vocab_type.vocab)
        if allowed is None:
            return
        literals = []
        if isinstance(other, n.Literal) and isinstance(other.value, str):
            literals = [other]
        elif isinstance(other, n.ListLit):
            literals = [
                i for i in other.items if isinstance(i, n.Literal) and isinstance(i.value, str)
            ]
        for lit in literals:
            if lit.value not in allowed:
                raise self.error(
                    lit,
                    "MTB303",
                    f"unknown {vocab_type.vocab} '{lit.value}'",
                    hint=_did_you_mean(lit.value, allowed)
                    or "allowed: " + ", ".join(sorted(allowed)[:12]),
                )


def _defined_key(node: n.Node, scope: Scope) -> str | None:
    """The field key `x` when `node` is `defined(x)`."""
    if not (isinstance(node, n.Call) and node.func == "defined" and len(node.args) == 1):
        return None
    arg = node.args[0]
    if isinstance(arg, n.Name) and arg.name not in scope.locals:
        return arg.name
    if isinstance(arg, n.Attr) and isinstance(arg.operand, n.Name):
        return f"{arg.operand.name}.{arg.name}"
    return None


def disease_shortcut(node: n.Quantifier) -> tuple[str, object] | None:
    """The set lookup an `any d in diseases: …` quantifier amounts to, if it is one of the common forms.

    `"g" in d.groups` → ("group", "g"); `d.id == "x"` → ("id", "x");
    `d.id in ["x", "y"]` → ("ids", frozenset). These are most rules' conditions:
    the generic quantifier costs a call per disease, while the case's set of
    groups or ids is built once per case.
    """
    if node.kind != "any" or not (isinstance(node.seq, n.Name) and node.seq.name == "diseases"):
        return None
    body, var = node.body, node.var

    def is_field(x, field):
        return (
            isinstance(x, n.Attr)
            and x.name == field
            and isinstance(x.operand, n.Name)
            and x.operand.name == var
        )

    def const(x):
        return isinstance(x, n.Literal) and isinstance(x.value, str)

    if not isinstance(body, n.Compare):
        return None
    if body.op == "in" and const(body.left) and is_field(body.right, "groups"):
        return ("group", body.left.value)
    if body.op == "==" and is_field(body.left, "id") and const(body.right):
        return ("id", body.right.value)
    if body.op == "==" and const(body.left) and is_field(body.right, "id"):
        return ("id", body.left.value)
    if (
        body.op == "in"
        and is_field(body.left, "id")
        and isinstance(body.right, n.ListLit)
        and all(const(i) for i in body.right.items)
    ):
        return ("ids", frozenset(i.value for i in body.right.items))
    return None


def _disease_shortcut(node: n.Quantifier) -> Closure | None:
    shortcut = disease_shortcut(node)
    if shortcut is None:
        return None
    kind, value = shortcut
    if kind == "group":
        return lambda env: value in _case_groups(env)
    if kind == "id":
        return lambda env: value in _case_ids(env)
    return lambda env: not value.isdisjoint(_case_ids(env))


def _case_groups(env: dict) -> frozenset:
    groups = env.get("$$groups")
    if groups is None:
        groups = frozenset().union(*(d.groups for d in env.get("diseases", ())))
        env["$$groups"] = groups
    return groups


def _case_ids(env: dict) -> frozenset:
    ids = env.get("$$ids")
    if ids is None:
        ids = frozenset(d.id for d in env.get("diseases", ()))
        env["$$ids"] = ids
    return ids


def _did_you_mean(name: str, choices) -> str | None:
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


def _unary(fn: Closure, impl) -> Closure:
    def call(env):
        v = fn(env)
        return v if v is UNDEFINED else impl(v)

    return call


def _binary(lf: Closure, rf: Closure, impl) -> Closure:
    def call(env):
        a = lf(env)
        if a is UNDEFINED:
            return a
        b = rf(env)
        if b is UNDEFINED:
            return b
        return impl(a, b)

    return call


def _cmp_const(a, const, op):
    return a if a is UNDEFINED else op(a, const)


def _eq(a, b):
    return a == b


def _ne(a, b):
    return a != b


def _lt(a, b):
    return a < b


def _le(a, b):
    return a <= b


def _gt(a, b):
    return a > b


def _ge(a, b):
    return a >= b


_OPS = {
    "==": _eq,
    "!=": _ne,
    "<": _lt,
    "<=": _le,
    ">": _gt,
    ">=": _ge,
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
}
_VERB = {"+": "add", "-": "subtract", "*": "multiply"}
