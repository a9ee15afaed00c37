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


def test_spark_engine_without_venv_on_path(cases_file, tmp_path, capsys):
    """`.venv/bin/mtbrules batch --engine spark` with PATH=/usr/bin:/bin: the local engine's output, row for row."""
    env = _bare_env()
    _python_on_path_cannot_import_mtbrules(env)
    remote = tmp_path / "spark.jsonl"
    run = subprocess.run(
        [
            _console_script(),
            "batch",
            str(cases_file),
            "--pack",
            "qingdao",
            "-q",
            "-o",
            str(remote),
            "--engine",
            "spark",
            "-j",
            "1",
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    local = tmp_path / "local.jsonl"
    code_local = main(
        ["batch", str(cases_file), "--pack", "qingdao", "-q", "-o", str(local), "-j", "1"]
    )
    capsys.readouterr()
    assert (run.returncode, code_local) == (1, 1), run.stderr
    assert run.stderr.splitlines() == [
        f"mtbrules: 1 of 600 rows could not be evaluated; see {remote}.errors.jsonl"
    ]
    assert remote.read_bytes() == local.read_bytes()
    assert Path(f"{remote}.errors.jsonl").read_bytes() == Path(f"{local}.errors.jsonl").read_bytes()
    assert "WARN" in Path(f"{remote}.spark.log").read_text(encoding="utf-8")  # Spark spoke there


def test_workers_without_mtbrules_one_message_exit_3(cases_file, tmp_path):
    """Workers whose Python cannot import mtbrules: the probe says so in one line, exit 3, no output."""
    # The venv's own interpreter without site-packages: pyspark still comes from Spark's
    # PYTHONPATH, mtbrules does not.
    python = tmp_path / "python-without-site"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "$@"\n', encoding="utf-8")
    python.chmod(0o755)
    out = tmp_path / "out.jsonl"
    run = subprocess.run(
        [
            _console_script(),
            "batch",
            str(cases_file),
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
        env=_bare_env(PYSPARK_PYTHON=str(python)),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    log = f"{out}.spark.log"
    assert run.returncode == 3, run.stderr
    assert run.stdout == ""
    [line] = run.stderr.splitlines()
    assert line.startswith(
        "mtbrules: Spark's Python workers cannot import mtbrules: "
        "ModuleNotFoundError: No module named 'mtbrules'"
    )
    assert "from PYSPARK_PYTHON" in line and line.endswith(f"full log: {log}")
    text = Path(log).read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in text and "Spark" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "out.jsonl.spark.log",
        "python-without-site",
    ]


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


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_interrupted_run_leaves_nothing_that_looks_done(cases_file, tmp_path, sig):
    """Stopped while it writes, a run never leaves OUT or its errors file, and Spark's processes exit."""
    big = tmp_path / "big.jsonl"
    with open(big, "w", encoding="utf-8") as fh:
        text = cases_file.read_text(encoding="utf-8")
        for _ in range(60):  # 36,000 rows: far longer than the moment it takes to stop it
            fh.write(text)
    out = tmp_path / "out.jsonl"
    partial = tmp_path / "out.partial.jsonl"
    proc = subprocess.Popen(
        [
            _console_script(),
            "batch",
            str(big),
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
        env=_bare_env(),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + TIMEOUT
        while not (partial.exists() and partial.stat().st_size > 0):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no output rows in time"
            time.sleep(0.2)
        spark_processes = _descendants(proc.pid)
        assert spark_processes  # the JVM and its Python workers
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not out.exists() and not Path(f"{out}.errors.jsonl").exists()
    if sig == signal.SIGTERM:
        assert proc.returncode == 143
        assert stderr.splitlines() == [f"mtbrules: terminated (SIGTERM); {out} was not written"]
        assert not partial.exists() and not (tmp_path / "out.jsonl.errors.partial.jsonl").exists()
    else:
        assert proc.returncode == -signal.SIGKILL
        assert partial.exists()  # left behind, under a name that says what it is
    deadline = time.monotonic() + 60
    while any(_alive(p) for p in spark_processes) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert [p for p in spark_processes if _alive(p)] == []
