"""Differential test: the generated code computes exactly what the reference interpreter does.

Random well-typed expressions over the contract's case fields, evaluated on
random cases where any field may be missing (undefined): the generated
function (the engine's executor) and the reference closures give the same
value, or raise the same kind of error, always. Both executors read the one
table of primitives; this test is what keeps the generator's plain and
undefined-aware forms honest.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from mtbrules import codegen, reference
from mtbrules import nodes as n
from mtbrules.case import CASE_FIELDS, CASE_OBJECTS
from mtbrules.compiler import BOOL, DATE, INT, NUMBER, Scope, compile_expression
from mtbrules.diagnostics import Location
from mtbrules.dsltypes import UNDEFINED
from mtbrules.env import Env
from mtbrules.model import Disease, Rule
from mtbrules.workdays import WorkingCalendar

CALENDAR = WorkingCalendar.official()
SCOPE = Scope(
    dict(CASE_FIELDS),
    CASE_OBJECTS,
    {
        "service": frozenset({"certificate", "renewal"}),
        "scheme": frozenset({"employee", "resident"}),
        "channel": frozenset({"window", "app"}),
        "category": frozenset({"A", "B"}),
        "disease": frozenset({"tumour", "asthma", "gout"}),
        "group": frozenset({"fast", "slow"}),
        "document": frozenset({"id_card", "record"}),
        "relation": frozenset({"spouse", "child"}),
    },
    CALENDAR,
)
DISEASES = (
    Disease("tumour", "恶性肿瘤", no=1, groups=frozenset({"fast"})),
    Disease("asthma", "支气管哮喘", no=2),
    Disease("gout", "痛风", no=3, groups=frozenset({"fast", "slow"})),
)

BOOL_FIELDS = ("retired", "hospitalized", "first_application", "agent", "offsite.settled")
INT_FIELDS = ("age", "hospital_level", "offsite.dispatched_months", "prior.changes_this_year")
DATE_FIELDS = ("submitted_on", "admitted_on", "discharged_on", "prior.issued_on")
STRING_FIELDS = {"scheme": ("employee", "resident"), "district": ("市南区", "市北区")}
DATE_FUNCTIONS = ("start_of_month", "end_of_quarter", "start_of_next_year", "end_of_month")
UNITS = ("days", "working_days", "weeks", "months", "years")


def field(key: str) -> n.Node:
    if "." in key:
        obj, name = key.split(".")
        return n.Attr(n.Name(obj), name)
    return n.Name(key)


def ints(depth: int) -> st.SearchStrategy[n.Node]:
    leaves = st.one_of(
        st.integers(-3, 130).map(n.Literal),
        st.sampled_from(INT_FIELDS).map(field),
    )
    if depth <= 0:
        return leaves
    sub = st.deferred(lambda: ints(depth - 1))
    return st.one_of(
        leaves,
        st.builds(n.Arith, st.sampled_from("+-*"), sub, sub),
        st.builds(n.Neg, sub),
        st.builds(lambda a, b, f: n.Call(f, (a, b)), sub, sub, st.sampled_from(["min", "max"])),
        st.builds(
            lambda d, f: n.Call(f, (d,)),
            dates(depth - 1),
            st.sampled_from(["year", "month", "day", "quarter"]),
        ),
        st.builds(lambda a, b: n.Arith("-", a, b), dates(depth - 1), dates(depth - 1)),
        st.builds(n.If, bools(depth - 1), sub, sub),
        st.just(n.Call("len", (n.Name("diseases"),))),
    )


def numbers(depth: int) -> st.SearchStrategy[n.Node]:
    leaves = st.one_of(
        st.floats(0, 20, allow_nan=False).map(n.Literal), st.just(n.Name("outpatient_years"))
    )
    if depth <= 0:
        return leaves
    return st.one_of(leaves, st.builds(n.Arith, st.sampled_from("+-*"), leaves, ints(depth - 1)))


def dates(depth: int) -> st.SearchStrategy[n.Node]:
    leaves = st.one_of(
        st.dates(dt.date(2019, 1, 1), dt.date(2025, 12, 31)).map(n.Literal),
        st.sampled_from(DATE_FIELDS).map(field),
    )
    if depth <= 0:
        return leaves
    sub = st.deferred(lambda: dates(depth - 1))
    return st.one_of(
        leaves,
        st.builds(
            lambda d, op, k, u: n.Arith(op, d, n.Duration(k, u)),
            sub,
            st.sampled_from("+-"),
            st.integers(0, 40),
            st.sampled_from(UNITS),
        ),
        st.builds(lambda d, f: n.Call(f, (d,)), sub, st.sampled_from(DATE_FUNCTIONS)),
        st.builds(lambda a, b, f: n.Call(f, (a, b)), sub, sub, st.sampled_from(["min", "max"])),
        st.builds(n.If, bools(depth - 1), sub, sub),
    )


def strings() -> st.SearchStrategy[n.Node]:
    return st.sampled_from(sorted(STRING_FIELDS)).flatmap(
        lambda f: st.tuples(st.just(f), st.lists(st.sampled_from(STRING_FIELDS[f]), min_size=1))
    )


def disease_bodies(var: str) -> st.SearchStrategy[n.Node]:
    d = n.Name(var)
    return st.one_of(
        st.sampled_from(["fast", "slow"]).map(
            lambda g: n.Compare("in", n.Literal(g), n.Attr(d, "groups"))
        ),
        st.sampled_from(["tumour", "gout"]).map(
            lambda i: n.Compare("==", n.Attr(d, "id"), n.Literal(i))
        ),
        st.builds(lambda k: n.Compare(">", n.Attr(d, "no"), k), ints(0)),
        st.builds(
            lambda k, b: n.BoolOp("and", n.Compare("<=", n.Attr(d, "no"), k), b),
            ints(0),
            bools(0),
        ),
    )


def bools(depth: int) -> st.SearchStrategy[n.Node]:
    leaves = st.one_of(
        st.booleans().map(n.Literal),
        st.sampled_from(BOOL_FIELDS).map(field),
        st.sampled_from(BOOL_FIELDS + INT_FIELDS + DATE_FIELDS).map(
            lambda k: n.Call("defined", (field(k),))
        ),
        strings().map(
            lambda fv: n.Compare("in", n.Name(fv[0]), n.ListLit(tuple(map(n.Literal, fv[1]))))
        ),
        st.sampled_from(["id_card", "record"]).map(
            lambda doc: n.Compare("in", n.Literal(doc), n.Name("materials"))
        ),
    )
    if depth <= 0:
        return leaves
    sub = st.deferred(lambda: bools(depth - 1))
    cmp = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])
    return st.one_of(
        leaves,
        st.builds(n.Not, sub),
        st.builds(n.BoolOp, st.sampled_from(["and", "or"]), sub, sub),
        st.builds(
            lambda k, b: n.BoolOp("and", n.Call("defined", (field(k),)), b),
            st.sampled_from(INT_FIELDS + BOOL_FIELDS),
            sub,
        ),
        st.builds(n.Compare, cmp, ints(depth - 1), ints(depth - 1)),
        st.builds(n.Compare, cmp, numbers(depth - 1), ints(depth - 1)),
        st.builds(n.Compare, cmp, dates(depth - 1), dates(depth - 1)),
        st.builds(
            lambda x, items: n.Compare("not in", x, n.ListLit(tuple(items))),
            ints(depth - 1),
            st.lists(ints(depth - 1), min_size=1, max_size=3),
        ),
        st.builds(n.If, sub, sub, sub),
        st.builds(
            lambda kind, body: n.Quantifier(kind, "d", n.Name("diseases"), body),
            st.sampled_from(["any", "all"]),
            disease_bodies("d"),
        ),
        st.builds(
            lambda kind, body, other: n.Quantifier(
                kind, "e", n.Name("diseases"), n.BoolOp("or", body, other)
            ),
            st.sampled_from(["any", "all"]),
            disease_bodies("e"),
            sub,
        ),
        st.builds(lambda d: n.Call("is_working_day", (d,)), dates(depth - 1)),
    )


def _values() -> dict[str, st.SearchStrategy]:
    out: dict[str, st.SearchStrategy] = {k: st.booleans() for k in BOOL_FIELDS}
    out.update({k: st.integers(-2, 130) for k in INT_FIELDS})
    out.update({k: st.dates(dt.date(2019, 1, 1), dt.date(2025, 12, 31)) for k in DATE_FIELDS})
    out.update({k: st.sampled_from(v) for k, v in STRING_FIELDS.items()})
    out["outpatient_years"] = st.floats(0, 20, allow_nan=False)
    return out


# Any field may be missing; the engine always gives diseases and materials.
ENVS = st.fixed_dictionaries(
    {
        "diseases": st.lists(st.sampled_from(DISEASES), max_size=3, unique=True).map(tuple),
        "materials": st.frozensets(st.sampled_from(["id_card", "record"])),
    },
    optional=_values(),
)


def _outcome(fn, env):
    try:
        return ("value", fn(env))
    except Exception as exc:  # noqa: BLE001 - the kind of error is what is compared
        return ("error", type(exc).__name__)


def _same(a, b) -> bool:
    if a[0] != b[0]:
        return False
    if a[0] == "error":
        return a[1] == b[1]
    x, y = a[1], b[1]
    if x is UNDEFINED or y is UNDEFINED:
        return x is y
    return x == y and type(x) is type(y)


def _compiled(node, expect):
    return compile_expression(node, SCOPE, lambda line, col: Location("<t>", line, col), expect)


@settings(max_examples=600, deadline=None)
@given(st.one_of(bools(3), ints(3).map(lambda x: n.Compare(">=", x, n.Literal(18)))), ENVS)
def test_generated_condition_equals_reference(node, env):
    compiled = _compiled(node, BOOL)
    generated = codegen.expression_function(compiled.ir, CALENDAR)
    oracle = reference.evaluator(compiled.ir, CALENDAR)
    want, got = _outcome(oracle, Env(env)), _outcome(generated, Env(env))
    assert _same(got, want), (n.to_source(node), got, want)
    assert want[0] == "error" or want[1] in (True, False, UNDEFINED)


@settings(max_examples=400, deadline=None)
@given(st.one_of(dates(3), ints(3), numbers(2)), ENVS)
def test_generated_value_equals_reference(node, env):
    compiled = _compiled(node, None)
    assert compiled.type in (DATE, INT, NUMBER)
    want = _outcome(reference.evaluator(compiled.ir, CALENDAR), Env(env))
    got = _outcome(codegen.expression_function(compiled.ir, CALENDAR), Env(env))
    assert _same(got, want), (n.to_source(node), got, want)


@settings(max_examples=150, deadline=None)
@given(st.lists(bools(2), min_size=1, max_size=6), ENVS)
def test_condition_runner_equals_reference(conditions, env):
    """The per-service runner (many rules, one prologue) agrees rule by rule."""
    location = Location("<t>", 1, 1)
    from mtbrules.model import Citation

    rules = [
        Rule(f"r{i}", "t", Citation("doc", "§1"), location, i, when=_compiled(c, BOOL))
        for i, c in enumerate(conditions)
    ]
    run = codegen.build_runner("differential", rules, CALENDAR)
    assert run.source is not None
    got = _outcome(lambda e: run(e, "v1"), Env(env))
    want = _outcome(
        lambda e: tuple(reference.evaluator(r.when.ir, CALENDAR)(e) for r in rules), Env(env)
    )
    if want[0] == "error":
        assert got[0] == "error"
        return
    assert got[0] == "value", got
    for rule, a, b in zip(rules, got[1], want[1]):
        assert _same(("value", a), ("value", b)), (n.to_source(rule.when.node), a, b)


def test_quantifier_variable_free_in_an_expression_is_read_from_the_env():
    """explain evaluates a quantifier's body alone, its variable bound in Env.locals."""
    inner = Scope(
        SCOPE.fields, SCOPE.objects, SCOPE.vocab, CALENDAR, {"d": SCOPE.fields["diseases"].item}
    )
    node = n.Compare(">", n.Attr(n.Name("d"), "no"), n.Name("age"))
    compiled = compile_expression(node, inner, lambda line, col: Location("<t>", line, col))
    env = Env({"age": 1})
    env.locals["d"] = DISEASES[1]
    assert compiled.fn(env) is True
    assert reference.evaluator(compiled.ir, CALENDAR)(env) is True
    del env["age"]
    assert compiled.fn(env) is UNDEFINED


def _specialised(compiled, env):
    """The generated function specialised to `env`'s pattern of present fields."""
    absent = frozenset(k for k in compiled.fields if k not in env)
    return codegen.expression_function(compiled.ir, CALENDAR, absent=absent)


@settings(max_examples=600, deadline=None)
@given(st.one_of(bools(3), ints(3).map(lambda x: n.Compare(">=", x, n.Literal(18)))), ENVS)
def test_condition_specialised_to_the_present_fields_equals_reference(node, env):
    """Folded for the fields the case gives (mtbrules.presence): the same value or error."""
    compiled = _compiled(node, BOOL)
    want = _outcome(reference.evaluator(compiled.ir, CALENDAR), Env(env))
    got = _outcome(_specialised(compiled, env), Env(env))
    assert _same(got, want), (n.to_source(node), got, want)


@settings(max_examples=300, deadline=None)
@given(st.one_of(dates(3), ints(3), numbers(2)), ENVS)
def test_value_specialised_to_the_present_fields_equals_reference(node, env):
    compiled = _compiled(node, None)
    want = _outcome(reference.evaluator(compiled.ir, CALENDAR), Env(env))
    got = _outcome(_specialised(compiled, env), Env(env))
    assert _same(got, want), (n.to_source(node), got, want)
