"""The Spark engine gives the local engine's decisions, row for row (Spark in local mode).

One SparkSession (local[2]) for the whole module; a few thousand cases.
Skipped only when pyspark is not installed (`pip install "mtbrules[spark]"`).
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import random
import re
import shutil
from pathlib import Path

import pytest

pytest.importorskip(
    "pyspark", reason='the Spark engine needs pyspark: pip install "mtbrules[spark]"'
)
pytest.importorskip(
    "pyarrow", reason='the Spark engine needs pyarrow: pip install "mtbrules[spark]"'
)

import mtbrules
from mtbrules import caseio
from mtbrules import diff as local_diff
from mtbrules import spark as ms
from mtbrules.case import CASE_FIELDS, CASE_OBJECTS
from mtbrules.cli import main
from mtbrules.decision import OUTCOMES
from mtbrules.spark import files as spark_files
from mtbrules.spark import shipping

N = 2500


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    s = ms.session(
        "local[2]",
        conf={"spark.sql.shuffle.partitions": "4", "spark.default.parallelism": "2"},
        log=tmp_path_factory.mktemp("spark") / "spark.log",
    )
    yield s
    s.stop()  # the JVM's memory back for the rest of the suite


@pytest.fixture(scope="module")
def pack():
    return mtbrules.load_pack("qingdao")


def _generated(pack, n: int, seed: int) -> list[dict]:
    """Cases from the pack's catalogues (used when mtbrules.synth is not available)."""
    rng = random.Random(seed)
    diseases = [d.name for d in pack.diseases.values()] + ["感冒"]
    documents = [d.name for d in pack.documents.values()]
    services = list(pack.services)
    out = []
    for _ in range(n):
        case: dict = {
            "service": rng.choice(services),
            "submitted_on": (
                _dt.date(2024, 1, 1) + _dt.timedelta(days=rng.randrange(900))
            ).isoformat(),
            "diseases": rng.sample(diseases, rng.choice((1, 1, 2))),
        }
        for field in ("first_application", "hospitalized", "agent", "retired"):
            if rng.random() < 0.7:
                case[field] = rng.random() < 0.5
        if rng.random() < 0.6:
            case["materials"] = rng.sample(documents, rng.randrange(min(4, len(documents)) + 1))
        if rng.random() < 0.3:
            case["hospital_level"] = rng.choice((1, 2, 3))
        out.append(case)
    return out


def _cases(pack, n: int, seed: int = 11) -> list[dict]:
    try:
        from mtbrules.synth import synth_cases
    except ImportError:
        return _generated(pack, n, seed)
    return [
        json.loads(json.dumps(c, ensure_ascii=False, default=str))
        for c in synth_cases(pack, n, seed=seed)
    ]


@pytest.fixture(scope="module")
def cases(pack):
    cases = _cases(pack, N)
    # A few rows that cannot be evaluated, as a real caseload has.
    cases[7] = dict(cases[7], bogus=1)
    cases[19] = dict(cases[19], age="old")
    cases[23] = {k: v for k, v in cases[23].items() if k != "service"}
    return cases


def _expected(pack, case) -> tuple:
    try:
        return ("ok", caseio.dumps(pack.evaluate(case).to_dict()))
    except mtbrules.MtbError as exc:
        return ("error", getattr(exc, "field", None), str(exc))


def _got(row) -> tuple:
    if row["error"] is not None:
        return ("error", row["error_field"], row["error"])
    return ("ok", row["decision_json"])


# ---------------------------------------------------------------- the Python API


def test_case_json_row_for_row(spark, pack, cases):
    """A `case_json` column: every row's decision JSON (or error) is the local engine's."""
    df = spark.createDataFrame(
        [(i + 1, json.dumps(c, ensure_ascii=False)) for i, c in enumerate(cases)],
        "row long, case_json string",
    )
    out = ms.evaluate_cases(df.repartition(4), pack)
    rows = sorted(out.collect(), key=lambda r: r["row"])
    assert [r["row"] for r in rows] == list(range(1, len(cases) + 1))
    mismatches = [r["row"] for r in rows if _got(r) != _expected(pack, cases[r["row"] - 1])]
    assert mismatches == []
    bad = {r["row"]: r["error_field"] for r in rows if r["error"] is not None}
    assert {8: "bogus", 20: "age", 24: "service"}.items() <= bad.items()
    # The typed columns say what the JSON says.
    for r in rows[:200]:
        if r["error"] is not None:
            continue
        d = json.loads(r["decision_json"])
        assert (
            r["outcome"] == d["outcome"]
            and r["complete"] == d["complete"]
            and r["pack_version"] == d["pack_version"]
        )
        assert r["missing_documents"] == d["missing_documents"]
        assert r["as_of"].isoformat() == d["as_of"]
        due = [x["date"] for x in d["deadlines"] if x["kind"] == "decision_due"]
        assert (r["decision_due"].isoformat() if r["decision_due"] else None) == (
            due[-1] if due else None
        )


def _spark_type(type_name: str) -> str:
    return {
        "bool": "boolean",
        "int": "bigint",
        "number": "double",
        "date": "date",
        "string": "string",
        "list": "array<string>",
    }[type_name]


_PYTHON = {
    "bool": (bool,),
    "int": (int,),
    "number": (int, float),
    "string": (str,),
    "list": (list,),
    "date": (str,),
}


def _typed(type_name: str, value):
    if value is None:
        return None
    if not isinstance(value, _PYTHON[type_name]) or (
        type_name in ("int", "number") and isinstance(value, bool)
    ):
        raise TypeError(value)
    if type_name == "date":
        return _dt.date.fromisoformat(value)
    if type_name == "number":
        return float(value)
    return value


def _structured(pack, case: dict) -> dict | None:
    """`case` with Spark-typed values (dates as dates, numbers as doubles, materials as structs); None if it does not fit."""
    out: dict = {}
    try:
        for key, value in case.items():
            if key in CASE_OBJECTS:
                out[key] = {sub: _typed(CASE_OBJECTS[key][sub].name, v) for sub, v in value.items()}
            elif key == "materials":
                out[key] = [
                    {"name": m, "issued_on": None}
                    if isinstance(m, str)
                    else {"name": m["name"], "issued_on": _typed("date", m.get("issued_on"))}
                    for m in value
                ]
            elif key == "diseases":
                out[key] = list(value)
            elif key in CASE_FIELDS:
                out[key] = _typed(CASE_FIELDS[key].name, value)
            elif key in pack.case_fields:
                out[key] = _typed(pack.case_fields[key], value)
            else:
                return None
    except (KeyError, ValueError, TypeError, AttributeError):
        return None
    return out


def _schema(pack) -> str:
    parts = []
    for key, type_ in CASE_FIELDS.items():
        if key == "materials":
            parts.append("materials array<struct<name: string, issued_on: date>>")
        elif key == "diseases":
            parts.append("diseases array<string>")
        else:
            parts.append(f"{key} {_spark_type(type_.name)}")
    for obj, fields in CASE_OBJECTS.items():
        inner = ", ".join(f"{sub}: {_spark_type(t.name)}" for sub, t in fields.items())
        parts.append(f"{obj} struct<{inner}>")
    for key, type_name in pack.case_fields.items():
        parts.append(f"{key} {_spark_type(type_name)}")
    return ", ".join(parts) + ", app_id string"


def test_struct_columns_row_for_row(spark, pack, cases):
    """Typed columns (structs for offsite/prior, arrays, dates) give the same decisions; kept columns pass through."""
    typed = [
        (i, s)
        for i, s in ((i, _structured(pack, c)) for i, c in enumerate(cases[:1200]))
        if s is not None
    ]
    assert len(typed) > 1000
    schema = _schema(pack)
    names = [
        p.split(" ", 1)[0]
        for p in schema.split(", ")
        if " " in p and not p.startswith(("name:", "issued_on:"))
    ]
    records = [{**{k: None for k in names}, **s, "app_id": f"A{i:05d}"} for i, s in typed]
    df = spark.createDataFrame(records, schema)
    out = ms.evaluate_cases(df, pack, row=None, keep=["app_id"])
    assert out.columns == ["app_id", *ms.DECISION_COLUMNS]
    got = {r["app_id"]: _got(r) for r in out.collect()}
    want = {
        f"A{i:05d}": _expected(pack, {k: v for k, v in s.items() if v is not None})
        for i, s in typed
    }
    assert [k for k in want if got.get(k) != want[k]] == []


def test_rows_numbered_in_partition_order(spark, pack, cases):
    """Without a row column, rows are numbered 1..n in the DataFrame's order."""
    df = spark.createDataFrame(
        [(json.dumps(c, ensure_ascii=False),) for c in cases[:300]], "case_json string"
    ).coalesce(3)
    rows = sorted(ms.evaluate_cases(df, pack).collect(), key=lambda r: r["row"])
    assert [r["row"] for r in rows] == list(range(1, 301))
    assert all(_got(r) == _expected(pack, cases[r["row"] - 1]) for r in rows)


def test_pack_compiled_once_per_worker(spark, pack, cases):
    """Many partitions, one compiled pack per Python worker (Spark reuses workers)."""
    spec = ms.ship_pack(pack)
    df = spark.createDataFrame(
        [(json.dumps(c, ensure_ascii=False),) for c in cases[:400]], "case_json string"
    ).repartition(16)
    assert ms.evaluate_cases(df, pack, row=None).filter("error is null").count() > 0

    def loads(batches):
        import os

        import pyarrow as pa

        from mtbrules import spark as worker_side

        for _ in batches:
            pass
        count = worker_side.LOADS.get((spec.id, spec.digest), 0)
        yield pa.RecordBatch.from_pydict({"pid": [os.getpid()], "loads": [count]})

    seen = spark.range(16).repartition(16).mapInArrow(loads, "pid bigint, loads bigint").collect()
    per_worker = {r["pid"]: r["loads"] for r in seen}
    assert per_worker and all(v <= 1 for v in per_worker.values())
    assert any(v == 1 for v in per_worker.values())


def test_pack_shipped_as_files(tmp_path, pack):
    """An executor without the driver's folder rebuilds the pack from the shipped files."""
    folder = tmp_path / "qd"
    shutil.copytree(pack.folder, folder)
    spec = ms.ship_pack(str(folder))
    moved = ms.ShippedPack(spec.id, str(tmp_path / "gone" / "qd"), spec.digest, spec.files)
    shipping._PACKS.pop((spec.id, spec.digest), None)
    shipped = ms.executor_pack(moved)
    case = {"service": "certificate", "submitted_on": "2025-09-29", "diseases": ["恶性肿瘤"]}
    assert shipped.evaluate(case).to_dict() == pack.evaluate(case).to_dict()
    assert ms.executor_pack(moved) is shipped


# ---------------------------------------------------------------- mtbrules batch --engine spark


@pytest.fixture(scope="module")
def caseload(tmp_path_factory, cases):
    """The same caseload as JSONL (with a blank line and a bad line), CSV and Parquet."""
    root = tmp_path_factory.mktemp("caseload")
    part = cases[:1500]
    with open(root / "cases.jsonl", "w", encoding="utf-8") as fh:
        for i, c in enumerate(part):
            if i == 10:
                fh.write("\n")
            if i == 30:
                fh.write("{not json\n")
            fh.write(json.dumps(c, ensure_ascii=False) + "\n")
    flat = []
    for c in part:
        row = {"case_json": ""}
        if any(isinstance(m, dict) for m in c.get("materials", ())) or any(
            k in CASE_OBJECTS for k in c
        ):
            row["case_json"] = json.dumps(c, ensure_ascii=False)
        else:
            for k, v in c.items():
                row[k] = (
                    ";".join(v)
                    if isinstance(v, list)
                    else ("true" if v is True else "false" if v is False else str(v))
                )
        flat.append(row)
    header = sorted({k for r in flat for k in r})
    with open(root / "cases.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for i, r in enumerate(flat):
            w.writerow([r.get(k, "") for k in header])
            if i == 40:
                w.writerow(["certificate", "2025-01-01"])  # fewer cells than the header
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(
        pa.Table.from_pylist([{"case_json": json.dumps(c, ensure_ascii=False)} for c in part]),
        root / "cases.parquet",
        row_group_size=400,
    )
    return root


@pytest.mark.parametrize(
    "src, dst",
    [("cases.jsonl", "out.jsonl"), ("cases.parquet", "out.csv"), ("cases.csv", "out.parquet")],
)
def test_batch_engine_spark_same_output(spark, caseload, tmp_path, capsys, src, dst):
    """`batch --engine spark` writes the local engine's output and errors, row for row."""
    args = [str(caseload / src), "--pack", "qingdao", "-q"]
    local, remote = tmp_path / f"local-{dst}", tmp_path / f"spark-{dst}"
    code_local = main(["batch", *args, "-o", str(local), "-j", "1"])
    code_spark = main(["batch", *args, "-o", str(remote), "--engine", "spark"])
    capsys.readouterr()
    assert code_local == code_spark
    if dst.endswith(".parquet"):
        import pyarrow.parquet as pq

        assert pq.read_table(remote).equals(pq.read_table(local))
    else:
        assert remote.read_bytes() == local.read_bytes()
    errors_local = [
        json.loads(e)
        for e in Path(str(local) + ".errors.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    errors_spark = [
        json.loads(e)
        for e in Path(str(remote) + ".errors.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    if src.endswith(".csv"):
        # Spark does not know the physical line of a malformed CSV record: its message leaves out "(line N)".
        for e in errors_local:
            e["message"] = re.sub(r" \(line \d+\)$", "", e["message"])
    assert errors_spark == errors_local
    assert len(errors_spark) >= 1


def test_batch_master_needs_spark_engine(capsys, caseload, tmp_path):
    code = main(
        [
            "batch",
            str(caseload / "cases.jsonl"),
            "--pack",
            "qingdao",
            "-o",
            str(tmp_path / "o.jsonl"),
            "--master",
            "local[1]",
        ]
    )
    assert code == 2 and "--engine spark" in capsys.readouterr().err


# ---------------------------------------------------------------- impact of a pack change


def test_impact_on_spark_is_the_local_impact(spark, pack, caseload, tmp_path):
    """`mtbrules diff --cases` computed on Spark: the same report as the local one."""
    new_folder = tmp_path / "qingdao"
    shutil.copytree(pack.folder, new_folder)
    limits = new_folder / "rules" / "s2_3_time_limits.yaml"
    text = limits.read_text(encoding="utf-8")
    assert "submitted_on + 7 working_days" in text
    limits.write_text(
        text.replace("submitted_on + 7 working_days", "submitted_on + 10 working_days", 1),
        encoding="utf-8",
    )
    new = mtbrules.load_pack(str(new_folder))
    path = str(caseload / "cases.jsonl")
    want = local_diff.impact_file(pack, new, path, workers=1).to_dict()
    got = ms.impact_file(pack, new, path, spark=spark).to_dict()
    assert got == want
    assert want["summary"]["deadlines_changed"] > 0 and want["summary"]["invalid"] >= 1

    # The same on a DataFrame of case_json records.
    df = spark.read.parquet(str(caseload / "cases.parquet"))
    records = [{"case_json": r["case_json"]} for r in df.collect()]
    assert ms.impact(df, pack, new).to_dict() == _local_table_impact(pack, new, records)


def _local_table_impact(pack, new, records) -> dict:
    result = local_diff.Impact(pack, new)
    for row, record in enumerate(records, 1):
        case = caseio.row_to_case(record, pack)
        result.add(local_diff.compare_case(row, case, pack, new))
    return result.to_dict()


# ---------------------------------------------------------------- outcomes, failures, the commit


def test_every_outcome_counted(spark, pack, cases):
    """outcome_counts has every outcome of OUTCOMES (zeros included) and the error rows, as the local engine counts them."""
    df = spark.createDataFrame(
        [(json.dumps(c, ensure_ascii=False),) for c in cases[:600]], "case_json string"
    )
    out = ms.evaluate_cases(df, pack)
    want = dict.fromkeys((*OUTCOMES, "error"), 0)
    for case in cases[:600]:
        try:
            want[pack.evaluate(case).outcome] += 1
        except mtbrules.MtbError:
            want["error"] += 1
    got = ms.outcome_counts(out)
    assert list(got) == [*OUTCOMES, "error"]
    assert got == want
    assert sum(1 for o in OUTCOMES if got[o]) >= 2 and got["error"] >= 3
    # The typed schema says which values the outcome column takes.
    comment = out.schema["outcome"].metadata["comment"]
    assert all(o in comment for o in OUTCOMES)


def test_spark_failure_is_one_message(spark, tmp_path):
    """A Python error on an executor becomes one line naming it; Spark's whole text goes to the log."""

    def failing(batches):
        for _ in batches:
            raise ValueError("no such ward: 7")
        yield  # pragma: no cover - a generator, as mapInArrow wants

    log = tmp_path / "failure.log"
    with pytest.raises(Exception) as caught:
        spark.range(3).mapInArrow(failing, "id bigint").collect()
    error = ms.spark_failure("while evaluating the cases", caught.value, str(log))
    assert isinstance(error, mtbrules.MtbError) and error.exit_code == 3
    message = str(error)
    assert message.startswith(
        "Spark failed while evaluating the cases: ValueError: no such ward: 7"
    )
    assert message.endswith(f"full log: {log}") and "\n" not in message
    assert "Traceback (most recent call last)" in log.read_text(encoding="utf-8")


def test_output_appears_only_when_complete(spark, caseload, tmp_path, capsys, monkeypatch):
    """While rows are written, OUT does not exist (they go to OUT's .partial name), then it is renamed."""
    out = tmp_path / "out.jsonl"
    seen = []
    original = spark_files._payload

    def watching(rows, fout):
        seen.append((out.exists(), (tmp_path / "out.partial.jsonl").exists()))
        return original(rows, fout)

    monkeypatch.setattr(spark_files, "_payload", watching)
    args = [str(caseload / "cases.jsonl"), "--pack", "qingdao", "-q", "-o", str(out)]
    code = main(["batch", *args, "--engine", "spark"])
    capsys.readouterr()
    assert code == 1  # the caseload has bad rows
    assert seen and all(s == (False, True) for s in seen)
    assert out.exists() and Path(str(out) + ".errors.jsonl").exists()
    assert not list(tmp_path.glob("*.partial*"))


def test_undetermined_on_spark(spark):
    """A disease outside a pack's incomplete catalogue: `undetermined` on Spark as locally, and counted."""
    datong = mtbrules.load_pack("datong")
    cases = [
        {"service": "certificate", "submitted_on": "2025-09-29", "diseases": ["糖尿病"]},
        {"service": "renewal", "submitted_on": "2025-10-09", "diseases": ["糖尿病"]},
    ]
    df = spark.createDataFrame(
        [(json.dumps(c, ensure_ascii=False),) for c in cases], "case_json string"
    )
    out = ms.evaluate_cases(df, datong)
    rows = sorted(out.collect(), key=lambda r: r["row"])
    assert [_got(r) for r in rows] == [_expected(datong, c) for c in cases]
    assert {r["outcome"] for r in rows} == {"undetermined"}
    assert ms.outcome_counts(out)["undetermined"] == 2
