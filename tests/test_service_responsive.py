"""Issue 17 item 5, against a real `mtbrules serve` on loopback: heavy requests cannot delay
/v1/health by more than 50 ms.

Two client processes send, for a few seconds, the heavy requests of the issue (a comparison
naming the packs thousands of times over) and the largest batches the server accepts, while
this process asks /v1/health every 20 ms. The delay is the health answer's latency under that
load minus its latency on the idle server (median and 90th percentile), so a machine that is
slow for other reasons does not count against the server. Every loop is bounded in time and
count; the server is stopped at the end whatever happens.
"""

from __future__ import annotations

import json
import signal
import socket
import statistics
import subprocess
import sys
import time

import pytest

pytest.importorskip("uvicorn")
pytest.importorskip("starlette")

HOST = "127.0.0.1"
LOAD_SECONDS = 3.0
ALLOWED_DELAY = 0.050

# The load generator: stdlib only, its own process, a closed loop bounded by time and count.
LOAD = r"""
import http.client, json, sys, time
port, kind, seconds = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
case = {"service": "certificate", "submitted_on": "2025-09-29", "diseases": ["恶性肿瘤"],
        "materials": ["出院记录"]}
if kind == "compare":
    path = "/v1/compare?packs=" + ",".join(["qingdao", "rizhao", "datong"] * 1000)
    body = json.dumps(case).encode()
else:
    path, body = "/v1/packs/qingdao/batch", json.dumps({"cases": [case] * 500}).encode()
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
statuses, deadline = [], time.monotonic() + seconds
while time.monotonic() < deadline and len(statuses) < 10000:
    conn.request("POST", path, body, {"Content-Type": "application/json"})
    response = conn.getresponse()
    response.read()
    statuses.append(response.status)
print(json.dumps(statuses))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def health_latencies(port: int, seconds: float, limit: int = 400) -> list[float]:
    """Seconds per GET /v1/health on one keep-alive connection, every 20 ms for `seconds`."""
    import http.client

    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    out: list[float] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and len(out) < limit:
        start = time.perf_counter()
        conn.request("GET", "/v1/health")
        response = conn.getresponse()
        assert response.status == 200 and json.loads(response.read())["status"] == "ok"
        out.append(time.perf_counter() - start)
        time.sleep(0.02)
    conn.close()
    return out


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1]


@pytest.fixture()
def server(tmp_path):
    port = free_port()
    log = open(tmp_path / "server.log", "w+b")  # noqa: SIM115 - closed at teardown
    proc = subprocess.Popen(
        [sys.executable, "-m", "mtbrules", "serve", "--host", HOST, "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail(f"server exited {proc.returncode}: {log.read()[-2000:]!r}")
            try:
                with socket.create_connection((HOST, port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("server did not listen within 90 s")
                time.sleep(0.1)
        yield port
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_heavy_requests_do_not_delay_health(server):
    port = server
    health_latencies(port, 0.5)  # the first answers of a new connection are not the idle figure
    idle = health_latencies(port, 1.5)
    clients = [
        subprocess.Popen(
            [sys.executable, "-c", LOAD, str(port), kind, str(LOAD_SECONDS)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for kind in ("compare", "batch")
    ]
    try:
        time.sleep(0.3)  # both clients are sending
        loaded = health_latencies(port, LOAD_SECONDS - 0.6)
        outputs = [c.communicate(timeout=60) for c in clients]
    finally:
        for c in clients:
            if c.poll() is None:
                c.kill()
                c.wait()
    for (out, err), c in zip(outputs, clients):
        assert c.returncode == 0, err[-2000:]
    assert len(idle) >= 20 and len(loaded) >= 5
    delay_median = statistics.median(loaded) - statistics.median(idle)
    delay_p90 = p90(loaded) - p90(idle)
    assert delay_median <= ALLOWED_DELAY, (delay_median, sorted(loaded)[-5:])
    assert delay_p90 <= ALLOWED_DELAY, (delay_p90, sorted(loaded)[-5:])
    # The load was real: heavy requests were answered (503 is allowed: the queue is bounded).
    compare_statuses, batch_statuses = (json.loads(out) for out, _ in outputs)
    assert set(compare_statuses) | set(batch_statuses) <= {200, 503}
    assert compare_statuses.count(200) >= 5 and batch_statuses.count(200) >= 2
