"""Compiled-pack cache: a pack's parsed, validated files and DSL trees, keyed by content.

Loading a pack spends most of its time reading YAML, validating it against the
schema and parsing expressions with Lark. None of that depends on anything but
the bytes of the pack's files and the version of mtbrules, so the result is
kept under a hash of exactly those. Lowering to the IR and generating code
still happen on every load (they are fast, and generated functions do not pickle).

A file's positions (one Location per YAML node) are stored as plain tuples
and made into objects only when asked for: a clean load asks for a few dozen
of the thousands, and unpickling an attrs object runs Python code
(`slots_setstate`) where a tuple does not. What only tools pointing inside
values ask for (the scalars, spans, key spans and the file's lines: most of an
entry's bytes) is pickled apart and read back when first used.

Where: $MTBRULES_CACHE_DIR, else $XDG_CACHE_HOME/mtbrules, else ~/.cache/mtbrules.
MTBRULES_CACHE=0 turns it off. As Jinja's bytecode cache does, entries are read
only from a folder that the current user owns and nobody else can write to,
since unpickling runs code; a cache that cannot be written is skipped silently.
An entry that cannot be read, or was written by another format, is a miss.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import stat
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from . import bundled
from ._version import __version__
from ._yaml import Scalar, YamlDoc
from .diagnostics import Location

# 2: YamlDoc keeps spans and scalar ends; 3: positions stored as tuples, entries in an envelope;
# 4: scalars, spans, keys and lines pickled apart, read on first use.
_FORMAT = 4


def _fields(cls: type) -> tuple[str, ...]:
    return tuple(a.name for a in attrs.fields(cls))


#: The stored shape: a change to any of these classes' fields makes every entry a miss.
_SHAPE = repr([(c.__name__, _fields(c)) for c in (YamlDoc, Location, Scalar)])


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
    h = hashlib.sha256()
    h.update(f"{_FORMAT}\0{__version__}\0{_SHAPE}\0{root.resolve()}\0".encode())
    for name in (("grammar.lark",), ("schemas", "pack.schema.json")):
        h.update(bundled.read_bytes(*name))
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
    """The value stored under `digest`, or None (no entry, unreadable, other format)."""
    if not enabled():
        return None
    directory = folder()
    path = directory / f"{digest}.pickle"
    if not path.is_file() or not _trusted(directory):
        return None
    try:
        with open(path, "rb") as fh:
            entry = pickle.load(fh)
    except Exception:  # noqa: BLE001 - a damaged entry is a miss, never an error
        return None
    if type(entry) is not tuple or len(entry) != 3 or entry[:2] != (_FORMAT, _SHAPE):
        return None  # written by another version of this module: rebuilt by the caller
    return entry[2]


def put(digest: str, value: Any) -> None:
    if not enabled():
        return
    import tempfile  # only a cache miss writes: a hit does not pay for importing it

    directory = folder()
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _trusted(directory):
            return
        fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            _Writer(fh, protocol=pickle.HIGHEST_PROTOCOL).dump((_FORMAT, _SHAPE, value))
        os.replace(tmp, directory / f"{digest}.pickle")
    except OSError:
        return


# ---------------------------------------------------------------- positions as tuples


class _Writer(pickle.Pickler):
    """Pickles a YamlDoc with its positions as tuples (see the module's docstring)."""

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is YamlDoc:
            return _revive_doc, _doc_state(obj)
        return NotImplemented


def _location_state(loc: Location) -> tuple[Any, ...]:
    return (loc.file, loc.line, loc.col, loc.end_line, loc.end_col)


def _scalar_state(info: Scalar) -> tuple[Any, ...]:
    return (_location_state(info.location), info.style, info.block_indent, info.end, info.value)


#: The YamlDoc fields kept as tuples, and how each entry is stored.
_COMPACT: dict[str, Callable[[Any], tuple[Any, ...]]] = {
    "locations": _location_state,
    "scalars": _scalar_state,
}
#: The YamlDoc fields keyed by path.
_BY_PATH = frozenset({"locations", "scalars", "spans", "keys"})
#: The YamlDoc fields pickled apart (a clean load never reads them).
_LATER = ("scalars", "spans", "keys", "lines")


def _doc_state(doc: YamlDoc) -> tuple[dict[str, Any], bytes]:
    # One tuple per path, shared by every map keyed by it (the parser makes a copy per map):
    # pickle then writes, and reads back, each path once.
    paths: dict[tuple, tuple] = {}
    state = {}
    for field in attrs.fields(YamlDoc):
        if not field.init:
            continue
        value = getattr(doc, field.name)
        compact = _COMPACT.get(field.name)
        if compact is not None:
            value = {paths.setdefault(k, k): compact(v) for k, v in value.items()}
        elif field.name in _BY_PATH:
            value = {paths.setdefault(k, k): v for k, v in value.items()}
        elif field.name in _LATER:
            value = list(value)
        state[field.name] = value
    later = {name: state.pop(name) for name in _LATER}
    return state, pickle.dumps(later, protocol=pickle.HIGHEST_PROTOCOL)


def _location(state: tuple[Any, ...]) -> Location:
    return Location(*state)


def _scalar(state: tuple[Any, ...]) -> Scalar:
    loc, style, block_indent, end, value = state
    return Scalar(Location(*loc), style, block_indent, end, value)


def _revive_doc(state: dict[str, Any], later: bytes) -> YamlDoc:
    rest = Later(later)
    state["locations"] = OnFirstUse(state["locations"], _location)
    state["scalars"] = OnFirstUse(rest.field("scalars"), _scalar)
    state["spans"] = OnFirstUse(rest.field("spans"))
    state["keys"] = OnFirstUse(rest.field("keys"))
    state["lines"] = LaterList(rest.field("lines"))
    return YamlDoc(**state)


class Later:
    """Fields pickled apart, unpickled together when the first of them is used."""

    __slots__ = ("_blob", "_fields", "_lock")

    def __init__(self, blob: bytes):
        self._blob = blob
        self._fields: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def field(self, name: str) -> Callable[[], Any]:
        """A function giving field `name` (unpickling them all on its first call)."""

        def value() -> Any:
            fields = self._fields
            if fields is None:
                with self._lock:
                    if self._fields is None:
                        self._fields = pickle.loads(self._blob)
                        self._blob = b""
                    fields = self._fields
            return fields[name]

        return value


class LaterList(Sequence[Any]):
    """A read-only list given by a function, called when it is first used."""

    __slots__ = ("_items", "_load")

    def __init__(self, load: Callable[[], list]):
        self._load = load
        self._items: list | None = None

    def _list(self) -> list:
        items = self._items
        if items is None:
            items = self._items = self._load()
        return items

    def __getitem__(self, index: Any) -> Any:
        return self._list()[index]

    def __len__(self) -> int:
        return len(self._list())

    def __iter__(self) -> Iterator[Any]:
        return iter(self._list())

    def __eq__(self, other: object) -> bool:
        return self._list() == (list(other) if isinstance(other, LaterList) else other)

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> Any:
        return (list, (self._list(),))


class OnFirstUse(Mapping[Any, Any]):
    """A read-only mapping of stored tuples, each made into its value (by `make`, if given)
    when first looked up; `stored` may be a function giving the stored dict on first use."""

    __slots__ = ("_made", "_make", "_source", "_stored_dict")

    def __init__(self, stored: dict | Callable[[], dict], make: Callable[[Any], Any] | None = None):
        self._source = stored
        self._stored_dict: dict | None = stored if isinstance(stored, dict) else None
        self._make = make
        self._made: dict = {}

    @property
    def _stored(self) -> dict:
        stored = self._stored_dict
        if stored is None:
            stored = self._stored_dict = self._source()  # type: ignore[operator]
        return stored

    def __getitem__(self, key: Any) -> Any:
        if self._make is None:
            return self._stored[key]
        made = self._made.get(key)
        if made is None:
            # Two threads may both make it: equal values, either one is kept.
            made = self._made[key] = self._make(self._stored[key])
        return made

    def get(self, key: Any, default: Any = None) -> Any:
        if key in self._stored:
            return self[key]
        return default

    def __contains__(self, key: object) -> bool:
        return key in self._stored

    def __iter__(self) -> Iterator[Any]:
        return iter(self._stored)

    def __len__(self) -> int:
        return len(self._stored)

    def __reduce__(self) -> Any:
        return (OnFirstUse, (self._stored, self._make))
