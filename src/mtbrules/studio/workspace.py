"""The packs a studio works on: where they are, whether they may be written, drafts and saves.

A pack given by built-in id opens read-only (its folder belongs to the
installed package); a pack folder on disk is editable. Each pack is copied
when the studio opens it: that snapshot is the "before" of every impact, so
saving a change does not move the baseline.

A *draft* is the pack folder as on disk with one file's text replaced by the
editor's buffer, in a temporary copy: diagnostics, scenario runs and impacts
work on drafts, so nothing touches the real folder before a save.

Saving writes only a file the pack already has (`formatter.pack_files`), only
inside the pack folder (symbolic links that leave it are refused), and only
when the file on disk still has the content the editor opened (its SHA-256):
otherwise nothing is written and the editor keeps the buffer.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
from pathlib import Path

import attrs

from ..checker import check_folder
from ..errors import InputError, PackError
from ..formatter import pack_files
from ..loader import load_pack_folder
from ..pack import Pack
from ..registry import builtin_ids, resolve

DRAFTS_KEPT = 8


class StaleFile(Exception):
    """The file changed on disk since the editor opened it."""

    def __init__(self, disk_text: str, disk_hash: str):
        super().__init__("the file changed on disk since it was opened")
        self.disk_text = disk_text
        self.disk_hash = disk_hash


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@attrs.define
class Draft:
    """A temporary pack folder: the pack on disk with one file replaced."""

    folder: Path
    pack: Pack | None  # the loaded Pack, or None when it does not load
    diagnostics: tuple  # loading errors (when pack is None) or the checker's findings
    _tmp: tempfile.TemporaryDirectory = attrs.field(repr=False)

    def close(self) -> None:
        self._tmp.cleanup()


@attrs.define
class OpenPack:
    key: str  # the name in the studio's URLs
    ref: str  # as given on the command line
    folder: Path
    editable: bool
    baseline_folder: Path  # the snapshot taken when the studio opened the pack
    baseline: Pack  # the Pack as opened
    _tmp: tempfile.TemporaryDirectory = attrs.field(repr=False)
    _drafts: dict = attrs.field(factory=dict, repr=False)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, repr=False)

    # ------------------------------------------------------------ files

    def files(self) -> list[str]:
        """The pack's YAML files, relative to its folder, in loader order."""
        return [p.relative_to(self.folder).as_posix() for p in pack_files(self.folder)]

    def path_of(self, name: str) -> Path:
        """The file `name` of this pack; InputError for anything that is not one of its files."""
        if name not in self.files():
            raise InputError(f"'{name}' is not a YAML file of pack {self.key}")
        path = self.folder / name
        real_root = self.folder.resolve()
        real = path.resolve()
        if real_root not in real.parents:
            raise InputError(f"'{name}' leads outside the pack folder")
        return path

    def read(self, name: str) -> tuple[str, str]:
        text = self.path_of(name).read_text(encoding="utf-8")
        return text, digest(text)

    def current(self) -> Pack:
        """The pack as it is on disk now (loaded afresh; PackError if it does not load)."""
        return load_pack_folder(self.folder)

    def save(self, name: str, text: str, base_hash: str) -> str:
        """Write `text` to `name` if the file still has `base_hash`; the new hash."""
        if not self.editable:
            raise InputError(
                f"pack {self.key} is built in and opens read-only; copy its folder to edit it"
            )
        path = self.path_of(name)
        with self._lock:
            disk = path.read_text(encoding="utf-8")
            if digest(disk) != base_hash:
                raise StaleFile(disk, digest(disk))
            # Write beside the file, then replace it: a crash leaves the old or the new text.
            fd, tmp = tempfile.mkstemp(prefix=".studio-", suffix=".yaml", dir=path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                    fh.write(text)
                shutil.copymode(path, tmp)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return digest(text)

    # ------------------------------------------------------------ drafts

    def draft(
        self, name: str | None = None, text: str | None = None, analysis: bool = True
    ) -> Draft:
        """The pack as on disk with `name` holding `text` (or as on disk when name is None)."""
        if name is not None:
            self.path_of(name)
        key = (name, digest(text) if text is not None else None, analysis, self._disk_state())
        with self._lock:
            hit = self._drafts.get(key)
            if hit is not None:
                return hit
        tmp = tempfile.TemporaryDirectory(prefix="mtbrules-studio-draft-")
        folder = Path(tmp.name) / self.folder.name
        shutil.copytree(self.folder, folder, symlinks=False)
        if name is not None and text is not None:
            (folder / name).write_text(text, encoding="utf-8")
        report = check_folder(folder, analysis=analysis)
        pack = None
        if report.pack_id is not None:
            try:
                pack = load_pack_folder(folder)
            except PackError:
                pack = None
        made = Draft(folder, pack, report.diagnostics, tmp)
        with self._lock:
            self._drafts[key] = made
            while len(self._drafts) > DRAFTS_KEPT:
                # Oldest first; a job that still uses a dropped draft keeps its folder alive.
                self._drafts.pop(next(iter(self._drafts)))
        return made

    def _disk_state(self) -> tuple:
        out = []
        for p in pack_files(self.folder):
            try:
                st = p.stat()
            except OSError:
                continue
            out.append((p.name, st.st_mtime_ns, st.st_size))
        return tuple(out)

    def relative(self, draft: Draft, file: str) -> str:
        """A diagnostic's file inside a draft, as the pack-relative name."""
        try:
            return Path(file).resolve().relative_to(draft.folder.resolve()).as_posix()
        except ValueError:
            return Path(file).name


class Workspace:
    """Every pack the studio was started with, by key."""

    def __init__(self, refs: list[str]):
        self.packs: dict[str, OpenPack] = {}
        builtins = set(builtin_ids())
        for ref in refs or sorted(builtins):
            folder = resolve(ref)
            editable = ref not in builtins
            tmp = tempfile.TemporaryDirectory(prefix="mtbrules-studio-")
            snapshot = Path(tmp.name) / folder.name
            shutil.copytree(folder, snapshot, symlinks=False)
            baseline = load_pack_folder(snapshot)
            key = baseline.id
            n = 2
            while key in self.packs:
                key = f"{baseline.id}-{n}"
                n += 1
            self.packs[key] = OpenPack(
                key, ref, folder.resolve(), editable, snapshot, baseline, tmp
            )

    def get(self, key: str) -> OpenPack:
        try:
            return self.packs[key]
        except KeyError:
            raise InputError(f"no pack '{key}' in this studio") from None
