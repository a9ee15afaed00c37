"""Starting and stopping `mtbrules studio` as a real process (the installed entry point)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("MTBRULES_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


class Studio:
    def __init__(self, proc: subprocess.Popen, url: str, folder: Path | None, log: Path):
        self.proc, self.url, self.folder, self.log = proc, url, folder, log
        self.base = url.split("/p/")[0].split("/?")[0]
        self.token = url.rsplit("token=", 1)[1]

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def start_studio(args: list[str], log: Path) -> Studio:
    """`mtbrules studio --no-browser --port 0 ARGS…` through the installed entry point."""
    exe = Path(sys.executable).with_name("mtbrules")
    assert exe.is_file(), f"no installed entry point at {exe} (pip install -e .)"
    err = open(log, "w")  # noqa: SIM115 - closed when the process ends
    proc = subprocess.Popen(
        [str(exe), "studio", "--no-browser", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=err,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    err.close()
    deadline = time.monotonic() + 60
    line = proc.stdout.readline() if proc.stdout else ""
    if not line.startswith("http://"):
        proc.kill()
        pytest.fail(f"studio did not print its URL: {line!r} {log.read_text()[-2000:]}")
    assert time.monotonic() < deadline
    folder = Path(args[-1]) if args and Path(args[-1]).is_dir() else None
    return Studio(proc, line.strip(), folder, log)


def stop_studio(studio: Studio) -> None:
    if studio.proc.poll() is None:
        studio.proc.send_signal(signal.SIGTERM)
        try:
            studio.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            studio.proc.kill()
            studio.proc.wait()
