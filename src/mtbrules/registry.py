"""Pack references → pack folders and loaded Packs: built-in ids, folders, `git:REV:PATH`,
and the pack a case goes to (`pack_for_case`, the one rule every entry point follows)."""

from __future__ import annotations

import difflib
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from . import gitref
from .diagnostics import Location
from .errors import CaseError, PackError
from .terminal import clipped

if TYPE_CHECKING:
    from .decision import Decision
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
    """The folder of a pack given by built-in id, path or `git:REV:PATH` (exported to a
    temporary folder that lives until the process ends); PackError if none of these."""
    text = os.fspath(ref)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if gitref.is_git_ref(text):
        return gitref.export(text)
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
    shown = clipped(text)
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
    if gitref.is_git_ref(ref):
        # A pack folder, or a folder holding packs, as it was at that revision.
        return _packs_in(gitref.export(ref, need_pack=False), ref)
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
        return _packs_in(path, ref)
    return [resolve(ref)]


def _packs_in(folder: Path, ref: str) -> list[Path]:
    """The packs at or below `folder` (which `ref` names); MTB100 when there is none."""
    found = packs_below(folder)
    if not found:
        raise PackError.at(
            "MTB100",
            f"no pack in '{clipped(ref)}': no folder at or below it has a pack.yaml",
            Location(clipped(ref)),
            hint="give a pack folder, a folder holding packs, or a built-in id",
        )
    return found


def load_pack(ref: str | os.PathLike[str], calendar: WorkingCalendar | None = None) -> Pack:
    """Load a pack by built-in id, folder path or `git:REV:PATH` (cached per folder when no
    calendar is given)."""
    # deferred: the loader and the engine load with the first pack, not with builtin_packs()
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


# ---------------------------------------------------------------- the pack a case goes to

#: How the library says where a pack may be given (`required` of pack_for_case).
LIBRARY_REQUIRED = "here (or use load_pack(ref).evaluate(case))"


@attrs.frozen
class PackChoice:
    """The pack a case goes to, and the case as that pack is to evaluate it.

    `other_pack` is the different pack the case itself named, when a pack was asked
    for: the case keeps its `pack` then, so that the decision's `warnings` say so
    (messages.py `case.other_pack`, in the answer's language)."""

    pack: Pack
    case: Mapping[str, Any]
    other_pack: str | None = None

    def evaluate(self, lang: str = "en") -> Decision:
        return self.pack.evaluate(self.case, lang=lang)


def pack_for_case(
    case: object,
    asked: str | os.PathLike[str] | Pack | None = None,
    *,
    load: Callable[[str], Pack] | None = None,
    required: str = LIBRARY_REQUIRED,
    name: str = "case",
) -> PackChoice:
    """The one rule for which pack decides a case (docs/contract.md, "Case"):

    - the pack asked for (`--pack`, `load_pack(ref).evaluate(case)`, the service's URL)
      decides; a case whose own `pack` names a different one is decided by the asked
      pack, with a warning in the decision;
    - without an asked pack, the case's own `pack` chooses;
    - with neither, CaseError "case field 'pack': is required <required>".

    `load` turns a reference into a Pack (default: load_pack; the service passes its
    served packs, so that a request never makes it read a folder). `name` is how an
    error names the case (a file name on the command line)."""
    # deferred: the case model loads with the engine, not with builtin_packs()
    from .case import kind_of

    if not isinstance(case, Mapping):
        raise CaseError(f"{name}: a case must be a JSON object, got {kind_of(case)}")
    named = case.get("pack")
    if named is not None and not isinstance(named, str):
        raise CaseError(f"case field 'pack': expected text, got {kind_of(named)}", field="pack")
    if asked is None:
        if not named:
            raise CaseError(f"case field 'pack': is required {required}", field="pack")
        asked = named
    if isinstance(asked, (str, os.PathLike)):
        ref = os.fspath(asked)
        pack = load(ref) if load is not None else load_pack(ref)
    else:
        pack = asked
    if named is None:
        return PackChoice(pack, case)
    mine = {k: v for k, v in case.items() if k != "pack"}
    if named == asked or _names(named, pack, local=load is None):
        return PackChoice(pack, mine)
    return PackChoice(pack, case, named)


def _names(named: str, pack: Pack, local: bool) -> bool:
    """Whether a case's `pack` text names `pack`: its id or folder, or (for local callers
    only: never a service request) another path to the same folder."""
    if named in (pack.id, str(pack.folder)):
        return True
    if not local or gitref.is_git_ref(named):
        return False  # a case's git reference is never exported just to compare it
    try:
        return resolve(named).resolve() == Path(pack.folder).resolve()
    except (PackError, OSError, ValueError):
        return False
