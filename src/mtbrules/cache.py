"""Compiled-pack cache: a pack's parsed, validated files and DSL trees, keyed by content.

Loading a pack spends most of its time reading YAML, validating it against the
schema and parsing expressions with Lark. None of that depends on anything but
the bytes of the pack's files and the version of mtbrules, so the result is
kept under a hash of exactly those. Lowering to the IR and generating code
still happen on every load (they are fast, and generated functions do not pickle).

Where: $MTBRULES_CACHE_DIR, else $XDG_CACHE_HOME/mtbrules, else ~/.cache/mtbrules.
MTBRULES_CACHE=0 turns it off. As Jinja's bytecode cache does, entries are read
only from a folder that the current user owns and nobody else can write to,
since unpickling runs code; a cache that cannot be written is skipped silently.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import stat
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

_FORMAT = 2  # 2: YamlDoc keeps spans and scalar ends


def enabled() -> bool:
    return os.environ.get("MTBRULES_CACHE", "1") not in ("0", "false", "no", "off")


def folder() -> Path:
    explicit = os.environ.get("MTBRULES_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mtbrules"


def key(root: Path, files: list[Path]) -> str:
    """The hash of mtbrules' version, grammar and schema, the pack's place, and every file's bytes."""
    from ._version import __version__

    h = hashlib.sha256()
    h.update(f"{_FORMAT}\0{__version__}\0{root.resolve()}\0".encode())
    for name in ("grammar.lark", "schemas/pack.schema.json"):
        h.update(resources.files("mtbrules").joinpath(name).read_bytes())
    for path in files:
        h.update(str(path.relative_to(root)).encode() + b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def _trusted(directory: Path) -> bool:
    try:
        info = directory.stat()
    except OSError:
        return False
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        return False
    return not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def get(digest: str) -> Any | None:
    if not enabled():
        return None
    directory = folder()
    path = directory / f"{digest}.pickle"
    if not path.is_file() or not _trusted(directory):
        return None
    try:
        with open(path, "rb") as fh:
            return pickle.load(fh)
    except Exception:  # noqa: BLE001 - a damaged entry is a miss, never an error
        return None


def put(digest: str, value: Any) -> None:
    if not enabled():
        return
    directory = folder()
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _trusted(directory):
            return
        fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, directory / f"{digest}.pickle")
    except OSError:
        return
