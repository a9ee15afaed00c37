"""Hover: what the thing under the cursor is, from the pack and its source text."""

from __future__ import annotations

from typing import Any

from ..workdays import WorkingCalendar
from .index import Occurrence, PackIndex
from .vocabulary import (
    FIELD_MEANINGS,
    FUNCTIONS,
    UNITS,
    field_type,
    fixed_values,
    unit_of,
)

#: What each catalogue kind's vocabulary is called in the DSL's types.
_VOCAB_KINDS = {
    "category": "category",
    "service": "service",
    "disease": "disease",
    "group": "group",
    "document": "document",
}
_ENTRY_KEYS = ("name", "name_en", "title", "kind", "no", "aliases", "groups", "any_of", "value")


def hover_text(index: PackIndex, occ: Occurrence, calendar: WorkingCalendar | None = None) -> str:
    """Markdown for the occurrence under the cursor."""
    if occ.kind == "rule":
        return _rule(index, occ)
    if occ.kind == "clause":
        return _clause(index, occ.ident)
    if occ.kind == "field":
        return _field(index, occ.ident)
    if occ.kind == "function":
        signature, meaning = FUNCTIONS.get(occ.ident, (occ.ident + "(…)", "unknown function"))
        return f"```\n{signature}\n```\n{meaning}"
    if occ.kind == "duration":
        return _duration(occ.ident, calendar)
    return _entry(index, occ)


def _citation(index: PackIndex, cite: Any) -> list[str]:
    if not isinstance(cite, dict):
        return ["*cites no source*"]
    key, label = cite.get("doc"), cite.get("clause")
    out = [f"**{key} {label}**"]
    quote = cite.get("quote")
    if isinstance(quote, str):
        out.append(f"> {quote}")
        source = index.sources.get(str(key))
        found = source.find(quote) if source is not None else None
        if source is not None and found is not None:
            line = source.position(found[0])[0]
            sentence = source.sentence(*found)
            out.append(f"In {_name(source.file)}, line {line}:\n\n{sentence}")
        elif source is not None:
            out.append(f"*the quote is not in {_name(source.file)}*")
    else:
        out.append("*no quote*")
    return out


def _rule(index: PackIndex, occ: Occurrence) -> str:
    entry = index.entry(occ) or {}
    head = f"**rule `{occ.ident}`**"
    if entry.get("title"):
        head += f" — {entry['title']}"
    parts = [head] + _citation(index, entry.get("source"))
    if not entry:
        parts = [f"**rule `{occ.ident}`** *is not defined in this pack*"]
    return "\n\n".join(parts)


def _clause(index: PackIndex, ident: str) -> str:
    key, _, label = ident.partition(":")
    source = index.sources.get(key)
    parts = [f"**clause {label}** of `{key}`"]
    where = index.clause_location(ident)
    if source is not None and where is not None:
        parts.append(
            f"{_name(source.file)}, line {where.line}:\n\n{source.line_text(where.line).strip()}"
        )
    elif source is None:
        parts.append(f"*source `{key}` has no readable text file*")
    else:
        parts.append(f"*not found in {_name(source.file)}*")
    return "\n\n".join(parts)


def _field(index: PackIndex, name: str) -> str:
    spec = index.case_fields.get(name)
    if spec is not None:
        parts = [f"**case field `{name}`** (this pack's): `{spec.get('type', '?')}`"]
        if spec.get("values"):
            parts.append("values: " + ", ".join(f"`{v}`" for v in spec["values"]))
        if spec.get("description"):
            parts.append(str(spec["description"]))
        return "\n\n".join(parts)
    t = field_type(name, index.case_fields)
    if t is None:
        return f"`{name}`"
    parts = [f"**case field `{name}`**: `{t}`"]
    vocab = t.vocab or (t.item.vocab if t.item is not None else None)
    values = list(fixed_values(vocab))
    if vocab is not None and vocab in _VOCAB_KINDS.values():
        values = sorted(set(values) | set(index.ids(vocab)))
    if values:
        shown = ", ".join(f"`{v}`" for v in values[:20]) + (" …" if len(values) > 20 else "")
        parts.append(f"values: {shown}")
    if name in FIELD_MEANINGS:
        parts.append(FIELD_MEANINGS[name])
    return "\n\n".join(parts)


def _duration(ident: str, calendar: WorkingCalendar | None) -> str:
    amount, _, unit = ident.partition(" ")
    canonical = unit_of(unit)
    parts = [f"**{amount} {canonical}**", UNITS.get(canonical, "")]
    if canonical == "working_days" and calendar is not None:
        years = calendar.known_years
        parts.append(
            f"The calendar knows {years.start}–{years.stop - 1}; a count that leaves those "
            "years is an error (MTB502), never a guess."
        )
    return "\n\n".join(p for p in parts if p)


def _entry(index: PackIndex, occ: Occurrence) -> str:
    entry = index.entry(occ)
    head = f"**{occ.kind} `{occ.ident}`**"
    if entry is None:
        return head + " *is not defined in this pack*"
    parts = [head]
    for key in _ENTRY_KEYS:
        value = entry.get(key)
        if value in (None, [], ""):
            continue
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        parts.append(f"{key}: {value}")
    if occ.kind == "source":
        for key in ("title", "file", "url", "published", "confidence", "note"):
            if entry.get(key):
                parts.append(f"{key}: {entry[key]}")
    elif "source" in entry:
        parts += _citation(index, entry["source"])
    return "\n\n".join(parts)


def _name(path: str) -> str:
    return path.rsplit("/", 1)[-1]
