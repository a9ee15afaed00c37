"""Personal data a case may carry never shows up where nobody asked for it.

The contract's case has no personal fields, but a pack may declare its own
(`case_fields`), and integrators send whatever their forms hold. Policy
(docs/reliability.md, Privacy):

- case error messages name the field and the expected type; they echo the
  submitted value only for contract fields and for a pack's enum-like fields
  (`values:` declared) whose name does not look personal (name, ID, phone…);
- `repr(Case)` shows field names and counts, never values;
- the library does not log, and prints nothing;
- decisions and explanations show case values only where the pack's rules
  read them (a date in a deadline's basis, a field in a condition);
  the built-in packs read no personal field.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
import textwrap

import pytest
from packbuilder import MINI_PACK, write_pack

import mtbrules
from mtbrules.case import _PERSONAL, parse_case
from mtbrules.errors import CaseError
from mtbrules.loader import load_pack_folder

NAME = "张三丰"
ID_NUMBER = "370202199001011234"
PHONE = "13800138000"
BIRTH = "1990-02-30"
SECRETS = (NAME, ID_NUMBER, PHONE, "1990-02-30", "199001011234", "138001")

PERSONAL_FIELDS = """
case_fields:
  applicant_name: {type: string, description: 姓名}
  id_number: {type: string, description: 身份证号}
  phone: {type: string, description: 电话}
  birth_year: {type: int, description: 出生年份}
  birth_date: {type: date, description: 出生日期}
  id_card_type: {type: string, description: 证件类型, values: [resident, passport]}
  district_code: {type: string, description: 区划, values: [a, b]}
"""
BASE = {"service": "certificate", "submitted_on": "2024-06-03"}
PERSONAL = {
    "applicant_name": NAME,
    "id_number": ID_NUMBER,
    "phone": PHONE,
    "birth_date": "1990-02-28",
    "birth_year": 1990,
}


@pytest.fixture(scope="module")
def pack(tmp_path_factory):
    extra = textwrap.indent(
        PERSONAL_FIELDS.strip("\n"), " " * 8
    )  # MINI_PACK's texts are indented by 8
    root = write_pack(
        tmp_path_factory.mktemp("privacy") / "p",
        {"pack.yaml": MINI_PACK["pack.yaml"].rstrip() + "\n" + extra + "\n"},
    )
    return load_pack_folder(root)


def _no_secret(text: str):
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} leaked into: {text[:300]}"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("applicant_name", 12345),
        ("applicant_name", NAME * 500),  # over the length limit
        ("id_number", int(ID_NUMBER)),
        ("id_number", [ID_NUMBER]),
        ("phone", int(PHONE)),  # a number where text is expected
        ("birth_year", PHONE),  # text where a number is expected
        ("birth_year", int(PHONE)),  # out of range
        ("birth_year", float(PHONE) + 0.5),
        ("birth_date", BIRTH),  # not a real date
        ("birth_date", "1990/02/28 " + NAME),
        ("id_card_type", ID_NUMBER),  # enum-like, but the name looks personal
    ],
)
def test_case_errors_do_not_echo_personal_values(pack, field, value):
    with pytest.raises(CaseError) as info:
        pack.evaluate({**BASE, field: value})
    err = info.value
    assert err.field == field
    _no_secret(str(err))
    _no_secret(repr(err))
    _no_secret(json.dumps([d.to_dict() for d in err.diagnostics], ensure_ascii=False))


def test_enum_like_and_contract_values_are_still_echoed(pack):
    with pytest.raises(CaseError, match="'c'"):
        pack.evaluate({**BASE, "district_code": "c"})
    with pytest.raises(CaseError, match="'certifcate'"):
        pack.evaluate({**BASE, "service": "certifcate"})
    with pytest.raises(CaseError, match="2024-02-30"):
        pack.evaluate({**BASE, "submitted_on": "2024-02-30"})


def test_personal_field_names_are_recognised():
    for name in (
        "name",
        "applicant_name",
        "id_number",
        "idno",
        "id_card_no",
        "phone",
        "mobile",
        "tel",
        "email",
        "address",
        "birth_date",
        "passport",
        "姓名",
        "身份证号",
        "联系电话",
    ):
        assert _PERSONAL.search(name), name
    for name in ("district_code", "category", "dialysis_count_3_months", "disease_class", "scheme"):
        assert not _PERSONAL.search(name), name


def test_case_repr_shows_no_values(pack):
    case = parse_case(
        {**BASE, **PERSONAL, "diseases": ["恶性肿瘤"], "materials": [NAME]}, pack.case_fields
    )
    text = repr(case)
    _no_secret(text)
    assert "恶性肿瘤" not in text  # health data is personal too
    assert "applicant_name" in text  # names of fields are fine


def test_decision_and_text_report_hold_no_unread_personal_field(pack):
    decision = pack.evaluate({**BASE, **PERSONAL, "diseases": ["恶性肿瘤"]})
    _no_secret(decision.to_json())
    from mtbrules.render import decision_text

    for lang in ("zh", "en"):
        _no_secret(decision_text(decision, pack, lang))


def test_explain_holds_no_unread_personal_field(pack):
    explain = pytest.importorskip("mtbrules.explain")
    x = explain.explain(pack, {**BASE, **PERSONAL, "diseases": ["恶性肿瘤"]})
    _no_secret(x.to_json())
    for lang in ("zh", "en"):
        _no_secret(x.to_text(lang))


def test_library_logs_and_prints_nothing(pack, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    pack.evaluate({**BASE, **PERSONAL, "diseases": ["恶性肿瘤", NAME]})
    with pytest.raises(CaseError):
        pack.evaluate({**BASE, **PERSONAL, "phone": int(PHONE)})
    assert not caplog.records
    out, err = capsys.readouterr()
    assert out == "" and err == ""


def test_cli_error_for_personal_field_shows_no_value(pack, tmp_path):
    case = tmp_path / "case.json"
    case.write_text(
        json.dumps({**BASE, **PERSONAL, "birth_date": BIRTH}, ensure_ascii=False), encoding="utf-8"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "mtbrules", "eval", str(case), "--pack", pack.folder],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "birth_date" in proc.stderr
    _no_secret(proc.stderr + proc.stdout)


def test_builtin_packs_read_no_personal_field():
    """So a decision or explanation from a built-in pack never shows a personal value."""
    for pack_id in mtbrules.builtin_packs():
        pack = mtbrules.load_pack(pack_id)
        assert not [f for f in pack.case_fields if _PERSONAL.search(f)], pack_id
        for rule in pack.rules:
            exprs = ([rule.when] if rule.when else []) + [d.date for d in rule.deadlines]
            for compiled in exprs:
                personal = [f for f in compiled.fields if _PERSONAL.search(f)]
                assert not personal, (pack_id, rule.id, personal)


def test_unknown_disease_and_material_names_are_echoed_only_in_the_decision(pack):
    """Free text the applicant wrote in `diseases`/`materials` is what the decision is about: it is
    quoted back in reasons and warnings (documented), but never in errors or logs."""
    decision = pack.evaluate({**BASE, "diseases": [NAME]})
    assert decision.outcome == "ineligible"
    assert any(NAME in r.text for r in decision.reasons)
    with pytest.raises(CaseError) as info:
        pack.evaluate({**BASE, "diseases": [NAME, 3]})
    assert NAME not in str(info.value)
    assert re.search(r"diseases\[1\]", str(info.value))
