"""Shared by commands that take one case file: read it and choose its pack (registry.pack_for_case)."""

from __future__ import annotations

#: How the command line says where a pack may be given.
REQUIRED = "when --pack is not given"


def read_case_and_pack(path: str, ref: str | None):
    """The PackChoice for the case file `path` with `--pack ref` (or the case's own `pack`)."""
    from ..registry import pack_for_case
    from ._io import read_json

    return pack_for_case(read_json(path), ref, required=REQUIRED, name=path)
