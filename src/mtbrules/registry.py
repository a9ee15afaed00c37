"""Built-in pack ids → folders, and pack references (id or path) → loaded Packs."""

from __future__ import annotations

import difflib
import os
import threading
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
