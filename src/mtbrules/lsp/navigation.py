"""Go to definition, find references, and the outline of a file (rules by clause)."""

from __future__ import annotations

from pathlib import Path

import attrs

from ..diagnostics import Location
from .index import CATALOGUES, Occurrence, PackIndex, value_span


def definition(index: PackIndex, occ: Occurrence) -> Location | None:
    """Where `occ`'s id is defined; a clause: its line in the source text."""
    if occ.kind == "clause":
        return index.clause_location(occ.ident)
    found = index.definition(occ.kind, occ.ident)
    return found.location if found is not None else None


def references(index: PackIndex, occ: Occurrence, declaration: bool = True) -> list[Location]:
    """Every use of `occ`'s id (and its definition when `declaration`)."""
    out = [o.location for o in index.references(occ.kind, occ.ident)]
    found = index.definition(occ.kind, occ.ident)
    if declaration:
        if found is not None:
            out.insert(0, found.location)
        elif occ.kind == "clause":
            where = index.clause_location(occ.ident)
            if where is not None:
                out.insert(0, where)
    return out


@attrs.frozen
class Symbol:
    name: str
    detail: str
    kind: str  # clause, rule, entry, section
    range: Location
    selection: Location
    children: tuple[Symbol, ...] = ()


def symbols(index: PackIndex, file: str) -> list[Symbol]:
    """The outline of one pack file: rules grouped by the clause they cite, catalogue
    entries by list, scenarios by name."""
    doc = index.docs.get(file)
    if doc is None or not isinstance(doc.value, dict):
        return []
    kind = Path(file).parent.name
    if kind == "rules":
        by_clause: dict[str, list[Symbol]] = {}
        for i, rule in enumerate(doc.value.get("rules") or ()):
            if not isinstance(rule, dict) or "id" not in rule:
                continue
            cite = rule.get("source")
            if not isinstance(cite, dict):
                cite = {}
            label = f"{cite.get('doc', '?')} {cite.get('clause', '?')}"
            whole = doc.span(("rules", i))
            pick = value_span(doc, ("rules", i, "id"))
            if whole is None or pick is None:
                continue
            by_clause.setdefault(label, []).append(
                Symbol(str(rule["id"]), str(rule.get("title") or ""), "rule", whole, pick)
            )
        out = []
        for label, rules in by_clause.items():
            first, last = rules[0].range, rules[-1].range
            span = attrs.evolve(first, end_line=last.end_line, end_col=last.end_col)
            out.append(
                Symbol(
                    label, f"{len(rules)} rule(s)", "clause", span, rules[0].selection, tuple(rules)
                )
            )
        return out
    out = []
    name = Path(file).name
    if kind == "scenarios":
        lists = [("scenarios", "name")]
    else:
        lists = [(key, "id") for f, key, _ in CATALOGUES if f == name]
    for key, field in lists:
        entries = []
        for i, item in enumerate(doc.value.get(key) or ()):
            if not isinstance(item, dict) or field not in item:
                continue
            whole = doc.span((key, i))
            pick = value_span(doc, (key, i, field))
            if whole is None or pick is None:
                continue
            detail = str(item.get("name") or item.get("title") or "")
            entries.append(Symbol(str(item[field]), detail, "entry", whole, pick))
        section = doc.key_span((key,))
        if entries and section is not None:
            last = entries[-1].range
            span = attrs.evolve(section, end_line=last.end_line, end_col=last.end_col)
            out.append(Symbol(key, f"{len(entries)}", "section", span, section, tuple(entries)))
    if name == "pack.yaml":
        for key in ("sources", "case_fields"):
            mapping = doc.value.get(key)
            section = doc.key_span((key,))
            if not isinstance(mapping, dict) or section is None:
                continue
            entries = []
            for sub in mapping:
                pick = doc.key_span((key, sub))
                whole = doc.span((key, sub))
                if pick is None or whole is None:
                    continue
                entries.append(
                    Symbol(
                        str(sub),
                        "",
                        "entry",
                        attrs.evolve(whole, line=pick.line, col=pick.col),
                        pick,
                    )
                )
            if entries:
                last = entries[-1].range
                span = attrs.evolve(section, end_line=last.end_line, end_col=last.end_col)
                out.append(Symbol(key, f"{len(entries)}", "section", span, section, tuple(entries)))
    return out
