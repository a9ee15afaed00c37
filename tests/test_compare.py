"""mtbrules compare: one case across every pack."""

from __future__ import annotations

import json

import mtbrules
from mtbrules.cli import main
from mtbrules.compare import compare, to_json, to_markdown, to_text

CASE = {
    "service": "certificate",
    "submitted_on": "2025-09-29",
    "diseases": ["恶性肿瘤"],
    "scheme": "employee",
    "hospital_level": 3,
    "first_application": True,
    "dialysis_count_3_months": 4,
}


def test_every_pack_has_a_row():
    rows = compare(CASE, "all")
    assert [r.pack for r in rows] == mtbrules.builtin_packs()
    by = {r.pack: r for r in rows}
    assert by["qingdao"].outcome == "instant"
    assert (
        by["qingdao"].decision.to_dict()
        == mtbrules.load_pack("qingdao").evaluate({k: v for k, v in CASE.items()}).to_dict()
    )


def test_pack_only_fields_are_left_out_with_a_note():
    rows = {r.pack: r for r in compare(CASE, ["qingdao", "rizhao"])}
    assert rows["qingdao"].notes == ()
    assert any("dialysis_count_3_months" in n for n in rows["rizhao"].notes)
    assert rows["rizhao"].decision is not None


def test_input_errors_are_a_row_not_a_crash():
    rows = compare({**CASE, "category": "Z"}, ["qingdao", "quarterly"])
    assert all(r.outcome == "error" and "category" in r.error for r in rows)


def test_formats():
    rows = compare(CASE, ["qingdao", "quarterly"])
    data = json.loads(to_json(rows))
    assert {
        "pack",
        "outcome",
        "required_documents",
        "decision_due",
        "valid_until",
        "channels",
    } <= set(data[0])
    md = to_markdown(rows, "en")
    assert md.startswith("| pack | outcome |") and "| qingdao | instant |" in md
    assert "quarterly" in to_text(rows, "zh")


def test_cli(tmp_path, capsys):
    f = tmp_path / "case.json"
    f.write_text(json.dumps(CASE, ensure_ascii=False), encoding="utf-8")
    assert main(["compare", str(f), "--packs", "all", "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == len(mtbrules.builtin_packs())
    assert main(["compare", str(f), "--packs", "qingdao,datong", "--format", "markdown"]) == 0
    assert "| datong |" in capsys.readouterr().out
    assert main(["compare", str(f), "--packs", "nowhere"]) == 2
