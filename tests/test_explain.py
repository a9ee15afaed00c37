"""mtbrules explain: why each output holds, and why the other rules did not apply."""

from __future__ import annotations

import json

import pytest

import mtbrules
from mtbrules.cli import main
from mtbrules.explain import APPLIED, NOT_APPLIED, NOT_RUN, OVERRIDDEN, UNDECIDED, explain
from mtbrules.tester import load_scenarios

QD = {
    "service": "certificate",
    "submitted_on": "2025-09-29",
    "diseases": ["恶性肿瘤"],
    "first_application": True,
}


@pytest.fixture(scope="module")
def qingdao():
    return mtbrules.load_pack("qingdao")


def _find(cond, expr):
    if cond.expr == expr:
        return cond
    for p in cond.parts:
        hit = _find(p, expr)
        if hit:
            return hit
    for _, c in cond.items:
        hit = _find(c, expr)
        if hit:
            return hit
    return None


def test_decision_is_the_engines(qingdao):
    x = explain(qingdao, QD)
    assert x.decision.to_dict() == qingdao.evaluate(QD).to_dict()


def test_outputs_name_their_rules(qingdao):
    x = explain(qingdao, QD)
    assert x.outputs["outcome"] == {"value": "instant", "rule": "instant_time_limit"}
    docs = {d["id"]: d["rule"] for d in x.outputs["required_documents"]}
    assert docs["pathology_report"] == "malignant_tumor_pathology_report"
    assert all(c["rule"] for c in x.outputs["channels"])


def test_statuses(qingdao):
    x = explain(qingdao, QD)
    assert x.rule("instant_time_limit").status == APPLIED
    general = x.rule("general_time_limit")
    assert general.status == OVERRIDDEN and general.overridden_by == ("instant_time_limit",)
    assert x.rule("tuberculosis_specialty").status == NOT_APPLIED
    x2 = explain(qingdao, {k: v for k, v in QD.items() if k != "first_application"})
    assert x2.rule("channel_instant_hospital").status == UNDECIDED


def test_why_not_names_the_false_subcondition_and_its_value(qingdao):
    case = {
        "service": "certificate",
        "submitted_on": "2025-09-29",
        "diseases": ["糖尿病合并并发症"],
        "hospitalized": True,
        "hospital_level": 2,
        "district": "市南区",
    }
    pack = qingdao
    if pack.disease_index.lookup("糖尿病合并并发症") is None:
        case["diseases"] = [next(d.name for d in pack.diseases.values() if "group_a" in d.groups)]
    x = explain(pack, case)
    reject = x.rule("group_a_inpatient_level_core_districts")
    assert reject.status == APPLIED
    leaf = _find(reject.condition, "hospital_level < 3")
    assert leaf.value is True and leaf.seen == {"hospital_level": 2}
    other = x.rule("group_a_inpatient_level_other_districts")
    assert other.status == NOT_APPLIED
    leaf = _find(other.condition, 'district not in ["市南区", "市北区", "李沧区"]')
    assert leaf.value is False and leaf.seen == {"district": "市南区"}
    missing = x.rule("group_a_outpatient_documents")
    assert _find(missing.condition, "not hospitalized").value is False


def test_quantifier_items_are_catalogue_names(qingdao):
    x = explain(qingdao, QD)
    cond = x.rule("malignant_tumor_pathology_report").condition
    assert [label for label, _ in cond.items] == ["恶性肿瘤"]


def test_depth_limit(qingdao):
    x = explain(qingdao, QD, depth=1)
    cond = x.rule("instant_time_limit").condition
    assert cond.parts == () and cond.truncated


def test_engine_decision_before_rules(qingdao):
    x = explain(
        qingdao, {"service": "certificate", "submitted_on": "2025-09-29", "diseases": ["感冒"]}
    )
    assert x.decision.outcome == "ineligible"
    assert x.engine and x.engine[0]["rule"] == "pack:diseases"
    assert {r.status for r in x.rules} == {NOT_RUN}


def test_only_fields_the_rules_read_are_shown(qingdao):
    x = explain(qingdao, {**QD, "age": 87})
    assert '"age"' not in x.to_json()


def test_text_in_both_languages(qingdao):
    x = explain(qingdao, QD)
    zh, en = x.to_text("zh"), x.to_text("en")
    assert "适用的规则" in zh and "未适用的规则" in zh
    assert "Rules that applied" in en and "instant_time_limit" in en


def test_every_scenario_of_every_pack_explains():
    for pid in mtbrules.builtin_packs():
        pack = mtbrules.load_pack(pid)
        for sc in load_scenarios(pack):
            try:
                expected = pack.evaluate(sc.case).to_dict()
            except mtbrules.MtbError:
                continue
            x = explain(pack, sc.case)
            assert x.decision.to_dict() == expected
            json.loads(x.to_json())
            x.to_text("en")


def test_cli(tmp_path, capsys):
    f = tmp_path / "case.json"
    f.write_text(json.dumps({"pack": "qingdao", **QD}, ensure_ascii=False), encoding="utf-8")
    assert main(["explain", str(f), "--format", "json", "--rule", "instant_time_limit"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["rule"] for r in data["rules"]] == ["instant_time_limit"]
    assert main(["explain", str(f), "--lang", "en", "--depth", "2"]) == 0
    assert "Outcome: instant" in capsys.readouterr().out
    assert main(["explain", str(f), "--rule", "no_such_rule"]) == 2
    assert "no_such_rule" in capsys.readouterr().err
