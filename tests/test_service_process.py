"""`mtbrules serve` as a real process on a free loopback port: starts, answers, reloads
(endpoint and SIGHUP) without dropping requests, and stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

CASE = {
    "service": "certificate",
    "submitted_on": "2025-09-29",
    "diseases": ["恶性肿瘤"],
    "materials": ["出院记录"],
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def server(tmp_path):
    port = free_port()
    log = open(tmp_path / "server.log", "w+b")  # noqa: SIM115 - closed at teardown
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mtbrules",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--pack",
            "qingdao",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail(
                    f"server exited {proc.returncode}: {log.read().decode(errors='replace')[-2000:]}"
                )
            try:
                if httpx.get(f"{base}/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("server did not answer /v1/health within 60 s")
            time.sleep(0.1)
        yield proc, base, log
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


def test_serve_starts_answers_reloads_and_stops(server):
    proc, base, log = server
    with httpx.Client(base_url=base, timeout=10) as client:
        health = client.get("/v1/health").json()
        assert health["status"] == "ok" and health["pid"] == proc.pid
        ready = client.get("/v1/ready").json()
        assert [p["id"] for p in ready["packs"]] == ["qingdao"]
        expected = client.post("/v1/packs/qingdao/evaluate", json=CASE).json()
        assert expected["outcome"] in ("instant", "review")

    def hammer(_):
        statuses = []
        with httpx.Client(base_url=base, timeout=10) as c:
            for _ in range(40):
                r = c.post("/v1/packs/qingdao/evaluate", json=CASE)
                statuses.append((r.status_code, r.json() == expected))
        return statuses

    # Requests keep flowing while the packs are reloaded by the endpoint and by SIGHUP.
    with ThreadPoolExecutor(4) as pool:
        running = [pool.submit(hammer, i) for i in range(4)]
        with httpx.Client(base_url=base, timeout=30) as admin:
            assert admin.post("/v1/admin/reload").json()["generation"] == 2
            os.kill(proc.pid, signal.SIGHUP)
            assert admin.post("/v1/admin/reload").status_code == 200
        results = [s for f in running for s in f.result()]
    assert len(results) == 160
    assert all(status == 200 and same for status, same in results)
    with httpx.Client(base_url=base, timeout=10) as client:
        deadline = time.monotonic() + 20
        while client.get("/v1/ready").json()["generation"] < 4 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert (
            client.get("/v1/ready").json()["generation"] == 4
        )  # two endpoint reloads and one SIGHUP

    proc.send_signal(signal.SIGTERM)
    # uvicorn shuts down gracefully, then re-raises the signal so the exit status says why it stopped
    assert proc.wait(timeout=15) in (0, -signal.SIGTERM)
    log.seek(0)
    lines = [json.loads(x) for x in log.read().decode().splitlines() if x.startswith("{")]
    access = [x for x in lines if x.get("event") == "access"]
    assert len(access) >= 165 and all(x["status"] == 200 for x in access)
    assert {x["event"] for x in lines} >= {"start", "reload", "access"}
