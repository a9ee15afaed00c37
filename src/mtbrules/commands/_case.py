"""Shared by commands that take one case file: read it and pick the pack."""

from __future__ import annotations


def read_case_and_pack(path: str, ref: str | None):
    """(case mapping, Pack) for `path` with `--pack ref` (or the case's own `pack`)."""
    from ..errors import CaseError
    from ..registry import load_pack
    from ._io import read_json

    case = read_json(path)
    if ref is None:
        ref = case.get("pack") if isinstance(case, dict) else None
        if not isinstance(ref, str) or not ref:
            raise CaseError("case field 'pack': is required when --pack is not given", field="pack")
        return case, load_pack(ref)
    pack = load_pack(ref)
    if isinstance(case, dict) and "pack" in case:
        case = {k: v for k, v in case.items() if k != "pack"}
    return case, pack
