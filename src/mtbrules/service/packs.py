"""The packs a running service serves: compiled once, swapped whole on reload.

A `PackSet` is immutable. The application holds one in a single attribute;
a reload compiles a complete new set off the event loop and then replaces
the attribute in one assignment, so a request that already took the old set
finishes with it and the next request sees the new one. A reload that fails
(a pack no longer compiles) leaves the old set in place.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import hashlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from ..diagnostics import Diagnostic, Location
from ..errors import MtbError, PackError
from ..loader import load_pack_folder
from ..pack import Pack
from ..registry import builtin_ids, resolve
from .limits import short


@attrs.frozen
class ServedPack:
    """One compiled pack, where it came from, and a digest of its files."""

    pack: Pack
    ref: str
    fingerprint: str

    def summary(self) -> dict[str, Any]:
        """What `/v1/packs` and `/v1/ready` say about this pack."""
        info = self.pack.describe()
        info["fingerprint"] = self.fingerprint
        return info

    def versions(self) -> list[str]:
        return [v.id for v in self.pack.versions]


@attrs.frozen
class PackSet:
    """The packs being served, by id, with the generation and time they were compiled."""

    packs: Mapping[str, ServedPack]
    refs: tuple[str, ...]
    generation: int
    loaded_at: str

    def get(self, pack_id: str) -> ServedPack:
        """The served pack `pack_id`; UnknownPackError (HTTP 404) if it is not served."""
        served = self.packs.get(pack_id) if isinstance(pack_id, str) else None
        if served is None:
            raise UnknownPackError(pack_id, sorted(self.packs))
        return served

    def ids(self) -> list[str]:
        return sorted(self.packs)

    def describe(self) -> list[dict[str, Any]]:
        """The short form of every served pack: id, versions, fingerprint."""
        return [
            {
                "id": pid,
                "versions": s.versions(),
                "fingerprint": s.fingerprint,
                "ref": _public_ref(s.ref),
            }
            for pid, s in sorted(self.packs.items())
        ]


class UnknownPackError(PackError):
    """The case or the URL names a pack this server does not serve (HTTP 404)."""

    def __init__(self, pack_id: Any, served: Iterable[str] = ()):
        served = list(served)
        text = short(pack_id if isinstance(pack_id, str) else repr(pack_id))
        close = difflib.get_close_matches(text, served, n=1) if isinstance(pack_id, str) else []
        hint = (
            f"did you mean '{close[0]}'?"
            if close
            else f"served packs: {', '.join(served) or 'none'}"
        )
        diagnostic = Diagnostic(
            "MTB100", f"unknown pack '{text}': this server does not serve it", None, hint=hint
        )
        super().__init__(str(diagnostic), [diagnostic])
        self.pack_id = pack_id
        self.served = served
        self.field = "pack"

    def __reduce__(self):
        return (self.__class__, (self.pack_id, self.served))


def load_pack_set(refs: Iterable[str], generation: int = 1) -> PackSet:
    """Compile every pack in `refs` (built-in ids or folders) afresh, bypassing the library's cache.

    Raises PackError (the first problem, with its file:line:col) if any pack fails;
    two refs that resolve to the same pack id are an error too.
    """

    refs = tuple(refs)
    packs: dict[str, ServedPack] = {}
    for ref in refs:
        folder = resolve(ref)
        pack = load_pack_folder(folder)
        if pack.id in packs:
            raise PackError.at(
                "MTB401",
                f"pack id '{pack.id}' is served twice (from {packs[pack.id].ref} and {ref})",
                Location(str(folder)),
            )
        packs[pack.id] = ServedPack(pack, str(ref), fingerprint(folder))
    now = _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return PackSet(packs, refs, generation, now)


def warm(packs: PackSet) -> None:
    """Decide one plain case per pack, version and service, so that what the library builds on
    first use (generated conditions, the Traditional-to-Simplified converter for names it does
    not know: 0.4 s) is built now and not during the first requests."""
    for served in packs.packs.values():
        pack = served.pack
        for version in pack.versions:
            for service in pack.services:
                case = {
                    "service": service,
                    "submitted_on": version.effective_from.isoformat(),
                    "diseases": ["未列明"],
                    "materials": ["未列明"],
                }
                try:
                    pack.evaluate(case)
                except MtbError:
                    pass  # a pack may need more of a case; what it built meanwhile stays built


def fingerprint(folder: str | os.PathLike) -> str:
    """sha256 over the pack's files (names and bytes), scenarios and hidden files left out.

    Two servers with the same fingerprint for a pack decide every case the same way.
    """
    root = Path(folder)
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root)
        if (
            rel.parts[0] == "scenarios"
            or any(part.startswith(".") for part in rel.parts)
            or "__pycache__" in rel.parts
        ):
            continue
        digest.update(rel.as_posix().encode("utf-8") + b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return "sha256:" + digest.hexdigest()[:16]


def _public_ref(ref: str) -> str:
    """Built-in ids as they are; a folder by its last component only (no server paths in responses)."""

    if ref in builtin_ids():
        return ref
    return "folder:" + Path(ref).name
