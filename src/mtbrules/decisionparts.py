"""Pieces both assemblies of a Decision share: the interpreted one and the generated one.

Engine rule ids, the vocabulary check of a case, which documents the
materials provide (alternatives, recency on the calendar) and the words of a
deadline's basis.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import attrs

from . import nodes as n
from .case import CONTRACT_SERVICES, Case
from .decision import Deadline, PathStep, Reason
from .errors import CaseError
from .messages import DEFAULT_LANG, join, span
from .messages import text as _text
from .primitives import shifter
from .workdays import Provisional, track

# Pseudo-rule ids for decisions the engine makes from the pack's metadata.
RULE_VERSIONS = "pack:versions"
RULE_SERVICES = "pack:services"
RULE_DISEASES = "pack:diseases"
RULE_UNDECIDED = "pack:no-outcome"


def check_vocabulary(pack: Any, prep: Any, values: dict) -> dict:
    """The case's service and category against the pack's vocabularies (CONTRACT §2: exit 2).

    Returns the values the rules read: `values` itself, or a copy with a
    category given by name or alias replaced by its id (the case is the
    caller's, and another pack may name its categories otherwise).
    """
    service = values["service"]
    if service not in pack.services and service not in CONTRACT_SERVICES:
        allowed = sorted(set(CONTRACT_SERVICES) | set(pack.services))
        raise CaseError(
            f"case field 'service': unknown value '{service}'; allowed: {', '.join(allowed)}",
            field="service",
        )
    if "category" in values:
        raw = values["category"]
        ident = prep.category_index.lookup(raw)
        if ident is None:
            names = (
                ", ".join(f"{c.id} ({c.name})" for c in pack.categories.values())
                or "none (this pack defines no categories)"
            )
            raise CaseError(
                f"case field 'category': unknown value '{raw}'; allowed: {names}",
                field="category",
            )
        if ident != raw:
            return {**values, "category": ident}
    return values


def is_provided(pack: Any, case: Case, doc, req, provided, warnings: list, lang: str) -> bool:
    """Whether `provided` satisfies the requirement `req` of `doc` (recency checked on the calendar).

    Says in `warnings` what made a material not count (too old, no date) and
    when the window was counted on provisional days.
    """
    candidates = (doc.id,) + doc.any_of
    if req.issued_within is None:
        return any(c in provided for c in candidates)
    amount, unit = req.issued_within
    submitted = case.submitted_on
    as_of = submitted.isoformat()
    earliest, read = track(partial(shifter(unit, -amount, pack.calendar), submitted))
    if read is not None:
        what = _text("calendar.what.window", lang, span=span(amount, unit, lang), doc=doc.name)
        warnings.append(read.describe_reading(what, lang))
    for c in candidates:
        for issued in provided.get(c, ()):
            if issued is None:
                warnings.append(
                    _text(
                        "materials.no_date",
                        lang,
                        doc=doc.name,
                        span=span(amount, unit, lang),
                        date=as_of,
                    )
                )
            elif earliest <= issued <= submitted:
                return True
            else:
                warnings.append(
                    _text(
                        "materials.too_old",
                        lang,
                        doc=doc.name,
                        issued=issued.isoformat(),
                        span=span(amount, unit, lang),
                        date=as_of,
                    )
                )
    return False


def provided_ids(prep: Any, provided: Mapping[str, Any]) -> frozenset:
    """The ids of the documents provided, a document counting when an alternative of it is."""
    if not provided:
        return frozenset()
    ids = set(provided)
    for doc_id, any_of in prep.alternative_documents:
        for alt in any_of:
            if alt in ids:
                ids.add(doc_id)
                break
    return frozenset(ids)


# ---------------------------------------------------------------- deadline basis

# The DSL date functions a basis puts in words (messages.py "basis.<function>").
BASIS_FUNCTIONS = frozenset(
    f"basis.{f}"
    for f in (
        "end_of_year",
        "end_of_quarter",
        "end_of_month",
        "start_of_year",
        "start_of_quarter",
        "start_of_month",
        "start_of_next_year",
        "start_of_next_quarter",
        "start_of_next_month",
        "day_of_month",
        "nth_working_day",
        "natural_years_end",
    )
)


def deadline_basis(
    node: n.Node, env: dict, conditions: dict | None = None, lang: str = DEFAULT_LANG
) -> str:
    """A human-readable account of how a date expression reached its value, in `lang`."""
    conditions = conditions or {}
    if isinstance(node, n.Arith) and isinstance(node.right, n.Duration):
        d = node.right
        key = "basis.after" if node.op == "+" else "basis.before"
        base = deadline_basis(node.left, env, conditions, lang)
        return _text(key, lang, span=span(d.amount, d.unit, lang), base=base)
    if isinstance(node, n.Call) and f"basis.{node.func}" in BASIS_FUNCTIONS:
        args = [deadline_basis(a, env, conditions, lang) for a in node.args]
        return _text(f"basis.{node.func}", lang, *args)
    if isinstance(node, n.If) and id(node) in conditions:
        # Show the branch taken; the condition itself is in the rule.
        branch = node.then if conditions[id(node)](env) is True else node.otherwise
        return deadline_basis(branch, env, conditions, lang)
    if isinstance(node, (n.Name, n.Attr)):
        value = _lookup(node, env)
        if isinstance(value, _dt.date):
            return value.isoformat()
        return n.to_source(node)
    if isinstance(node, n.Literal) and isinstance(node.value, _dt.date):
        return node.value.isoformat()
    return n.to_source(node)


def _lookup(node, env):
    if isinstance(node, n.Name):
        return env.get(node.name, getattr(env, "locals", {}).get(node.name))
    if isinstance(node.operand, n.Name):
        return env.get(f"{node.operand.name}.{node.name}")
    return None


def match_materials(prep: Any, materials: Sequence[Any] | None, warnings: list, lang: str) -> dict:
    """Document id → issue dates (None when not given) of the materials a case provides.

    A material the pack does not know is left out, and said in `warnings`.
    """
    provided: dict[str, list] = {}
    if materials:
        lookup = prep.document_index.lookup
        for m in materials:
            ident = lookup(m.name)
            if ident is None:
                warnings.append(_text("materials.unknown", lang, name=m.name))
            else:
                provided.setdefault(ident, []).append(m.issued_on)
    return provided


def no_version(pack: Any, as_of: str, lang: str) -> tuple[tuple, tuple]:
    """Path and reasons of a case submitted when no version of the pack is in force (not_covered)."""
    spans = ", ".join(f"{v.id}: {v.effective_from}–{v.effective_to or '…'}" for v in pack.versions)
    text = _text("versions.none", lang, pack=pack.id, date=as_of, spans=spans)
    step = PathStep(RULE_VERSIONS, _text("versions.step", lang), "pack.yaml versions")
    return (step,), (Reason(RULE_VERSIONS, text, step.source),)


def no_service(pack: Any, service: str, lang: str) -> tuple[tuple, tuple]:
    """Path and reasons of a case asking for a service the pack does not offer (not_covered)."""
    services = join(sorted(pack.services), lang)
    text = _text("services.none", lang, pack=pack.id, service=service, services=services)
    step = PathStep(RULE_SERVICES, _text("services.step", lang), "pack.yaml services")
    return (step,), (Reason(RULE_SERVICES, text, step.source),)


def unknown_diseases(prep: Any, unknown: Sequence[str], lang: str) -> tuple[tuple, tuple]:
    """Path and reasons of a case naming diseases outside a complete catalogue (ineligible).

    Each reason says the disease is not covered, and names the catalogue's closest names.
    """
    reasons = []
    for name in unknown:
        close = prep.disease_index.closest(name)
        text = _text("diseases.not_covered", lang, name=name)
        if close:
            text += _text("diseases.closest_covered", lang, names="、".join(close))
        reasons.append(Reason(RULE_DISEASES, text, "diseases.yaml"))
    step = PathStep(RULE_DISEASES, _text("diseases.step", lang), "diseases.yaml")
    return (step,), tuple(reasons)


def provisional_deadline(
    deadline: Deadline, provisional: Provisional, warnings: list, lang: str = DEFAULT_LANG
) -> Deadline:
    """Mark a deadline counted on unpublished years, and say so in the warnings (docs/calendar.md)."""
    what = _text("calendar.what.deadline", lang, kind=deadline.kind)
    warnings.append(provisional.describe(what, _dt.date.fromisoformat(deadline.date), lang))
    latest = provisional.latest.isoformat() if provisional.latest else None
    return attrs.evolve(deadline, provisional=True, latest=latest)


# ------------------------------------------------ a basis with holes, filled by generated code

HOLE = "\x00"


def leaf_key(leaf: n.Node) -> str:
    """The environment key deadline_basis looks a name up by."""
    if isinstance(leaf, n.Name):
        return leaf.name
    assert isinstance(leaf, n.Attr) and isinstance(leaf.operand, n.Name)
    return f"{leaf.operand.name}.{leaf.name}"


def split_holes(words: str, holes: int) -> list[str]:
    parts = words.split(HOLE)
    if len(parts) != holes + 1:  # a message placing a value twice: not expected
        raise ValueError("basis template holds a value more than once")
    return parts


def basis_words(node: n.Node, lang: str, leaves: list[n.Node]) -> str:
    """deadline_basis with a hole for each name it would look up (filled per case)."""
    if isinstance(node, n.Arith) and isinstance(node.right, n.Duration):
        d = node.right
        key = "basis.after" if node.op == "+" else "basis.before"
        base = basis_words(node.left, lang, leaves)
        return _text(key, lang, span=span(d.amount, d.unit, lang), base=base)
    if isinstance(node, n.Call) and f"basis.{node.func}" in BASIS_FUNCTIONS:
        args = [basis_words(a, lang, leaves) for a in node.args]
        return _text(f"basis.{node.func}", lang, *args)
    if isinstance(node, n.Name) or (isinstance(node, n.Attr) and isinstance(node.operand, n.Name)):
        leaves.append(node)
        return HOLE
    if isinstance(node, n.Literal) and isinstance(node.value, _dt.date):
        return node.value.isoformat()
    return n.to_source(node)


def shows_branch(node: n.Node, conditions: Mapping[int, Any]) -> bool:
    """The node holds an `if` whose branch the basis shows."""
    if isinstance(node, n.If) and id(node) in conditions:
        return True
    return any(shows_branch(c, conditions) for c in _children(node))


def _children(node: n.Node) -> list[n.Node]:
    if isinstance(node, n.Arith):
        return [node.left, node.right]
    if isinstance(node, n.Call):
        return list(node.args)
    if isinstance(node, n.If):
        return [node.then, node.otherwise]
    return []
