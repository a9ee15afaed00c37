"""An interrupted batch loses nothing and lies about nothing: real processes, killed.

`mtbrules batch` runs as a subprocess with two workers; it is stopped by SIGTERM or
killed by SIGKILL part-way through. Nothing may then sit at the output's final name,
no worker may outlive the parent, the manifest must name only rows that are written,
and `--resume` must finish the run so that every input row is exactly once in the
output or the errors file. Every wait is bounded.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

import mtbrules
from mtbrules.cli import main

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

ROWS = 200_000  # enough that a run is still going when the test signals it (decisions take ~20 µs)
BAD_EVERY = 997  # a bad line now and then, so the errors file takes part
BASE = [
    {"service": "certificate", "diseases": ["恶性肿瘤"], "first_application": True},
    {"service": "certificate", "diseases": ["慢性乙型病毒性肝炎"], "materials": ["身份证"]},
    {"service": "change_hospital", "prior": {"changes_this_year": 1}},
    {"service": "certificate", "diseases": ["感冒"]},
]


def _line(i: int) -> str:
    if i % BAD_EVERY == 0:
        return "{not json" if i % 2 else json.dumps({"service": "certificate"})
    case = dict(BASE[i % 4], submitted_on=f"202{3 + i % 3}-0{1 + i % 9}-1{i % 10}")
    return json.dumps(case, ensure_ascii=False)


@pytest.fixture(scope="module")
def caseload(tmp_path_factory):
    path = tmp_path_factory.mktemp("caseload") / "cases.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(_line(i) + "\n" for i in range(1, ROWS + 1))
    return path


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", "rb") as fh:
                    stat = fh.read()
            except OSError:
                continue
            if int(stat[stat.rfind(b")") + 2 :].split()[1]) == parent:
                found.append(int(entry))
                todo.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rsplit(b")", 1)[1].split()[0]
    except OSError:
        return False
    return state != b"Z"


def _start(caseload, out, *extra, session=False):
    cmd = [sys.executable, "-m", "mtbrules", "batch", str(caseload), "-o", str(out)]
    cmd += ["--pack", "qingdao", "-j", "2", "--chunk-rows", "250", "-q", *extra]
    return subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=session
    )


def _manifest(out) -> dict | None:
    try:
        with open(f"{out}.partial.manifest.json", encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def _wait_for_progress(proc, out, timeout=120.0) -> list[int]:
    """Wait until the run has written some rows (and has its two workers); their pids."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode()
        m = _manifest(out)
        workers = _descendants(proc.pid)
        if m and m["rows_done"] > 0 and len(workers) >= 2:
            return workers
        time.sleep(0.05)
    proc.kill()
    pytest.fail("the run wrote nothing in time")


def _wait_gone(pids, timeout=15.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = [p for p in pids if _alive(p)]
        if not left:
            return []
        time.sleep(0.05)
    return [p for p in pids if _alive(p)]


def _rows(path) -> list[int]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line)["row"] for line in fh]


def _check_partial(out):
    """The manifest names exactly what the partial files hold (after a clean stop)."""
    m = _manifest(out)
    assert m is not None and m["finished"] is False
    rows, errors = _rows(f"{out}.partial"), _rows(f"{out}.errors.jsonl.partial")
    assert len(rows) == m["ok"] and len(errors) == m["bad"]
    assert sorted(rows + errors) == list(range(1, m["rows_done"] + 1))
    return m


def _check_complete(out):
    """Every input row exactly once in the output or the errors file, the decisions eval's."""
    rows, errors = _rows(out), _rows(f"{out}.errors.jsonl")
    assert rows == sorted(rows)
    assert sorted(rows + errors) == list(range(1, ROWS + 1))
    assert errors == [i for i in range(1, ROWS + 1) if i % BAD_EVERY == 0]
    assert not os.path.exists(f"{out}.partial")
    assert not os.path.exists(f"{out}.partial.manifest.json")
    pack = mtbrules.load_pack("qingdao")
    with open(out, encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            if n % 1999 == 0:
                got = json.loads(line)
                case = json.loads(_line(got["row"]))
                assert got == {"row": got["row"], **pack.evaluate(case).to_dict()}


@pytest.mark.parametrize(
    "sig, group",
    [(signal.SIGTERM, False), (signal.SIGINT, True)],
    ids=["SIGTERM to the parent", "Ctrl-C: SIGINT to the process group"],
)
def test_a_signal_stops_keeps_a_partial_and_resume_finishes(caseload, tmp_path, sig, group):
    out = tmp_path / "out.jsonl"
    proc = _start(caseload, out, session=True)
    workers = _wait_for_progress(proc, out)
    if group:
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, stderr.decode()
    assert not out.exists(), "an interrupted run must not look finished"
    assert _wait_gone(workers) == []
    m = _check_partial(out)
    assert m["interrupted"] == signal.Signals(sig).name and 0 < m["rows_done"] < ROWS
    message = stderr.decode()
    assert f"after {m['ok'] + m['bad']:,} rows" in message and "--resume" in message

    resumed = _start(caseload, out, "--resume")
    _, stderr = resumed.communicate(timeout=300)
    assert resumed.returncode == 1, stderr.decode()  # the bad lines: exit 1, as for any run
    assert f"{ROWS // BAD_EVERY} of {ROWS} rows" in stderr.decode()
    _check_complete(out)


def test_sigkill_of_the_parent_ends_the_workers_and_resume_finishes(caseload, tmp_path):
    out = tmp_path / "out.jsonl"
    proc = _start(caseload, out)
    workers = _wait_for_progress(proc, out)
    proc.kill()
    proc.communicate(timeout=30)
    assert _wait_gone(workers) == [], "workers outlived their killed parent"
    assert not out.exists()
    m = _manifest(out)
    # Killed between checkpoints: the files may hold more than the manifest, never less.
    assert os.path.getsize(f"{out}.partial") >= m["output_bytes"]
    assert os.path.getsize(f"{out}.errors.jsonl.partial") >= m["errors_bytes"]

    resumed = _start(caseload, out, "--resume")
    _, stderr = resumed.communicate(timeout=300)
    assert resumed.returncode == 1, stderr.decode()
    _check_complete(out)


def test_a_killed_worker_ends_the_run_with_exit_3_and_resume_finishes(caseload, tmp_path):
    """A worker that dies may take decided chunks with it that were waiting for their turn to be
    written: the run must neither hang nor name them in the manifest."""
    out = tmp_path / "out.jsonl"
    proc = _start(caseload, out)
    workers = _wait_for_progress(proc, out)
    os.kill(workers[0], signal.SIGKILL)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 3, stderr.decode()
    assert "a worker process ended unexpectedly" in stderr.decode()
    assert _wait_gone(workers) == []
    assert not out.exists()
    m = _check_partial(out)
    assert m["interrupted"] == "a worker process ended unexpectedly"

    resumed = _start(caseload, out, "--resume")
    _, stderr = resumed.communicate(timeout=300)
    assert resumed.returncode == 1, stderr.decode()
    _check_complete(out)


def test_resume_refuses_what_it_cannot_continue(caseload, tmp_path, capsys):
    out = tmp_path / "o.jsonl"
    args = ["batch", "--pack", "qingdao", str(caseload), "-o", str(out), "-q", "--resume"]
    assert main(args) == 2
    assert "no partial run of" in capsys.readouterr().err
    other = tmp_path / "other.jsonl"
    other.write_text(_line(1) + "\n", encoding="utf-8")
    (tmp_path / "o.jsonl.partial").write_text("", encoding="utf-8")
    (tmp_path / "o.jsonl.errors.jsonl.partial").write_text("", encoding="utf-8")
    # A manifest of a run of `other`: resuming it with `caseload` must refuse.
    from mtbrules import partial

    job = {
        **partial.input_identity(str(other)),
        "in_format": "jsonl",
        "out_format": "jsonl",
        "pack": "qingdao",
        "pack_fingerprint": "x",
    }
    partial.Manifest(str(out), str(out) + ".errors.jsonl", job).save()
    assert main(args) == 2
    assert "made with another input" in capsys.readouterr().err
    assert main(["batch", "--pack", "qingdao", "-", "-o", "-", "--resume"]) == 2
    assert "needs an output file" in capsys.readouterr().err


def test_a_finished_run_leaves_no_partial_files(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(_line(i) + "\n" for i in range(1, 50)), encoding="utf-8")
    out = tmp_path / "out.csv"
    assert main(["batch", "--pack", "qingdao", str(src), "-o", str(out), "-q"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "in.jsonl",
        "out.csv",
        "out.csv.errors.jsonl",
    ]


def test_parquet_output_resumes_after_sigterm(caseload, tmp_path):
    import pyarrow.parquet as pq

    out = tmp_path / "out.parquet"
    proc = _start(caseload, out)
    _wait_for_progress(proc, out)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM and not out.exists()
    m = _manifest(out)
    assert pq.read_table(f"{out}.partial").num_rows == m["ok"]
    resumed = _start(caseload, out, "--resume")
    _, stderr = resumed.communicate(timeout=300)
    assert resumed.returncode == 1, stderr.decode()
    rows = pq.read_table(out, columns=["row"]).column("row").to_pylist()
    errors = _rows(f"{out}.errors.jsonl")
    assert rows == sorted(rows) and sorted(rows + errors) == list(range(1, ROWS + 1))
