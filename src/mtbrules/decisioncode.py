"""Whole-decision codegen: each (pack, service) compiled to one function from a case to its Decision.

The generated function evaluates every rule's condition, settles overrides,
detects conflicts, and assembles the Decision — path, reasons, required
documents (alternatives, recency), deadlines with their basis, channels,
warnings — from parts built once, when the function is generated. It serves
the usual path; what it leaves to the interpreted assembly (mtbrules.assembly,
also its oracle in tests/test_decision_code.py) it signals by returning None:
conflicts and errors (whose messages name the rule), and — decided by the
caller — traces, provisional calendar days, unlisted or unknown diseases.

As in codegen.py, the source holds only identifiers this module makes: every
string of the pack (ids, kinds, texts) is data in the namespace.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import linecache
import threading
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from itertools import chain, compress
from typing import Any

from . import analysis, codegen, ir, presence
from . import nodes as n
from .decision import Deadline, Decision, PathStep, Reason, encode_parts, make_decision
from .decisionparts import (
    BASIS_FUNCTIONS,
    RULE_UNDECIDED,
    deadline_basis,
    is_provided,
    provisional_deadline,
)
from .env import Env
from .messages import LANGS, join, span
from .messages import text as _text
from .provisional import reads, track

Decider = Callable[..., Decision | None]

# Arguments of a generated decider (in this order).
PARAMS = "case, values, diseases, matches, materials, provided, version, as_of, lang, warnings"


def build_decider(
    name: str, pack: Any, prepared: Any, service: str, memo: int = 0
) -> Decider | None:
    """The generated decision function of `service`, or None when the interpreter must serve it.

    None for packs whose firing looks diseases up in an index (many disease
    rules: codegen.GATE_MIN), and for source CPython cannot compile. The
    function dispatches on which of the fields its rules read the case gives:
    a pattern seen `prepared.specialise_after` times gets a function of its
    own, specialised to it (mtbrules.presence), up to `prepared.specialised_max`
    patterns; others run the general function.
    """
    rules = prepared.rules_by_service[service]
    if sum(codegen.gate_of(r) is not None for r in rules) >= codegen.GATE_MIN:
        return None
    parts = Memo()  # shared by the general function and the specialised ones
    try:
        made = _DecisionGen(name, pack, prepared, service, rules, memo, parts=parts)
        general = made.build()
    except codegen.UNCOMPILABLE:
        return None
    fields = tuple(k for k in made.gen.fields if k not in _ENGINE_FIELDS)
    if not fields or prepared.specialised_max <= 0:
        return general
    tags = itertools.count(1)

    def specialised(absent: frozenset[str]) -> Decider:
        tag = next(tags)
        return _DecisionGen(name, pack, prepared, service, rules, memo, absent, parts, tag).build()

    shapes = Shapes(
        fields, general, specialised, prepared.specialise_after, prepared.specialised_max
    )
    return shapes.dispatcher(name)


# Set by the engine for every case: never absent.
_ENGINE_FIELDS = ("diseases", "materials")


class Shapes:
    """The specialised functions of one decider, by the pattern of present fields (a key of bools).

    Built on the `after`-th case of a pattern, at most `most` of them; until
    then, and for every other pattern, the general function decides.
    """

    def __init__(
        self,
        fields: tuple[str, ...],
        general: Decider,
        specialise: Callable[[frozenset[str]], Decider],
        after: int,
        most: int,
    ):
        self.fields = fields
        self.general = general
        self.specialise = specialise
        self.after = after
        self.most = most
        self.by_pattern: dict[tuple[bool, ...], Decider] = {}
        self.made = 0  # functions specialised so far (at most `most`)
        self._seen: dict[tuple[bool, ...], int] = {}
        self._lock = threading.Lock()

    def dispatcher(self, name: str) -> Decider:
        """`decide(...)`: the key of present fields, then that pattern's function."""
        consts = {f"_k{i}": key for i, key in enumerate(self.fields)}
        key = "(" + "".join(f"{k} in values, " for k in consts) + ")"
        source = (
            f"def decide({PARAMS}):\n"
            f"    key = {key}\n"
            "    fn = _get(key)\n"
            "    if fn is None:\n"
            "        fn = _miss(key)\n"
            f"    return fn({PARAMS})\n"
        )
        namespace = {**consts, "_get": self.by_pattern.get, "_miss": self.miss}
        filename = f"<mtbrules decision shapes {name}>"
        code = compile(source, filename, "exec")
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        exec(code, namespace)  # noqa: S102 - only names this module makes; the keys are data
        fn: Any = namespace["decide"]
        fn.source = getattr(self.general, "source", None)
        fn.general = self.general
        fn.shapes = self
        return fn

    def miss(self, key: tuple[bool, ...]) -> Decider:
        with self._lock:
            fn = self.by_pattern.get(key)
            if fn is not None:
                return fn
            if self.made >= self.most:  # no more functions: this pattern runs the general one
                if len(self.by_pattern) < _SEEN_KEPT:
                    self.by_pattern[key] = self.general
                return self.general
            seen = self._seen.get(key, 0) + 1
            if seen < self.after:
                if len(self._seen) >= _SEEN_KEPT:
                    self._seen.clear()  # bounded: counting starts again
                self._seen[key] = seen
                return self.general
            self._seen.pop(key, None)
            absent = frozenset(f for f, here in zip(self.fields, key) if not here)
            try:
                fn = self.specialise(absent)
            except codegen.UNCOMPILABLE:
                fn = self.general
            self.made += 1
            self.by_pattern[key] = fn
            return fn


_SEEN_KEPT = 4096  # patterns counted at once


class _DecisionGen:
    def __init__(
        self,
        name: str,
        pack: Any,
        prepared: Any,
        service: str,
        rules: Sequence[Any],
        memo: int,
        absent: frozenset[str] | None = None,
        parts: Memo | None = None,
        tag: int = 0,
    ):
        self.name = name
        self.memo = memo
        self.parts = Memo() if parts is None else parts
        self.tag = tag
        self.pack = pack
        self.prepared = prepared
        self.service = service
        self.rules = rules
        # Specialised to a pattern of present fields (these absent, the others given), or None.
        self.absent_fields = absent
        self.gen = codegen.Gen(pack.calendar, absent)
        self.gen.namespace.update(
            dict=dict,
            map=map,
            tuple=tuple,
            _Decision=make_decision,
            _encode=encode_parts,
            _Deadline=Deadline,
            _compress=compress,
            _chain=chain.from_iterable,
            _iso=_iso_or,
            _pack=pack,
            _reads=reads,
            _late=_late_deadline,
        )

    def bind(self, obj: Any) -> str:
        return self.gen.bind(obj)

    def absent(self, needs: Sequence[str]) -> str:
        """The key of a _Texts: the language, then whether each field is absent."""
        if self.absent_fields is not None:  # known for a specialised function
            return "lang, " + ", ".join(str(f in self.absent_fields) for f in needs)
        return "lang, " + ", ".join(f"{self.gen.const(f)} not in values" for f in needs)

    def undefined(self, rule: Any) -> str:
        """Whether the rule's condition can be undefined: "never", "maybe" or "always" (in scope)."""
        if rule.when is None or not analysis.present_test(rule.when.needs):
            return "never"  # every field it needs is always set
        if self.absent_fields is None:
            return "maybe"
        folded = presence.specialise(rule.when.ir, self.absent_fields)
        if presence.is_undefined(folded):
            return "always"
        return "maybe" if presence.holds_undefined(folded) else "never"

    def flags(self, indices: Sequence[int]) -> str:
        return "(" + "".join(f"{self.flag(i)}, " for i in indices) + ")"

    def flag(self, i: int) -> str:
        """Whether rule i takes effect: `e{i}`, or True / False when that is known for every case."""
        known = self.known.get(i)
        return f"e{i}" if known is None else str(known)

    def _known(self) -> dict[int, bool]:
        """The rules whose taking effect is the same for every case this function serves.

        A rule without a condition holds; specialised, a condition may fold to a
        constant (mtbrules.presence). Rules scoped to versions are never known.
        """
        results: dict[int, Any] = {}
        for i, rule in enumerate(self.rules):
            if rule.versions is not None:
                continue
            if rule.when is None:
                results[i] = True
            elif self.absent_fields is not None:
                folded = presence.specialise(rule.when.ir, self.absent_fields)
                if isinstance(folded, ir.Const):
                    results[i] = folded.value  # True, False or undefined
        known = {}
        for i, result in results.items():
            if result is not True:
                known[i] = False
            elif all(j in results for j in self.overriders[i]):
                known[i] = not any(results[j] is True for j in self.overriders[i])
        return known

    def build(self) -> Decider:
        gen, rules, prep = self.gen, self.rules, self.prepared
        body = codegen.condition_lines(gen, rules)
        suppresses = prep.suppresses
        self.overriders = [
            [j for j, o in enumerate(rules) if rule.id in suppresses.get(o.id, ())]
            for rule in rules
        ]
        self.known = self._known()
        # Conditions that read provisional days: the warning the interpreter gives (slow path).
        late = self.bind(partial(_late_conditions, prep.firing[self.service]))
        body.append(
            f"    if _reads() != seen:\n        {late}(values, diseases, materials, version, warnings, lang)"
        )
        for i, rule in enumerate(rules):
            overriders = self.overriders[i]
            if i in self.known:
                body.append(f"    e{i} = {self.known[i]}")
                continue
            if not overriders and rule.versions is None and self.undefined(rule) == "never":
                # True or False for every case: its plain form runs, Python logic over typed values.
                body[i] = body[i].replace(f"    r{i} = ", f"    r{i} = e{i} = ", 1)
                continue
            held = "".join(f" or r{j} is True" for j in overriders)[4:]
            body.append(f"    e{i} = r{i} is True" + (f" and not ({held})" if held else ""))
        body += self._undecided()
        body += self._conflicts()
        body += self._ineligible()
        body += self._outcome()
        body += self._decided()
        prologue = self._prologue()
        source = "\n".join([f"def decide({PARAMS}):", *prologue, *body]) + "\n"
        fn = gen.load(source, f"<mtbrules decision {self.name}>", "decide")
        return fn

    def _undecided(self) -> list[str]:
        """A warning for each rule left undecided, naming the fields the case lacks (in rule order).

        Specialised, the rules undefined for every case of the pattern warn
        with texts made once: consecutive ones in one `extend`.
        """
        lines: list[str] = []
        static: list[_Texts] = []

        def flush() -> None:
            if static:
                keys = [tuple(f in self.absent_fields for f in t.needs) for t in static]  # type: ignore[operator]
                by_lang = {
                    lang: tuple(w for t, k in zip(static, keys) if (w := t[(lang, *k)]))
                    for lang in LANGS
                }
                lines.append(f"    warnings.extend({self.bind(by_lang)}[lang])")
                static.clear()

        for i, rule in enumerate(self.rules):
            undefined = self.undefined(rule)
            if undefined == "never":
                continue
            texts = _Texts("rules.undecided", rule.when.needs, rule=rule.id)
            if undefined == "always" and rule.versions is None:
                static.append(texts)
                continue
            flush()
            lines.append(f"    if r{i} is _U:")
            lines.append(f"        w = {self.bind(texts)}[{self.absent(texts.needs)}]")
            lines.append("        if w:")
            lines.append("            warnings.append(w)")
        flush()
        return lines

    def _prologue(self) -> list[str]:
        gen = self.gen
        head = ["    get = values.get", "    seen = _reads()"]
        if gen.uses_groups or gen.uses_ids:
            head.append("    case_diseases = diseases")
        if gen.uses_groups:  # one disease (the usual case): its own groups
            head.append(
                "    case_groups = case_diseases[0].groups if len(case_diseases) == 1 "
                "else _groups(case_diseases)"
            )
        if gen.uses_ids:
            head.append("    case_ids = _ids(case_diseases)")
        for key, local in gen.fields.items():
            if key in ("diseases", "materials"):  # set by the engine, never absent
                head.append(f"    {local} = {key}")
            else:
                head.append(f"    {local} = get({gen.const(key)}, _U)")
        return head

    # -- what rules take effect

    def _conflicts(self) -> list[str]:
        """Two applying rules setting one output, neither overriding the other: the interpreter says which."""
        setters: dict[str, list[int]] = {}
        for i, rule in enumerate(self.rules):
            for slot in rule.slots:
                setters.setdefault(slot, []).append(i)
        lines = []
        for indices in setters.values():
            maybe = [i for i in indices if self.known.get(i) is not False]
            if len(maybe) > 1:
                lines.append(f"    if {' + '.join(self.flag(i) for i in maybe)} > 1:")
                lines.append("        return None")
        return lines

    def _ineligible(self) -> list[str]:
        rules, steps, reasons = self.rules, self.prepared.path_steps, self.prepared.reasons_of
        rejects = [i for i, r in enumerate(rules) if r.reject]
        tested = [i for i in rejects if self.known.get(i) is not False]
        if not tested:
            return []
        used = [i for i, r in enumerate(rules) if r.reject or r.warn]
        lines = [f"    if {' or '.join(self.flag(i) for i in tested)}:"]
        lines += self._warn_lines(used, "        ")
        path = self.bind(tuple(steps[rules[i].id] for i in used))
        why = self.bind(tuple(reasons[rules[i].id] for i in rejects))
        lines.append(
            f"        return _Decision({self.gen.const(self.pack.id)}, version, "
            f"{self.gen.const(self.service)}, as_of, {self.gen.const('ineligible')}, False, "
            f"matches, (), (), tuple(_compress({path}, {self.flags(used)})), (), "
            f"tuple(_chain(_compress({why}, {self.flags(rejects)}))), tuple(warnings))"
        )
        return lines

    def _warn_lines(self, among: Sequence[int], indent: str) -> list[str]:
        warned = [i for i in among if self.rules[i].warn]
        if not warned:
            return []
        texts = self.bind(tuple(self.rules[i].warn for i in warned))
        return [f"{indent}warnings.extend(_compress({texts}, {self.flags(warned)}))"]

    def _outcome(self) -> list[str]:
        """Which rule sets the outcome; none: not_covered, citing the rules that say why."""
        rules, prep, gen = self.rules, self.prepared, self.gen
        lines = []
        keyword = "if"
        for i, rule in enumerate(rules):
            if rule.outcome and self.known.get(i) is not False:
                instant = None
                if rule.outcome == "instant":
                    instant = self.bind((rule.id, str(rule.source)))
                lines.append(f"    {keyword} {self.flag(i)}:")
                lines.append(f"        outcome = {gen.const(rule.outcome)}")
                lines.append(f"        instant = {instant}")
                keyword = "elif"
        used = [i for i, r in enumerate(rules) if r.reason or r.warn]
        step_reason = {}
        for lang in LANGS:
            step = PathStep(RULE_UNDECIDED, _text("rules.no_outcome_step", lang), "pack rules")
            text = _text("rules.no_outcome", lang, pack=self.pack.id, service=self.service)
            step_reason[lang] = (step, Reason(RULE_UNDECIDED, text, step.source))
        engine = self.bind(step_reason)
        path = self.bind(tuple(prep.path_steps[rules[i].id] for i in used))
        why = self.bind(tuple(prep.reasons_of[rules[i].id] for i in used))
        inner = "        " if lines else "    "
        if lines:
            lines.append("    else:")
        lines += self._warn_lines(used, inner)
        lines.append(f"{inner}step, reason = {engine}[lang]")
        lines.append(
            f"{inner}return _Decision({gen.const(self.pack.id)}, version, "
            f"{gen.const(self.service)}, as_of, {gen.const('not_covered')}, False, "
            f"matches, (), (), (*_compress({path}, {self.flags(used)}), step), (), "
            f"(*_chain(_compress({why}, {self.flags(used)})), reason), tuple(warnings))"
        )
        return lines

    # -- the decided case: documents, deadlines, channels

    def _decided(self) -> list[str]:
        """Documents, channels, path, reasons and the rules' warnings, then deadlines.

        With a memo (`memo` > 0), the parts that depend only on which rules
        take effect and which documents the case provides are kept per
        (rules, documents provided): at most `memo` entries. Rules with a
        recency requirement depend on dates too: a case where one takes effect
        is never memoised.
        """
        rules, prep, gen = self.rules, self.prepared, self.gen
        everyone = range(len(rules))
        steps = self.bind(tuple(prep.path_steps[r.id] for r in rules))
        giving = [i for i, r in enumerate(rules) if prep.reasons_of[r.id]]
        why = self.bind(tuple(prep.reasons_of[rules[i].id] for i in giving))
        static = self._documents()
        static.append(
            "    complete = case.materials is not None and all(d.provided for d in documents)"
        )
        static += self._channels()
        static.append(f"    path = tuple(_compress({steps}, {self.flags(everyone)}))")
        static.append(f"    reasons = tuple(_chain(_compress({why}, {self.flags(giving)})))")
        warned = [i for i in everyone if rules[i].warn]
        if warned:
            texts = self.bind(tuple(rules[i].warn for i in warned))
            static.append(f"    said = tuple(_compress({texts}, {self.flags(warned)}))")
        else:
            static.append("    said = ()")
        if self.memo:
            dated = [
                i
                for i, r in enumerate(rules)
                if any(q.issued_within for q in r.require) and self.known.get(i) is not False
            ]
            # One memo for the parts of all the service's functions (a bound per service):
            # a specialised function's key starts with its own tag.
            memo = self.bind(self.parts)
            varying = [i for i in everyone if i not in self.known]  # the others are the same always
            key = (
                f"({self.gen.const(self.tag)}, {self.flags(varying)}, "
                "None if case.materials is None else frozenset(provided))"
            )
            lines = [f"    key = {key}"]
            if dated:
                lines.append(
                    f"    kept = None if ({' or '.join(self.flag(i) for i in dated)}) else {memo}.get(key)"
                )
            else:
                lines.append(f"    kept = {memo}.get(key)")
            lines.append("    if kept is None:")
            lines += ["    " + line for line in static]
            room = f"len({memo}) < {gen.const(self.memo)}"
            if dated:  # a case where a rule with a recency requirement applies is not kept
                room = f"not ({' or '.join(self.flag(i) for i in dated)}) and {room}"
            lines.append(f"        if {room}:")
            lines.append(
                "            kept = (documents, complete, channels, path, reasons, said, "
                "_encode(documents, channels, path, reasons))"
            )
            lines.append(f"            {memo}[key] = kept")
            lines.append("    else:")
            lines.append("        documents, complete, channels, path, reasons, said, _ = kept")
        else:
            lines = static
        lines += self._deadlines()
        lines.append("    warnings.extend(said)")
        made = (
            f"_Decision({gen.const(self.pack.id)}, version, "
            f"{gen.const(self.service)}, as_of, outcome, complete, matches, documents, "
            f"channels, path, deadlines, reasons, tuple(warnings))"
        )
        if self.memo:
            lines.append("    if kept is not None:  # kept: its parts' JSON too")
            lines.append(f"        return {made[:-1]}, kept[6])")
        lines.append(f"    return {made}")
        return lines

    def _documents(self) -> list[str]:
        """Required documents in order, the first rule listing a document citing it."""
        rules, gen = self.rules, self.gen
        reqs = self.prepared.requirements_of
        count: dict[str, int] = {}
        for r in rules:
            for req in r.require:
                count[req.doc] = count.get(req.doc, 0) + 1
        if not count:
            return ["    documents = ()"]
        lines = ["    listed = {}", "    given = provided.keys()"]
        for i, rule in enumerate(rules):
            if not rule.require or self.known.get(i) is False:
                continue
            lines.append(f"    if {self.flag(i)}:")
            for req, doc, candidates, entry in reqs[rule.id]:
                if req.issued_within is None:
                    test = f"not given.isdisjoint({gen.const(candidates)})"
                else:
                    test = (
                        f"{self.bind(is_provided)}(_pack, case, {self.bind(doc)}, "
                        f"{self.bind(req)}, provided, warnings, lang)"
                    )
                key = gen.const(req.doc)
                if count[req.doc] > 1:
                    lines.append(f"        if {key} not in listed:")
                    lines.append(f"            listed[{key}] = {self.bind(entry)}[{test}]")
                else:
                    lines.append(f"        listed[{key}] = {self.bind(entry)}[{test}]")
        lines.append("    documents = tuple(listed.values())")
        return lines

    def _deadlines(self) -> list[str]:
        """Each applying rule's deadlines in order, then an instant decision's due date.

        With a memo, a deadline is kept by what it is computed from (the
        language and the fields its date reads): a kept one skips the date and
        its basis. One whose count read provisional days is never kept (the
        caller hands such a case to the interpreter, which says so).
        """
        rules, gen = self.rules, self.gen
        lines = ["    deadlines = []"]
        own_due = any(
            spec.kind == "decision_due"
            for i, r in enumerate(rules)
            if self.known.get(i) is not False
            for spec in r.deadlines
        )
        if own_due:
            lines.append("    due = False")
        for i, rule in enumerate(rules):
            if not rule.deadlines or self.known.get(i) is False:
                continue
            lines.append(f"    if {self.flag(i)}:")
            for spec in rule.deadlines:
                inputs = sorted(analysis.fields_read(spec.date.ir))
                if self.memo and not set(inputs) & set(_ENGINE_FIELDS):
                    lines += self._deadline_kept(rule, spec, inputs)
                else:
                    lines += ["        " + line for line in self._deadline(rule, spec)]
                    lines.append("        if deadline is not None:")
                    lines.append("            deadlines.append(deadline)")
                if spec.kind == "decision_due":
                    lines.append("            due = True")
        lines.append("    if instant is not None" + (" and not due:" if own_due else ":"))
        made = f"_Deadline({gen.const('decision_due')}, as_of, {self._instant_basis()}, *instant)"
        lines += self._kept("(instant, lang, as_of)", made, "        ")
        lines.append("        deadlines = (deadline, *deadlines)")
        lines.append("    else:")
        lines.append("        deadlines = tuple(deadlines)")
        return lines

    def _deadline(self, rule: Any, spec: Any) -> list[str]:
        """`deadline = …`: the Deadline, or None with the warning that its date is undefined."""
        gen = self.gen
        expr = spec.date.ir
        texts = _Texts("deadlines.undefined", spec.date.needs, kind=spec.kind, rule=rule.id)
        key = self.absent(texts.needs) if texts.needs else "lang, "
        made = (
            f"_Deadline({gen.const(spec.kind)}, d.isoformat(), {self._basis(spec)}, "
            f"{gen.const(rule.id)}, {gen.const(str(rule.source))})"
        )
        return [
            "seen = _reads()",
            f"d = {gen.value(expr, analysis.needs(expr), {})}",
            "if d is _U:",
            f"    warnings.append({self.bind(texts)}[{key}])",
            "    deadline = None",
            "else:",
            f"    deadline = {made}",
            "    if _reads() != seen:  # counted on provisional days: marked, and said",
            (
                f"        deadline = _late({self.bind(spec)}, values, diseases, materials, "
                "deadline, warnings, lang)"
            ),
        ]

    def _deadline_kept(self, rule: Any, spec: Any, inputs: Sequence[str]) -> list[str]:
        memo = self.bind(Memo())
        key = "(lang, " + "".join(f"{self.gen.field(k)}, " for k in inputs) + ")"
        lines = [
            f"        deadline = {memo}.get({key}, _U)",
            "        if deadline is _U:",
        ]
        lines += ["            " + line for line in self._deadline(rule, spec)]
        lines += [
            f"            if _reads() == seen and len({memo}) < {self.gen.const(self.memo)}:",
            f"                {memo}[{key}] = deadline if deadline is not None else warnings[-1]",
            "        elif deadline.__class__ is str:  # kept: the warning that the date is undefined",
            "            warnings.append(deadline)",
            "            deadline = None",
            "        if deadline is not None:",
            "            deadlines.append(deadline)",
        ]
        return lines

    def _channels(self) -> list[str]:
        """Channels in order of first mention."""
        rules, refs = self.rules, self.prepared.channel_refs
        entries = [(i, cid) for i, r in enumerate(rules) for cid in r.channels]
        if not entries:
            return ["    channels = ()"]
        ids = [cid for _, cid in entries]
        if len(set(ids)) == len(ids):  # each channel named once: no repeat to drop
            every = self.bind(tuple(refs[c] for c in ids))
            return [
                f"    channels = tuple(_compress({every}, {self.flags([i for i, _ in entries])}))"
            ]
        # A channel several rules name: listed once, where first named.
        ids_ = self.bind(tuple(ids))
        named = self.flags([i for i, _ in entries])
        line = (
            f"    channels = tuple(map({self.bind(refs)}.__getitem__, "
            f"dict.fromkeys(_compress({ids_}, {named}))))"
        )
        return [line]

    def _kept(self, key: str, made: str, indent: str) -> list[str]:
        """`deadline = made`, or with a memo the Deadline made before for the same `key`."""
        if not self.memo:
            return [f"{indent}deadline = {made}"]
        memo = self.bind(Memo())
        return [
            f"{indent}deadline = {memo}.get({key})",
            f"{indent}if deadline is None:",
            f"{indent}    deadline = {made}",
            f"{indent}    if len({memo}) < {self.gen.const(self.memo)}:",
            f"{indent}        {memo}[{key}] = deadline",
        ]

    def _instant_basis(self) -> str:
        parts = {lang: tuple(_split(_text("basis.instant", lang, date=_HOLE), 1)) for lang in LANGS}
        name = self.bind(parts)
        return f"{name}[lang][0] + as_of + {name}[lang][1]"

    def _basis(self, spec: Any) -> str:
        """The deadline's basis: its own words, or how its date was reached, in `lang`."""
        gen = self.gen
        if spec.basis:
            return gen.const(spec.basis)
        node, conditions = spec.date.node, spec.date.conditions
        if conditions and _branches(node, conditions):
            # The branch taken is in the words: the interpreter's account, on an environment.
            env = self.bind(_environment)
            return (
                f"{self.bind(deadline_basis)}({self.bind(node)}, "
                f"{env}(values, diseases, materials), {self.bind(conditions)}, lang)"
            )
        leaves: list[n.Node] = []
        by_lang = {}
        for lang in LANGS:
            leaves.clear()
            words = _basis_words(node, lang, leaves)
            by_lang[lang] = tuple(_split(words, len(leaves)))
        pieces = self.bind(by_lang)
        out = [f"{pieces}[lang][0]"]
        for k, leaf in enumerate(leaves):
            key = _leaf_key(leaf)
            out.append(f"_iso({gen.field(key)}, {gen.const(n.to_source(leaf))})")
            out.append(f"{pieces}[lang][{k + 1}]")
        return " + ".join(out)


# ---------------------------------------------------------------- static helpers

_HOLE = "\x00"


def _iso_or(value: Any, source: str) -> str:
    """A basis names a date by its value, anything else by its source (as deadline_basis)."""
    return value.isoformat() if isinstance(value, _dt.date) else source


def _leaf_key(leaf: n.Node) -> str:
    """The environment key deadline_basis looks a name up by."""
    if isinstance(leaf, n.Name):
        return leaf.name
    assert isinstance(leaf, n.Attr) and isinstance(leaf.operand, n.Name)
    return f"{leaf.operand.name}.{leaf.name}"


def _split(words: str, holes: int) -> list[str]:
    parts = words.split(_HOLE)
    if len(parts) != holes + 1:  # a message placing a value twice: not expected
        raise ValueError("basis template holds a value more than once")
    return parts


def _basis_words(node: n.Node, lang: str, leaves: list[n.Node]) -> str:
    """deadline_basis with a hole for each name it would look up (filled per case)."""
    if isinstance(node, n.Arith) and isinstance(node.right, n.Duration):
        d = node.right
        key = "basis.after" if node.op == "+" else "basis.before"
        base = _basis_words(node.left, lang, leaves)
        return _text(key, lang, span=span(d.amount, d.unit, lang), base=base)
    if isinstance(node, n.Call) and f"basis.{node.func}" in BASIS_FUNCTIONS:
        args = [_basis_words(a, lang, leaves) for a in node.args]
        return _text(f"basis.{node.func}", lang, *args)
    if isinstance(node, n.Name) or (isinstance(node, n.Attr) and isinstance(node.operand, n.Name)):
        leaves.append(node)
        return _HOLE
    if isinstance(node, n.Literal) and isinstance(node.value, _dt.date):
        return node.value.isoformat()
    return n.to_source(node)


def _branches(node: n.Node, conditions: Mapping[int, Any]) -> bool:
    """The node holds an `if` whose branch the basis shows."""
    if isinstance(node, n.If) and id(node) in conditions:
        return True
    return any(_branches(c, conditions) for c in _children(node))


def _children(node: n.Node) -> list[n.Node]:
    if isinstance(node, n.Arith):
        return [node.left, node.right]
    if isinstance(node, n.Call):
        return list(node.args)
    if isinstance(node, n.If):
        return [node.then, node.otherwise]
    return []


def _environment(values: Mapping[str, Any], diseases: tuple, materials: frozenset) -> Env:
    env = Env(values)
    env["diseases"] = diseases
    env["materials"] = materials
    return env


def _late_deadline(
    spec: Any,
    values: Mapping[str, Any],
    diseases: tuple,
    materials: frozenset,
    deadline: Deadline,
    warnings: list,
    lang: str,
) -> Deadline:
    """A deadline whose count read provisional days: counted again under track(), marked, said."""
    _, provisional = track(partial(spec.date.fn, _environment(values, diseases, materials)))
    if provisional is None:
        return deadline
    return provisional_deadline(deadline, provisional, warnings, lang)


def _late_conditions(
    firing: Any,
    values: Mapping[str, Any],
    diseases: tuple,
    materials: frozenset,
    version: str,
    warnings: list,
    lang: str,
) -> None:
    """Conditions that read provisional days: the warning of the interpreted assembly, in place."""
    env = _environment(values, diseases, materials)
    _, read = track(partial(firing, env, version))
    if read is not None:
        warnings.append(read.describe_reading(_text("calendar.what.conditions", lang), lang))


class Memo(dict[Any, Any]):
    """A memo of a generated decision function: what it keeps, by exactly what that depends on.

    The generated code adds an entry only while it holds fewer than the
    function's bound (PreparedPack.decision_memo); then it computes again.
    """


class _Texts(dict[tuple, str]):
    """A warning naming the fields a case lacks, by (lang, absent?, absent?, …): each made once.

    Its words depend only on which of `needs` are absent, so each text is
    made on first use and kept (at most 2**len(needs) per language). An empty
    text: none is absent.
    """

    def __init__(self, message: str, needs: frozenset[str], **kw: Any):
        super().__init__()
        self.message = message
        # The engine always sets diseases and materials; other fields are absent when not given.
        self.needs = tuple(sorted(analysis.present_test(needs)))
        self.kw = kw

    def __missing__(self, key: tuple) -> str:
        lang, absent = key[0], key[1:]
        missing = [f for f, gone in zip(self.needs, absent) if gone]
        if not missing and self.message == "rules.undecided":
            text = ""  # the interpreter warns of an undecided rule only when a field is missing
        else:
            text = _text(self.message, lang, fields=join(missing, lang), **self.kw)
        if len(self) < _TEXTS_KEPT:
            self[key] = text
        return text


_TEXTS_KEPT = 1024  # bound per warning: beyond it, texts are made again each time
