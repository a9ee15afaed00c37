"""Built-in pack ids → folders, and pack references (id or path) → loaded Packs."""

from __future__ import annotations

import difflib
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from .diagnostics import Location
from .errors import PackError

if TYPE_CHECKING:
    from .pack import Pack
    from .workdays import WorkingCalendar

_cache: dict[str, Pack] = {}
_lock = threading.Lock()


def builtin_root() -> Path:
    """Where the built-in packs are: inside the wheel, or `policies/` of a checkout."""
    shipped = Path(__file__).parent / "_policies"
    if shipped.is_dir():
        return shipped
    return Path(__file__).resolve().parents[2] / "policies"


def builtin_ids() -> list[str]:
    """Ids of the built-in packs, sorted."""
    root = builtin_root()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "pack.yaml").is_file())


def resolve(ref: str | os.PathLike[str]) -> Path:
    """The folder of a pack given by built-in id or path; PackError if neither."""
    text = os.fspath(ref)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    ids = builtin_ids()
    if text in ids:
        return builtin_root() / text
    path = Path(text)
    try:
        if (path / "pack.yaml").is_file():
            return path
        if path.name == "pack.yaml" and path.is_file():
            return path.parent
    except (OSError, ValueError):
        pass  # e.g. a name too long for the file system: not a pack folder
    close = difflib.get_close_matches(text, ids, n=1) if len(text) <= 200 else []
    hint = f"did you mean '{close[0]}'?" if close else f"built-in packs: {', '.join(ids)}"
    shown = text if len(text) <= 200 else text[:197] + "..."
    raise PackError.at(
        "MTB100",
        f"unknown pack '{shown}': not a built-in pack id nor a folder with pack.yaml",
        Location(shown),
        hint=hint,
    )


#: Folders never searched for packs (tools' caches, virtualenvs, VCS data).
_SKIPPED_DIRS = frozenset({"node_modules", "__pycache__", "site-packages"})


def packs_below(folder: Path) -> list[Path]:
    """Every pack folder (one with a pack.yaml) at or below `folder`, sorted; hidden
    folders (.git, .venv, ...) and tool folders are not searched, as ruff and OPA do.
    A pack's own subfolders are not searched for further packs."""
    if (folder / "pack.yaml").is_file():
        return [folder]
    found: list[Path] = []
    try:
        children = sorted(folder.iterdir())
    except OSError:
        return found
    for child in children:
        if child.name.startswith(".") or child.name in _SKIPPED_DIRS:
            continue
        try:
            if child.is_dir() and not child.is_symlink():
                found.extend(packs_below(child))
        except OSError:
            continue
    return found


def pack_folders(refs: Iterable[str]) -> list[Path]:
    """Pack folders for command-line references, each once, in order: built-in ids, pack
    folders, folders holding packs anywhere below them (`mtbrules check policies/`), or
    files inside a pack (`<pack>/rules/x.yaml` -> `<pack>`, as pre-commit passes them).
    PackError MTB100 for a reference that is none of these."""
    out: list[Path] = []
    seen: set[Path] = set()
    for ref in refs:
        for folder in _folders_of(ref):
            key = folder.resolve()
            if key not in seen:
                seen.add(key)
                out.append(folder)
    return out


def _folders_of(ref: str) -> list[Path]:
    path = Path(ref)
    try:
        is_file, is_dir = path.is_file(), path.is_dir()
    except (OSError, ValueError):  # e.g. a name too long for the file system
        is_file = is_dir = False
    if (is_file and path.name != "pack.yaml") or (is_dir and not (path / "pack.yaml").is_file()):
        # A file or folder inside a pack (`<pack>/rules/x.yaml`, `<pack>/rules`) names its pack.
        for parent in list(path.resolve().parents)[:2]:
            if (parent / "pack.yaml").is_file():
                return [parent if path.is_absolute() else Path(os.path.relpath(parent))]
    if is_dir and not (path / "pack.yaml").is_file():
        found = packs_below(path)
        if not found:
            raise PackError.at(
                "MTB100",
                f"no pack in '{_shown(ref)}': no folder at or below it has a pack.yaml",
                Location(_shown(ref)),
                hint="give a pack folder, a folder holding packs, or a built-in id",
            )
        return found
    return [resolve(ref)]


def _shown(text: str) -> str:
    return text if len(text) <= 200 else text[:197] + "..."


def load_pack(ref: str | os.PathLike[str], calendar: WorkingCalendar | None = None) -> Pack:
    """Load a pack by built-in id or folder path (cached per folder when no calendar is given)."""
    from .loader import load_pack_folder

    folder = resolve(ref)
    if calendar is not None:
        return load_pack_folder(folder, calendar)
    key = str(folder.resolve())
    pack = _cache.get(key)
    if pack is None:
        with _lock:
            pack = _cache.get(key)
            if pack is None:
                pack = load_pack_folder(folder)
                _cache[key] = pack
    return pack


def clear_cache() -> None:
    """Forget loaded packs (after editing pack files in a long-running process)."""
    _cache.clear()
