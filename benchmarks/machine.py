"""What the numbers were measured on: CPU, cores, load, Python, versions, git commit."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from importlib import metadata

PEERS = ("zen-engine", "business-rules", "rule-engine", "cel-python", "durable_rules")
TOOLS = ("pyinstrument",)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def memory_total() -> str:
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            kb = int(f.readline().split()[1])
        return f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        return "?"


def load_average() -> tuple[float, float, float] | None:
    try:
        return os.getloadavg()
    except OSError:  # pragma: no cover
        return None


def version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def mtbrules_dependencies() -> dict[str, str | None]:
    """Installed versions of mtbrules' core (non-extra) requirements."""
    out: dict[str, str | None] = {}
    for req in metadata.requires("mtbrules") or []:
        if "extra ==" in req:
            continue
        name = re.split(r"[\s<>=!~;\[(]", req, maxsplit=1)[0]
        out[name] = version(name)
    return out


def git_commit(repo: str) -> str:
    def git(*args):
        return subprocess.run(
            ["git", "-C", repo, *args], capture_output=True, text=True, timeout=20
        ).stdout.strip()

    try:
        head = git("rev-parse", "--short=12", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no", "--", "src")
    except (OSError, subprocess.SubprocessError):
        return "?"
    return head + (" (src/ has uncommitted changes)" if dirty else "")


def describe(repo: str) -> dict:
    return {
        "cpu": cpu_model(),
        "cores": usable_cores(),
        "memory": memory_total(),
        "os": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "mtbrules": version("mtbrules"),
        "commit": git_commit(repo),
        "dependencies": mtbrules_dependencies(),
        "peers": {p: version(p) for p in PEERS},
        "tools": {t: version(t) for t in TOOLS},
        "load_before": load_average(),
    }
