"""A pack folder's files as an editor holds them: unsaved texts in place of the disk's.

`check_folder(folder, files=PackFiles({path: text}))` checks what the author sees,
not what was last saved. Files without a text of their own are read from disk.
Parsed YAML (and anything else derived from a file's text, through `memo`) is kept
per text, so re-checking a pack after an edit re-reads only the file that changed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ._yaml import MAX_FILE_BYTES, YamlDoc, load_yaml

__all__ = ["PackFiles", "YamlDoc"]

#: Derived values kept per (kind, path, text); the oldest go first.
MAX_MEMO = 512


def _key(path: str | os.PathLike) -> str:
    return os.path.realpath(os.fspath(path))


class PackFiles:
    """Texts that take the place of files on disk, and what was derived from them."""

    def __init__(self, texts: Mapping[str | os.PathLike, str] | None = None):
        self._texts: dict[str, str] = {_key(p): t for p, t in (texts or {}).items()}
        self._memo: dict[tuple, Any] = {}

    # -- the texts

    def set_text(self, path: str | os.PathLike, text: str) -> None:
        """`path` reads as `text` from now on (an editor's unsaved buffer)."""
        self._texts[_key(path)] = text

    def discard(self, path: str | os.PathLike) -> None:
        """`path` reads from disk again (the buffer was closed)."""
        self._texts.pop(_key(path), None)

    def overridden(self) -> dict[str, str]:
        """The paths that have a text of their own, and their texts."""
        return dict(self._texts)

    def snapshot(self) -> PackFiles:
        """These texts as they are now, sharing what was derived from them (a check
        runs on a snapshot while the editor goes on changing the texts)."""
        copy = PackFiles()
        copy._texts = dict(self._texts)
        copy._memo = self._memo
        return copy

    def text_of(self, path: str | os.PathLike) -> str | None:
        """The editor's text for `path`, or None when it is read from disk."""
        return self._texts.get(_key(path))

    # -- reading, as Path would

    def is_file(self, path: str | os.PathLike) -> bool:
        return _key(path) in self._texts or Path(path).is_file()

    def glob(self, folder: str | os.PathLike, suffix: str = ".yaml") -> list[Path]:
        """The files of `folder` ending in `suffix`, on disk or only in the editor, sorted."""
        root = Path(folder)
        found = {p.name: p for p in root.glob("*" + suffix)} if root.is_dir() else {}
        real = _key(root)
        for key in self._texts:
            if os.path.dirname(key) == real and key.endswith(suffix):
                found.setdefault(os.path.basename(key), root / os.path.basename(key))
        return [found[name] for name in sorted(found)]

    def read_text(self, path: str | os.PathLike) -> str:
        """The text of `path`; OSError or UnicodeDecodeError as Path.read_text raises them."""
        text = self._texts.get(_key(path))
        return Path(path).read_text(encoding="utf-8") if text is None else text

    def size(self, path: str | os.PathLike) -> int:
        text = self._texts.get(_key(path))
        return Path(path).stat().st_size if text is None else len(text.encode("utf-8", "replace"))

    def yaml(self, path: str | os.PathLike) -> YamlDoc:
        """The parsed YAML of `path` (PackError with a position, as `load_yaml`)."""
        text = self._texts.get(_key(path))
        if text is None:
            try:
                if Path(path).stat().st_size > MAX_FILE_BYTES:
                    return load_yaml(str(path))  # reports the size limit
                text = Path(path).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                return load_yaml(str(path))  # reports the file's problem with its code
        return self.memo("yaml", path, text, lambda: load_yaml(str(path), text))

    def memo(self, kind: str, path: str | os.PathLike, text: str, compute: Callable[[], Any]):
        """`compute()`, kept for this (kind, path, text); exceptions are not kept."""
        key = (kind, _key(path), str(path), text)
        if key in self._memo:
            return self._memo[key]
        value = compute()
        if len(self._memo) >= MAX_MEMO:
            self._memo.pop(next(iter(self._memo)))
        self._memo[key] = value
        return value
