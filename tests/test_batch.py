"""mtbrules batch: caseloads in JSONL, CSV and Parquet; bad rows reported, never dropped."""

from __future__ import annotations

import csv
import json

import pytest

import mtbrules
from mtbrules import caseio
from mtbrules.batch import evaluate_file, evaluate_iter, row_to_case
from mtbrules.cli import main

GOOD = [
    {
        "service": "certificate",
        "submitted_on": "2025-09-29",
        "diseases": ["恶性肿瘤"],
        "first_application": True,
    },
    {
        "service": "certificate",
        "submitted_on": "2025-03-03",
        "diseases": ["慢性乙型病毒性肝炎"],
        "materials": ["身份证"],
    },
    {"service": "change_hospital", "submitted_on": "2024-05-06", "prior": {"changes_this_year": 1}},
    {"service": "certificate", "submitted_on": "2025-09-29", "diseases": ["感冒"]},
]


@pytest.fixture(scope="module")
def pack():
    return mtbrules.load_pack("qingdao")


def _jsonl(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _read_jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_evaluate_iter_reports_bad_cases(pack):
    results = list(evaluate_iter(pack, GOOD + [{"service": "certificate"}]))
    assert [r.ok for r in results] == [True] * 4 + [False]
    assert results[0].decision == pack.evaluate(GOOD[0]).to_dict()
    assert results[4].row == 5 and results[4].field == "submitted_on"


def test_jsonl_rows_are_evals_decisions(pack, tmp_path):
    src = _jsonl(tmp_path / "in.jsonl", [json.dumps(c, ensure_ascii=False) for c in GOOD])
    stats = evaluate_file(pack, str(src), str(tmp_path / "out.jsonl"), workers=1)
    assert (stats.rows, stats.ok, stats.bad) == (4, 4, 0)
    out = _read_jsonl(tmp_path / "out.jsonl")
    for i, (case, row) in enumerate(zip(GOOD, out), 1):
        assert row == {"row": i, **pack.evaluate(case).to_dict()}
    # Byte for byte what the one caseload encoder writes for that object.
    lines = (tmp_path / "out.jsonl").read_bytes().splitlines(keepends=True)
    for i, (case, line) in enumerate(zip(GOOD, lines), 1):
        assert line == caseio.dumps_bytes({"row": i, **pack.evaluate(case).to_dict()}) + b"\n"
    assert (tmp_path / "out.jsonl.errors.jsonl").read_text() == ""


def test_bad_rows_go_to_the_errors_file_and_the_rest_goes_on(pack, tmp_path, capsys):
    lines = [
        json.dumps(GOOD[0], ensure_ascii=False),
        "{not json",
        "",
        "[1, 2]",
        json.dumps({"service": "certificate", "submitted_on": "2025-02-30"}),
        json.dumps({"service": "certificate", "submitted_on": "2025-03-03", "agee": 1}),
        json.dumps(GOOD[1], ensure_ascii=False),
    ]
    src = _jsonl(tmp_path / "in.jsonl", lines)
    out = tmp_path / "out.jsonl"
    assert main(["batch", "--pack", "qingdao", str(src), "-o", str(out), "-q", "-j", "1"]) == 1
    assert "4 of 6 rows" in capsys.readouterr().err
    assert [r["row"] for r in _read_jsonl(out)] == [1, 7]
    errors = _read_jsonl(tmp_path / "out.jsonl.errors.jsonl")
    assert [e["row"] for e in errors] == [2, 4, 5, 6]
    assert errors[2]["field"] == "submitted_on" and errors[3]["field"] == "agee"


def test_empty_caseload(pack, tmp_path):
    src = _jsonl(tmp_path / "in.jsonl", [])
    assert (
        main(["batch", "--pack", "qingdao", str(src), "-o", str(tmp_path / "o.jsonl"), "-q"]) == 0
    )
    assert (tmp_path / "o.jsonl").read_text() == ""
    assert (
        main(["batch", "--pack", "qingdao", str(src), "-o", str(tmp_path / "o.parquet"), "-q"]) == 0
    )
    import pyarrow.parquet as pq

    assert pq.read_table(tmp_path / "o.parquet").num_rows == 0


def test_parallel_output_is_ordered_and_equal(pack, tmp_path):
    cases = [dict(GOOD[i % 4], submitted_on=f"2025-0{1 + i % 9}-1{i % 10}") for i in range(300)]
    src = _jsonl(tmp_path / "in.jsonl", [json.dumps(c, ensure_ascii=False) for c in cases])
    evaluate_file(pack, str(src), str(tmp_path / "one.jsonl"), workers=1, chunk_rows=7)
    evaluate_file(pack, str(src), str(tmp_path / "two.jsonl"), workers=2, chunk_rows=7)
    assert (tmp_path / "one.jsonl").read_bytes() == (tmp_path / "two.jsonl").read_bytes()
    assert [r["row"] for r in _read_jsonl(tmp_path / "two.jsonl")] == list(range(1, 301))


def test_workers_writing_their_own_chunks_give_one_process_output(pack, tmp_path):
    """CRLF lines, blank lines, bad lines and no final newline, cut into small byte ranges: two
    workers, each reading its ranges and writing its decisions itself, give byte for byte the
    output and errors file of one process."""
    lines = []
    for i in range(400):
        case = dict(GOOD[i % 4], submitted_on=f"2025-0{1 + i % 9}-1{i % 10}")
        lines.append("{not json" if i % 37 == 5 else "" if i % 41 == 7 else json.dumps(case))
    src = tmp_path / "in.jsonl"
    src.write_bytes("\r\n".join(lines).encode())
    for j in (1, 2):
        evaluate_file(pack, str(src), str(tmp_path / f"o{j}.jsonl"), workers=j, chunk_rows=9)
        evaluate_file(pack, str(src), str(tmp_path / f"o{j}.csv"), workers=j, chunk_rows=9)
    for ext in ("jsonl", "csv"):
        assert (tmp_path / f"o1.{ext}").read_bytes() == (tmp_path / f"o2.{ext}").read_bytes()
        errors = [(tmp_path / f"o{j}.{ext}.errors.jsonl").read_bytes() for j in (1, 2)]
        assert errors[0] == errors[1] and errors[0].count(b"\n") == 11
    out = _read_jsonl(tmp_path / "o2.jsonl")
    assert [r["row"] for r in out] == [i + 1 for i in range(400) if i % 37 != 5 and i % 41 != 7]
    assert out[-1] == {"row": 400, **pack.evaluate(json.loads(lines[-1])).to_dict()}


def test_csv_in_parquet_out(pack, tmp_path):
    src = tmp_path / "in.csv"
    with open(src, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "service",
                "submitted_on",
                "diseases",
                "first_application",
                "materials",
                "prior.changes_this_year",
            ]
        )
        w.writerow(["certificate", "2025-09-29", "恶性肿瘤", "true", "身份证;社保卡", ""])
        w.writerow(["change_hospital", "2024-05-06", "", "", "", "1"])
        w.writerow(["certificate", "2025-09-29", "恶性肿瘤", "maybe", "", ""])
        w.writerow(["certificate", "2025-09-29"])
    stats = evaluate_file(pack, str(src), str(tmp_path / "out.parquet"), workers=1)
    assert (stats.ok, stats.bad) == (2, 2)
    import pyarrow.parquet as pq

    table = pq.read_table(tmp_path / "out.parquet").to_pylist()
    assert [r["row"] for r in table] == [1, 2]
    assert table[0]["outcome"] == "instant" and table[1]["outcome"] == "ineligible"
    first = {
        "service": "certificate",
        "submitted_on": "2025-09-29",
        "diseases": ["恶性肿瘤"],
        "first_application": True,
        "materials": ["身份证", "社保卡"],
    }
    assert json.loads(table[0]["decision_json"]) == {"row": 1, **pack.evaluate(first).to_dict()}
    errors = _read_jsonl(tmp_path / "out.parquet.errors.jsonl")
    assert [(e["row"], e["field"]) for e in errors] == [(3, "first_application"), (4, None)]


def test_parquet_in_csv_out(pack, tmp_path):
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "service": ["certificate", "certificate"],
            "submitted_on": [dt.date(2025, 9, 29), dt.date(2025, 3, 3)],
            "diseases": [["恶性肿瘤"], ["慢性乙型病毒性肝炎"]],
            "first_application": [True, None],
        }
    )
    pq.write_table(table, tmp_path / "in.parquet")
    stats = evaluate_file(pack, str(tmp_path / "in.parquet"), str(tmp_path / "out.csv"), workers=1)
    assert (stats.ok, stats.bad) == (2, 0)
    with open(tmp_path / "out.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["outcome"] for r in rows] == ["instant", "review"]
    assert rows[1]["decision_due"] == "2025-03-12"


def test_row_to_case_types(pack):
    case = row_to_case(
        {
            "age": "61",
            "outpatient_years": "2.5",
            "offsite.settled": "yes",
            "district": " 市南区 ",
            "diseases": '["恶性肿瘤", "白血病"]',
            "retired": "",
        },
        pack,
    )
    assert case == {
        "age": 61,
        "outpatient_years": 2.5,
        "offsite": {"settled": True},
        "district": "市南区",
        "diseases": ["恶性肿瘤", "白血病"],
    }


def test_unusable_input_exits_2(tmp_path, capsys):
    assert (
        main(
            [
                "batch",
                "--pack",
                "qingdao",
                str(tmp_path / "missing.jsonl"),
                "-o",
                str(tmp_path / "o.jsonl"),
            ]
        )
        == 2
    )
    (tmp_path / "x.txt").write_text("{}\n")
    assert (
        main(
            ["batch", "--pack", "qingdao", str(tmp_path / "x.txt"), "-o", str(tmp_path / "o.jsonl")]
        )
        == 2
    )
    (tmp_path / "bad.parquet").write_text("not parquet")
    assert (
        main(
            [
                "batch",
                "--pack",
                "qingdao",
                str(tmp_path / "bad.parquet"),
                "-o",
                str(tmp_path / "o.jsonl"),
            ]
        )
        == 2
    )
    assert (
        main(
            ["batch", "--pack", "nowhere", str(tmp_path / "x.txt"), "-o", str(tmp_path / "o.jsonl")]
        )
        == 2
    )
