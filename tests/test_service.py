"""The HTTP service (`mtbrules serve`) against the library's own results, in process."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import logging
import shutil
import warnings
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

with (
    warnings.catch_warnings()
):  # Starlette's notice about httpx2; httpx is what the test extra installs
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from servicecase import QINGDAO

import mtbrules
from mtbrules import cli
from mtbrules.errors import MtbError, error_message
from mtbrules.registry import builtin_ids, builtin_root
from mtbrules.service import accesslog
from mtbrules.service.app import ServiceConfig, create_app
from mtbrules.service.openapi import build_openapi, openapi_text
from mtbrules.service.packs import load_pack_set

pytestmark = pytest.mark.filterwarnings("ignore::Warning:starlette")

ROOT = Path(__file__).resolve().parents[1]


def _plain(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def scenario_cases():
    """(pack id, case) for every scenario of every built-in pack that loads."""
    from mtbrules.tester import load_scenarios

    out = []
    for pid in builtin_ids():
        try:
            scenarios = load_scenarios(mtbrules.load_pack(pid))
        except MtbError:
            continue  # that pack's scenario files are tested (and fail) elsewhere
        out += [(pid, _plain(s.case)) for s in scenarios]
    return out


@pytest.fixture(scope="module")
def packset():
    """Every built-in pack, compiled once for the apps of this module."""
    return load_pack_set(builtin_ids())


@pytest.fixture(scope="module")
def client(packset):
    with TestClient(create_app(ServiceConfig(), packset), raise_server_exceptions=True) as c:
        yield c


def library_result(pack_id, case):
    """What the library says: (200, decision dict) or (status, error) with the CLI's message."""
    try:
        case = {k: v for k, v in case.items() if k != "pack"}
        return 200, mtbrules.load_pack(pack_id).evaluate(case).to_dict()
    except MtbError as exc:
        return 422, {"message": error_message(exc), "field": getattr(exc, "field", None)}


# -- health, readiness, packs -------------------------------------------------


def test_health_and_ready_report_the_served_pack_versions(client):
    assert client.get("/v1/health").json()["status"] == "ok"
    r = client.get("/v1/ready")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ready" and body["generation"] == 1
    served = {p["id"]: p for p in body["packs"]}
    assert sorted(served) == builtin_ids()
    for pid in builtin_ids():
        pack = mtbrules.load_pack(pid)
        assert served[pid]["versions"] == [v.id for v in pack.versions]
        assert served[pid]["fingerprint"].startswith("sha256:")


def test_packs_listing_is_the_library_description(client):
    body = client.get("/v1/packs").json()
    for info in body["packs"]:
        pack = mtbrules.load_pack(info["id"])
        expected = pack.describe()
        assert {k: info[k] for k in expected} == json.loads(json.dumps(expected))
        assert info["case_fields"] == json.loads(json.dumps(dict(pack.case_fields)))
    one = client.get("/v1/packs/qingdao")
    assert one.status_code == 200 and one.json()["id"] == "qingdao"


# -- evaluate ----------------------------------------------------------------


def test_every_scenario_case_gets_the_library_decision(client):
    cases = scenario_cases()
    assert len(cases) > 50
    for i, (pid, case) in enumerate(cases):
        status, expected = library_result(pid, case)
        # alternate the two ways of naming the pack
        if i % 2:
            r = client.post(
                "/v1/evaluate", json={**{k: v for k, v in case.items() if k != "pack"}, "pack": pid}
            )
        else:
            r = client.post(
                f"/v1/packs/{pid}/evaluate",
                json=case if case.get("pack") in (None, pid) else {**case, "pack": pid},
            )
        assert r.status_code == status, (pid, case, r.text)
        if status == 200:
            assert r.json() == expected
            assert r.headers["content-type"].startswith("application/json")
        else:
            assert r.json()["error"]["message"] == expected["message"]
            assert r.json()["error"]["field"] == expected["field"]


def test_batch_gives_each_case_its_library_result_in_order(client):
    cases = [case for pid, case in scenario_cases() if pid == "qingdao"][:40]
    bad = {"service": "certificate", "submitted_on": "2025-13-40"}
    body = {"pack": "qingdao", "cases": cases[:5] + [bad, "not a case"] + cases[5:]}
    r = client.post("/v1/batch", json=body)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["index"] for x in results] == list(range(len(body["cases"])))
    for item, case in zip(results, body["cases"]):
        if not isinstance(case, dict):
            assert item["status"] == 422 and "must be a JSON object" in item["error"]["message"]
            continue
        status, expected = library_result("qingdao", case)
        assert item["status"] == status
        assert item.get("decision", item.get("error")) == (
            expected if status == 200 else {**expected, "code": None}
        )
    summary = r.json()["summary"]
    assert summary["cases"] == len(body["cases"]) and summary["errors"] >= 2
    assert summary["decided"] + summary["errors"] == summary["cases"]
    # the pack in the URL works the same
    r2 = client.post("/v1/packs/qingdao/batch", json={"cases": body["cases"]})
    assert r2.json() == r.json()
    # the body's pack is a default a case may override; the URL's pack binds every case
    other = {**QINGDAO, "pack": "rizhao"}
    r3 = client.post("/v1/batch", json={"pack": "qingdao", "cases": [QINGDAO, other]}).json()[
        "results"
    ]
    assert r3[0]["decision"]["pack"] == "qingdao" and r3[1]["decision"]["pack"] == "rizhao"
    r4 = client.post("/v1/packs/qingdao/batch", json={"cases": [QINGDAO, other]}).json()["results"]
    assert r4[0]["status"] == 200 and r4[1]["status"] == 200
    assert r4[1]["decision"]["pack"] == "qingdao"
    assert r4[1]["decision"]["warnings"] == [
        "the case names pack 'rizhao' but was evaluated with 'qingdao'",
        *r4[0]["decision"]["warnings"],
    ]
    r5 = client.post("/v1/batch", json={"cases": [QINGDAO]}).json()["results"]
    assert r5[0]["status"] == 422 and r5[0]["error"]["field"] == "pack"


# -- invalid input: 4xx with the CLI's message and the field --------------------


def cli_message(capsys, tmp_path, text: str) -> str:
    path = tmp_path / "case.json"
    path.write_text(text, encoding="utf-8")
    assert cli.main(["eval", str(path), "--pack", "qingdao"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mtbrules: ")
    return err[len("mtbrules: ") :].rstrip("\n"), str(path)


@pytest.mark.parametrize(
    "case, field",
    [
        ({**QINGDAO, "age": "sixty"}, "age"),
        ({**QINGDAO, "agee": 60}, "agee"),
        ({**QINGDAO, "submitted_on": "2025-02-30"}, "submitted_on"),
        ({**QINGDAO, "service": "nonsense"}, "service"),
        ({**QINGDAO, "scheme": "gold"}, "scheme"),
        ({**QINGDAO, "offsite": {"relation": "cousin"}}, "offsite.relation"),
        (
            {**QINGDAO, "materials": [{"name": "身份证", "issued_on": "yesterday"}]},
            "materials[0].issued_on",
        ),
        ({k: v for k, v in QINGDAO.items() if k != "submitted_on"}, "submitted_on"),
    ],
)
def test_invalid_case_is_422_with_the_cli_message_and_field(client, capsys, tmp_path, case, field):
    message, _ = cli_message(capsys, tmp_path, json.dumps(case, ensure_ascii=False))
    r = client.post("/v1/packs/qingdao/evaluate", json=case)
    assert r.status_code == 422
    assert r.json()["error"] == {"message": message, "field": field, "code": None}


def test_malformed_json_is_400_with_line_and_column_like_the_cli(client, capsys, tmp_path):
    text = '{\n  "service": "certificate",\n  "age": ,\n}'
    message, path = cli_message(capsys, tmp_path, text)
    r = client.post("/v1/packs/qingdao/evaluate", content=text.encode())
    assert r.status_code == 400
    assert r.json()["error"]["message"] == message.replace(path, "request body")
    assert "request body:3:10: invalid JSON" in r.json()["error"]["message"]
    for raw in (b"", b"   ", b"\xff\xfe", b"NaN", b"[" * 100000):
        r = client.post("/v1/evaluate", content=raw)
        assert r.status_code == 400, raw[:10]
        assert set(r.json()["error"]) == {"message", "field", "code"}


def test_other_client_errors(client):
    r = client.post("/v1/packs/qingdoa/evaluate", json=QINGDAO)
    assert r.status_code == 404 and "did you mean 'qingdao'" in r.json()["error"]["message"]
    assert r.json()["error"]["field"] == "pack" and r.json()["error"]["code"] == "MTB100"
    assert client.post("/v1/evaluate", json={**QINGDAO, "pack": "nowhere"}).status_code == 404
    assert client.get("/v1/packs/nowhere").status_code == 404
    r = client.post("/v1/evaluate", json=QINGDAO)
    assert r.status_code == 422 and r.json()["error"]["field"] == "pack"
    # The URL's pack decides; a case naming another pack gets a warning (docs/contract.md, "Case").
    r = client.post("/v1/packs/qingdao/evaluate", json={**QINGDAO, "pack": "rizhao"})
    assert r.status_code == 200 and r.json()["pack"] == "qingdao"
    assert "the case names pack 'rizhao' but was evaluated with 'qingdao'" in r.json()["warnings"]
    r = client.post(
        "/v1/packs/qingdao/evaluate",
        json={**QINGDAO, "pack": "rizhao"},
        headers={"Accept-Language": "zh"},
    )
    assert "个案指定规则包“rizhao”，但按“qingdao”判断" in r.json()["warnings"]
    r = client.post("/v1/packs/qingdao/evaluate", json={**QINGDAO, "pack": 7})
    assert r.status_code == 422 and r.json()["error"]["field"] == "pack"
    r = client.post("/v1/packs/qingdao/evaluate", json={**QINGDAO, "pack": "qingdao"})
    assert r.status_code == 200
    for body in ([QINGDAO], "case", 3, None):
        r = client.post("/v1/packs/qingdao/evaluate", content=json.dumps(body).encode())
        assert r.status_code == 422, body
    r = client.get("/v1/evaluate")
    assert r.status_code == 405 and "error" in r.json()
    r = client.get("/v2/anything")
    assert r.status_code == 404 and "error" in r.json()
    for body in ({"cases": "x"}, {"cases": [], "extra": 1}, [QINGDAO], {"cases": [], "pack": 3}):
        assert client.post("/v1/batch", json=body).status_code == 422, body
    assert client.post("/v1/batch", json={"cases": [], "pack": "nowhere"}).status_code == 404


def test_body_and_batch_limits(packset):
    config = ServiceConfig(max_body=2000, max_batch=3, access_log=False)
    with TestClient(create_app(config, packset)) as c:
        big = {**QINGDAO, "district": "市" * 1500}
        r = c.post("/v1/packs/qingdao/evaluate", json=big)
        assert r.status_code == 413 and "larger than 2000 bytes" in r.json()["error"]["message"]

        def chunks():  # no Content-Length: the limit holds while reading
            for _ in range(10):
                yield b" " * 500

        r = c.post("/v1/packs/qingdao/evaluate", content=chunks())
        assert r.status_code == 413
        r = c.post("/v1/packs/qingdao/batch", json={"cases": [QINGDAO] * 4})
        assert r.status_code == 413 and r.json()["error"]["field"] == "cases"
        assert c.post("/v1/packs/qingdao/batch", json={"cases": [QINGDAO] * 3}).status_code == 200
        assert "at most 2000 bytes" in c.get("/v1/openapi.json").json()["info"]["description"]


# -- explain and compare ------------------------------------------------------------


def test_explain_is_the_library_explanation(client):
    from mtbrules.explain import explain

    pack = mtbrules.load_pack("qingdao")
    r = client.post("/v1/packs/qingdao/explain", json=QINGDAO)
    assert r.status_code == 200, r.text
    assert r.json() == json.loads(json.dumps(explain(pack, QINGDAO).to_dict(), ensure_ascii=False))
    r = client.post("/v1/packs/qingdao/explain?depth=1", json=QINGDAO)
    assert r.json() == json.loads(
        json.dumps(explain(pack, QINGDAO, depth=1).to_dict(), ensure_ascii=False)
    )
    assert client.post("/v1/packs/qingdao/explain?depth=0", json=QINGDAO).status_code == 422
    assert (
        client.post("/v1/packs/qingdao/explain?rule=no_such_rule", json=QINGDAO).status_code == 422
    )
    assert client.post("/v1/packs/qingdao/explain", json={**QINGDAO, "age": "x"}).status_code == 422


def test_compare_is_the_library_comparison(client):
    from mtbrules.compare import compare

    packs = [mtbrules.load_pack(p) for p in ("qingdao", "rizhao")]
    r = client.post("/v1/compare?packs=qingdao,rizhao", json=QINGDAO)
    assert r.status_code == 200, r.text
    assert r.json() == json.loads(
        json.dumps([row.to_dict() for row in compare(QINGDAO, packs)], ensure_ascii=False)
    )
    every = client.post("/v1/compare", json=QINGDAO).json()
    assert [row["pack"] for row in every] == builtin_ids()
    assert client.post("/v1/compare?packs=qingdao,nowhere", json=QINGDAO).status_code == 404
    assert client.post("/v1/compare?packs=,", json=QINGDAO).status_code == 422
    assert client.post("/v1/compare", json=[QINGDAO]).status_code == 422


# -- reload -----------------------------------------------------------------------


def test_reload_swaps_packs_and_keeps_the_old_ones_when_the_new_fail(tmp_path, monkeypatch):
    monkeypatch.delenv("MTBRULES_ADMIN_TOKEN", raising=False)
    folder = tmp_path / "qingdao"
    shutil.copytree(builtin_root() / "qingdao", folder)
    with TestClient(create_app(ServiceConfig(packs=(str(folder),), access_log=False))) as c:
        first = c.post("/v1/packs/qingdao/evaluate", json=QINGDAO).json()
        before = c.get("/v1/ready").json()["packs"][0]["fingerprint"]
        r = c.post("/v1/admin/reload")
        assert r.status_code == 200 and r.json()["generation"] == 2 and r.json()["changed"] == []
        # change the pack: a new fingerprint, reported as changed
        pack_yaml = folder / "pack.yaml"
        pack_yaml.write_text(
            pack_yaml.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8"
        )
        r = c.post("/v1/admin/reload")
        assert r.json()["changed"] == ["qingdao"] and r.json()["packs"][0]["fingerprint"] != before
        # break it: the reload is refused with the file named, the old packs keep serving
        pack_yaml.write_text("id: [unclosed\n", encoding="utf-8")
        r = c.post("/v1/admin/reload")
        assert r.status_code == 422 and "pack.yaml" in r.json()["error"]["message"]
        assert c.get("/v1/ready").json()["generation"] == 3
        assert c.post("/v1/packs/qingdao/evaluate", json=QINGDAO).json() == first
        # with a token set, reload needs it
        monkeypatch.setenv("MTBRULES_ADMIN_TOKEN", "s3cret")
        assert c.post("/v1/admin/reload").status_code == 401
        assert (
            c.post("/v1/admin/reload", headers={"Authorization": "Bearer wrong"}).status_code == 401
        )
        assert (
            c.post("/v1/admin/reload", headers={"Authorization": "Bearer s3cret"}).status_code
            == 422
        )  # still broken
    with TestClient(
        create_app(ServiceConfig(admin=False, access_log=False), load_pack_set(["qingdao"]))
    ) as c:
        assert c.post("/v1/admin/reload").status_code == 404


# -- access logs ----------------------------------------------------------------------


def test_access_log_lines_are_json_and_carry_nothing_of_the_case(client):
    stream = io.StringIO()
    accesslog.configure(stream)
    try:
        personal = {
            **QINGDAO,
            "district": "市南区",
            "age": 87,
            "submitted_on": "2025-10-09",
            "materials": [{"name": "病理检查报告单", "issued_on": "2025-08-17"}],
            "offsite": {"relation": "spouse", "dispatched_months": 41},
        }
        client.post("/v1/packs/qingdao/evaluate", json=personal, headers={"X-Request-ID": "req-1"})
        client.post("/v1/packs/qingdao/evaluate", json={**personal, "age": "eighty-seven 张三"})
        client.post("/v1/batch", json={"pack": "qingdao", "cases": [personal, personal]})
        client.post("/v1/packs/张三/evaluate?name=张三", json=personal)
    finally:
        for logger in (accesslog.ACCESS, accesslog.SERVICE):
            logger.handlers[:] = []
            logger.setLevel(logging.NOTSET)
            logger.propagate = True
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(lines) == 4
    first = lines[0]
    assert set(first) >= {
        "ts",
        "method",
        "path",
        "status",
        "duration_ms",
        "pack",
        "outcome",
        "request_id",
    }
    assert (
        first["path"] == "/v1/packs/{pack}/evaluate"
        and first["pack"] == "qingdao"
        and first["request_id"] == "req-1"
    )
    assert lines[1]["status"] == 422
    assert lines[2]["cases"] == 2 and sum(lines[2]["outcomes"].values()) == 2
    assert lines[3]["status"] == 404 and "pack" not in lines[3]
    # Leave out what is not from the request (time, generated ids); nothing else may echo the case.
    text = json.dumps(
        [
            {k: v for k, v in line.items() if k not in ("ts", "duration_ms", "request_id")}
            for line in lines
        ],
        ensure_ascii=False,
    )
    for value in (
        "市南区",
        "87",
        "2025-10-09",
        "2025-08-17",
        "spouse",
        "41",
        "张三",
        "eighty",
        "病理",
        "恶性肿瘤",
    ):
        assert value not in text, value


# -- the OpenAPI document --------------------------------------------------------------


def test_openapi_is_served_and_checked_in(client):
    doc = json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))
    assert (ROOT / "docs" / "openapi.json").read_text(encoding="utf-8") == openapi_text(), (
        "docs/openapi.json is stale: run `mtbrules serve --print-openapi > docs/openapi.json`"
    )
    assert client.get("/v1/openapi.json").json() == doc
    assert doc["openapi"].startswith("3.1")


def test_openapi_print_command_matches(capsys):
    assert cli.main(["serve", "--print-openapi"]) == 0
    assert capsys.readouterr().out == openapi_text()


def test_responses_validate_against_the_openapi_schemas(client):
    import jsonschema

    doc = build_openapi()

    def validator(name):
        schema = {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}
        return jsonschema.Draft202012Validator(schema)

    decision = validator("Decision")
    case = validator("Case")
    for pid, c in scenario_cases()[::3]:
        status, expected = library_result(pid, c)
        if status == 200:
            case.validate(c)
            decision.validate(expected)
    validator("PackList").validate(client.get("/v1/packs").json())
    validator("Status").validate(client.get("/v1/ready").json())
    validator("Explanation").validate(client.post("/v1/packs/qingdao/explain", json=QINGDAO).json())
    for row in client.post("/v1/compare", json=QINGDAO).json():
        validator("CompareRow").validate(row)
    validator("Error").validate(client.post("/v1/packs/qingdao/evaluate", json={}).json())


def test_cli_serve_refuses_a_bad_pack_with_exit_2(capsys, tmp_path):
    (tmp_path / "pack.yaml").write_text("id: [broken\n", encoding="utf-8")
    with contextlib.suppress(SystemExit):
        assert cli.main(["serve", "--pack", str(tmp_path), "--port", "0"]) == 2
    assert "pack.yaml" in capsys.readouterr().err


def test_the_service_does_not_load_the_cli():
    # Issue 14: the service stands on the library; lint-imports checks the source, this the running import.
    import subprocess
    import sys

    code = (
        "import sys, mtbrules.service.app; "
        "print(sorted(m for m in sys.modules if m == 'mtbrules.cli' or m.startswith('mtbrules.commands')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
