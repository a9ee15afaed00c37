"""Syntax tree → typed IR, once, when a pack loads.

One recursive pass checks each node against the case schema and the pack's
catalogues and lowers it to the IR of mtbrules.ir, every operator taken from
the one table of mtbrules.primitives. The generated code of mtbrules.codegen
runs it; mtbrules.reference interprets it the slow, obvious way, as the
oracle of the differential test. Nothing here evaluates pack text as Python.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable

import attrs

from . import analysis, codegen, ir
from . import nodes as n
from . import workdays as wd
from .diagnostics import Diagnostic, Location
from .dsltypes import (
    ANY,
    BOOL,
    DATE,
    DISEASE,
    DISEASE_FIELDS,
    DURATION,
    INT,
    NUMBER,
    NUMERIC,
    STRING,
    UNDEFINED,
    Type,
    enum,
    list_of,
)
from .errors import PackError
from .ir import Compiled
from .primitives import FUNCTION_NAMES, FUNCTIONS

# The names other modules and tests import from here (the compiler's public face).
__all__ = [
    "ANY",
    "BOOL",
    "DATE",
    "DISEASE",
    "DISEASE_FIELDS",
    "DURATION",
    "FUNCTION_NAMES",
    "INT",
    "NUMBER",
    "STRING",
    "UNDEFINED",
    "Compiled",
    "Scope",
    "Type",
    "compile_expression",
    "did_you_mean",
    "disease_shortcut",
    "enum",
    "list_of",
]

disease_shortcut = analysis.disease_shortcut


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


Locate = Callable[[int, int], Location]


def compile_expression(
    node: n.Node, scope: Scope, locate: Locate, expect: Type | None = None
) -> Compiled:
    """Check and compile `node`; PackError (MTB3xx) at the node's position."""
    comp = _Compiler(scope, locate)
    type_, expr = comp.compile(node)
    if expect is not None and not expect.same_kind(type_):
        raise comp.error(node, "MTB302", f"expected a {expect} expression, got {type_}")
    conditions: dict[int, ir.Evaluator] = {
        id(choice.site): codegen.lazy_function(choice.cond, scope.calendar)
        for choice in ir.walk(expr)
        if isinstance(choice, ir.Choose)
    }
    return Compiled(
        type_,
        expr,
        analysis.fields_read(expr),
        node,
        analysis.needs(expr),
        conditions,
        codegen.lazy_function(expr, scope.calendar),
    )


def did_you_mean(name: str, choices) -> str | None:
    """A hint naming the closest of `choices`, if one is close."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


# ---------------------------------------------------------------- compiler


class _Compiler:
    def __init__(self, scope: Scope, locate: Locate):
        self.scope = scope
        self.locate = locate

    def error(self, node: n.Node, code: str, message: str, hint: str | None = None) -> PackError:
        return PackError.from_diagnostics(
            [Diagnostic(code, message, self.locate(node.line, node.col), hint=hint)]
        )

    def compile(self, node: n.Node) -> tuple[Type, ir.Expr]:
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
        return t, ir.Const(t, v)

    def _Duration(self, node: n.Duration):
        return DURATION, ir.Const(DURATION, (node.amount, node.unit))

    def _Name(self, node: n.Name):
        name = node.name
        if name in self.scope.locals:
            t = self.scope.locals[name]
            return t, ir.Local(t, name)
        if name in self.scope.fields:
            t = self.scope.fields[name]
            return t, ir.Field(t, name)
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
        raise self.error(node, "MTB301", f"unknown name '{name}'", hint=did_you_mean(name, known))

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
                    hint=did_you_mean(node.name, fields),
                )
            t = fields[node.name]
            return t, ir.Field(t, analysis.object_key(obj, node.name))
        t, operand = self.compile(node.operand)
        if t != DISEASE:
            raise self.error(node, "MTB302", f"a {t} has no fields")
        if node.name not in DISEASE_FIELDS:
            raise self.error(
                node,
                "MTB301",
                f"a disease has no field '{node.name}'",
                hint=did_you_mean(node.name, DISEASE_FIELDS),
            )
        t = DISEASE_FIELDS[node.name]
        return t, ir.Member(t, operand, node.name)

    def _ListLit(self, node: n.ListLit):
        if not node.items:
            t = list_of(ANY)
            return t, ir.Const(t, ())
        compiled = [self.compile(item) for item in node.items]
        first = compiled[0][0]
        for (t, _), item in zip(compiled, node.items):
            if not t.same_kind(first):
                raise self.error(item, "MTB302", f"list items must share one type: {first} and {t}")
        t = list_of(first)
        if all(isinstance(i, n.Literal) for i in node.items):
            return t, ir.Const(t, frozenset(i.value for i in node.items))  # type: ignore[attr-defined]
        return t, ir.Items(t, tuple(e for _, e in compiled))

    # -- operators

    def _Not(self, node: n.Not):
        t, operand = self.compile(node.operand)
        self._want(node.operand, t, BOOL, "not")
        return BOOL, ir.Apply(BOOL, "not", (operand,))

    def _Neg(self, node: n.Neg):
        t, operand = self.compile(node.operand)
        if t.name not in NUMERIC:
            raise self.error(node, "MTB302", f"cannot negate a {t}")
        return t, ir.Apply(t, "neg", (operand,))

    def _BoolOp(self, node: n.BoolOp):
        lt, left = self.compile(node.left)
        rt, right = self.compile(node.right)
        self._want(node.left, lt, BOOL, node.op)
        self._want(node.right, rt, BOOL, node.op)
        return BOOL, ir.Logic(BOOL, node.op, left, right)

    def _Compare(self, node: n.Compare):
        if node.op in ("in", "not in"):
            return self._membership(node)
        lt, left = self.compile(node.left)
        rt, right = self.compile(node.right)
        if not lt.same_kind(rt):
            raise self.error(node, "MTB302", f"cannot compare {lt} with {rt}")
        if node.op not in ("==", "!=") and lt.name not in ("int", "number", "date", "string"):
            raise self.error(node, "MTB302", f"'{node.op}' does not order {lt} values")
        if lt.name in ("list", "disease", "duration"):
            raise self.error(node, "MTB302", f"cannot compare {lt} values with '{node.op}'")
        self._check_vocab(node.left, lt, node.right)
        self._check_vocab(node.right, rt, node.left)
        return BOOL, ir.Apply(BOOL, node.op, (left, right))

    def _membership(self, node: n.Compare):
        lt, left = self.compile(node.left)
        rt, right = self.compile(node.right)
        if rt.name != "list":
            raise self.error(
                node.right, "MTB302", f"'{node.op}' needs a list on its right, got {rt}"
            )
        assert rt.item is not None  # a list type has an item type
        if not lt.same_kind(rt.item):
            raise self.error(node, "MTB302", f"cannot look for a {lt} in a {rt}")
        self._check_vocab(node.right, rt, node.left, rt.item)  # "literal" in a catalogue-typed list
        self._check_vocab(node.left, lt, node.right)  # a catalogue-typed value in ["literal", …]
        return BOOL, ir.Apply(BOOL, node.op, (left, right))

    def _Arith(self, node: n.Arith):
        lt, left = self.compile(node.left)
        rt, right = self.compile(node.right)
        op = node.op
        if lt == DATE and rt == DURATION and op in "+-":
            if not isinstance(node.right, n.Duration):
                raise self.error(
                    node.right,
                    "MTB302",
                    "a duration must be written as a literal, e.g. 7 working_days",
                )
            amount = node.right.amount if op == "+" else -node.right.amount
            return DATE, ir.Shift(DATE, left, node.right.unit, amount)
        if lt == DATE and rt == DATE and op == "-":
            return INT, ir.Apply(INT, "days_between", (left, right))
        if lt.name in NUMERIC and rt.name in NUMERIC:
            result = INT if lt == INT and rt == INT else NUMBER
            return result, ir.Apply(result, op, (left, right))
        raise self.error(node, "MTB302", f"cannot {_VERB[op]} {lt} and {rt}")

    def _If(self, node: n.If):
        ct, cond = self.compile(node.cond)
        self._want(node.cond, ct, BOOL, "if")
        tt, then = self.compile(node.then)
        et, otherwise = self.compile(node.otherwise)
        if not tt.same_kind(et):
            raise self.error(node, "MTB302", f"'then' gives {tt} but 'else' gives {et}")
        t = tt if tt.name != "any" else et
        return t, ir.Choose(t, cond, then, otherwise, node)

    def _Quantifier(self, node: n.Quantifier):
        st, seq = self.compile(node.seq)
        if st.name != "list":
            raise self.error(node.seq, "MTB302", f"'{node.kind}' ranges over a list, got {st}")
        if node.var in self.scope.fields or node.var in self.scope.objects:
            raise self.error(node, "MTB306", f"quantifier variable '{node.var}' hides a case field")
        assert st.item is not None  # a list type has an item type
        inner = _Compiler(self.scope.with_local(node.var, st.item), self.locate)
        bt, body = inner.compile(node.body)
        self._want(node.body, bt, BOOL, node.kind)
        shortcut = analysis.disease_shortcut(node)
        if shortcut is not None:
            return BOOL, ir.HasDisease(BOOL, *shortcut)
        return BOOL, ir.Quantify(BOOL, node.kind, node.var, seq, body)

    def _Call(self, node: n.Call):
        name = node.func
        if name == "defined":
            return self._defined(node)
        if name == "len":
            self._arity(node, 1)
            t, seq = self.compile(node.args[0])
            if t.name != "list":
                raise self.error(node.args[0], "MTB302", f"len() takes a list, got {t}")
            return INT, ir.Apply(INT, "len", (seq,))
        if name in ("min", "max"):
            self._arity(node, 2)
            (at, a), (bt, b) = self.compile(node.args[0]), self.compile(node.args[1])
            if not at.same_kind(bt) or at.name not in ("int", "number", "date"):
                raise self.error(
                    node, "MTB302", f"{name}() takes two numbers or two dates, got {at} and {bt}"
                )
            return at, ir.Apply(at, name, (a, b))
        prim = FUNCTIONS.get(name)
        if prim is None:
            raise self.error(
                node,
                "MTB304",
                f"unknown function '{name}'",
                hint=did_you_mean(name, FUNCTION_NAMES),
            )
        assert prim.params is not None and prim.result is not None
        self._arity(node, len(prim.params))
        args = []
        for arg, want in zip(node.args, prim.params):
            t, lowered = self.compile(arg)
            if not want.same_kind(t) or (want == INT and t == NUMBER):
                raise self.error(arg, "MTB302", f"{name}() expects a {want} here, got {t}")
            args.append(lowered)
        return prim.result, ir.Apply(prim.result, name, tuple(args))

    def _defined(self, node: n.Call):
        self._arity(node, 1)
        arg = node.args[0]
        if not isinstance(arg, (n.Name, n.Attr)):
            raise self.error(arg, "MTB302", "defined() takes a case field")
        _, expr = self.compile(arg)  # checks the name; only its key is kept
        if not isinstance(expr, ir.Field):
            raise self.error(arg, "MTB302", "defined() takes a case field")
        return BOOL, ir.Defined(BOOL, expr.key)

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
                    hint=did_you_mean(lit.value, allowed)
                    or "allowed: " + ", ".join(sorted(allowed)[:12]),
                )


_VERB = {"+": "add", "-": "subtract", "*": "multiply"}
