"""Case validation (CONTRACT §2): unknown fields, wrong types, and the field named in every error."""

from __future__ import annotations

import datetime as dt

import pytest

from mtbrules import CaseError
from mtbrules.case import parse_case

OK = {"service": "certificate", "submitted_on": "2025-09-29"}


class TestValid:
    def test_minimal(self):
        """A case needs only a service and a date; agent defaults to false."""
        c = parse_case(OK)
        assert c.submitted_on == dt.date(2025, 9, 29)
        assert c.values["agent"] is False
        assert c.materials is None

    def test_objects_are_flattened(self):
        """Fields of `offsite` and `prior` are read as `offsite.x` and `prior.x`."""
        c = parse_case(
            {
                **OK,
                "offsite": {"settled": True, "relation": "spouse"},
                "prior": {"changes_this_year": 1},
            }
        )
        assert c.values["offsite.settled"] is True and c.values["prior.changes_this_year"] == 1

    def test_materials(self):
        """Materials are names or {name, issued_on}."""
        c = parse_case(
            {**OK, "materials": ["身份证", {"name": "检查报告", "issued_on": "2025-01-02"}]}
        )
        assert c.materials[1].issued_on == dt.date(2025, 1, 2)

    def test_nulls_are_absent(self):
        """A field given as null counts as not given."""
        assert "age" not in parse_case({**OK, "age": None}).values


class TestInvalid:
    @pytest.mark.parametrize(
        ("case", "field", "fragment"),
        [
            ({**OK, "agen": True}, "agen", "did you mean 'agent'?"),
            ({**OK, "age": "60"}, "age", "expected a whole number"),
            ({**OK, "age": True}, "age", "expected a whole number"),
            ({**OK, "retired": 1}, "retired", "expected true or false"),
            ({**OK, "submitted_on": "2025-02-30"}, "submitted_on", "not a real date"),
            ({**OK, "submitted_on": "20250929"}, "submitted_on", "expected a date YYYY-MM-DD"),
            ({"service": "certificate"}, "submitted_on", "is required"),
            ({**OK, "scheme": "urban"}, "scheme", "allowed: employee, resident"),
            ({**OK, "channel": "fax"}, "channel", "allowed: window"),
            ({**OK, "diseases": "恶性肿瘤"}, "diseases", "expected a list"),
            ({**OK, "diseases": [1]}, "diseases[0]", "expected text"),
            (
                {**OK, "materials": [{"name": "x", "date": "2025-01-01"}]},
                "materials[0].date",
                "unknown case field",
            ),
            (
                {**OK, "offsite": {"settld": True}},
                "offsite.settld",
                "did you mean 'offsite.settled'?",
            ),
            ({**OK, "offsite": {"relation": "cousin"}}, "offsite.relation", "allowed: spouse"),
            ({**OK, "outpatient_years": float("nan")}, "outpatient_years", "out of range"),
            ({**OK, "age": 10**12}, "age", "out of range"),
            ({**OK, "district": "x" * 5000}, "district", "longer than"),
            ({**OK, "diseases": ["a"] * 1000}, "diseases", "more than"),
        ],
    )
    def test_errors_name_the_field(self, case, field, fragment):
        """Each invalid input is one CaseError naming the field."""
        with pytest.raises(CaseError) as info:
            parse_case(case)
        assert info.value.field == field
        assert fragment in str(info.value)

    def test_not_an_object(self):
        """A case must be a JSON object."""
        with pytest.raises(CaseError):
            parse_case(["service"])

    def test_pack_fields(self):
        """A pack's own case fields are typed and may list their allowed values."""
        c = parse_case({**OK, "dialysis": 3}, {"dialysis": "int"})
        assert c.values["dialysis"] == 3
        with pytest.raises(CaseError) as info:
            parse_case({**OK, "kind": "z"}, {"kind": "string"}, {"kind": ("a", "b")})
        assert info.value.field == "kind" and "allowed: a, b" in str(info.value)
