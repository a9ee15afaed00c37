"""A pack on the executors: shipped as its files, compiled once per Python worker.

`ship_pack` reads the pack folder's files on the driver (a pack that exists
only there still works on a cluster); `executor_pack` compiles it the first
time a worker needs it and keeps it in a module-level cache keyed by (pack
id, content hash), so every later task and batch on that worker reuses it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs

from ..loader import load_pack_folder
from ..registry import load_pack


@attrs.frozen
class ShippedPack:
    """A pack as executors receive it: its id, the driver's folder, a content hash, and its files."""

    id: str
    folder: str
    digest: str
    files: tuple[tuple[str, bytes], ...] = attrs.field(repr=lambda v: f"<{len(v)} files>")


def _pack_files(folder: Path) -> list[tuple[str, bytes]]:
    out = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_file() and not any(
            part.startswith(".") or part == "__pycache__" for part in rel.parts
        ):
            out.append((rel.as_posix(), path.read_bytes()))
    return out


def _digest(files: Iterable[tuple[str, bytes]]) -> str:
    h = hashlib.sha256()
    for rel, data in files:
        h.update(rel.encode("utf-8") + b"\0" + str(len(data)).encode() + b"\0" + data)
    return h.hexdigest()[:20]


def ship_pack(pack) -> ShippedPack:
    """`pack` (a Pack, built-in id or folder) as files for executors, loaded here first so errors show early."""
    if not hasattr(pack, "evaluate"):
        pack = load_pack(pack)
    folder = Path(pack.folder)
    files = tuple(_pack_files(folder))
    return ShippedPack(pack.id, str(folder), _digest(files), files)


#: Packs compiled in this process, by (pack id, content hash). On an executor, one per Python worker.
_PACKS: dict[tuple[str, str], Any] = {}
#: How many times each (pack id, hash) was compiled in this process (tests check it stays 1).
LOADS: dict[tuple[str, str], int] = {}


def executor_pack(spec: ShippedPack):
    """The compiled Pack for `spec`, built once per process.

    The driver's folder is used when this machine has it with the same
    content (local mode); otherwise the shipped files are written once under
    the temporary directory and loaded from there.
    """
    key = (spec.id, spec.digest)
    pack = _PACKS.get(key)
    if pack is not None:
        return pack
    folder = Path(spec.folder)
    try:
        same = folder.is_dir() and _digest(_pack_files(folder)) == spec.digest
    except OSError:
        same = False
    if not same:
        folder = _materialise(spec)
    pack = load_pack_folder(folder)
    _PACKS[key] = pack
    LOADS[key] = LOADS.get(key, 0) + 1
    return pack


def _materialise(spec: ShippedPack) -> Path:
    root = Path(tempfile.gettempdir()) / f"mtbrules-spark-{spec.digest}"
    folder = root / Path(spec.folder).name
    if (folder / "pack.yaml").is_file() and _digest(_pack_files(folder)) == spec.digest:
        return folder
    staging = Path(tempfile.mkdtemp(prefix=f"mtbrules-spark-{spec.digest}-"))
    for rel, data in spec.files:
        target = staging / Path(spec.folder).name / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    try:
        os.rename(staging, root)  # atomic; another worker may have won the race
    except OSError:
        pass
    if (folder / "pack.yaml").is_file() and _digest(_pack_files(folder)) == spec.digest:
        return folder
    return staging / Path(spec.folder).name
