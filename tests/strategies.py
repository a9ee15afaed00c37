"""Shared hypothesis strategies: hostile values, cases, DSL text and YAML text.

Import what you need (`from strategies import hostile_values, cases_for`).
Nothing here loads a hypothesis profile globally: each fuzz test takes its
budget from `budget(n)`, so other modules' hypothesis tests keep their own
settings. `MTBRULES_FUZZ=long` (set by `python fuzz/run.py`) multiplies every
budget by `MTBRULES_FUZZ_SCALE` (default 100) for the long fuzz run.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import fractions
import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

LONG = os.environ.get("MTBRULES_FUZZ") == "long"
SCALE = int(os.environ.get("MTBRULES_FUZZ_SCALE", "100")) if LONG else 1


def budget(examples: int, **kw) -> settings:
    """Settings for one fuzz test: `examples` in the unit suite, ×SCALE in the long run.

    The unit suite is derandomized (the same examples every run, so CI is
    reproducible) and keeps no example database; the long run is random.
    """
    kw.setdefault("suppress_health_check", list(HealthCheck))
    return settings(
        max_examples=examples * SCALE, deadline=None, derandomize=not LONG, database=None, **kw
    )


# ---------------------------------------------------------------- text

#: C0/C1 controls, bidi overrides, zero-width characters, BOM, line separators.
CONTROL = "".join(map(chr, range(32))) + "\x7f\x85\u200b\u200d\u2028\u2029\u202e\ufeff\ufffe"
#: Characters the engine's own syntaxes care about.
SYNTAX = "()[]{}:,.'\"\\-+*<>=!&|#%@`~$^?;/ \t\n"
CJK = "恶性肿瘤高血压糖尿病身份证社保卡异地长期居住市南区（）《》，。、；：“”"
TRADITIONAL = "惡性腫瘤糖尿病證醫療險區"

hostile_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(CONTROL + SYNTAX + CJK + TRADITIONAL),
        st.characters(codec="utf-8"),  # any encodable code point
        st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),  # lone surrogates
    ),
    max_size=60,
)

#: Strings far over any limit, built once (hypothesis would be slow to grow them).
giant_text = st.sampled_from(
    ["x" * 1_001, "病" * 5_000, "a" * 100_000, "\x00" * 2_000, "(" * 10_000]
)

absurd_dates = st.sampled_from(
    [
        "0000-00-00",
        "0001-01-01",
        "9999-12-31",
        "2024-02-29",
        "2023-02-29",
        "2024-02-30",
        "2024-13-01",
        "2024-00-10",
        "2024-1-1",
        "24-01-01",
        "+2024-01-01",
        "2024-01-01T00:00:00",
        "2024-01-01 ",
        " 2024-01-01",
        "２０２４-０１-０１",
        "٢٠٢٤-٠١-٠١",
        "2024/01/01",
        "2024-01-01\n",
        "1899-12-31",
        "2100-01-01",
        "3000-06-15",
        "2004-01-01",
        "2026-12-31",
        "2027-01-01",
        "2003-12-31",
        "nan",
        "",
        "null",
    ]
)

valid_dates = st.dates(min_value=_dt.date(2004, 1, 1), max_value=_dt.date(2026, 12, 31)).map(
    _dt.date.isoformat
)
any_dates = st.dates().map(_dt.date.isoformat)

huge_numbers = st.sampled_from(
    [
        10**9,
        10**9 + 1,
        -(10**9) - 1,
        2**31,
        2**63,
        -(2**63) - 1,
        10**100,
        10**4000,
        1e308,
        -1e308,
        float("inf"),
        float("-inf"),
        float("nan"),
        1e-320,
        -0.0,
        0.5,
        3.0,
        1e9 + 0.5,
    ]
)


class _Weird:
    """An object whose str() and format() blow up: input must never be formatted with them."""

    def __repr__(self):
        return "<Weird>"

    def __str__(self):
        raise RuntimeError("str() must never be called on input")

    def __format__(self, spec):
        raise RuntimeError("format() must never be called on input")


odd_objects = st.sampled_from(
    [
        object(),
        _Weird(),
        b"bytes",
        b"\xff\xfe\x00",
        bytearray(b"x"),
        {1, 2},
        frozenset(),
        1j,
        decimal.Decimal("NaN"),
        decimal.Decimal("1e999"),
        fractions.Fraction(1, 3),
        _dt.datetime(2024, 1, 1, 12, 0),
        _dt.date(2024, 2, 29),
        _dt.time(12, 0),
        _dt.timedelta(days=1),
        range(3),
        Ellipsis,
        NotImplemented,
        type,
        len,
    ]
)

hostile_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    huge_numbers,
    st.floats(allow_nan=True, allow_infinity=True),
    hostile_text,
    giant_text,
    absurd_dates,
    valid_dates,
    odd_objects,
)


def _containers(children):
    keys = st.one_of(
        hostile_text,
        st.sampled_from(["name", "issued_on", "settled", "relation", "issued_on"]),
        st.integers(),
        st.none(),
        st.booleans(),
    )
    return st.one_of(
        st.lists(children, max_size=6),
        st.tuples(children, children),
        st.dictionaries(keys, children, max_size=5),
    )


#: Any value at all, nested.
hostile_values = st.recursive(hostile_scalars, _containers, max_leaves=12)


def deep_list(depth: int):
    """A list nested `depth` levels deep (built without recursion)."""
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


def deep_dict(depth: int, key: str = "a"):
    value: dict = {}
    for _ in range(depth):
        value = {key: value}
    return value


# ---------------------------------------------------------------- cases

CASE_FIELD_NAMES = (
    "pack",
    "service",
    "submitted_on",
    "scheme",
    "retired",
    "age",
    "diseases",
    "category",
    "first_application",
    "hospitalized",
    "hospital_level",
    "outpatient_years",
    "district",
    "channel",
    "agent",
    "materials",
    "offsite",
    "prior",
    "in_catalog",
    "admitted_on",
    "discharged_on",
)
OFFSITE = (
    "settled",
    "hukou_moved",
    "owns_property",
    "residence_permit",
    "relation",
    "dispatched_months",
    "working_offsite",
    "cross_province",
)
PRIOR = ("issued_on", "valid_until", "changes_this_year")


def _pack(ref):
    import mtbrules

    return mtbrules.load_pack(ref) if isinstance(ref, str) else ref


def _good_values(pack):
    """Field → strategy of values the pack would accept (or nearly)."""
    pack = _pack(pack)
    disease_names = sorted(
        {d.name for d in pack.diseases.values()}
        | {a for d in pack.diseases.values() for a in d.aliases}
        | set(pack.diseases)
    ) or ["恶性肿瘤"]
    doc_names = sorted({d.name for d in pack.documents.values()} | set(pack.documents)) or [
        "身份证"
    ]
    services = sorted(set(pack.services) | {"certificate", "renewal", "offsite_filing"})
    categories = sorted(set(pack.categories) | {c.name for c in pack.categories.values()}) or ["A"]
    material = st.one_of(
        st.sampled_from(doc_names),
        st.fixed_dictionaries(
            {"name": st.sampled_from(doc_names)},
            optional={"issued_on": st.one_of(valid_dates, absurd_dates)},
        ),
    )
    bools = st.booleans()
    small = st.integers(-3, 120)
    return {
        "service": st.sampled_from(services),
        "submitted_on": st.one_of(valid_dates, valid_dates, absurd_dates),
        "scheme": st.sampled_from(["employee", "resident"]),
        "retired": bools,
        "age": small,
        "diseases": st.lists(st.one_of(st.sampled_from(disease_names), hostile_text), max_size=4),
        "category": st.sampled_from(categories),
        "first_application": bools,
        "hospitalized": bools,
        "hospital_level": st.integers(0, 4),
        "outpatient_years": st.one_of(st.integers(0, 30), st.floats(0, 30)),
        "district": st.sampled_from(["市南区", "平度市", "义县", "x"]),
        "channel": st.sampled_from(["window", "app", "hospital", "phone", "online"]),
        "agent": bools,
        "materials": st.lists(material, max_size=6),
        "offsite": st.fixed_dictionaries(
            {},
            optional={
                "settled": bools,
                "hukou_moved": bools,
                "owns_property": bools,
                "residence_permit": bools,
                "relation": st.sampled_from(["spouse", "child", "child_spouse", "guardian"]),
                "dispatched_months": st.integers(0, 60),
                "working_offsite": bools,
                "cross_province": bools,
            },
        ),
        "prior": st.fixed_dictionaries(
            {},
            optional={
                "issued_on": valid_dates,
                "valid_until": valid_dates,
                "changes_this_year": st.integers(0, 5),
            },
        ),
        "in_catalog": bools,
        "admitted_on": valid_dates,
        "discharged_on": valid_dates,
        **{name: _pack_field(kind) for name, kind in pack.case_fields.items()},
    }


def _pack_field(kind: str):
    return {
        "bool": st.booleans(),
        "int": st.integers(-5, 500),
        "number": st.floats(-5, 500),
        "string": st.text(max_size=10),
        "date": valid_dates,
        "list": st.lists(st.text(max_size=5), max_size=3),
    }[kind]


def valid_cases(pack):
    """Cases with every field well-typed (values may still be unknown to the pack).

    `pack` is a pack id (preferred: it keeps hypothesis' reports short) or a Pack.
    """
    good = _good_values(pack)
    required = {k: good[k] for k in ("service", "submitted_on")}
    optional = {k: v for k, v in good.items() if k not in required}
    return st.fixed_dictionaries(required, optional=optional)


@st.composite
def hostile_cases(draw, pack):
    """A mostly valid case with one to three fields (or sub-fields) replaced by anything at all."""
    case = dict(draw(valid_cases(pack)))
    names = (
        list(CASE_FIELD_NAMES)
        + list(_pack(pack).case_fields)
        + ["no_such_field", "offsite.settled", "prior.issued_on", "materials.0", "diseases.0"]
    )
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(names))
        value = draw(hostile_values)
        if where.startswith(("offsite.", "prior.")):
            obj, _sub = where.split(".")
            inner = dict(case[obj]) if isinstance(case.get(obj), dict) else {}
            inner[draw(st.sampled_from(OFFSITE if obj == "offsite" else PRIOR))] = value
            case[obj] = inner
        elif where in ("materials.0", "diseases.0"):
            case[where.split(".")[0]] = [value]
        else:
            case[where] = value
    return case


# ---------------------------------------------------------------- DSL

DSL_WORDS = (
    "and",
    "or",
    "not",
    "in",
    "if",
    "then",
    "else",
    "any",
    "all",
    "true",
    "false",
    "(",
    ")",
    "[",
    "]",
    ",",
    ":",
    ".",
    "+",
    "-",
    "*",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "7 working_days",
    "1 day",
    "6 months",
    "2 years",
    "2024-02-29",
    "2024-02-30",
    "0",
    "1",
    "99999999999999999999",
    "1.5",
    '"instant"',
    "'A'",
    '"\\"',
    "submitted_on",
    "age",
    "diseases",
    "d",
    "d.groups",
    "d.id",
    "offsite.settled",
    "prior.issued_on",
    "materials",
    "category",
    "service",
    "date(",
    "year(",
    "quarter(",
    "nth_working_day(",
    "end_of_quarter(",
    "natural_years_end(",
    "min(",
    "max(",
    "len(",
    "defined(",
    "is_working_day(",
    "__class__",
    "__import__",
    "os",
    "eval",
    "exec",
    "open(",
    "self",
    "lambda",
    "import",
    "{",
    "}",
    "%s",
    "{0}",
    "\\",
    "#",
    ";",
    "\n",
    "０",
    "（",
    "病",
    "\x00",
    "\u202e",
)

#: Token soup: mostly-plausible DSL text with hostile bits mixed in.
dsl_soup = st.lists(st.sampled_from(DSL_WORDS), max_size=25).map(" ".join)
dsl_text = st.one_of(dsl_soup, hostile_text)


def typed_expressions(pack_id: str = "qingdao"):
    """(bool, date) strategies of mostly well-typed DSL text over the pack's vocabulary.

    Sub-expressions are parenthesised, so the text parses; the type checker
    still rejects some (on purpose: catalogue values and types are mixed in).
    """
    pack = _pack(pack_id)
    groups = sorted(pack.groups) or ["g"]
    documents = sorted(pack.documents) or ["d"]
    diseases = sorted(pack.diseases) or ["x"]
    services = sorted(pack.services) or ["certificate"]

    def p(s):
        return "(" + s + ")"

    def binary(left, ops, right):
        return st.tuples(left, st.sampled_from(ops), right).map(
            lambda t: p(f"{t[0]} {t[1]} {t[2]}")
        )

    def call(name, *args):
        return st.tuples(*args).map(lambda xs: f"{name}(" + ", ".join(xs) + ")")

    ints = st.one_of(
        st.integers(-3, 40).map(str),
        st.sampled_from(["0", "2024", "99999", "10000000000000000000000"]),
    )
    dates = st.one_of(
        valid_dates,
        st.sampled_from(["2024-02-29", "2024-02-30", "0001-01-01", "9999-12-31", "2027-01-04"]),
    )
    units = st.sampled_from(
        ["working_days", "working_day", "days", "day", "weeks", "months", "month", "years"]
    )
    amounts = st.one_of(st.integers(0, 40), st.sampled_from([365, 9999, 10**7]))
    durations = st.tuples(amounts, units).map(lambda t: f"{t[0]} {t[1]}")
    cmp_ops = ["==", "!=", "<", "<=", ">", ">="]

    bool_e = st.deferred(
        lambda: st.one_of(
            st.sampled_from(
                [
                    "true",
                    "false",
                    "retired",
                    "first_application",
                    "hospitalized",
                    "agent",
                    "in_catalog",
                    "offsite.settled",
                    "offsite.cross_province",
                    "defined(age)",
                    "defined(prior.issued_on)",
                ]
            ),
            st.sampled_from(groups).map(lambda g: f'(any d in diseases: "{g}" in d.groups)'),
            st.sampled_from(diseases).map(lambda g: f'(all d in diseases: d.id != "{g}")'),
            st.sampled_from(documents).map(lambda d: f'"{d}" in materials'),
            st.sampled_from(services).map(lambda s: f'service == "{s}"'),
            st.sampled_from(["employee", "resident"]).map(lambda s: f'scheme == "{s}"'),
            binary(int_e, cmp_ops, int_e),
            binary(date_e, cmp_ops, date_e),
            bool_e.map(lambda b: p("not " + b)),
            binary(bool_e, ["and", "or"], bool_e),
            st.tuples(bool_e, bool_e, bool_e).map(
                lambda t: p(f"if {t[0]} then {t[1]} else {t[2]}")
            ),
            call("is_working_day", date_e),
            st.tuples(int_e, st.lists(int_e, max_size=3)).map(
                lambda t: p(f"{t[0]} in [" + ", ".join(t[1]) + "]")
            ),
        )
    )
    int_e = st.deferred(
        lambda: st.one_of(
            ints,
            st.sampled_from(
                [
                    "age",
                    "hospital_level",
                    "prior.changes_this_year",
                    "offsite.dispatched_months",
                    "len(materials)",
                    "len(diseases)",
                ]
            ),
            call("year", date_e),
            call("month", date_e),
            call("day", date_e),
            call("quarter", date_e),
            binary(date_e, ["-"], date_e),
            binary(int_e, ["+", "-", "*"], int_e),
            int_e.map(lambda i: p("-" + i)),
            call("min", int_e, int_e),
            call("max", int_e, int_e),
        )
    )
    date_e = st.deferred(
        lambda: st.one_of(
            dates,
            st.sampled_from(
                [
                    "submitted_on",
                    "admitted_on",
                    "discharged_on",
                    "prior.issued_on",
                    "prior.valid_until",
                ]
            ),
            binary(date_e, ["+", "-"], durations),
            *[
                call(f, date_e)
                for f in (
                    "start_of_month",
                    "end_of_month",
                    "start_of_quarter",
                    "end_of_quarter",
                    "start_of_year",
                    "end_of_year",
                    "start_of_next_month",
                    "start_of_next_quarter",
                    "start_of_next_year",
                )
            ],
            call("day_of_month", date_e, int_e),
            call("nth_working_day", date_e, int_e),
            call("natural_years_end", date_e, int_e),
            call("date", int_e, int_e, int_e),
            call("min", date_e, date_e),
            call("max", date_e, date_e),
            st.tuples(bool_e, date_e, date_e).map(
                lambda t: p(f"if {t[0]} then {t[1]} else {t[2]}")
            ),
        )
    )
    return bool_e, date_e


# ---------------------------------------------------------------- YAML

YAML_WORDS = (
    "a:",
    "- ",
    "  ",
    "\n",
    "&x ",
    "*x",
    "<<: *x",
    "!!python/object/apply:os.system ['id']",
    "!!binary AAAA",
    "!!str",
    "!!int",
    "!!float",
    "!!set",
    "!!omap",
    "? ",
    "{",
    "}",
    "[",
    "]",
    ",",
    '"',
    "'",
    "|",
    ">",
    "#",
    "---",
    "...",
    "%YAML 1.1",
    "%TAG ! tag:x,2000:",
    "!x",
    "no",
    "yes",
    "~",
    "null",
    ".nan",
    ".inf",
    "0x1F",
    "0o17",
    "1_000",
    "2024-02-30",
    "2024-02-29",
    "1e999",
    "99999999999999999999999",
    "id: q",
    "rules:",
    "when: ",
    "\t",
    "\x00",
    "\ufeff",
    "\u2028",
    "病",
    "@",
    "`",
)
yaml_soup = st.lists(st.sampled_from(YAML_WORDS), max_size=40).map("".join)
yaml_text = st.one_of(yaml_soup, hostile_text)


@st.composite
def mutated(draw, text: str):
    """`text` with a few lines deleted, duplicated, swapped or spliced with junk."""
    lines = text.split("\n")
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["del", "dup", "junk", "indent", "cut"]))
        if op == "del":
            del lines[i]
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "junk":
            lines.insert(i, draw(st.one_of(yaml_soup, hostile_text)))
        elif op == "indent":
            lines[i] = draw(st.sampled_from(["  ", "\t", "- ", ""])) + lines[i].lstrip()
        else:
            cut = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:cut] + draw(st.sampled_from(YAML_WORDS)) + lines[i][cut:]
    return "\n".join(lines)


def json_roundtrips(obj) -> bool:
    """True when `obj` serialises to strict JSON (no NaN/Infinity) and back unchanged."""
    import json

    text = json.dumps(obj, ensure_ascii=False, allow_nan=False)
    return json.loads(text) == obj


__all__ = [name for name in dir() if not name.startswith("_") and name not in ("annotations",)]
