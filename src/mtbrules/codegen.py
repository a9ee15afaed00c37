"""Checked syntax trees → one generated Python function per service, for speed.

The closures of `compiler` implement the language exactly, undefined values
included, but cost a Python call per node. Most cases give every field a rule
needs, and then Kleene logic is plain Python logic. So for each service we
generate one function that reads the case's fields into locals once and, per
rule, evaluates the condition as a plain Python expression when every field it
needs is present, and falls back to the rule's closure otherwise.

The generated source holds only identifiers this module makes: every literal
and every function is passed in through the namespace (`_k3`, `_f2`), so no
text of the pack ever reaches `compile()`. The source is registered in
linecache under a readable name so tracebacks show it.
"""

from __future__ import annotations

import datetime as _dt
import linecache
from collections.abc import Callable

from . import nodes as n
from .compiler import (
    _CALENDAR_FUNCTIONS,
    _FUNCTIONS,
    UNDEFINED,
    _case_groups,
    _case_ids,
    _defined_key,
    _duration_adder,
    disease_shortcut,
)
from .model import Rule

Runner = Callable[[dict], tuple]


class _Unsupported(Exception):
    """A construct with no plain-Python form: the rule keeps its closure."""


class _Gen:
    def __init__(self, calendar):
        self.calendar = calendar
        self.namespace: dict = {
            "_U": UNDEFINED,
            "_groups": _case_groups,
            "_ids": _case_ids,
            "len": len,
            "min": min,
            "max": max,
            "any": any,
            "all": all,
            "_minus": _minus,
            "_kleene_any": _kleene_any,
            "_kleene_all": _kleene_all,
        }
        self.fields: dict[str, str] = {}  # field key -> local name
        self.uses_groups = False
        self.uses_ids = False
        self._constants: dict = {}

    def const(self, value) -> str:
        key = (type(value), value)  # the type too: 1, 1.0 and True are equal keys
        name = self._constants.get(key)
        if name is None:
            name = f"_k{len(self._constants)}"
            self._constants[key] = name
            self.namespace[name] = value
        return name

    def bind(self, obj) -> str:
        name = f"_f{len(self.namespace)}"
        self.namespace[name] = obj
        return name

    def field(self, key: str) -> str:
        name = self.fields.get(key)
        if name is None:
            name = f"v{len(self.fields)}"
            self.fields[key] = name
        return name

    def expr(self, node: n.Node, local: frozenset = frozenset()) -> str:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise _Unsupported(type(node).__name__)
        return method(node, local)

    def _Literal(self, node, local):
        return self.const(node.value)

    def _Name(self, node, local):
        if node.name in local:
            return "q_" + node.name
        return self.field(node.name)

    def _Attr(self, node, local):
        if isinstance(node.operand, n.Name) and node.operand.name not in local:
            return self.field(f"{node.operand.name}.{node.name}")
        return f"{self.expr(node.operand, local)}.{node.name}"

    def _ListLit(self, node, local):
        if all(isinstance(i, n.Literal) for i in node.items):
            return self.const(frozenset(i.value for i in node.items))
        return "(" + "".join(self.expr(i, local) + ", " for i in node.items) + ")"

    def _Not(self, node, local):
        return f"(not {self.expr(node.operand, local)})"

    def _Neg(self, node, local):
        return f"(-{self.expr(node.operand, local)})"

    def _BoolOp(self, node, local):
        return f"({self.expr(node.left, local)} {node.op} {self.expr(node.right, local)})"

    def _Compare(self, node, local):
        return f"({self.expr(node.left, local)} {node.op} {self.expr(node.right, local)})"

    def _Arith(self, node, local):
        if isinstance(node.right, n.Duration):
            amount = node.right.amount if node.op == "+" else -node.right.amount
            adder = self.bind(_duration_adder(node.right.unit, amount, self.calendar))
            return f"{adder}({self.expr(node.left, local)})"
        left, right = self.expr(node.left, local), self.expr(node.right, local)
        if node.op == "-":
            # date - date is a number of days; the helper keeps numbers as they are.
            return f"_minus({left}, {right})"
        return f"({left} {node.op} {right})"

    def _If(self, node, local):
        return f"({self.expr(node.then, local)} if {self.expr(node.cond, local)} else {self.expr(node.otherwise, local)})"

    def _Quantifier(self, node, local):
        body = node.body
        if "diseases" not in local:
            shortcut = disease_shortcut(node)
            if shortcut is not None:
                kind, value = shortcut
                # The case's groups and ids are computed once, at the top of the function.
                if kind == "group":
                    self.uses_groups = True
                    return f"({self.const(value)} in case_groups)"
                self.uses_ids = True
                if kind == "id":
                    return f"({self.const(value)} in case_ids)"
                return f"(not {self.const(value)}.isdisjoint(case_ids))"
        inner = local | {node.var}
        return f"{node.kind}({self.expr(body, inner)} for q_{node.var} in {self.expr(node.seq, local)})"

    def _Call(self, node, local):
        if node.func == "defined":
            key = _defined_key(node, _NoLocals(local))
            if key is None:
                raise _Unsupported("defined")
            return f"({self.field(key)} is not _U)"
        args = ", ".join(self.expr(a, local) for a in node.args)
        if node.func in ("len", "min", "max"):
            return f"{node.func}({args})"
        if node.func in _FUNCTIONS:
            return f"{self.bind(_FUNCTIONS[node.func][2])}({args})"
        if node.func in _CALENDAR_FUNCTIONS:
            return f"{self.bind(_CALENDAR_FUNCTIONS[node.func][2](self.calendar))}({args})"
        raise _Unsupported(node.func)


class _NoLocals:
    """Adapter: `_defined_key` asks the scope which names are locals."""

    def __init__(self, local):
        self.locals = local


class _KleeneGen:
    """The same trees as Python that keeps undefined values (`_U`) exactly as the closures do.

    Used when a field a rule needs is absent. Temporaries (`t0 := …`) keep
    every operand evaluated once and in the closures' order, short-circuits
    included.
    """

    def __init__(self, plain: _Gen):
        self.plain = plain
        self.count = 0

    def tmp(self) -> str:
        self.count += 1
        return f"t{self.count}"

    def expr(self, node: n.Node, local: frozenset = frozenset()) -> str:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise _Unsupported(type(node).__name__)
        return method(node, local)

    def _Literal(self, node, local):
        return self.plain._Literal(node, local)

    def _Name(self, node, local):
        return self.plain._Name(node, local)

    def _Attr(self, node, local):
        if isinstance(node.operand, n.Name) and node.operand.name not in local:
            return self.plain._Attr(node, local)
        return f"{self.expr(node.operand, local)}.{node.name}"

    def _ListLit(self, node, local):
        if all(isinstance(i, n.Literal) for i in node.items):
            return self.plain._ListLit(node, local)
        raise _Unsupported("list")

    def _Not(self, node, local):
        t = self.tmp()
        return f"(_U if ({t} := {self.expr(node.operand, local)}) is _U else not {t})"

    def _Neg(self, node, local):
        t = self.tmp()
        return f"(_U if ({t} := {self.expr(node.operand, local)}) is _U else -{t})"

    def _BoolOp(self, node, local):
        a, b = self.tmp(), self.tmp()
        left, right = self.expr(node.left, local), self.expr(node.right, local)
        stop = "False" if node.op == "and" else "True"
        return (
            f"({stop} if ({a} := {left}) is {stop} else ({stop} if ({b} := {right}) is {stop} "
            f"else (_U if {a} is _U or {b} is _U else {'True' if node.op == 'and' else 'False'})))"
        )

    def _binary(self, left, right, combine):
        a, b = self.tmp(), self.tmp()
        return f"(_U if ({a} := {left}) is _U or ({b} := {right}) is _U else {combine(a, b)})"

    def _Compare(self, node, local):
        op = node.op
        return self._binary(
            self.expr(node.left, local),
            self.expr(node.right, local),
            lambda a, b: f"({a} {op} {b})",
        )

    def _Arith(self, node, local):
        if isinstance(node.right, n.Duration):
            amount = node.right.amount if node.op == "+" else -node.right.amount
            adder = self.plain.bind(_duration_adder(node.right.unit, amount, self.plain.calendar))
            t = self.tmp()
            return f"(_U if ({t} := {self.expr(node.left, local)}) is _U else {adder}({t}))"
        op = node.op
        combine = (
            (lambda a, b: f"_minus({a}, {b})") if op == "-" else (lambda a, b: f"({a} {op} {b})")
        )
        return self._binary(self.expr(node.left, local), self.expr(node.right, local), combine)

    def _If(self, node, local):
        t = self.tmp()
        cond, then, other = (
            self.expr(node.cond, local),
            self.expr(node.then, local),
            self.expr(node.otherwise, local),
        )
        return f"(_U if ({t} := {cond}) is _U else ({then} if {t} else {other}))"

    def _Quantifier(self, node, local):
        if "diseases" not in local and disease_shortcut(node) is not None:
            return self.plain._Quantifier(node, local)
        t = self.tmp()
        body = self.expr(node.body, local | {node.var})
        helper = "_kleene_any" if node.kind == "any" else "_kleene_all"
        return f"(_U if ({t} := {self.expr(node.seq, local)}) is _U else {helper}([{body} for q_{node.var} in {t}]))"

    def _Call(self, node, local):
        if node.func == "defined":
            return self.plain._Call(node, local)
        args = [self.expr(a, local) for a in node.args]
        temps = [self.tmp() for _ in args]
        if node.func in ("len", "min", "max"):
            fn = node.func
        elif node.func in _FUNCTIONS:
            fn = self.plain.bind(_FUNCTIONS[node.func][2])
        elif node.func in _CALENDAR_FUNCTIONS:
            fn = self.plain.bind(_CALENDAR_FUNCTIONS[node.func][2](self.plain.calendar))
        else:
            raise _Unsupported(node.func)
        test = " or ".join(f"({t} := {a}) is _U" for t, a in zip(temps, args))
        return f"(_U if {test} else {fn}({', '.join(temps)}))"


def _kleene_any(values):
    undecided = False
    for v in values:
        if v is True:
            return True
        if v is UNDEFINED:
            undecided = True
    return UNDEFINED if undecided else False


def _kleene_all(values):
    undecided = False
    for v in values:
        if v is False:
            return False
        if v is UNDEFINED:
            undecided = True
    return UNDEFINED if undecided else True


def _minus(a, b):
    diff = a - b
    return diff.days if isinstance(diff, _dt.timedelta) else diff


def build_runner(name: str, rules: tuple[Rule, ...], calendar) -> Runner:
    """One function `(env, version) -> results` for `rules`, in order.

    Each result is True, False or UNDEFINED, or None for a rule scoped to
    other versions than `version` (its condition is not evaluated).
    """
    gen = _Gen(calendar)
    kleene = _KleeneGen(gen)
    lines = []
    for i, rule in enumerate(rules):
        if rule.when is None:
            lines.append(f"    r{i} = True")
            continue
        closure = gen.bind(rule.when.fn)
        try:
            value = gen.expr(rule.when.node)
            # The evaluator always sets these two; only case fields can be absent.
            needs = sorted(rule.when.needs - {"diseases", "materials"})
            if needs:
                present = " and ".join(f"{gen.field(k)} is not _U" for k in needs)
                try:
                    otherwise = kleene.expr(rule.when.node)
                except _Unsupported:
                    otherwise = f"{closure}(env)"
                value = f"({value}) if ({present}) else {otherwise}"
        except _Unsupported:
            value = f"{closure}(env)"
        if rule.versions is not None:
            value = f"({value}) if version in {gen.const(frozenset(rule.versions))} else None"
        lines.append(f"    r{i} = {value}")
    head = ["def run(env, version):", "    get = env.get"]
    if gen.uses_groups:
        head.append("    case_groups = _groups(env)")
    if gen.uses_ids:
        head.append("    case_ids = _ids(env)")
    head += [f"    {local} = get({gen.const(key)}, _U)" for key, local in gen.fields.items()]
    tail = ["    return (" + "".join(f"r{i}, " for i in range(len(rules))) + ")"]
    source = "\n".join(head + lines + tail) + "\n"
    filename = f"<mtbrules conditions {name}>"
    try:
        code = compile(source, filename, "exec")
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        # Nesting deep enough to exceed CPython's parser limits: the closures compute the same.
        return _closure_runner(rules)
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = dict(gen.namespace)
    exec(code, namespace)  # noqa: S102 - generated from the checked tree; no pack text is in `source`
    run = namespace["run"]
    run.source = source
    return run


def _closure_runner(rules: tuple[Rule, ...]) -> Runner:
    """The same results as a generated function, from the rules' closures."""

    def run(env, version):
        return tuple(
            None
            if rule.versions is not None and version not in rule.versions
            else True
            if rule.when is None
            else rule.when.fn(env)
            for rule in rules
        )

    run.source = None
    return run
