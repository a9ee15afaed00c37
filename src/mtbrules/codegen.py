"""The IR → Python source, compiled once per service (and per expression, on first use).

Generated code is the engine's one executor. Most cases give every field a
rule needs, and then Kleene logic is plain Python logic: so each condition is
written twice, as a plain Python expression used when every field it needs is
present, and as an undefined-aware one (`_U` propagated exactly as
docs/dsl.md says; temporaries `t0 := …` keep each operand evaluated once, in
order, short-circuits included). Both read the primitives of the one table
(mtbrules.primitives).

The source holds only identifiers this module makes: every literal, field key
and function travels through the namespace (`_k3`, `_f2`), so no text of the
pack ever reaches `compile()`. The source is registered in linecache under a
readable name so tracebacks show it. Source nested deeper than CPython
compiles falls back to the reference interpreter (mtbrules.reference).
"""

from __future__ import annotations

import linecache
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from . import analysis, ir, presence, reference
from . import workdays as wd
from .dsltypes import UNDEFINED
from .primitives import PRIMITIVES, case_groups, case_ids, kleene_all, kleene_any, shifter

Runner = Callable[[Mapping[str, Any], str], tuple]
UNCOMPILABLE = (SyntaxError, RecursionError, MemoryError, ValueError)


class Gen:
    """One generated module: its namespace of constants and functions, and the fields it reads."""

    def __init__(self, calendar: wd.WorkingCalendar, absent: frozenset[str] | None = None):
        self.calendar = calendar
        # Specialised to one pattern of present fields (mtbrules.presence): the fields in
        # `absent` are undefined, every other field read is present. None: any may be absent.
        self.absent = absent
        self.namespace: dict[str, Any] = {
            "_U": UNDEFINED,
            "_groups": case_groups,
            "_ids": case_ids,
            "_kany": kleene_any,
            "_kall": kleene_all,
            "len": len,
            "min": min,
            "max": max,
            "any": any,
            "all": all,
        }
        self.fields: dict[str, str] = {}  # field key -> local name
        self.uses_groups = False
        self.uses_ids = False
        self._constants: dict = {}
        self._bound: dict = {}
        self._temps = 0
        self._vars = 0

    # -- names

    def const(self, value: Any) -> str:
        key = (type(value), value)  # the type too: 1, 1.0 and True are equal keys
        name = self._constants.get(key)
        if name is None:
            name = f"_k{len(self._constants)}"
            self._constants[key] = name
            self.namespace[name] = value
        return name

    def bind(self, obj: Any, key: Any = None) -> str:
        """A namespace name for `obj`; the same `key` gives the same name."""
        if key is not None and key in self._bound:
            return self._bound[key]
        name = f"_f{len(self.namespace)}"
        self.namespace[name] = obj
        if key is not None:
            self._bound[key] = name
        return name

    def field(self, key: str) -> str:
        if self.absent is not None and key in self.absent:
            return "_U"
        name = self.fields.get(key)
        if name is None:
            name = f"v{len(self.fields)}"
            self.fields[key] = name
        return name

    def tmp(self) -> str:
        self._temps += 1
        return f"t{self._temps}"

    def var(self) -> str:
        self._vars += 1
        return f"q{self._vars}"

    def prim(self, name: str) -> str:
        return self.bind(PRIMITIVES[name].bind(self.calendar), ("prim", name))

    def shift(self, unit: str, amount: int) -> str:
        return self.bind(shifter(unit, amount, self.calendar), ("shift", unit, amount))

    # -- the two forms

    def plain(self, e: ir.Expr, scope: Mapping[str, str]) -> str:
        """`e` as plain Python: exact when no field it needs is absent."""
        if isinstance(e, ir.Const):
            if e.value is UNDEFINED or isinstance(e.value, bool):
                return {UNDEFINED: "_U", True: "True", False: "False"}[e.value]
            return self.const(e.value)
        if isinstance(e, ir.Field):
            return self.field(e.key)
        if isinstance(e, ir.Local):
            return scope[e.name]
        if isinstance(e, ir.Defined):
            return f"({self.field(e.key)} is not _U)"
        if isinstance(e, ir.Member):
            return f"{self.plain(e.operand, scope)}.{_member(e.name)}"
        if isinstance(e, ir.Items):
            return "(" + "".join(self.plain(i, scope) + ", " for i in e.items) + ")"
        if isinstance(e, ir.Apply):
            args = [self.plain(a, scope) for a in e.args]
            template = PRIMITIVES[e.prim].template
            if template is not None:
                return template.format(*args)
            return f"{self.prim(e.prim)}({', '.join(args)})"
        if isinstance(e, ir.Shift):
            return f"{self.shift(e.unit, e.amount)}({self.plain(e.operand, scope)})"
        if isinstance(e, ir.Logic):
            return f"({self.plain(e.left, scope)} {e.op} {self.plain(e.right, scope)})"
        if isinstance(e, ir.Choose):
            return (
                f"({self.plain(e.then, scope)} if {self.plain(e.cond, scope)} "
                f"else {self.plain(e.otherwise, scope)})"
            )
        if isinstance(e, ir.Quantify):
            q = self.var()
            body = self.plain(e.body, {**scope, e.var: q})
            seq = self.plain(e.seq, scope)
            return self._one_or_all(e, seq, f"{e.kind}({body} for {q} in {seq})", scope, False)
        if isinstance(e, ir.HasDisease):
            return self._has_disease(e)
        raise TypeError(f"not an IR node: {e!r}")

    def kleene(self, e: ir.Expr, scope: Mapping[str, str]) -> str:
        """`e` as Python that keeps undefined values exactly as docs/dsl.md says."""
        if isinstance(e, ir.Field) or self.never_undefined(e):
            # Reads no case field (or only tests one): never undefined, so plain is exact.
            return self.plain(e, scope)
        if isinstance(e, ir.Const):  # the undefined constant of a specialised expression
            return "_U"
        if isinstance(e, ir.Member):
            return f"{self.kleene(e.operand, scope)}.{_member(e.name)}"
        if isinstance(e, ir.Items):
            operands = self._operands(e.items, scope)
            return self._strict(operands, "(" + "".join(t + ", " for _, t in operands) + ")")
        if isinstance(e, ir.Apply):
            operands = self._operands(e.args, scope)
            names = [t for _, t in operands]
            template = PRIMITIVES[e.prim].template
            if template is not None:
                value = template.format(*names)
            else:
                value = f"{self.prim(e.prim)}({', '.join(names)})"
            return self._strict(operands, value)
        if isinstance(e, ir.Shift):
            operands = self._operands((e.operand,), scope)
            return self._strict(operands, f"{self.shift(e.unit, e.amount)}({operands[0][1]})")
        if isinstance(e, ir.Logic):
            a, b = self.tmp(), self.tmp()
            left, right = self.kleene(e.left, scope), self.kleene(e.right, scope)
            stop = "False" if e.op == "and" else "True"
            other = "True" if e.op == "and" else "False"
            return (
                f"({stop} if ({a} := {left}) is {stop} else ({stop} if ({b} := {right}) is {stop} "
                f"else (_U if {a} is _U or {b} is _U else {other})))"
            )
        if isinstance(e, ir.Choose):
            then, other = self.kleene(e.then, scope), self.kleene(e.otherwise, scope)
            if self.never_undefined(e.cond):
                return f"({then} if {self.plain(e.cond, scope)} else {other})"
            t = self.tmp()
            cond = self.kleene(e.cond, scope)
            return f"(_U if ({t} := {cond}) is _U else ({then} if {t} else {other}))"
        if isinstance(e, ir.Quantify):
            q = self.var()
            body = self.kleene(e.body, {**scope, e.var: q})
            helper = "_kany" if e.kind == "any" else "_kall"
            if self.never_undefined(e.seq):
                seq = self.plain(e.seq, scope)
                return self._one_or_all(e, seq, f"{helper}({body} for {q} in {seq})", scope, True)
            t = self.tmp()
            seq = self.kleene(e.seq, scope)
            return f"(_U if ({t} := {seq}) is _U else {helper}({body} for {q} in {t}))"
        raise TypeError(f"not an IR node: {e!r}")

    def _one_or_all(
        self, e: ir.Quantify, seq: str, every: str, scope: Mapping[str, str], kleene: bool
    ) -> str:
        """A quantifier over a local list (the case's diseases): its one item's body inline.

        Most cases name one disease, and `any`/`all` of one value is that value
        (undefined included), so the body runs without a generator.
        """
        if not seq.isidentifier() or any(isinstance(x, ir.Quantify) for x in ir.walk(e.body)):
            return every  # nested quantifiers would double the source at each level
        first = {**scope, e.var: f"{seq}[0]"}
        body = self.kleene(e.body, first) if kleene else self.plain(e.body, first)
        return f"({body} if len({seq}) == 1 else {every})"

    def _operands(
        self, exprs: Sequence[ir.Expr], scope: Mapping[str, str]
    ) -> list[tuple[str | None, str]]:
        """Per operand: the code to test (None: it is never undefined) and the name to use."""
        out: list[tuple[str | None, str]] = []
        for x in exprs:
            if isinstance(x, ir.Field):
                name = self.field(x.key)  # a local already: tested, never re-evaluated
                out.append((name, name))
            elif self.never_undefined(x):
                out.append((None, self.plain(x, scope)))
            else:
                out.append((self.kleene(x, scope), self.tmp()))
        return out

    def _strict(self, operands: Sequence[tuple[str | None, str]], value: str) -> str:
        """`value` unless an operand is undefined; operands evaluated once, in order."""
        tests = []
        for code, name in operands:
            if code is None:
                continue
            tests.append(f"{name} is _U" if code == name else f"({name} := {code}) is _U")
        if not tests:
            return value
        return f"(_U if {' or '.join(tests)} else {value})"

    def _has_disease(self, e: ir.HasDisease) -> str:
        # The case's groups and ids are computed once, at the top of the function.
        if e.kind == "group":
            self.uses_groups = True
            return f"({self.const(e.value)} in case_groups)"
        self.uses_ids = True
        if e.kind == "id":
            return f"({self.const(e.value)} in case_ids)"
        return f"(not {self.const(e.value)}.isdisjoint(case_ids))"

    def never_undefined(self, e: ir.Expr) -> bool:
        """`e`'s value is never undefined (specialised: no undefined constant is left in it)."""
        if self.absent is not None:
            return not presence.holds_undefined(e)
        return _never_undefined(e)

    def value(self, e: ir.Expr, needs: frozenset[str], scope: Mapping[str, str]) -> str:
        """Plain when every field `e` needs is present, else undefined-aware.

        Specialised (`absent` given), which fields are present is known: the
        expression is folded for them (mtbrules.presence) and written once.
        """
        if self.absent is not None:
            folded = presence.specialise(e, self.absent)
            if presence.holds_undefined(folded):
                return self.kleene(folded, scope)
            return self.plain(folded, scope)
        plain = self.plain(e, scope)
        needed = sorted(analysis.present_test(needs))
        if not needed:
            return plain
        present = " and ".join(f"{self.field(k)} is not _U" for k in needed)
        return f"({plain}) if ({present}) else {self.kleene(e, scope)}"

    def prologue(self) -> list[str]:
        """The lines reading the case: its fields into locals, its groups and ids once."""
        head = ["    get = env.get"]
        if self.uses_groups or self.uses_ids:
            head.append(f"    case_diseases = get({self.const('diseases')}, ())")
        if self.uses_groups:
            head.append("    case_groups = _groups(case_diseases)")
        if self.uses_ids:
            head.append("    case_ids = _ids(case_diseases)")
        head += [f"    {local} = get({self.const(key)}, _U)" for key, local in self.fields.items()]
        return head

    def load(self, source: str, filename: str, entry: str) -> Callable[..., Any]:
        """Compile and run the module's source; its function `entry`. Raises UNCOMPILABLE."""
        fn = self.load_module(source, filename)[entry]
        fn.source = source
        return fn

    def load_module(self, source: str, filename: str) -> dict[str, Any]:
        """Compile and run the module's source; its namespace. Raises UNCOMPILABLE."""
        code = compile(source, filename, "exec")
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        namespace = dict(self.namespace)
        exec(code, namespace)  # noqa: S102 - generated from the checked IR; no pack text is in `source`
        return namespace


def _never_undefined(e: ir.Expr) -> bool:
    """Reads no case field (or only tests one): its value is never UNDEFINED."""
    return isinstance(e, (ir.Defined, ir.HasDisease)) or not analysis.fields_read(e)


def _member(name: str) -> str:
    # The compiler admits only the disease fields of dsltypes.DISEASE_FIELDS.
    if name not in ("id", "name", "no", "groups"):
        raise TypeError(f"not a disease field: {name!r}")
    return name


# ---------------------------------------------------------------- the condition runner


def condition_lines(gen: Gen, rules: Sequence[Any]) -> list[str]:
    """Lines setting r0, r1, …: each rule's condition (None when scoped to other versions)."""
    lines = []
    for i, rule in enumerate(rules):
        if rule.when is None:
            lines.append(f"    r{i} = True")
            continue
        value = gen.value(rule.when.ir, rule.when.needs, {})
        if rule.versions is not None:
            value = f"({value}) if version in {gen.const(frozenset(rule.versions))} else None"
        lines.append(f"    r{i} = {value}")
    return lines


def _results(rules: Sequence[Any]) -> str:
    return "(" + "".join(f"r{i}, " for i in range(len(rules))) + ")"


def build_runner(name: str, rules: Sequence[Any], calendar: wd.WorkingCalendar) -> Runner:
    """One function `(env, version) -> results` for `rules`, in order.

    Each result is True, False or UNDEFINED, or None for a rule scoped to
    other versions than `version` (its condition is not evaluated).
    """
    try:
        gen = Gen(calendar)
        lines = condition_lines(gen, rules)
        tail = [f"    return {_results(rules)}"]
        source = "\n".join(["def run(env, version):", *gen.prologue(), *lines, *tail]) + "\n"
        return gen.load(source, f"<mtbrules conditions {name}>", "run")
    except UNCOMPILABLE:
        return _reference_runner(rules, calendar)


Firing = Callable[[Mapping[str, Any], str], tuple[list, list]]

#: From this many rules gated by a disease test, firing looks the case's diseases up in an
#: index instead of testing every rule: a pack's cost then grows with the rules that apply.
GATE_MIN = 64


def gate_of(rule: Any) -> tuple[str, Any] | None:
    """("group", g) / ("id", x) / ("ids", {…}) when the rule holds only for a case with that disease.

    The condition is a disease shortcut, or an `and` whose leftmost operand is
    one: a False shortcut makes the whole False (never undefined). Rules scoped
    to versions are not gated (their result is None out of scope).
    """
    if rule.when is None or rule.versions is not None:
        return None
    e = rule.when.ir
    while isinstance(e, ir.Logic) and e.op == "and":
        e = e.left
    if isinstance(e, ir.HasDisease):
        return (e.kind, e.value)
    return None


def build_firing(
    name: str,
    rules: Sequence[Any],
    suppresses: Mapping[str, frozenset[str]],
    calendar: wd.WorkingCalendar,
) -> Firing:
    """`(env, version) -> (effective, undecided)`: which of `rules` take effect, in order.

    A rule takes effect when its condition holds and no rule that overrides it
    (directly or through others: `suppresses`) holds too; who overrides whom is
    known when the pack loads, so each rule's test is written out. `undecided`
    lists the rules whose condition is undefined.
    """
    gates = {i: gate_of(r) for i, r in enumerate(rules)}
    gated = {i: g for i, g in gates.items() if g is not None}
    try:
        if len(gated) >= GATE_MIN:
            return _indexed_firing(name, rules, gated, suppresses, calendar)
        gen = Gen(calendar)
        lines = condition_lines(gen, rules)
        lines += ["    effective = []", "    undecided = []"]
        for i, rule in enumerate(rules):
            ref = gen.bind(rule)
            overriders = [
                j for j, other in enumerate(rules) if rule.id in suppresses.get(other.id, ())
            ]
            lines.append(f"    if r{i} is True:")
            if overriders:
                held = " or ".join(f"r{j} is True" for j in overriders)
                lines.append(f"        if not ({held}):")
                lines.append(f"            effective.append({ref})")
            else:
                lines.append(f"        effective.append({ref})")
            lines.append(f"    elif r{i} is _U:")
            lines.append(f"        undecided.append({ref})")
        lines.append("    return effective, undecided")
        source = "\n".join(["def fire(env, version):", *gen.prologue(), *lines]) + "\n"
        return gen.load(source, f"<mtbrules firing {name}>", "fire")
    except UNCOMPILABLE:
        return _reference_firing(rules, suppresses, calendar)


def _indexed_firing(
    name: str,
    rules: Sequence[Any],
    gated: Mapping[int, tuple[str, Any]],
    suppresses: Mapping[str, frozenset[str]],
    calendar: wd.WorkingCalendar,
) -> Firing:
    """Firing for packs of many disease rules: ungated rules inline, gated ones by index.

    Each gated rule's condition is a function of its own (`g12`) in the same
    generated module; only those of the diseases and groups the case has run.
    """
    gen = Gen(calendar)
    gen.uses_groups = gen.uses_ids = True
    lines = []
    for i, rule in enumerate(rules):
        if i in gated:
            continue
        if rule.when is None:
            value = "True"
        else:
            value = gen.value(rule.when.ir, rule.when.needs, {})
            if rule.versions is not None:
                value = f"({value}) if version in {gen.const(frozenset(rule.versions))} else None"
        lines += [
            f"    r = {value}",
            "    if r is True:",
            f"        held.append({i})",
            "    elif r is _U:",
            f"        undecided.append({i})",
        ]
    candidates, settle = "_candidates", "_settle"  # the helpers, set in the namespace below
    lines += [
        f"    for i, when in {candidates}(case_groups, case_ids):",
        "        r = when(env, case_groups, case_ids)",
        "        if r is True:",
        "            held.append(i)",
        "        elif r is _U:",
        "            undecided.append(i)",
        f"    return {settle}(held, undecided)",
    ]
    main = ["def fire(env, version):", *gen.prologue(), "    held = []", "    undecided = []"]
    functions = []
    for i in gated:
        gen.fields = {}  # each gated function reads its own fields
        value = gen.value(rules[i].when.ir, rules[i].when.needs, {})
        head = [line for line in gen.prologue() if "case_" not in line]
        functions += [f"def g{i}(env, case_groups, case_ids):", *head, f"    return {value}", ""]
    source = "\n".join([*main, *lines, "", *functions]) + "\n"
    namespace = gen.load_module(source, f"<mtbrules firing {name}>")

    by_group: dict[str, list[tuple[int, Any]]] = {}
    by_id: dict[str, list[tuple[int, Any]]] = {}
    for i, (kind, value) in gated.items():
        entry = (i, namespace[f"g{i}"])
        if kind == "group":
            by_group.setdefault(value, []).append(entry)
        else:
            for ident in (value,) if kind == "id" else sorted(value):
                by_id.setdefault(ident, []).append(entry)
    groups = {k: tuple(v) for k, v in by_group.items()}
    ids = {k: tuple(v) for k, v in by_id.items()}

    def find(case_groups: frozenset[str], case_ids: frozenset[str]) -> list:
        found: dict[int, Any] = {}
        for g in case_groups:
            found.update(groups.get(g, ()))
        for d in case_ids:
            found.update(ids.get(d, ()))
        return sorted(found.items()) if len(found) > 1 else list(found.items())

    def settle_(held: list[int], undecided: list[int]) -> tuple[list, list]:
        held.sort()
        taking = set(analysis.not_overridden((rules[i].id for i in held), suppresses))
        effective = [rules[i] for i in held if rules[i].id in taking]
        return effective, [rules[i] for i in sorted(undecided)]

    namespace[candidates], namespace[settle] = find, settle_
    fire = namespace["fire"]
    fire.source = source
    return fire


def _reference_runner(rules: Sequence[Any], calendar: wd.WorkingCalendar) -> Runner:
    """The same results from the reference interpreter (source too deep for CPython)."""
    conditions = [
        None if rule.when is None else reference.evaluator(rule.when.ir, calendar) for rule in rules
    ]

    def run(env, version):
        return tuple(
            None
            if rule.versions is not None and version not in rule.versions
            else True
            if cond is None
            else cond(env)
            for rule, cond in zip(rules, conditions)
        )

    run.source = None  # type: ignore[attr-defined]
    return run


def _reference_firing(
    rules: Sequence[Any], suppresses: Mapping[str, frozenset[str]], calendar: wd.WorkingCalendar
) -> Firing:
    run = _reference_runner(rules, calendar)

    def fire(env, version):
        results = run(env, version)
        held = [r.id for r, v in zip(rules, results) if v is True]
        taking = set(analysis.not_overridden(held, suppresses))
        effective = [r for r, v in zip(rules, results) if v is True and r.id in taking]
        undecided = [r for r, v in zip(rules, results) if v is UNDEFINED]
        return effective, undecided

    fire.source = None  # type: ignore[attr-defined]
    return fire


# ---------------------------------------------------------------- one expression


class LazyFunction:
    """`env -> value` for one expression, generated on first call (loading stays fast).

    Quantifier variables free in the expression are read from `env.locals`
    (an mtbrules.env.Env); `source` is the generated source once built.
    """

    __slots__ = ("_calendar", "_expr", "_fn", "_lock")

    def __init__(self, expr: ir.Expr, calendar: wd.WorkingCalendar):
        self._expr = expr
        self._calendar = calendar
        self._fn: Callable[[Mapping[str, Any]], Any] | None = None
        self._lock = threading.Lock()

    def __call__(self, env: Mapping[str, Any]) -> Any:
        fn = self._fn
        if fn is None:
            with self._lock:
                fn = self._fn
                if fn is None:
                    fn = self._fn = expression_function(self._expr, self._calendar)
        return fn(env)

    @property
    def source(self) -> str | None:
        """The generated source (None before the first call, or from the reference interpreter)."""
        return getattr(self._fn, "source", None)


def lazy_function(expr: ir.Expr, calendar: wd.WorkingCalendar) -> LazyFunction:
    return LazyFunction(expr, calendar)


def expression_function(
    expr: ir.Expr,
    calendar: wd.WorkingCalendar,
    name: str = "expression",
    absent: frozenset[str] | None = None,
) -> Callable[[Mapping[str, Any]], Any]:
    """Generated `env -> value` for `expr` (the reference interpreter if CPython refuses it).

    With `absent`, specialised to envs without those fields and with every
    other field `expr` reads (mtbrules.presence).
    """
    try:
        gen = Gen(calendar, absent)
        scope = {var: gen.var() for var in sorted(analysis.free_locals(expr))}
        value = gen.value(expr, analysis.needs(expr), scope)
        binds = [f"    {q} = env.locals[{gen.const(var)}]" for var, q in scope.items()]
        source = (
            "\n".join(["def evaluate(env):", *gen.prologue(), *binds, f"    return {value}"]) + "\n"
        )
        return gen.load(source, f"<mtbrules {name} {id(expr):x}>", "evaluate")
    except UNCOMPILABLE:
        return reference.evaluator(expr, calendar)
