"""What a rule change does: the static difference between two packs, and its impact on a caseload.

>>> from mtbrules.diff import static_diff
>>> import mtbrules
>>> static_diff(mtbrules.load_pack("qingdao"), mtbrules.load_pack("qingdao"))["summary"]["changed"]
0

A pack is given as a built-in id, a folder, or `git:REV:PATH` (the folder
PATH of the repository in the current directory, as it was at revision REV;
registry.resolve reads it with `git archive`, no network).

Blame: each change in a decision is put on the rule that caused it: a
document added or removed on the rule that requires it; a deadline on the
rule that sets it; an outcome on the rules that set outcomes or reject whose
applying changed (or whose text changed) between the two packs.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as _dt
import json
from collections.abc import Iterable, Iterator
from typing import Any

from . import nodes as n
from .caseio import chunk_cases, read_chunks
from .errors import MtbError
from .htmlview import impact_html
from .loader import load_pack_folder
from .pool import default_workers, parallel_map
from .registry import load_pack

EXAMPLES = 3


# ---------------------------------------------------------------- loading


@contextlib.contextmanager
def open_pack(ref) -> Iterator:
    """A loaded Pack for a Pack, a built-in id, a folder, or `git:REV:PATH` (kept for
    callers of 0.x: `registry.load_pack` takes every kind of reference now)."""
    yield ref if hasattr(ref, "evaluate") else load_pack(ref)


# ---------------------------------------------------------------- static diff


def _cite(c) -> str | None:
    return str(c) if c is not None else None


def _rule_view(r) -> dict[str, Any]:
    return {
        "title": r.title,
        "source": str(r.source),
        "quote": r.source.quote,
        "services": sorted(r.services) if r.services is not None else None,
        "versions": sorted(r.versions) if r.versions is not None else None,
        "when": n.to_source(r.when.node) if r.when is not None else None,
        "overrides": list(r.overrides),
        "outcome": r.outcome,
        "reject": r.reject,
        "require": [
            q.doc
            + (
                f" (issued within {q.issued_within[0]} {q.issued_within[1]})"
                if q.issued_within
                else ""
            )
            for q in r.require
        ],
        "deadlines": {d.kind: n.to_source(d.date.node) for d in r.deadlines},
        "channels": list(r.channels),
        "reason": r.reason,
        "warn": r.warn,
    }


def _views(pack) -> dict[str, dict]:
    return {
        "versions": {
            v.id: {
                "effective_from": v.effective_from.isoformat(),
                "effective_to": v.effective_to.isoformat() if v.effective_to else None,
            }
            for v in pack.versions
        },
        "services": {
            s.id: {"name": s.name, "source": _cite(s.source)} for s in pack.services.values()
        },
        "case_fields": {k: {"type": t} for k, t in pack.case_fields.items()},
        "groups": {g.id: {"name": g.name} for g in pack.groups.values()},
        "diseases": {
            d.id: {
                "name": d.name,
                "no": d.no,
                "aliases": list(d.aliases),
                "groups": sorted(d.groups),
                "source": _cite(d.source),
            }
            for d in pack.diseases.values()
        },
        "documents": {
            d.id: {
                "name": d.name,
                "aliases": list(d.aliases),
                "any_of": list(d.any_of),
                "source": _cite(d.source),
            }
            for d in pack.documents.values()
        },
        "channels": {c.id: {"name": c.name, "kind": c.kind} for c in pack.channels.values()},
        "categories": {
            c.id: {"name": c.name, "aliases": list(c.aliases)} for c in pack.categories.values()
        },
        "rules": {r.id: _rule_view(r) for r in pack.rules},
        "time_limits": {
            f"{r.id}:{d.kind}": {
                "rule": r.id,
                "kind": d.kind,
                "date": n.to_source(d.date.node),
                "source": str(r.source),
            }
            for r in pack.rules
            for d in r.deadlines
        },
    }


SECTIONS = (
    "versions",
    "services",
    "case_fields",
    "groups",
    "diseases",
    "documents",
    "channels",
    "categories",
    "rules",
    "time_limits",
)


def static_diff(old, new) -> dict[str, Any]:
    """Entries added, removed and changed between two packs, section by section."""
    a, b = _views(old), _views(new)
    out: dict[str, Any] = {}
    total = 0
    for section in SECTIONS:
        va, vb = a[section], b[section]
        added = [{"id": k, **vb[k]} for k in vb if k not in va]
        removed = [{"id": k, **va[k]} for k in va if k not in vb]
        changed = []
        for k in va:
            if k in vb and va[k] != vb[k]:
                fields = {
                    f: {"old": va[k].get(f), "new": vb[k].get(f)}
                    for f in sorted(set(va[k]) | set(vb[k]))
                    if va[k].get(f) != vb[k].get(f)
                }
                entry = {"id": k, "changes": fields}
                source = vb[k].get("source")
                if source:
                    entry["source"] = source
                changed.append(entry)
        if added or removed or changed:
            out[section] = {"added": added, "removed": removed, "changed": changed}
            total += len(added) + len(removed) + len(changed)
    return {"old": old.id, "new": new.id, "sections": out, "summary": {"changed": total}}


def changed_rules(static: dict) -> set[str]:
    rules = static["sections"].get("rules", {})
    return {e["id"] for part in ("added", "removed", "changed") for e in rules.get(part, [])}


# ---------------------------------------------------------------- impact on a caseload


def _digest(decision) -> dict:
    """What an impact study compares, from a Decision."""
    return {
        "outcome": decision.outcome,
        "complete": decision.complete,
        "documents": {d.id: d.rule for d in decision.required_documents},
        "deadlines": {d.kind: (d.date, d.rule) for d in decision.deadlines},
        "channels": sorted(c.id for c in decision.channels),
        "path": [p.rule for p in decision.path],
    }


def _safe_digest(pack, case) -> dict:
    try:
        return _digest(pack.evaluate(case))
    except MtbError as exc:
        return {"error": str(exc)}


def compare_case(row: int, case, old, new) -> dict | None:
    """The differences in one case's decision between `old` and `new`, or None when it is the same."""
    a, b = _safe_digest(old, case), _safe_digest(new, case)
    if a == b:
        # The same error under both packs (a bad case) is not a change, but it is counted.
        return {"row": row, "invalid": a["error"]} if "error" in a else None
    return {"row": row, "old": a, "new": b}


def _setters(pack, path) -> list[str]:
    by_id = pack.rules_by_id
    return [r for r in path if r in by_id and (by_id[r].outcome or by_id[r].reject)]


def _blame_outcome(old, new, a, b, suspects: set) -> list[str]:
    sa, sb = _setters(old, a["path"]), _setters(new, b["path"])
    blamed = [r for r in sb if r not in sa or r in suspects] + [r for r in sa if r not in sb]
    if not blamed:
        blamed = [r for r in a["path"] + b["path"] if r in suspects]
    if not blamed:
        blamed = [r for r in b["path"] if r.startswith("pack:")] or sorted(
            set(a["path"]) ^ set(b["path"])
        )
    seen: list[str] = []
    for r in blamed:
        if r not in seen:
            seen.append(r)
    return seen


class Impact:
    """Aggregated changes of a caseload's decisions between two packs."""

    def __init__(self, old, new, static: dict | None = None, examples: int = EXAMPLES):
        self.old, self.new = old, new
        self.static = static if static is not None else static_diff(old, new)
        self.suspects = changed_rules(self.static)
        self.examples = examples
        self.cases = 0
        self.changed = 0
        self.errors = 0  # cases that fail under one pack only
        self.invalid = 0  # cases that fail under both (bad input)
        self.invalid_examples: list = []
        self.outcomes: dict = {}
        self.documents: dict = {}
        self.deadlines: dict = {}
        self.channels: dict = {}
        self.completeness: dict = {}
        self.blame: collections.Counter = collections.Counter()

    def _group(self, table: dict, key, rules, row: int, extra=None):
        g = table.get(key)
        if g is None:
            g = table[key] = {"count": 0, "rules": collections.Counter(), "examples": []}
            if extra is not None:
                g["shift_days"] = collections.Counter()
        g["count"] += 1
        for r in rules:
            if r:
                g["rules"][r] += 1
        if extra is not None:
            g["shift_days"][extra] += 1
        if len(g["examples"]) < self.examples:
            g["examples"].append(row)

    def add(self, diff: dict | None, count: int = 1):
        """Record one compared case (`diff` from compare_case; None = unchanged)."""
        self.cases += count
        if diff is None:
            return
        if "invalid" in diff:
            self.invalid += 1
            if len(self.invalid_examples) < self.examples:
                self.invalid_examples.append({"row": diff["row"], "message": diff["invalid"]})
            return
        self.changed += 1
        row, a, b = diff["row"], diff["old"], diff["new"]
        blamed: set = set()
        if "error" in a or "error" in b:
            self.errors += 1
            key = (
                "error" if "error" in a else a["outcome"],
                "error" if "error" in b else b["outcome"],
            )
            self._group(self.outcomes, key, [], row)
            return
        if a["outcome"] != b["outcome"]:
            rules = _blame_outcome(self.old, self.new, a, b, self.suspects)
            self._group(self.outcomes, (a["outcome"], b["outcome"]), rules, row)
            blamed.update(rules)
        for doc in b["documents"].keys() - a["documents"].keys():
            rule = b["documents"][doc]
            self._group(self.documents, (doc, "added"), [rule], row)
            blamed.add(rule)
        for doc in a["documents"].keys() - b["documents"].keys():
            rule = a["documents"][doc]
            self._group(self.documents, (doc, "removed"), [rule], row)
            blamed.add(rule)
        for kind in a["deadlines"].keys() | b["deadlines"].keys():
            da, db = a["deadlines"].get(kind), b["deadlines"].get(kind)
            if da == db:
                continue
            if da is None:
                self._group(self.deadlines, (kind, "added"), [db[1]], row)
                blamed.add(db[1])
            elif db is None:
                self._group(self.deadlines, (kind, "removed"), [da[1]], row)
                blamed.add(da[1])
            elif da[0] != db[0]:
                shift = (_dt.date.fromisoformat(db[0]) - _dt.date.fromisoformat(da[0])).days
                self._group(self.deadlines, (kind, "shifted"), [db[1]], row, extra=f"{shift:+d}")
                blamed.add(db[1])
            # the same date from a different rule is not a change in the decision
        for ch in set(b["channels"]) - set(a["channels"]):
            rule = next(
                (
                    r
                    for r in b["path"]
                    if ch in getattr(self.new.rules_by_id.get(r), "channels", ())
                ),
                None,
            )
            self._group(self.channels, (ch, "added"), [rule], row)
            blamed.add(rule)
        for ch in set(a["channels"]) - set(b["channels"]):
            rule = next(
                (
                    r
                    for r in a["path"]
                    if ch in getattr(self.old.rules_by_id.get(r), "channels", ())
                ),
                None,
            )
            self._group(self.channels, (ch, "removed"), [rule], row)
            blamed.add(rule)
        if a["complete"] != b["complete"]:
            self._group(self.completeness, (a["complete"], b["complete"]), [], row)
        if not blamed and not (a["outcome"] != b["outcome"] or a["complete"] != b["complete"]):
            # Only the path or a deadline's rule changed: not a change in what the applicant is told.
            self.changed -= 1
            return
        for r in blamed:
            if r:
                self.blame[r] += 1

    def _repr_html_(self) -> str:  # notebooks (mtbrules.htmlview)
        return impact_html(self)

    def to_dict(self) -> dict[str, Any]:
        def rows(table, names):
            out = []
            for key, g in sorted(table.items(), key=lambda kv: (-kv[1]["count"], str(kv[0]))):
                entry = dict(zip(names, key))
                entry.update(
                    {"count": g["count"], "rules": _ranked(g["rules"]), "examples": g["examples"]}
                )
                if "shift_days" in g:
                    entry["shift_days"] = _ranked(g["shift_days"])
                out.append(entry)
            return out

        return {
            "summary": {
                "cases": self.cases,
                "changed": self.changed,
                "unchanged": self.cases - self.changed,
                "errors": self.errors,
                "invalid": self.invalid,
                "outcome_changed": sum(g["count"] for g in self.outcomes.values()),
                "documents_changed": sum(g["count"] for g in self.documents.values()),
                "deadlines_changed": sum(g["count"] for g in self.deadlines.values()),
                "channels_changed": sum(g["count"] for g in self.channels.values()),
            },
            "outcomes": rows(self.outcomes, ("from", "to")),
            "documents": rows(self.documents, ("document", "change")),
            "deadlines": rows(self.deadlines, ("kind", "change")),
            "channels": rows(self.channels, ("channel", "change")),
            "completeness": rows(self.completeness, ("from", "to")),
            "rules": [{"rule": r, "cases": c} for r, c in _ranked(self.blame).items()],
            "invalid": self.invalid_examples,
        }


def _ranked(counter) -> dict:
    """Most first, ties by name: the same order on every run."""
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], str(kv[0]))))


# -- parallel comparison of a caseload file

_STATE: dict = {}


def _init_impact(old_folder: str, new_folder: str):
    if _STATE.get("folders") != (old_folder, new_folder):
        _STATE["old"], _STATE["new"] = load_pack_folder(old_folder), load_pack_folder(new_folder)
        _STATE["folders"] = (old_folder, new_folder)


def _impact_work(chunk) -> tuple[int, list]:
    return compare_chunk(chunk, _STATE["old"], _STATE["new"])


def compare_chunk(chunk: tuple, old, new) -> tuple[int, list]:
    """(cases, differences) of a caseio chunk from `old` to `new`: each case as `old` reads it
    (caseio.chunk_cases), compared by compare_case; a row that is not a case is `invalid`."""
    out = []
    count = 0
    for row, case, _, message in chunk_cases(chunk, old):
        count += 1
        if case is None:
            out.append({"row": row, "invalid": message})
            continue
        d = compare_case(row, case, old, new)
        if d is not None:
            out.append(d)
    return count, out


def impact(old, new, cases: Iterable, examples: int = EXAMPLES) -> Impact:
    """The impact of going from `old` to `new` on `cases` (mappings), in this process."""
    result = Impact(old, new, examples=examples)
    for row, case in enumerate(cases, 1):
        result.add(compare_case(row, case, old, new))
    return result


def impact_file(
    old,
    new,
    path: str,
    workers: int | None = None,
    examples: int = EXAMPLES,
    chunk_rows: int = 2000,
) -> Impact:
    """The impact on a JSONL caseload (one case per line; row = line number), in parallel."""
    result = Impact(old, new, examples=examples)
    workers = default_workers() if workers is None else max(1, workers)
    _STATE["old"], _STATE["new"], _STATE["folders"] = old, new, (old.folder, new.folder)
    for count, diffs in parallel_map(
        _impact_work,
        read_chunks(path, "jsonl", chunk_rows),
        workers,
        _init_impact,
        (old.folder, new.folder),
    ):
        result.cases += count - len(diffs)
        for d in diffs:
            result.add(d)
    return result


# ---------------------------------------------------------------- report


def report(
    static: dict, impact_: Impact | None, old_label: str | None = None, new_label: str | None = None
) -> dict[str, Any]:
    """The whole diff as JSON-ready data; `summary` has the counts (`changed`, `static_changes`, …)."""
    out = {
        "old": old_label or static["old"],
        "new": new_label or static["new"],
        "static": static["sections"],
    }
    summary = {"static_changes": static["summary"]["changed"]}
    if impact_ is not None:
        imp = impact_.to_dict()
        summary.update(imp.pop("summary"))
        out["impact"] = imp
    else:
        summary["changed"] = static["summary"]["changed"]
    out["summary"] = summary
    return out


def something_changed(rep: dict) -> bool:
    s = rep["summary"]
    return bool(s["static_changes"] or s.get("changed"))


def _field_value(value) -> str:
    """A changed field's old or new value in the text report."""
    if value is None:
        return "—"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def to_text(rep: dict, markdown: bool = False) -> str:
    h1 = "## " if markdown else ""
    h2 = "### " if markdown else ""
    li = "- " if markdown else "  "
    code = "`" if markdown else ""
    lines = [f"{h1}{rep['old']} → {rep['new']}", ""]
    s = rep["summary"]
    static = rep["static"]
    if not static:
        lines.append("No rule, catalogue or time limit changed.")
    for section, parts in static.items():
        lines.append(f"{h2}{section}")
        for e in parts["added"]:
            lines.append(
                f"{li}+ {code}{e['id']}{code}" + (f" [{e['source']}]" if e.get("source") else "")
            )
        for e in parts["removed"]:
            lines.append(
                f"{li}- {code}{e['id']}{code}" + (f" [{e['source']}]" if e.get("source") else "")
            )
        for e in parts["changed"]:
            lines.append(
                f"{li}~ {code}{e['id']}{code}" + (f" [{e['source']}]" if e.get("source") else "")
            )
            for field, ch in e["changes"].items():
                lines.append(
                    f"{'  ' if markdown else '      '}{'- ' if markdown else ''}{field}: {_field_value(ch['old'])} → {_field_value(ch['new'])}"
                )
        lines.append("")
    imp = rep.get("impact")
    if imp is not None:
        lines.append(f"{h2}impact")
        lines.append(
            f"{s['changed']} of {s['cases']} decisions change"
            f" (outcome {s['outcome_changed']}, documents {s['documents_changed']}, deadlines {s['deadlines_changed']},"
            f" channels {s['channels_changed']}; {s['errors']} fail under one pack only;"
            f" {s['invalid']} invalid cases skipped)."
        )
        lines.append("")

        def blame(g):
            return ", ".join(f"{r} ({c})" for r, c in g["rules"].items()) or "—"

        def ex(g):
            return ", ".join(str(r) for r in g["examples"])

        if markdown and (
            imp["outcomes"] or imp["documents"] or imp["deadlines"] or imp["channels"]
        ):
            lines += ["| change | cases | caused by | example rows |", "|---|---:|---|---|"]
            row = lambda what, g: lines.append(f"| {what} | {g['count']} | {blame(g)} | {ex(g)} |")
        else:
            row = lambda what, g: lines.append(
                f"  {what}: {g['count']} cases; caused by {blame(g)}; e.g. rows {ex(g)}"
            )
        for g in imp["outcomes"]:
            row(f"outcome {g['from']} → {g['to']}", g)
        for g in imp["documents"]:
            row(f"document {g['document']} {g['change']}", g)
        for g in imp["deadlines"]:
            shift = ""
            if "shift_days" in g:
                shift = " (" + ", ".join(f"{k} days: {v}" for k, v in g["shift_days"].items()) + ")"
            row(f"deadline {g['kind']} {g['change']}{shift}", g)
        for g in imp["channels"]:
            row(f"channel {g['channel']} {g['change']}", g)
        if imp["rules"]:
            lines.append("")
            lines.append(
                "Changes by rule: " + ", ".join(f"{r['rule']} {r['cases']}" for r in imp["rules"])
            )
    lines.append("")
    return "\n".join(lines)
