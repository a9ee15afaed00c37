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


def test_reader_builds_every_field():
    """The reader builds Case and Material without their __init__: it must set every field."""
    import attrs

    from mtbrules.case import Case, Material

    assert [f.name for f in attrs.fields(Case)] == ["values", "diseases", "materials", "pack"]
    assert [f.name for f in attrs.fields(Material)] == ["name", "issued_on"]
    pack = mtbrules.load_pack("qingdao")
    reader = CaseReader(pack.case_fields, pack.case_field_values)
    data = {
        "service": "renewal",
        "submitted_on": "2025-01-02",
        "materials": ["身份证"],
        "pack": "q",
    }
    case = reader._read(data)
    assert case is not None
    assert repr(case) == repr(parse_case(data, pack.case_fields, pack.case_field_values))
    assert hash(case.materials) == hash(parse_case(data).materials)


@pytest.mark.parametrize(
    "value", ["2025-W01-1", "20250102", "2025-1-02", "２０２５-01-02", "2025-02-30", " 2025-01-02"]
)
def test_dates_the_reader_does_not_vouch_for(value):
    """Only YYYY-MM-DD of a real day takes the fast path; the rest get parse_case's message."""
    pack = mtbrules.load_pack("qingdao")
    reader = CaseReader(pack.case_fields, pack.case_field_values)
    data = {"service": "renewal", "submitted_on": value}
    assert reader._read(data) is None
    assert _outcome(reader.read, data) == _outcome(parse_case, data)


def test_date_objects_take_the_fast_path():
    import datetime as dt

    reader = CaseReader()
    data = {
        "service": "renewal",
        "submitted_on": dt.date(2025, 1, 2),
        "prior": {"issued_on": dt.date(2024, 1, 1)},
    }
    assert reader._read(data) == parse_case(data)


def test_materials_with_dates_and_nulls_take_the_fast_path():
    """{name, issued_on} materials and fields given as null are plainly valid too."""
    reader = CaseReader()
    data = {
        "service": "certificate",
        "submitted_on": "2025-03-03",
        "age": None,
        "materials": [
            "身份证",
            {"name": "病历"},
            {"name": "诊断证明", "issued_on": "2025-01-02"},
            {"name": "检查报告", "issued_on": None},
        ],
    }
    case = reader._read(data)
    assert case is not None and case == parse_case(data)
    assert case.materials[2].issued_on.isoformat() == "2025-01-02"
    for slow in (
        {**data, "materials": [{"name": "病历", "issued": "2025-01-02"}]},
        {**data, "materials": [{"name": "病历", "issued_on": "2025-1-2"}]},
        {**data, "materials": [{"issued_on": "2025-01-02"}]},
        {**data, "diseases": None},
    ):
        assert reader._read(slow) is None  # parse_case decides, and names the field
