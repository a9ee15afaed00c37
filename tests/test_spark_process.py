"""`mtbrules batch --engine spark` as users run it: a separate process, its own JVM.

- through the venv's `mtbrules` console script with no venv on PATH (cron, systemd, pipx);
- with workers that cannot import mtbrules: one message, exit 3, Spark's log in a file;
- killed or terminated mid-run: nothing at OUT's name, no process left behind.

Each test starts Spark (local[1]), so they are few and small.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip(
    "pyspark", reason='the Spark engine needs pyspark: pip install "mtbrules[spark]"'
)

import mtbrules
from mtbrules.cli import main
from mtbrules.synth import synth_cases

#: Seconds a Spark run may take here before the test gives up (a loaded 2-core machine).
TIMEOUT = 240


@pytest.fixture(scope="module")
def cases_file(tmp_path_factory) -> Path:
    pack = mtbrules.load_pack("qingdao")
    path = tmp_path_factory.mktemp("cases") / "cases.jsonl"
    lines = [json.dumps(c, ensure_ascii=False, default=str) for c in synth_cases(pack, 600, seed=5)]
    lines[3] = '{"service": "certificate"'  # a bad row: the errors file must match too
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _console_script() -> str:
    """The installed `mtbrules` entry point of the venv running the tests, by absolute path."""
    script = Path(sys.executable).parent / "mtbrules"
    assert script.is_file(), f"{script}: mtbrules is not installed in this venv (pip install -e .)"
    return str(script)


def _bare_env(**extra: str) -> dict[str, str]:
    """An environment with no venv on PATH: /usr/bin:/bin and where java is."""
    java = shutil.which("java")
    assert java, "the Spark engine needs Java 17+ (java -version)"
    dirs = ["/usr/bin", "/bin"]
    for d in (os.path.dirname(java), os.path.dirname(os.path.realpath(java))):
        if d not in dirs:
            dirs.append(d)
    env = {"PATH": ":".join(dirs), "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8"}
    if os.environ.get("JAVA_HOME"):
        env["JAVA_HOME"] = os.environ["JAVA_HOME"]
    env.update(extra)
    return env


def _python_on_path_cannot_import_mtbrules(env) -> None:
    """The premise: whatever `python3` PATH finds is not the venv's (else the test proves nothing)."""
    python3 = shutil.which("python3", path=env["PATH"])
    if python3 is not None:
        probe = subprocess.run(
            [python3, "-c", "import mtbrules"], env=env, capture_output=True, timeout=60
        )
        assert probe.returncode != 0, f"{python3} imports mtbrules: PATH is not bare"


def _batch(cases: Path, out: Path, env: dict[str, str]) -> subprocess.Popen:
    """`mtbrules batch --engine spark` started through the venv's console script."""
    return subprocess.Popen(
        [
            _console_script(),
            "batch",
            str(cases),
            "--pack",
            "qingdao",
            "-q",
            "-o",
            str(out),
            "--engine",
            "spark",
            "-j",
            "1",
        ],
        env=env,
        cwd=out.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="module")
def runs(cases_file, tmp_path_factory):
    """The two complete runs, started together (each is mostly JVM start-up): bare PATH; workers without mtbrules."""
    bare = tmp_path_factory.mktemp("bare")
    env = _bare_env()
    _python_on_path_cannot_import_mtbrules(env)
    broken = tmp_path_factory.mktemp("broken")
    # The venv's own interpreter without site-packages: pyspark still comes from Spark's
    # PYTHONPATH, mtbrules does not.
    python = broken / "python-without-site"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "$@"\n', encoding="utf-8")
    python.chmod(0o755)
    procs = {
        "bare": (_batch(cases_file, bare / "spark.jsonl", env), bare),
        "broken": (
            _batch(cases_file, broken / "out.jsonl", _bare_env(PYSPARK_PYTHON=str(python))),
            broken,
        ),
    }
    done = {}
    try:
        for name, (proc, folder) in procs.items():
            stdout, stderr = proc.communicate(timeout=TIMEOUT)
            done[name] = (proc.returncode, stdout, stderr, folder)
    finally:
        for proc, _ in procs.values():
            if proc.poll() is None:
                proc.kill()
    return done


def test_spark_engine_without_venv_on_path(runs, cases_file, capsys):
    """`.venv/bin/mtbrules batch --engine spark` with PATH=/usr/bin:/bin: the local engine's output, row for row."""
    code, _, stderr, folder = runs["bare"]
    remote, local = folder / "spark.jsonl", folder / "local.jsonl"
    code_local = main(
        ["batch", str(cases_file), "--pack", "qingdao", "-q", "-o", str(local), "-j", "1"]
    )
    capsys.readouterr()
    assert (code, code_local) == (1, 1), stderr
    assert stderr.splitlines() == [
        f"mtbrules: 1 of 600 rows could not be evaluated; see {remote}.errors.jsonl"
    ]
    assert remote.read_bytes() == local.read_bytes()
    assert Path(f"{remote}.errors.jsonl").read_bytes() == Path(f"{local}.errors.jsonl").read_bytes()
    assert "WARN" in Path(f"{remote}.spark.log").read_text(encoding="utf-8")  # Spark spoke there


def test_workers_without_mtbrules_one_message_exit_3(runs):
    """Workers whose Python cannot import mtbrules: the probe says so in one line, exit 3, no output."""
    code, stdout, stderr, folder = runs["broken"]
    log = folder / "out.jsonl.spark.log"
    assert code == 3, stderr
    assert stdout == ""
    [line] = stderr.splitlines()
    assert line.startswith(
        "mtbrules: Spark's Python workers cannot import mtbrules: "
        "ModuleNotFoundError: No module named 'mtbrules'"
    )
    assert "from PYSPARK_PYTHON" in line and line.endswith(f"full log: {log}")
    text = log.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in text and "Spark" in text
    assert sorted(p.name for p in folder.iterdir()) == [log.name, "python-without-site"]


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    out: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in out:
                out.add(child)
                todo.append(child)
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_interrupted_runs_leave_nothing_that_looks_done(cases_file, tmp_path):
    """Stopped while they write (SIGTERM; SIGKILL), runs never leave OUT or its errors file, and
    Spark's processes (the JVM, its Python workers) exit with them."""
    text = cases_file.read_text(encoding="utf-8")
    big = tmp_path / "big.jsonl"
    big.write_text(text * 60, encoding="utf-8")  # 36,000 rows: far longer than stopping takes
    runs = {}
    for sig in (signal.SIGTERM, signal.SIGKILL):
        folder = tmp_path / sig.name
        folder.mkdir()
        runs[sig] = (_batch(big, folder / "out.jsonl", _bare_env()), folder, set())
    try:
        deadline = time.monotonic() + TIMEOUT
        waiting = set(runs)
        while waiting:
            for sig in list(waiting):
                proc, folder, spark_processes = runs[sig]
                assert proc.poll() is None, proc.communicate()
                partial = folder / "out.partial.jsonl"
                if partial.exists() and partial.stat().st_size > 0:  # rows are being written
                    spark_processes |= _descendants(proc.pid)
                    proc.send_signal(sig)
                    waiting.discard(sig)
            assert time.monotonic() < deadline, "no output rows in time"
            time.sleep(0.2)
        results = {sig: proc.communicate(timeout=120) for sig, (proc, _, _) in runs.items()}
    finally:
        for proc, _, _ in runs.values():
            if proc.poll() is None:
                proc.kill()
    for sig, (proc, folder, spark_processes) in runs.items():
        out = folder / "out.jsonl"
        assert not out.exists() and not Path(f"{out}.errors.jsonl").exists()
        assert spark_processes  # the JVM and its Python workers were seen
        if sig == signal.SIGTERM:
            assert proc.returncode == 143
            assert results[sig][1].splitlines() == [
                f"mtbrules: terminated (SIGTERM); {out} was not written"
            ]
            assert sorted(p.name for p in folder.iterdir()) == ["out.jsonl.spark.log"]
        else:
            assert proc.returncode == -signal.SIGKILL
            assert (folder / "out.partial.jsonl").exists()  # left, under a name that says so
    stragglers = set().union(*(r[2] for r in runs.values()))
    deadline = time.monotonic() + 60
    while any(_alive(p) for p in stragglers) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert [p for p in stragglers if _alive(p)] == []


def test_no_java_one_message_exit_3(cases_file, tmp_path):
    """Spark cannot start (no Java where JAVA_HOME points): one line saying so, exit 3, no output."""
    out = tmp_path / "out.jsonl"
    proc = _batch(cases_file, out, _bare_env(JAVA_HOME=str(tmp_path / "no-java")))
    stdout, stderr = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 3 and stdout == ""
    [line] = stderr.splitlines()
    assert line.startswith("mtbrules: Spark failed to start: ") and "Java 17" in line
    assert line.endswith(f"full log: {out}.spark.log")
    assert "no-java/bin/java" in Path(f"{out}.spark.log").read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl.spark.log"]
