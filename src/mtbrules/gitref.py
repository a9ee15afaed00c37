"""`git:REV:PATH` pack references: the folder PATH of the current repository as it was at REV.

The folder is read with `git archive` (no shell, no network) and unpacked,
with tarfile's "data" filter, into a temporary folder that lives until the
process ends; the same commit and path are exported once per process (a
commit's files never change, so the export, and the Pack loaded from it, can
be shared).
"""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import InputError
from .terminal import clipped

if TYPE_CHECKING:
    import tempfile

# subprocess and tarfile are imported where a git reference is read: most runs never
# name one, and `import mtbrules` (through the registry) should not pay for them.

PREFIX = "git:"

# (repository top, commit, path) -> the exported folder; the TemporaryDirectory objects
# are kept so that their finalizers remove the folders when the process exits.
_exports: dict[tuple[str, str, str], tuple[tempfile.TemporaryDirectory[str], Path]] = {}
_lock = threading.Lock()


def is_git_ref(ref: object) -> bool:
    """Whether `ref` is written as a `git:REV:PATH` reference."""
    return isinstance(ref, str) and ref.startswith(PREFIX)


def split(ref: str) -> tuple[str, str]:
    """(REV, PATH) of a `git:REV:PATH` reference; InputError when it is not one."""
    parts = ref.split(":", 2)
    if len(parts) != 3 or not parts[1] or not parts[2]:
        raise InputError(f"'{clipped(ref)}': expected git:REV:PATH")
    rev, path = parts[1], parts[2]
    # A revision that starts with '-' would be read as an option of git.
    if rev.startswith("-") or any(c.isspace() or not c.isprintable() for c in rev):
        raise InputError(f"'{clipped(ref)}': '{clipped(rev)}' is not a git revision")
    if "\x00" in path or os.path.isabs(path):
        raise InputError(f"'{clipped(ref)}': PATH must be relative to the repository")
    return rev, path


def export(ref: str, need_pack: bool = True) -> Path:
    """The folder `ref` names, exported from git (once per commit and path in this process).
    With `need_pack`, the folder must hold a pack.yaml at that revision. InputError (exit 2)
    with one clear message when git, the revision or the path cannot be used."""
    rev, path = split(ref)
    top = _git("rev-parse", "--show-toplevel")
    prefix = _git("rev-parse", "--show-prefix")
    rel = os.path.normpath(os.path.join(prefix, path)).replace(os.sep, "/").strip("/")
    if rel == ".." or rel.startswith("../") or rel == ".":
        raise InputError(f"git:{rev}:{path}: PATH must be a folder inside the repository")
    commit = _commit(top, rev, path)
    key = (top, commit, rel)
    with _lock:
        known = _exports.get(key)
        if known is None:
            known = _exports[key] = _unpack(top, commit, rev, path, rel)
    folder = known[1]
    if need_pack and not (folder / "pack.yaml").is_file():
        raise InputError(f"git:{rev}:{path}: no pack.yaml there at that revision")
    return folder


def _git(*args: str) -> str:
    import subprocess  # start-up time (see the imports above)

    try:
        return subprocess.run(
            ["git", *args], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        raise InputError("git:REV:PATH needs to be run inside a git repository") from None


def _commit(top: str, rev: str, path: str) -> str:
    import subprocess  # start-up time

    proc = subprocess.run(
        ["git", "-C", top, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
        capture_output=True,
        text=True,
        check=False,  # reported below in the reference's own words
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        raise InputError(f"git:{rev}:{path}: unknown revision '{clipped(rev)}'")
    return proc.stdout.strip()


def _unpack(
    top: str, commit: str, rev: str, path: str, rel: str
) -> tuple[tempfile.TemporaryDirectory[str], Path]:
    # deferred: only a git: reference needs these (~5 ms off every pack load)
    import subprocess
    import tarfile
    import tempfile  # start-up time

    proc = subprocess.run(
        # PATH is a path, never pathspec magic (":(glob)…", ":!…").
        ["git", "--literal-pathspecs", "-C", top, "archive", "--format=tar", commit, "--", rel],
        capture_output=True,
        check=False,  # a failure is reported below, with git's own words
    )
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InputError(f"git:{rev}:{path}: {message[-1] if message else 'git archive failed'}")
    tmp = tempfile.TemporaryDirectory(prefix=f"mtbrules-git-{commit[:12]}-")
    try:
        with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
            tar.extractall(tmp.name, filter="data")  # no absolute paths, no links out
    except (tarfile.TarError, OSError) as exc:
        tmp.cleanup()
        raise InputError(f"git:{rev}:{path}: cannot unpack: {exc}") from None
    return tmp, Path(tmp.name) / rel
