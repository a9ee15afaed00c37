"""The service's limits (docs/service.md, "Limits"): pack lists, answer size, the bounded queue,
and a decision process that dies. In process (Starlette's test client and httpx over ASGI)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import signal
import time
import warnings

import pytest

pytest.importorskip("starlette")
httpx = pytest.importorskip("httpx")

with warnings.catch_warnings():  # Starlette's notice about httpx2
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from servicecase import QINGDAO

from mtbrules.decision import OUTCOMES
from mtbrules.registry import builtin_ids
from mtbrules.service.app import ServiceConfig, create_app
from mtbrules.service.limits import BUSY, MAX_COMPARE_PACKS, RESPONSE_TOO_LARGE, TOO_MANY_PACKS
from mtbrules.service.packs import load_pack_set

pytestmark = pytest.mark.filterwarnings("ignore::Warning:starlette")


@pytest.fixture(scope="module")
def packset():
    return load_pack_set(builtin_ids())


@pytest.fixture(scope="module")
def client(packset):
    with TestClient(create_app(ServiceConfig(access_log=False), packset)) as c:
        yield c


def test_compare_counts_each_pack_once_in_the_order_first_named(client):
    r = client.post("/v1/compare?packs=qingdao,rizhao,qingdao,,rizhao, qingdao", json=QINGDAO)
    assert r.status_code == 200, r.text
    assert [row["pack"] for row in r.json()] == ["qingdao", "rizhao"]
    # The request of issue 17: thousands of repeated ids; one row each, a small answer.
    many = ",".join(["qingdao", "rizhao", "datong"] * 1500)
    r = client.post(f"/v1/compare?packs={many}", json=QINGDAO)
    assert r.status_code == 200
    assert [row["pack"] for row in r.json()] == ["qingdao", "rizhao", "datong"]
    assert len(r.content) < 100_000


def test_compare_refuses_more_different_packs_than_the_limit(client):
    ids = [f"p{i}" for i in range(MAX_COMPARE_PACKS + 1)]
    r = client.post(f"/v1/compare?packs={','.join(ids)}", json=QINGDAO)
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == TOO_MANY_PACKS and error["field"] == "packs"
    assert f"more than {MAX_COMPARE_PACKS}" in error["message"]
    # At the limit the list is accepted, and the first unknown pack is what is wrong with it.
    r = client.post(f"/v1/compare?packs={','.join(ids[:-1])}", json=QINGDAO)
    assert r.status_code == 404 and r.json()["error"]["code"] == "MTB100"


def test_an_answer_larger_than_the_limit_is_413_with_its_code(packset):
    config = ServiceConfig(max_response=3000, access_log=False)
    with TestClient(create_app(config, packset)) as c:
        r = c.post("/v1/packs/qingdao/evaluate", json=QINGDAO)
        assert r.status_code == 413
        error = r.json()["error"]
        assert (
            error["code"] == RESPONSE_TOO_LARGE
            and "more than this server sends (3000)" in (error["message"])
        )
        for path, body in [
            ("/v1/packs/qingdao/batch", {"cases": [QINGDAO] * 3}),
            ("/v1/compare?packs=qingdao,rizhao", QINGDAO),
            ("/v1/packs/qingdao/explain", QINGDAO),
        ]:
            r = c.post(path, json=body)
            assert r.status_code == 413 and r.json()["error"]["code"] == RESPONSE_TOO_LARGE, path
        # An answer within the limit is unaffected.
        small = {"service": "certificate", "submitted_on": "2025-09-29", "diseases": ["感冒"]}
        r = c.post("/v1/packs/qingdao/evaluate", json=small)
        assert r.status_code == 200 and len(r.content) <= 3000


def test_batch_summary_counts_outcomes_in_the_library_order(client):
    r = client.post("/v1/packs/qingdao/batch", json={"cases": [QINGDAO, QINGDAO]})
    outcomes = r.json()["summary"]["outcomes"]
    assert set(outcomes) <= set(OUTCOMES) and sum(outcomes.values()) == 2
    other = {"service": "certificate", "submitted_on": "2025-09-29", "diseases": ["感冒"]}
    r = client.post("/v1/packs/qingdao/batch", json={"cases": [QINGDAO, other, QINGDAO]})
    outcomes = r.json()["summary"]["outcomes"]
    assert list(outcomes) == [o for o in OUTCOMES if o in outcomes]  # in the library's order
    assert sum(outcomes.values()) == 3 and 0 not in outcomes.values()


def test_a_full_queue_answers_503_with_retry_after(packset):
    # One decision process and no queue: while a 500-case batch is being decided, others are refused.
    app = create_app(ServiceConfig(processes=1, queue=0, access_log=False), packset)
    body = {"cases": [QINGDAO] * 500}

    async def run():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            first = await c.post("/v1/packs/qingdao/batch", json=body)  # starts the process
            assert first.status_code == 200
            answers = await asyncio.gather(
                *(c.post("/v1/packs/qingdao/batch", json=body) for _ in range(4))
            )
            after = await c.post("/v1/packs/qingdao/batch", json=body)
        await app.state.service.pool_shutdown()
        return answers, after

    # A loop of its own, in a thread of its own (another test's loop may be running here).
    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        answers, after = thread.submit(asyncio.run, run()).result()
    statuses = sorted(a.status_code for a in answers)
    assert statuses[0] == 200 and statuses[-1] == 503, statuses
    for a in answers:
        if a.status_code == 503:
            assert a.headers["retry-after"] == "1"
            assert a.json()["error"]["code"] == BUSY
    assert after.status_code == 200  # the slot is free again


def test_a_decision_process_that_dies_is_replaced(packset):
    with TestClient(create_app(ServiceConfig(processes=1, access_log=False), packset)) as c:
        body = {"cases": [QINGDAO] * 5}
        assert c.post("/v1/packs/qingdao/batch", json=body).status_code == 200
        service = c.app.state.service
        generation = c.get("/v1/ready").json()["generation"]
        for pid in service.pool.pids():
            os.kill(pid, signal.SIGKILL)
        statuses = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            r = c.post("/v1/packs/qingdao/batch", json=body)
            statuses.append(r.status_code)
            if r.status_code == 503:
                assert r.json()["error"]["code"] == BUSY and r.headers["retry-after"] == "1"
            if 503 in statuses and r.status_code == 200:
                break
            time.sleep(0.05)
        assert 503 in statuses and statuses[-1] == 200, statuses
        assert set(statuses) <= {200, 503}
        # The server reloaded (a new generation) and decides as before.
        assert c.get("/v1/ready").json()["generation"] > generation
        assert c.post("/v1/packs/qingdao/evaluate", json=QINGDAO).status_code == 200


def test_accept_language_reaches_every_endpoint_and_the_decision_processes(client):
    import mtbrules
    from mtbrules.compare import compare

    pack = mtbrules.load_pack("qingdao")
    case = {**QINGDAO, "diseases": ["恶性肿"]}  # did-you-mean: an engine-made reason
    for lang, header in (("zh", "zh-CN,zh;q=0.9"), ("en", "en-GB")):
        expected = pack.evaluate(case, lang=lang).to_dict()
        headers = {"Accept-Language": header}
        r = client.post("/v1/packs/qingdao/evaluate", json=case, headers=headers)
        assert r.json() == expected
        # a batch and a comparison are decided in the decision processes
        r = client.post("/v1/packs/qingdao/batch", json={"cases": [case]}, headers=headers)
        assert r.json()["results"][0]["decision"] == expected
        r = client.post("/v1/compare?packs=qingdao", json=case, headers=headers)
        assert r.json()[0]["reasons"] == [
            x.text for x in compare(case, [pack], lang=lang)[0].decision.reasons
        ]
    zh = client.post("/v1/packs/qingdao/evaluate", json=case, headers={"Accept-Language": "zh"})
    en = client.post("/v1/packs/qingdao/evaluate", json=case, headers={"Accept-Language": "en"})
    assert zh.json()["reasons"] != en.json()["reasons"]
