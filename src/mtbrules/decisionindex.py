"""The whole-decision function of a service with many disease rules: gated rules found by the case's diseases.

A pack with one rule per disease (codegen.GATE_MIN of them or more) would pay
for every rule on every case if each condition were written in line, as
mtbrules.decisioncode does. Here the generated function evaluates the ungated
rules in line and looks the gated ones up by the case's disease groups and
ids (as codegen's indexed firing), each gated condition a generated function
of its own; then the rules that take effect are assembled from parts built
per rule when the function is generated (path steps, reasons, requirement
entries, channels, generated deadline functions), kept per set of applying
rules in a bounded memo. So a case costs what the rules that apply to it
cost, not what the pack holds.

Same arguments (decisionruntime.PARAMS) and contract as decisioncode's deciders:
a Decision identical to the interpreted assembly's (mtbrules.assembly, the
oracle of tests/test_decision_index.py), or None where the interpreter must
decide — a conflict (two effective rules setting one output, neither
overriding), and errors, so that its message names the rule. Days read on a
provisional calendar are said (and deadlines marked) as the interpreter does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import attrs

from . import analysis, codegen, ir
from .decision import Deadline, Decision, PathStep, Reason, encode_parts, make_decision
from .decisionparts import RULE_UNDECIDED, deadline_basis, is_provided, provisional_deadline
from .decisionruntime import PARAMS, Decider, Memo, environment, late_conditions
from .messages import LANGS, join
from .messages import text as _text
from .provisional import reads, track


def indexed(rules: Sequence[Any]) -> bool:
    """The service's firing looks diseases up in an index (codegen.GATE_MIN gated rules or more)."""
    return sum(codegen.gate_of(r) is not None for r in rules) >= codegen.GATE_MIN


def build_decider(
    name: str, pack: Any, prepared: Any, service: str, memo: int = 0
) -> Decider | None:
    """The generated decision function of an indexed `service`; None for source CPython cannot compile.

    `memo` bounds the entries kept per set of rules taking effect (and of
    documents provided): 0 keeps none.
    """
    rules = prepared.rules_by_service[service]
    try:
        return _IndexGen(name, pack, prepared, service, rules, memo).build()
    except codegen.UNCOMPILABLE:
        return None


@attrs.frozen
class _Shape:
    """What the rules taking effect (one set of them) decide, apart from the case's documents and dates.

    `outcome` is "ineligible" when a rule rejects, None when no rule sets the
    outcome (not_covered), else the outcome. `requirements` are those the
    decision lists (the first rule listing a document cites it); `dated`: one
    of them asks for a recent document, so the documents depend on dates.
    """

    outcome: str | None
    path: tuple[PathStep, ...]
    reasons: tuple[Reason, ...]
    said: tuple[str, ...]
    requirements: tuple[tuple[Any, ...], ...] = ()
    dated: bool = False
    channels: tuple[Any, ...] = ()
    deadlines: tuple[Callable[..., None], ...] = ()
    instant: tuple[str, str] | None = None  # the rule making the decision instant: id, source


_CONFLICT = object()  # the shape of a set of rules two of which set one output


class _IndexGen:
    def __init__(
        self, name: str, pack: Any, prepared: Any, service: str, rules: Sequence[Any], memo: int
    ):
        self.name = name
        self.pack = pack
        self.prepared = prepared
        self.service = service
        self.rules = rules
        self.memo = memo
        self.gen = codegen.Gen(pack.calendar)
        self.gen.namespace["_reads"] = reads
        self.gated = {i: g for i, r in enumerate(rules) if (g := codegen.gate_of(r)) is not None}

    def build(self) -> Decider:
        gen = self.gen
        lines = self._ungated()  # first: the prologue reads the fields these conditions use
        prologue = self._fields("    ")
        functions = self._gated_functions() + self._deadline_functions()
        lines += self._lookup()
        main = [
            f"def decide({PARAMS}):",
            "    get = values.get",
            "    seen = _reads()",
            *self._diseases(),
            *prologue,
            "    held = []",
            "    undecided = []",
            *lines,
            "    if _reads() != seen:  # conditions read provisional days: said, as the interpreter",
            "        _late(values, diseases, materials, version, warnings, lang)",
            "    # Overrides, conflicts and the Decision, from parts of each rule built once.",
            f"    return _assemble(held, undecided, {PARAMS})",
        ]
        source = "\n".join([*main, "", *functions]) + "\n"
        namespace = gen.load_module(source, f"<mtbrules decision {self.name}>")
        namespace["_by_group"], namespace["_by_id"] = self._index(namespace)
        namespace["_late"] = partial(late_conditions, self.prepared.firing[self.service])
        namespace["_assemble"] = self._assembler(namespace)
        decide = namespace["decide"]
        decide.source = source
        return decide

    # -- the generated source

    def _fields(self, indent: str) -> list[str]:
        """The lines reading the fields the function's code used (then forgotten, for the next)."""
        gen = self.gen
        head = []
        for key, local in gen.fields.items():
            if key in ("diseases", "materials"):  # set by the engine, never absent
                head.append(f"{indent}{local} = {key}")
            else:
                head.append(f"{indent}{local} = get({gen.const(key)}, _U)")
        gen.fields = {}
        return head

    def _ungated(self) -> list[str]:
        """The conditions of the rules no disease gates, in line (held or undecided)."""
        gen, lines = self.gen, []
        for i, rule in enumerate(self.rules):
            if i in self.gated:
                continue
            if rule.when is None and rule.versions is None:
                lines.append(f"    held.append({i})")
                continue
            value = "True" if rule.when is None else gen.value(rule.when.ir, rule.when.needs, {})
            if rule.versions is not None:
                value = f"({value}) if version in {gen.const(frozenset(rule.versions))} else None"
            lines += [f"    r = {value}", "    if r is True:", f"        held.append({i})"]
            if rule.when is not None and analysis.present_test(rule.when.needs):  # else never _U
                lines += ["    elif r is _U:", f"        undecided.append({i})"]
        return lines

    def _diseases(self) -> list[str]:
        """The case's groups and ids, when some code reads them (None: none does)."""
        gen = self.gen
        lines = []
        if gen.uses_groups or any(kind == "group" for kind, _ in self.gated.values()):
            # One disease (the usual case): its own groups.
            lines.append(
                "    case_groups = diseases[0].groups if len(diseases) == 1 else _groups(diseases)"
            )
        else:
            lines.append("    case_groups = None")
        lines.append("    case_ids = _ids(diseases)" if gen.uses_ids else "    case_ids = None")
        return lines

    def _lookup(self) -> list[str]:
        """The gated rules of the case's groups and diseases, each run once (held sorted later)."""
        kinds = {kind for kind, _ in self.gated.values()}
        lines = [
            "    # The gated rules of the case's disease groups and ids: a function below, or none.",
            "    found = {}",
        ]
        if "group" in kinds:
            lines += [
                "    for g in case_groups:",
                "        c = _by_group(g)",
                "        if c is not None:",
                "            found.update(c)",
            ]
        if kinds - {"group"}:
            lines += [
                "    for d in diseases:",
                "        c = _by_id(d.id)",
                "        if c is not None:",
                "            found.update(c)",
            ]
        lines += [
            "    for i, when in found.items():",
            "        if when is None:  # the gate is the whole condition: it holds",
            "            held.append(i)",
            "            continue",
            "        r = when(get, diseases, materials, case_groups, case_ids)",
            "        if r is True:",
            "            held.append(i)",
            "        elif r is _U:",
            "            undecided.append(i)",
        ]
        return lines

    def _gated_functions(self) -> list[str]:
        gen, out = self.gen, []
        for i in self.gated:
            when = self.rules[i].when
            if _gate_only(self.rules[i]):
                continue
            value = gen.value(when.ir, when.needs, {})
            out += [
                f"def g{i}(get, diseases, materials, case_groups, case_ids):",
                *self._fields("    "),
                f"    return {value}",
                "",
            ]
        return out

    def _deadline_functions(self) -> list[str]:
        """Per rule with deadlines: `dl{i}` appends each of them (or warns it is undefined)."""
        gen, out = self.gen, []
        for i, rule in enumerate(self.rules):
            if not rule.deadlines:
                continue
            body = []
            for k, spec in enumerate(rule.deadlines):
                expr = spec.date.ir
                body.append("    seen = _reads()")
                body.append(f"    d = {gen.value(expr, analysis.needs(expr), {})}")
                body.append("    late = _reads() != seen")
                body.append("    if d is _U:")
                body.append(
                    f"        warnings.append(_undefined({gen.const(i)}, {gen.const(k)}, values, lang))"
                )
                body.append("    else:")
                if spec.basis:
                    words = gen.const(spec.basis)
                else:  # how the date was reached: the interpreter's own account
                    words = (
                        f"_basis({gen.const(i)}, {gen.const(k)}, values, diseases, materials, lang)"
                    )
                body.append(
                    f"        deadline = _Deadline({gen.const(spec.kind)}, d.isoformat(), "
                    f"{words}, {gen.const(rule.id)}, {gen.const(str(rule.source))})"
                )
                body.append("        if late:  # counted on provisional days: marked, and said")
                body.append(
                    f"            deadline = _late_deadline({gen.const(i)}, {gen.const(k)}, values, "
                    "diseases, materials, deadline, warnings, lang)"
                )
                body.append("        deadlines.append(deadline)")
            out += [
                f"def dl{i}(get, values, diseases, materials, lang, warnings, deadlines):",
                *self._fields("    "),
                *body,
                "",
            ]
        rules = self.rules

        def undefined(i: int, k: int, values: Any, lang: str) -> str:
            spec = rules[i].deadlines[k]
            missing = sorted(f for f in analysis.present_test(spec.date.needs) if f not in values)
            return _text(
                "deadlines.undefined",
                lang,
                kind=spec.kind,
                rule=rules[i].id,
                fields=join(missing, lang),
            )

        def basis(i: int, k: int, values: Any, diseases: tuple, materials: Any, lang: str) -> str:
            spec = rules[i].deadlines[k]
            env = environment(values, diseases, materials)
            return deadline_basis(spec.date.node, env, spec.date.conditions, lang)

        def late(
            i: int,
            k: int,
            values: Any,
            diseases: tuple,
            materials: Any,
            deadline: Deadline,
            warnings: list,
            lang: str,
        ) -> Deadline:
            """Counted again under track(), as the interpreter counts it: marked when provisional."""
            spec = rules[i].deadlines[k]
            env = environment(values, diseases, materials)
            _, provisional = track(partial(spec.date.fn, env))
            if provisional is None:
                return deadline
            return provisional_deadline(deadline, provisional, warnings, lang)

        gen.namespace.update(
            _Deadline=Deadline, _undefined=undefined, _basis=basis, _late_deadline=late
        )
        return out

    def _index(self, namespace: dict[str, Any]) -> tuple[Callable, Callable]:
        """Group → {rule index: condition}, disease id → the same: the lookups of the case's diseases."""
        by_group: dict[str, dict[int, Any]] = {}
        by_id: dict[str, dict[int, Any]] = {}
        for i, (kind, value) in self.gated.items():
            when = None if _gate_only(self.rules[i]) else namespace[f"g{i}"]
            if kind == "group":
                by_group.setdefault(value, {})[i] = when
            else:
                for ident in (value,) if kind == "id" else sorted(value):
                    by_id.setdefault(ident, {})[i] = when
        return by_group.get, by_id.get

    # -- the assembly, from parts built here

    def _assembler(self, namespace: dict[str, Any]) -> Callable[..., Decision | None]:
        """`assemble(held, undecided, …)`: the Decision of the rules held, as the interpreter gives it."""
        rules, prep, pack, service, bound = (
            self.rules,
            self.prepared,
            self.pack,
            self.service,
            self.memo,
        )
        ids = tuple(r.id for r in rules)
        needs = tuple(
            tuple(sorted(analysis.present_test(r.when.needs))) if r.when is not None else ()
            for r in rules
        )
        index = {rid: i for i, rid in enumerate(ids)}
        overriding = frozenset(
            i for i, r in enumerate(rules) if any(s in index for s in prep.suppresses.get(r.id, ()))
        )
        suppresses = prep.suppresses
        deadline_fns = {i: namespace[f"dl{i}"] for i, r in enumerate(rules) if r.deadlines}
        engine = {}
        for lang in LANGS:
            step = PathStep(RULE_UNDECIDED, _text("rules.no_outcome_step", lang), "pack rules")
            text = _text("rules.no_outcome", lang, pack=pack.id, service=service)
            engine[lang] = (step, Reason(RULE_UNDECIDED, text, step.source))
        shapes, parts, dues = Memo(), Memo(), Memo()

        def shape_of(effective: tuple[int, ...]) -> Any:
            taken: set[str] = set()
            for i in effective:
                for slot in rules[i].slots:
                    if slot in taken:
                        return _CONFLICT
                    taken.add(slot)
            applying = [rules[i] for i in effective]
            rejects = [r for r in applying if r.reject]
            if rejects:
                # An ineligible decision explains the exclusion only; other rules' notes are noise.
                used = [r for r in applying if r.reject or r.warn]
                return _Shape("ineligible", _path(used), _reasons(rejects), _said(used))
            outcome = next((r for r in applying if r.outcome), None)
            if outcome is None:
                used = [r for r in applying if r.reason or r.warn]
                return _Shape(None, _path(used), _reasons(used), _said(used))
            listed: dict[str, tuple] = {}
            for r in applying:
                for entry in prep.requirements_of[r.id]:
                    listed.setdefault(entry[0].doc, entry)
            channels: dict[str, Any] = {}
            for r in applying:
                for cid in r.channels:
                    channels.setdefault(cid, prep.channel_refs[cid])
            return _Shape(
                outcome.outcome,
                _path(applying),
                _reasons(applying),
                _said(applying),
                tuple(listed.values()),
                any(req.issued_within is not None for req, *_ in listed.values()),
                tuple(channels.values()),
                tuple(deadline_fns[i] for i in effective if i in deadline_fns),
                (outcome.id, str(outcome.source)) if outcome.outcome == "instant" else None,
            )

        def _path(used: Sequence[Any]) -> tuple[PathStep, ...]:
            return tuple(prep.path_steps[r.id] for r in used)

        def _reasons(used: Sequence[Any]) -> tuple[Reason, ...]:
            return tuple(reason for r in used for reason in prep.reasons_of[r.id])

        def _said(used: Sequence[Any]) -> tuple[str, ...]:
            return tuple(r.warn for r in used if r.warn)

        def documents_of(shape: _Shape, case: Any, provided: dict, warnings: list, lang: str):
            given = provided.keys()
            return tuple(
                entry[
                    not given.isdisjoint(candidates)
                    if req.issued_within is None
                    else is_provided(pack, case, doc, req, provided, warnings, lang)
                ]
                for req, doc, candidates, entry in shape.requirements
            )

        def instant_due(rule: tuple[str, str], as_of: str, lang: str) -> Deadline:
            key = (rule, as_of, lang)
            due = dues.get(key)
            if due is None:
                basis = _text("basis.instant", lang, date=as_of)
                due = Deadline("decision_due", as_of, basis, *rule)
                if len(dues) < bound:
                    dues[key] = due
            return due

        def assemble(
            held: list[int],
            undecided: list[int],
            case: Any,
            values: dict,
            diseases: tuple,
            matches: tuple,
            materials: Any,
            provided: dict,
            version: str,
            as_of: str,
            lang: str,
            warnings: list,
        ) -> Decision | None:
            if undecided:
                undecided.sort()
                for i in undecided:
                    missing = [f for f in needs[i] if f not in values]
                    if missing:
                        warnings.append(
                            _text("rules.undecided", lang, rule=ids[i], fields=join(missing, lang))
                        )
            held.sort()
            if overriding.isdisjoint(held):
                effective = tuple(held)
            else:
                taking = set(analysis.not_overridden((ids[i] for i in held), suppresses))
                effective = tuple(i for i in held if ids[i] in taking)
            shape = shapes.get(effective)
            if shape is None:
                shape = shape_of(effective)
                if len(shapes) < bound:
                    shapes[effective] = shape
            if shape is _CONFLICT:
                return None  # the interpreter says which rules conflict
            outcome = shape.outcome
            if outcome is None or outcome == "ineligible":
                warnings.extend(shape.said)
                path, reasons = shape.path, shape.reasons
                if outcome is None:
                    step, reason = engine[lang]
                    path, reasons = (*path, step), (*reasons, reason)
                return make_decision(
                    pack.id,
                    version,
                    service,
                    as_of,
                    outcome or "not_covered",
                    False,
                    matches,
                    (),
                    (),
                    path,
                    (),
                    reasons,
                    tuple(warnings),
                )
            kept = None
            if not shape.dated:  # a recency requirement depends on dates: never kept
                key = (effective, None if case.materials is None else frozenset(provided))
                kept = parts.get(key)
            if kept is None:
                documents = documents_of(shape, case, provided, warnings, lang)
                complete = case.materials is not None and all(d.provided for d in documents)
                if not shape.dated and len(parts) < bound:
                    encoded = encode_parts(documents, shape.channels, shape.path, shape.reasons)
                    kept = parts[key] = (documents, complete, encoded)
            else:
                documents, complete, _ = kept
            deadlines: list[Deadline] = []
            if shape.deadlines:
                get = values.get
                for dl in shape.deadlines:
                    dl(get, values, diseases, materials, lang, warnings, deadlines)
            if shape.instant is not None and not any(d.kind == "decision_due" for d in deadlines):
                deadlines.insert(0, instant_due(shape.instant, as_of, lang))
            warnings.extend(shape.said)
            return make_decision(
                pack.id,
                version,
                service,
                as_of,
                outcome,
                complete,
                matches,
                documents,
                shape.channels,
                shape.path,
                tuple(deadlines),
                shape.reasons,
                tuple(warnings),
                None if kept is None else kept[2],  # kept: its parts' JSON too
            )

        return assemble


def _gate_only(rule: Any) -> bool:
    """The rule's condition is its disease gate alone: a case found by the gate satisfies it."""
    return isinstance(rule.when.ir, ir.HasDisease)
