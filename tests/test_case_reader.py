"""The per-pack case reader gives exactly what parse_case gives: the same Case, or the same error."""

from __future__ import annotations

import pytest
from hypothesis import given
from strategies import budget, hostile_cases, valid_cases

import mtbrules
from mtbrules.case import CaseReader, parse_case
from mtbrules.errors import CaseError


def _outcome(parse, data):
    try:
        return ("case", parse(data))
    except CaseError as exc:
        return ("error", str(exc), exc.field)


@pytest.mark.parametrize("pack_id", mtbrules.builtin_packs())
def test_reader_equals_parse_case(pack_id):
    pack = mtbrules.load_pack(pack_id)
    reader = CaseReader(pack.case_fields, pack.case_field_values)

    @budget(300)
    @given(valid_cases(pack) | hostile_cases(pack))
    def check(data):
        want = _outcome(lambda d: parse_case(d, pack.case_fields, pack.case_field_values), data)
        assert _outcome(reader.read, data) == want

    check()


def test_valid_case_takes_the_fast_path():
    """A plain valid case is read without parse_case (the reader vouches for every field)."""
    pack = mtbrules.load_pack("qingdao")
    reader = CaseReader(pack.case_fields, pack.case_field_values)
    data = {
        "service": "certificate",
        "submitted_on": "2025-09-29",
        "diseases": ["恶性肿瘤"],
        "materials": ["身份证"],
        "offsite": {"settled": True},
        "age": 70,
        "outpatient_years": 2.5,
    }
    case = reader._read(data)
    assert case is not None and case == parse_case(data, pack.case_fields, pack.case_field_values)
    assert reader._read({**data, "age": "70"}) is None
