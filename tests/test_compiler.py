"""The compiler: types, catalogue checks, and what compiled closures compute."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mtbrules import PackError
from mtbrules.case import CASE_FIELDS, CASE_OBJECTS
from mtbrules.compiler import BOOL, DATE, INT, UNDEFINED, Scope, compile_expression
from mtbrules.diagnostics import Location
from mtbrules.model import Disease
from mtbrules.parser import parse_expression
from mtbrules.workdays import WorkingCalendar

SCOPE = Scope(
    dict(CASE_FIELDS),
    CASE_OBJECTS,
    {
        "service": frozenset({"certificate", "renewal"}),
        "scheme": frozenset({"employee", "resident"}),
        "channel": frozenset({"window", "app"}),
        "category": frozenset({"A", "B"}),
        "disease": frozenset({"tumour", "asthma"}),
        "group": frozenset({"fast"}),
        "document": frozenset({"id_card"}),
        "relation": frozenset({"spouse"}),
    },
    WorkingCalendar.official(),
)
TUMOUR = Disease("tumour", "恶性肿瘤", groups=frozenset({"fast"}))
ASTHMA = Disease("asthma", "支气管哮喘")


def compiled(text, expect=None):
    return compile_expression(
        parse_expression(text), SCOPE, lambda line, col: Location("t", line, col), expect
    )


def run(text, **env):
    env.setdefault("diseases", ())
    env.setdefault("materials", frozenset())
    return compiled(text).fn(dict(env))


class TestValues:
    @pytest.mark.parametrize(
        ("text", "env", "value"),
        [
            ("age >= 60", {"age": 60}, True),
            ("age >= 60", {"age": 59}, False),
            ("age >= 60", {}, UNDEFINED),
            ("1 + 2 * 3", {}, 7),
            ("-(2 - 5)", {}, 3),
            ("outpatient_years >= 2", {"outpatient_years": 2.0}, True),
            ('district in ["市南区", "市北区"]', {"district": "市北区"}, True),
            ('district not in ["市南区"]', {"district": "市北区"}, True),
            ('"id_card" in materials', {"materials": frozenset({"id_card"})}, True),
            ("len(diseases)", {"diseases": (TUMOUR, ASTHMA)}, 2),
            ("if age >= 60 then 1 else 2", {"age": 70}, 1),
            ("if age >= 60 then 1 else 2", {}, UNDEFINED),
            ("defined(age)", {"age": 1}, True),
            ("defined(offsite.settled)", {}, False),
            ("min(3, 4) + max(3, 4)", {}, 7),
        ],
    )
    def test_values(self, text, env, value):
        """Each expression computes the expected value, undefined when a needed field is absent."""
        assert (
            run(text, **env) == value if value is not UNDEFINED else run(text, **env) is UNDEFINED
        )

    def test_dates(self):
        """Date arithmetic follows CONTRACT §4: working days over the official calendar, months clamped."""
        day = dt.date(2025, 9, 29)
        assert run("submitted_on + 7 working_days", submitted_on=day) == dt.date(2025, 10, 15)
        assert run("submitted_on + 1 day", submitted_on=day) == dt.date(2025, 9, 30)
        assert run("2024-01-31 + 1 month") == dt.date(2024, 2, 29)
        assert run("natural_years_end(submitted_on, 2)", submitted_on=day) == dt.date(2026, 12, 31)
        assert run("nth_working_day(2025-10-01, 1)") == dt.date(2025, 10, 9)
        assert run("day_of_month(end_of_quarter(submitted_on), 15)", submitted_on=day) == dt.date(
            2025, 9, 15
        )
        assert run("start_of_next_quarter(submitted_on)", submitted_on=day) == dt.date(2025, 10, 1)
        assert run("2025-10-15 - 2025-09-29") == 16


class TestKleeneLogic:
    @pytest.mark.parametrize(
        ("text", "value"),
        [
            ("false and age > 1", False),
            ("age > 1 and false", False),
            ("true and age > 1", UNDEFINED),
            ("true or age > 1", True),
            ("age > 1 or true", True),
            ("false or age > 1", UNDEFINED),
            ("not (age > 1)", UNDEFINED),
            ("defined(age) and age > 1", False),
        ],
    )
    def test_undefined(self, text, value):
        """`and`/`or` decide when one side settles it; otherwise an absent field stays undefined."""
        result = run(text)
        assert result is value

    def test_guarded_field_not_needed(self):
        """A field read only behind `defined(x) and` is not reported as needed."""
        c = compiled("defined(age) and age > 60 and retired")
        assert c.needs == {"retired"}
        assert c.fields == {"age", "retired"}


class TestQuantifiers:
    @pytest.mark.parametrize(
        ("text", "diseases", "value"),
        [
            ('any d in diseases: "fast" in d.groups', (ASTHMA, TUMOUR), True),
            ('any d in diseases: "fast" in d.groups', (ASTHMA,), False),
            ('any d in diseases: "fast" in d.groups', (), False),
            ('all d in diseases: "fast" in d.groups', (TUMOUR,), True),
            ('all d in diseases: "fast" in d.groups', (TUMOUR, ASTHMA), False),
            ('all d in diseases: "fast" in d.groups', (), True),
            ('any d in diseases: d.id == "asthma"', (TUMOUR, ASTHMA), True),
            ('any d in diseases: d.id in ["asthma", "tumour"]', (ASTHMA,), True),
            ('any d in diseases: d.name == "恶性肿瘤"', (TUMOUR,), True),
            ("any d in diseases: len(d.groups) == 0", (TUMOUR,), False),
        ],
    )
    def test_quantifiers(self, text, diseases, value):
        """Quantifiers range over the case's diseases (shortcuts agree with the general form)."""
        assert run(text, diseases=diseases) is value

    @settings(max_examples=100, deadline=None)
    @given(
        st.lists(st.sampled_from([TUMOUR, ASTHMA]), max_size=3),
        st.sampled_from(["fast"]),
        st.sampled_from(["tumour", "asthma"]),
    )
    def test_shortcuts_agree_with_general_form(self, diseases, group, ident):
        """The set-lookup shortcut gives what the general quantifier gives."""
        env = {"diseases": tuple(diseases)}
        fast = run(f'any d in diseases: "{group}" in d.groups', **env)
        slow = run(f'any d in diseases: true and "{group}" in d.groups', **env)
        assert fast is slow
        assert run(f'any d in diseases: d.id == "{ident}"', **env) is run(
            f'any d in diseases: true and d.id == "{ident}"', **env
        )


class TestTypeErrors:
    @pytest.mark.parametrize(
        ("text", "code", "fragment"),
        [
            ("agee > 1", "MTB301", "unknown name 'agee'"),
            ("retired + 1 day", "MTB302", "cannot add bool and duration"),
            ('age == "x"', "MTB302", "cannot compare int with string"),
            ("not age", "MTB302", "'not' needs a bool"),
            ('category == "Z"', "MTB303", "unknown category 'Z'"),
            ('service == "certifcate"', "MTB303", "unknown service 'certifcate'"),
            ('"nope" in materials', "MTB303", "unknown document 'nope'"),
            ('any d in diseases: d.id == "tumor"', "MTB303", "unknown disease 'tumor'"),
            ("end_of_yaer(submitted_on)", "MTB304", "unknown function 'end_of_yaer'"),
            ("end_of_year(submitted_on, 1)", "MTB304", "takes 1 argument"),
            ("offsite", "MTB305", "is an object"),
            ("offsite.setled", "MTB301", "unknown field 'offsite.setled'"),
            ("any age in diseases: true", "MTB306", "hides a case field"),
            ("submitted_on + age", "MTB302", "cannot add date and int"),
            ('[1, "a"]', "MTB302", "share one type"),
            (
                "if retired then 1 else submitted_on",
                "MTB302",
                "'then' gives int but 'else' gives date",
            ),
        ],
    )
    def test_errors(self, text, code, fragment):
        """Each mistake is a PackError with a stable code and a clear message."""
        with pytest.raises(PackError) as info:
            compiled(text)
        d = info.value.diagnostics[0]
        assert d.code == code
        assert fragment in d.message

    def test_expected_type(self):
        """A `when` must be bool and a deadline a date."""
        assert compiled("age > 1", BOOL).type == BOOL
        assert compiled("submitted_on + 1 day", DATE).type == DATE
        with pytest.raises(PackError):
            compiled("age + 1", BOOL)
        assert compiled("age + 1").type == INT

    def test_error_column_points_at_the_node(self):
        """The error's column is the offending name's column inside the expression."""
        with pytest.raises(PackError) as info:
            compiled("age > 1 and retird")
        assert info.value.diagnostics[0].location.col == 13
