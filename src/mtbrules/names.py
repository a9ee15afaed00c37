"""Matching names as people write them: aliases, Traditional forms, full-width marks.

Traditional→Simplified conversion uses opencc-purepy (MIT, pure Python,
maintained). Its dictionaries take ~0.2 s to load, so it is loaded only
when a name does not match as written: the common case never pays for it.
"""

from __future__ import annotations

import difflib
import functools
import threading
import unicodedata

_SEEN_LIMIT = 50_000
_QUOTES = str.maketrans("", "", "《》〈〉“”‘’\"'「」『』 \t\r\n\u3000")
_lock = threading.Lock()
_converter = None


def fold(text: str) -> str:
    """The comparison key of a name: NFKC (full-width → half-width), no quotes or spaces, lower case."""
    return unicodedata.normalize("NFKC", text).translate(_QUOTES).lower()


def simplified(text: str) -> str:
    """`text` with Traditional characters converted to Simplified."""
    return _to_simplified(text)


@functools.lru_cache(maxsize=4096)
def _to_simplified(text: str) -> str:
    global _converter
    if _converter is None:
        with _lock:
            if _converter is None:
                # deferred: opencc (~40 ms) only when a Traditional text is converted
                from opencc_purepy import OpenCC

                _converter = OpenCC("t2s")
    return _converter.convert(text)


class NameIndex:
    """Finds the id a written name stands for; suggests close names when none does."""

    def __init__(self, entries, display=None):
        self._by_key: dict[str, str] = {}
        self._names: dict[str, str] = {}  # name -> id
        for name, ident in entries:
            self._by_key.setdefault(fold(name), ident)
            self._names.setdefault(name, ident)
        # Suggestions come from the display names (not ids or aliases) when given.
        self._display = list(display) if display is not None else list(self._names)
        self._display_keys = [(name, fold(name)) for name in self._display]
        # Names as written → id (or None); callers send the same few names over and over.
        self._seen: dict[str, str | None] = {}

    def lookup(self, text: str) -> str | None:
        try:
            return self._seen[text]
        except KeyError:
            pass
        ident = self._lookup(text)
        if len(self._seen) < _SEEN_LIMIT:
            self._seen[text] = ident
        return ident

    def _lookup(self, text: str) -> str | None:
        key = fold(text)
        hit = self._by_key.get(key)
        if hit is not None:
            return hit
        converted = fold(simplified(text))
        if converted != key:
            return self._by_key.get(converted)
        return None

    def closest(self, text: str, n: int = 3) -> list[str]:
        """Up to `n` catalogue names closest to `text`, best first."""
        return list(self._closest(text, n))

    # One index per loaded pack, alive as long as the pack; the cache is bounded.
    @functools.lru_cache(maxsize=1024)  # noqa: B019
    def _closest(self, text: str, n: int) -> tuple[str, ...]:
        key = fold(simplified(text)) if not text.isascii() else fold(text)
        matcher = difflib.SequenceMatcher(None, "", key, autojunk=False)
        scored = []
        for name, folded in self._display_keys:
            matcher.set_seq1(folded)
            # The cheap upper bounds first: most names are nowhere near.
            if matcher.real_quick_ratio() < 0.3 or matcher.quick_ratio() < 0.3:
                continue
            ratio = matcher.ratio()
            if ratio >= 0.3:
                scored.append((-ratio, name))
        scored.sort()
        return tuple(name for _, name in scored[:n])
