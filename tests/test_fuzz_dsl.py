"""Fuzzing the DSL: parser, type checker, compiler, and compiled rules run by the evaluator.

Whatever the text, the only exceptions are the library's own (MtbError); a
compiled expression run on any valid case gives a value or an MtbError
through the evaluator. Budgets: see strategies.budget (x100 in `fuzz/run.py`).
"""

from __future__ import annotations

import datetime as dt

import attrs
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import budget, dsl_text, typed_expressions, valid_cases

import mtbrules
from mtbrules.case import (
    CASE_FIELDS,
    CASE_OBJECTS,
    CHANNEL_KINDS,
    CONTRACT_SERVICES,
    PACK_FIELD_TYPES,
    RELATIONS,
    SCHEMES,
)
from mtbrules.compiler import BOOL, DATE, Compiled, Scope, compile_expression
from mtbrules.diagnostics import Location
from mtbrules.errors import MtbError
from mtbrules.nodes import to_source
from mtbrules.parser import MAX_DEPTH, parse_expression

PACK_ID = "qingdao"
BOOL_TEXT, DATE_TEXT = typed_expressions(PACK_ID)


def scope_of(pack) -> Scope:
    """The scope the loader compiles a pack's rules in."""
    vocab = {
        "service": frozenset(CONTRACT_SERVICES) | frozenset(pack.services),
        "scheme": frozenset(SCHEMES),
        "channel": frozenset(CHANNEL_KINDS),
        "relation": frozenset(RELATIONS),
        "category": frozenset(pack.categories),
        "disease": frozenset(pack.diseases),
        "group": frozenset(pack.groups),
        "document": frozenset(pack.documents),
    }
    fields = dict(CASE_FIELDS)
    fields.update({name: PACK_FIELD_TYPES[t] for name, t in pack.case_fields.items()})
    return Scope(fields, CASE_OBJECTS, vocab, pack.calendar)


def env_cases():
    """Cases the pack decides (so the extra rule's effects show), varying what expressions read."""
    pack = mtbrules.load_pack(PACK_ID)
    names = sorted(d.name for d in pack.diseases.values())
    dates = st.dates(min_value=dt.date(2021, 1, 1), max_value=dt.date(2026, 6, 30)).map(
        dt.date.isoformat
    )
    return st.fixed_dictionaries(
        {
            "service": st.just("certificate"),
            "submitted_on": dates,
            "diseases": st.lists(st.sampled_from(names), min_size=1, max_size=2),
        },
        optional={
            "age": st.integers(0, 110),
            "hospital_level": st.integers(1, 3),
            "retired": st.booleans(),
            "first_application": st.booleans(),
            "hospitalized": st.booleans(),
            "admitted_on": dates,
            "discharged_on": dates,
            "prior": st.fixed_dictionaries(
                {},
                optional={
                    "issued_on": dates,
                    "valid_until": dates,
                    "changes_this_year": st.integers(0, 3),
                },
            ),
            "offsite": st.fixed_dictionaries(
                {}, optional={"settled": st.booleans(), "dispatched_months": st.integers(0, 30)}
            ),
            "materials": st.lists(st.sampled_from(sorted(pack.documents)), max_size=3),
        },
    )


def locate(line, col):
    return Location("<fuzz>", line, col)


def compile_text(text, expect=None) -> Compiled | None:
    pack = mtbrules.load_pack(PACK_ID)
    try:
        node = parse_expression(text, locate)
    except MtbError:
        return None
    try:
        return compile_expression(node, scope_of(pack), locate, expect)
    except MtbError:
        return None


def with_rule(when: Compiled | None = None, date: Compiled | None = None):
    """The pack with one extra rule that applies to every case and uses the expression."""
    pack = mtbrules.load_pack(PACK_ID)
    base = pack.rules[0]
    deadlines = ()
    if date is not None:
        spec = base.deadlines[0] if base.deadlines else None
        from mtbrules.model import DeadlineSpec

        deadlines = (
            DeadlineSpec("fuzz_due", date, None, base.location)
            if spec is None
            else attrs.evolve(spec, kind="fuzz_due", date=date, basis=None),
        )
    rule = attrs.evolve(
        base,
        id="fuzz_rule",
        when=when,
        services=None,
        versions=None,
        overrides=(),
        outcome=None,
        reject=None,
        require=(),
        deadlines=deadlines,
        channels=(),
        reason=None,
        warn=None,
    )
    return attrs.evolve(pack, rules=pack.rules + (rule,))


@budget(300)
@given(dsl_text)
def test_parser_raises_only_dsl_errors(text):
    try:
        node = parse_expression(text, locate)
    except mtbrules.DslSyntaxError as exc:
        assert exc.diagnostics and exc.diagnostics[0].code.startswith("MTB2")
        return
    # What parses prints back to text that parses to the same tree.
    assert parse_expression(to_source(node)) == node


@budget(100)
@given(st.one_of(BOOL_TEXT, DATE_TEXT))
def test_typed_sentences_compile_or_fail_cleanly(text):
    compile_text(text)  # anything but an MtbError fails the test


@budget(80)
@given(BOOL_TEXT, st.data())
def test_compiled_conditions_run_on_any_case(text, data):
    compiled = compile_text(text, BOOL)
    assume(compiled is not None)
    pack = with_rule(when=compiled)
    case = data.draw(st.one_of(env_cases(), valid_cases(PACK_ID)))
    try:
        decision = pack.evaluate(case)
    except MtbError:
        return
    decision.to_json()


@budget(80)
@given(DATE_TEXT, st.data())
def test_compiled_dates_run_on_any_case(text, data):
    compiled = compile_text(text, DATE)
    assume(compiled is not None)
    pack = with_rule(date=compiled)
    case = data.draw(st.one_of(env_cases(), valid_cases(PACK_ID)))
    try:
        decision = pack.evaluate(case)
    except MtbError:
        return
    decision.to_json()


@pytest.mark.parametrize(
    "text",
    [
        "date(99999999999, 1, 1) > submitted_on",
        "date(year(submitted_on), 2, 30) > submitted_on",
        "submitted_on + 99999999 days > submitted_on",
        "submitted_on - 99999999 years > submitted_on",
        "submitted_on + 9999 working_days > submitted_on",
        "nth_working_day(submitted_on, 0) > submitted_on",
        "nth_working_day(submitted_on, 99) > submitted_on",
        "day_of_month(submitted_on, 32) > submitted_on",
        "natural_years_end(submitted_on, -9999) > submitted_on",
        "natural_years_end(submitted_on, 99999999) > submitted_on",
        "is_working_day(submitted_on + 100 years)",
        "age * 99999999999999999999 * 99999999999999999999 > 0",
        "- - - - 1 < age",
        "min(submitted_on, 0001-01-01) < 9999-12-31",
    ],
)
def test_absurd_arithmetic_is_a_clean_error(text):
    compiled = compile_text(text, BOOL)
    assert compiled is not None, text
    pack = with_rule(when=compiled)
    try:
        pack.evaluate(
            {
                "service": "certificate",
                "submitted_on": "2025-09-29",
                "age": 70,
                "diseases": ["恶性肿瘤"],
            }
        )
    except MtbError:
        pass


def test_depth_limit_is_what_the_docs_say():
    parse_expression("(" * MAX_DEPTH + "1" + ")" * MAX_DEPTH)
    with pytest.raises(mtbrules.DslSyntaxError):
        parse_expression("(" * (MAX_DEPTH + 1) + "1" + ")" * (MAX_DEPTH + 1))
