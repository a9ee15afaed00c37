"""One case across many packs, side by side.

>>> from mtbrules.compare import compare
>>> rows = compare({"service": "certificate", "submitted_on": "2025-09-29", "diseases": ["恶性肿瘤"]}, ["qingdao", "rizhao"])
>>> [r.pack for r in rows]
['qingdao', 'rizhao']

A field that only some of the compared packs define (a pack's own
`case_fields`) is left out for the packs that do not define it, with a note
in that pack's row; any other unknown field is still an input error.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from .case import CASE_FIELDS, CASE_OBJECTS
from .errors import CaseError, MtbError
from .messages import check_lang, text
from .registry import builtin_ids, load_pack

#: Deadline kinds shown as their own columns.
VALIDITY_KINDS = ("valid_until",)


@attrs.frozen
class CompareRow:
    """One pack's view of the case: its decision, or the input error it raised."""

    pack: str
    name: str
    city: str
    decision: Any = None  # Decision, or None when the case is not valid for this pack
    error: str | None = None
    notes: tuple = ()

    @property
    def outcome(self) -> str:
        return self.decision.outcome if self.decision is not None else "error"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "pack": self.pack,
            "name": self.name,
            "city": self.city,
            "outcome": self.outcome,
        }
        d = self.decision
        if d is not None:
            out.update(
                {
                    "pack_version": d.pack_version,
                    "complete": d.complete,
                    "required_documents": [doc.id for doc in d.required_documents],
                    "missing_documents": list(d.missing_documents),
                    "decision_due": _date(d, "decision_due"),
                    "valid_until": _date(d, "valid_until"),
                    "deadlines": {x.kind: x.date for x in d.deadlines},
                    "channels": [c.id for c in d.channels],
                    "reasons": [r.text for r in d.reasons],
                    "decision": d.to_dict(),
                }
            )
        if self.error is not None:
            out["error"] = self.error
        if self.notes:
            out["notes"] = list(self.notes)
        return out


def _date(decision, kind: str) -> str | None:
    x = decision.deadline(kind)
    return x.date if x is not None else None


def compare(case: Mapping, packs: Iterable = "all", lang: str = "en") -> list[CompareRow]:
    """Evaluate `case` with each pack (ids, paths, `git:REV:PATH` or Pack objects; "all" =
    every built-in pack); `lang` is the language of the engine's messages (Pack.evaluate).
    Each named pack decides by definition: the case's own `pack` is ignored, without the
    warning registry.pack_for_case gives elsewhere (docs/contract.md, "Case")."""
    check_lang(lang)
    if not isinstance(case, Mapping):
        raise CaseError("case: a case must be a JSON object")
    if packs == "all" or packs is None:
        packs = builtin_ids()
    loaded = [p if hasattr(p, "evaluate") else load_pack(p) for p in packs]
    pack_only = set()
    for p in loaded:
        pack_only |= set(p.case_fields)
    base = {k: v for k, v in case.items() if k != "pack"}
    rows = []
    for pack in loaded:
        notes = []
        mine = dict(base)
        for key in list(mine):
            if (
                key in pack_only
                and key not in pack.case_fields
                and key not in CASE_FIELDS
                and key not in CASE_OBJECTS
            ):
                del mine[key]
                notes.append(text("compare.field_left_out", lang, field=key, pack=pack.id))
        try:
            decision = pack.evaluate(mine, lang=lang)
            rows.append(CompareRow(pack.id, pack.name, pack.city, decision, None, tuple(notes)))
        except MtbError as exc:
            rows.append(CompareRow(pack.id, pack.name, pack.city, None, str(exc), tuple(notes)))
    return rows


# ---------------------------------------------------------------- rendering

_COLUMNS = ("pack", "outcome", "documents", "missing", "decision_due", "valid_until", "channels")


def _cells(row: CompareRow, lang: str) -> list[str]:
    d = row.decision
    if d is None:
        return [row.pack, "error", row.error or "", "", "", "", ""]
    sep = "、" if lang == "zh" else "; "
    docs = (
        sep.join(doc.name if lang == "zh" else doc.name_en for doc in d.required_documents) or "-"
    )
    missing = str(len(d.missing_documents))
    channels = (
        sep.join(c.name if lang == "zh" or not c.name_en else c.name_en for c in d.channels) or "-"
    )
    return [
        row.pack,
        d.outcome,
        docs,
        missing,
        _date(d, "decision_due") or "-",
        _date(d, "valid_until") or "-",
        channels,
    ]


def to_json(rows: list[CompareRow]) -> str:
    return json.dumps([r.to_dict() for r in rows], ensure_ascii=False, indent=2)


def to_markdown(rows: list[CompareRow], lang: str = "zh") -> str:
    lines = ["| " + " | ".join(_COLUMNS) + " |", "|" + "---|" * len(_COLUMNS)]
    for r in rows:
        cells = [c.replace("|", "\\|").replace("\n", " ") for c in _cells(r, lang)]
        lines.append("| " + " | ".join(cells) + " |")
    notes = [f"- {r.pack}: {n}" for r in rows for n in r.notes]
    if notes:
        lines += [""] + notes
    return "\n".join(lines) + "\n"


def to_text(rows: list[CompareRow], lang: str = "zh") -> str:
    """One block per pack (documents lists are long; a wide table would wrap)."""
    out = []
    labels = {
        "zh": ("结论", "材料", "缺", "办结期限", "有效期至", "渠道", "错误", "说明", "理由"),
        "en": (
            "outcome",
            "documents",
            "missing",
            "decision_due",
            "valid_until",
            "channels",
            "error",
            "note",
            "reason",
        ),
    }[lang]
    for r in rows:
        title = r.name if lang == "zh" else r.pack
        out.append(f"{r.pack}  {title}")
        if r.decision is None:
            out.append(f"  {labels[6]}: {r.error}")
        else:
            cells = _cells(r, lang)
            for label, value in zip(labels[:6], cells[1:]):
                out.append(f"  {label}: {value}")
            if r.decision.outcome in ("ineligible", "not_covered", "undetermined"):
                for reason in r.decision.reasons:
                    out.append(f"  {labels[8]}: {reason.text}")
        for n in r.notes:
            out.append(f"  {labels[7]}: {n}")
        out.append("")
    return "\n".join(out)
