"""Bounded load test of `mtbrules serve` on loopback, next to the in-process figure.

    python benchmarks/service_load.py                 # 3 rounds of 3 s, writes docs/service.md's figures
    python benchmarks/service_load.py --rounds 2 --seconds 2 --no-write

What it does:
1. picks the cases the library decides (status 200) from every built-in pack's
   scenario files, and times `pack.evaluate(case).to_dict()` on them in this
   process (the in-process figure);
2. starts `mtbrules serve --workers 2` on 127.0.0.1 at a free port (access log
   on, written to a temporary file, as in production) and, beside it, the ceiling
   of issue 13: a Starlette endpoint on uvicorn, as many workers, answering one
   fixed decision;
3. in each of --rounds rounds, drives each server in turn (the order alternating)
   with POST /v1/packs/{pack}/evaluate and those cases from a separate client
   process: asyncio, raw HTTP/1.1 keep-alive connections (a light client, so the
   figure is the server's and not the client's), a closed loop per connection;
   bounded by --seconds and --max-requests; checks every response is 200 with
   a decision; after a warm-up that is not counted. Interleaving puts the
   machine's other load on both servers alike;
4. stops both, and prints the figures as JSON: each server's median round, the
   ratio of the two in each round and its median, the load average before and
   after; and (unless --no-write) replaces the block between the load markers in
   docs/service.md.

Only loopback addresses are used. The client shares the machine's cores with
the server, as it would on a one-box deployment; the figures say so.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import multiprocessing as mp
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "service.md"
BEGIN = "<!-- load:begin (written by benchmarks/service_load.py) -->"
END = "<!-- load:end -->"
HOST = "127.0.0.1"  # loopback only


def decided_cases() -> list[tuple[str, dict]]:
    """(pack id, case) for scenario cases the library decides without an input error."""
    import mtbrules
    from mtbrules.errors import MtbError
    from mtbrules.tester import load_scenarios

    out = []
    for pid in mtbrules.builtin_packs():
        pack = mtbrules.load_pack(pid)
        try:
            scenarios = load_scenarios(pack)
        except MtbError:
            continue
        for s in scenarios:
            case = json.loads(
                json.dumps({k: v for k, v in s.case.items() if k != "pack"}, default=str)
            )
            try:
                pack.evaluate(case)
            except MtbError:
                continue
            out.append((pid, case))
    return out


def in_process(cases, seconds: float = 2.0) -> dict:
    """pack.evaluate(case).to_dict() on the same cases in one thread: µs per case."""
    import mtbrules

    packs = {pid: mtbrules.load_pack(pid) for pid, _ in cases}
    for pid, case in cases:  # warm caches
        packs[pid].evaluate(case).to_dict()
    n = 0
    start = time.perf_counter()
    cpu_start = time.process_time()
    while time.perf_counter() - start < seconds:
        for pid, case in cases:
            packs[pid].evaluate(case).to_dict()
        n += len(cases)
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    # and with JSON in and out, as the server does
    m = 0
    bodies = [(pid, json.dumps(c, ensure_ascii=False).encode()) for pid, c in cases]
    start = time.perf_counter()
    while time.perf_counter() - start < seconds / 2:
        for pid, body in bodies:
            json.dumps(packs[pid].evaluate(json.loads(body)).to_dict(), ensure_ascii=False).encode()
        m += len(bodies)
    elapsed_json = time.perf_counter() - start
    return {
        "cases": len(cases),
        "us_per_case": round(elapsed / n * 1e6, 1),
        "cpu_us_per_case": round(cpu / n * 1e6, 1),
        "cases_per_s": round(n / elapsed),
        "us_per_case_with_json": round(elapsed_json / m * 1e6, 1),
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


# -- the client -----------------------------------------------------------------


async def _connection(
    port, requests, stop_at, warm_until, max_requests, counter, latencies, errors
):
    reader, writer = await asyncio.open_connection(HOST, port)
    i = 0
    try:
        while time.perf_counter() < stop_at and counter[0] < max_requests:
            raw = requests[i % len(requests)]
            i += 1
            t0 = time.perf_counter()
            writer.write(raw)
            status_line = await reader.readline()
            length = None
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            body = await reader.readexactly(length or 0)
            t1 = time.perf_counter()
            ok = status_line.split(b" ", 2)[1:2] == [b"200"] and body.startswith(b'{"pack"')
            if t0 >= warm_until:
                counter[0] += 1
                latencies.append(t1 - t0)
                if not ok:
                    errors.append(status_line.decode(errors="replace").strip())
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        writer.close()


def client_main(port, cases, seconds, warmup, connections, max_requests, out_queue):
    requests = []
    for pid, case in cases:
        body = json.dumps(case, ensure_ascii=False).encode("utf-8")
        head = (
            f"POST /v1/packs/{pid}/evaluate HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode("ascii")
        requests.append(head + body)

    async def run():
        counter, latencies, errors = [0], [], []
        now = time.perf_counter()
        warm_until = now + warmup
        stop_at = warm_until + seconds
        tasks = [
            _connection(
                port,
                requests[k:] + requests[:k],
                stop_at,
                warm_until,
                max_requests,
                counter,
                latencies,
                errors,
            )
            for k in range(connections)
        ]
        await asyncio.gather(*tasks)
        measured = time.perf_counter() - warm_until
        return counter[0], latencies, errors, measured

    count, latencies, errors, measured = asyncio.run(run())
    out_queue.put((count, latencies, errors, measured))


# -- the ceiling: a fixed reply from Starlette on uvicorn ------------------------------

#: The peer of issue 13: the same stack answering every POST with one fixed decision (no
#: parsing, no evaluation, no access log). mtbrules serve's throughput is given as a ratio to it.
CEILING_APP = """
import pathlib
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

BODY = pathlib.Path(__file__).with_suffix(".json").read_bytes()


async def fixed(request):
    await request.body()
    return Response(BODY, media_type="application/json")


app = Starlette(routes=[Route("/v1/packs/{pack}/evaluate", fixed, methods=["POST"])])
"""


def ceiling_server(port: int, workers: int, reply: bytes, folder: str) -> list[str]:
    """The command that starts the fixed-reply server (its module written into `folder`)."""
    Path(folder, "ceiling_app.py").write_text(CEILING_APP, encoding="utf-8")
    Path(folder, "ceiling_app.json").write_bytes(reply)
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "ceiling_app:app",
        "--app-dir",
        folder,
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
        "--log-level",
        "warning",
    ]


# -- the run ----------------------------------------------------------------------


class Server:
    """One server under test: started once, driven in several rounds, stopped at the end."""

    def __init__(self, name: str, cmd: list[str], port: int):
        self.name = name
        self.port = port
        self.log = tempfile.NamedTemporaryFile(
            prefix="mtbrules-serve-", suffix=".log", delete=False
        )
        self.process = subprocess.Popen(
            cmd,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: the main process and its workers
        )
        self.rounds: list[dict] = []

    def wait_ready(self) -> None:
        _wait_ready(self.port, self.process, timeout=90)
        self.group = _process_group(self.process.pid)

    def drive(self, cases, args) -> None:
        """One round: a client process for --warmup + --seconds; what it measured, and the CPU."""
        queue: mp.Queue = mp.Queue()
        client = mp.Process(
            target=client_main,
            args=(
                self.port,
                cases,
                args.seconds,
                args.warmup,
                args.connections,
                args.max_requests,
                queue,
            ),
        )
        client.start()
        time.sleep(args.warmup)
        cpu_before = _cpu_seconds(self.group)
        count, latencies, errors, measured = queue.get(timeout=args.seconds + args.warmup + 60)
        cpu_after = _cpu_seconds(self.group)
        client.join(timeout=30)
        self.rounds.append(
            {
                "requests": count,
                "seconds": measured,
                "latencies": latencies,
                "errors": errors,
                "cpu": cpu_after - cpu_before,
            }
        )

    def stop(self) -> int:
        """Stop the server; the access lines it wrote."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.log.close()
        with open(self.log.name, encoding="utf-8", errors="replace") as fh:
            lines = sum(1 for line in fh if '"event":"access"' in line)
        os.unlink(self.log.name)
        return lines

    def summary(self, access_lines: int) -> dict:
        """The rounds together: requests/s the median round's, latency and CPU over every request."""
        rounds = self.rounds
        latencies = sorted(x for r in rounds for x in r["latencies"])
        count = sum(r["requests"] for r in rounds)
        errors = [e for r in rounds for e in r["errors"]]
        per_round = [round(r["requests"] / r["seconds"]) if r["seconds"] else 0 for r in rounds]

        def pct(p):
            if not latencies:
                return None
            return round(
                latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000, 2
            )

        return {
            "rounds": len(rounds),
            "seconds": round(sum(r["seconds"] for r in rounds), 2),
            "requests": count,
            "requests_per_s": round(statistics.median(per_round)) if per_round else 0,
            "requests_per_s_by_round": per_round,
            "p50_ms": pct(50),
            "p90_ms": pct(90),
            "p99_ms": pct(99),
            "max_ms": round(latencies[-1] * 1000, 2) if latencies else None,
            "mean_ms": round(statistics.fmean(latencies) * 1000, 2) if latencies else None,
            "server_cpu_us_per_request": round(sum(r["cpu"] for r in rounds) / count * 1e6)
            if count
            else None,
            "errors": len(errors),
            "error_samples": errors[:5],
            "access_log_lines": access_lines,
        }


def run(args) -> dict:
    load_before = os.getloadavg()[0]
    cases = decided_cases()
    if not cases:
        sys.exit("no decided scenario cases found")
    local = in_process(cases, args.in_process_seconds)
    port = free_port()
    serve_cmd = [
        sys.executable,
        "-m",
        "mtbrules",
        "serve",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(args.workers),
    ]
    with tempfile.TemporaryDirectory(prefix="mtbrules-ceiling-") as folder:
        servers = [Server("mtbrules serve", serve_cmd, port)]
        if not args.no_ceiling:
            import mtbrules

            pid, case = cases[0]
            reply = mtbrules.load_pack(pid).evaluate(case).to_json_bytes()
            ceiling_port = free_port()
            cmd = ceiling_server(ceiling_port, args.workers, reply, folder)
            servers.append(Server("ceiling", cmd, ceiling_port))
        lines = {}
        try:
            for server in servers:
                server.wait_ready()
            # Interleaved: each round drives every server once, the order alternating, so that
            # the machine's other load falls on both alike.
            for i in range(args.rounds):
                for server in servers if i % 2 else servers[::-1]:
                    server.drive(cases, args)
        finally:
            for server in servers:
                lines[server.name] = server.stop()
    served = servers[0].summary(lines["mtbrules serve"])
    ceiling = None
    ratios: list[float] = []
    if len(servers) > 1:
        ceiling = servers[1].summary(lines["ceiling"])
        ceiling["reply_bytes"] = len(reply)
        ratios = [
            round(a / b, 2)
            for a, b in zip(served["requests_per_s_by_round"], ceiling["requests_per_s_by_round"])
            if b
        ]
    return {
        "when": dt.date.today().isoformat(),
        "machine": f"{os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}, {platform.system()}",
        "load_average_before": round(load_before, 2),
        "load_average_after": round(os.getloadavg()[0], 2),
        "workers": args.workers,
        "stack": _stack(),
        "connections": args.connections,
        **served,
        "ceiling": ceiling,
        "ratio_to_ceiling": statistics.median(ratios) if ratios else None,
        "ratio_by_round": ratios,
        "in_process": local,
    }


def _process_group(pid: int) -> list[int]:
    """The server's main process and its workers (children), from /proc."""
    pids = [pid]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                pids.append(int(entry))
    return pids


def _cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU seconds used so far by `pids` (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick


def _stack() -> str:
    """What uvicorn runs on: uvloop and httptools when installed (the serve extra), else asyncio and h11."""
    import importlib.util

    import starlette
    import uvicorn

    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    return f"uvicorn {uvicorn.__version__} ({loop}, {http}), Starlette {starlette.__version__}"


def _wait_ready(port, server, timeout):
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"server exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/v1/ready", timeout=2) as r:
                if r.status in (200, 404):  # 404: the fixed-reply server has only one route
                    # every worker must be up: a few more successful probes
                    time.sleep(1.0)
                    return
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                time.sleep(1.0)
                return
        except OSError:
            pass
        time.sleep(0.2)
    sys.exit("server not ready in time")


def markdown(r: dict) -> str:
    local = r["in_process"]
    per_core = round(1e6 / local["us_per_case"])
    return "\n".join(
        [
            BEGIN,
            (
                f"Measured {r['when']} on {r['machine']} (client and server on the same cores; "
                f"1-minute load average {r['load_average_before']} before the run and "
                f"{r['load_average_after']} after it: the machine was shared, so every figure but the CPU "
                f"column is noisy); {r['stack']}. Both servers ran at once and were driven in turn, "
                f"{r['rounds']} rounds of {round(r['seconds'] / max(1, r['rounds']), 1)} s each after a warm-up, "
                "the order alternating; requests/s is the median round's."
            ),
            "",
            "| where | what | throughput | latency | CPU per case |",
            "|---|---|---|---|---|",
            (
                f"| HTTP, loopback | `mtbrules serve --workers {r['workers']}`, POST /v1/packs/{{pack}}/evaluate, "
                f"{r['connections']} keep-alive connections, access log on "
                f"| **{r['requests_per_s']} requests/s** ({r['requests']} requests, **{r['errors']} errors**) "
                f"| p50 {r['p50_ms']} ms, p90 {r['p90_ms']} ms, **p99 {r['p99_ms']} ms**, max {r['max_ms']} ms "
                f"| {r['server_cpu_us_per_request']} µs |"
            ),
            *(
                [
                    (
                        f"| HTTP, loopback | the ceiling: Starlette on uvicorn `--workers {r['workers']}` answering a fixed "
                        f"{c['reply_bytes']}-byte decision, no access log, the same client and requests "
                        f"| **{c['requests_per_s']} requests/s** ({c['requests']} requests, {c['errors']} errors) "
                        f"| p50 {c['p50_ms']} ms, p90 {c['p90_ms']} ms, p99 {c['p99_ms']} ms "
                        f"| {c['server_cpu_us_per_request']} µs |"
                    )
                ]
                if (c := r.get("ceiling"))
                else []
            ),
            (
                f"| in process, one thread | `pack.evaluate(case).to_dict()` | {local['cases_per_s']} cases/s "
                f"| {local['us_per_case']} µs per case | {local['cpu_us_per_case']} µs |"
            ),
            (
                f"| in process, one thread | the same with `json.loads` in and `json.dumps` out | {round(1e6 / local['us_per_case_with_json'])} cases/s "
                f"| {local['us_per_case_with_json']} µs per case | |"
            ),
            "",
            *(
                [
                    (
                        f"**mtbrules serve: {r['ratio_to_ceiling']}× the ceiling's requests/s** "
                        f"(the median of the rounds' ratios, {', '.join(f'{x}×' for x in r['ratio_by_round'])}; "
                        f"server CPU per request: {r['server_cpu_us_per_request']} µs against "
                        f"{r['ceiling']['server_cpu_us_per_request']} µs)."
                    ),
                    "",
                ]
                if r.get("ratio_to_ceiling") is not None
                else []
            ),
            (
                f"Cases: the {local['cases']} scenario cases of the built-in packs that the library decides "
                f"(input errors left out), round-robin over the packs. One core in process does ~{per_core} cases/s. "
                "*CPU per case* is CPU time (user + system) over the requests: for HTTP, the server's processes "
                "between the end of the warm-up and the end of the run (a bit of warm-up tail included), so it "
                "holds even when other jobs share the machine, where throughput and latency do not."
            ),
            END,
        ]
    )


def write_doc(r: dict) -> None:
    text = DOC.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        sys.exit(f"{DOC}: no load markers to replace")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(head + markdown(r) + tail, encoding="utf-8")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--seconds",
        type=float,
        default=3.0,
        help="measured time per server and round (default 3; at most 30)",
    )
    p.add_argument(
        "--rounds", type=int, default=3, help="rounds, each driving both servers (default 3)"
    )
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument(
        "--max-requests", type=int, default=200_000, help="stop after this many requests"
    )
    p.add_argument(
        "--in-process-seconds",
        type=float,
        default=2.0,
        help="time the library in process this long",
    )
    p.add_argument("--no-write", action="store_true", help="do not update docs/service.md")
    p.add_argument(
        "--no-ceiling", action="store_true", help="skip the fixed-reply Starlette server"
    )
    args = p.parse_args(argv)
    args.seconds = min(max(args.seconds, 0.5), 30.0)
    args.rounds = min(max(args.rounds, 1), 9)
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    r = run(args)
    print(json.dumps(r, indent=2, ensure_ascii=False))
    if not args.no_write:
        write_doc(r)
    return 0 if r["errors"] == 0 and r["requests"] > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
