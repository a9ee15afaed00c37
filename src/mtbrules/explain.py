"""Why a decision is what it is: each rule's condition, sub-condition by sub-condition.

`explain(pack, case)` evaluates the case once with the engine (so the
decision is exactly `pack.evaluate(case)`), with a `Trace` hook that keeps the
environment the rules read. It then walks each rule's `when` syntax tree and
compiles every sub-expression against the pack's own scope (`Pack.scope`) to
show its value and the case values it read. Pack text is never run as Python.

Privacy: an explanation shows only the case fields that the conditions read
(and catalogue values such as disease names), never the whole case.

>>> import mtbrules
>>> from mtbrules.explain import explain
>>> x = explain(mtbrules.load_pack("qingdao"), {"service": "certificate", "submitted_on": "2025-09-29", "diseases": ["恶性肿瘤"]})
>>> x.decision.outcome, x.outputs["outcome"]["rule"]
('instant', 'instant_time_limit')
"""

from __future__ import annotations

import datetime as _dt
import json
from typing import Any

import attrs

from . import nodes as n
from .compiler import UNDEFINED, compile_expression
from .diagnostics import Location
from .env import Env
from .errors import InputError
from .evaluator import Trace
from .evaluator import evaluate as _evaluate
from .htmlview import explanation_html

DEFAULT_DEPTH = 4
MAX_ITEMS = 20  # quantifier items shown per node

# Status of a rule in an explanation.
APPLIED = "applied"  # condition true, took effect
OVERRIDDEN = "overridden"  # condition true, but another applying rule overrides it
NOT_APPLIED = "not_applied"  # condition false
UNDECIDED = "undecided"  # condition needs a field the case does not give
NOT_RUN = "not_run"  # the engine decided before any rule ran


@attrs.frozen
class Condition:
    """One (sub-)condition: its text, its value, the case values it read, and its parts."""

    expr: str
    value: Any  # True, False, or None for undefined (JSON null)
    seen: dict  # field -> shown value (only fields this expression reads)
    parts: tuple = ()  # Condition, for and/or/not/if
    items: tuple = ()  # (item label, Condition) for quantifiers
    truncated: bool = False

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"expr": self.expr, "value": self.value}
        if self.seen:
            out["seen"] = self.seen
        if self.parts:
            out["parts"] = [p.to_dict() for p in self.parts]
        if self.items:
            out["items"] = [{"item": label, **c.to_dict()} for label, c in self.items]
        if self.truncated:
            out["truncated"] = True
        return out


@attrs.frozen
class RuleExplanation:
    rule: str
    title: str
    source: str
    quote: str | None
    status: str
    effects: dict
    condition: Condition | None  # None: the rule has no `when` (always true)
    overridden_by: tuple = ()
    in_path: bool = False  # listed in the decision's path

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule": self.rule,
            "title": self.title,
            "source": self.source,
            "status": self.status,
            "effects": self.effects,
            "condition": self.condition.to_dict() if self.condition else None,
        }
        if self.quote:
            out["quote"] = self.quote
        if self.overridden_by:
            out["overridden_by"] = list(self.overridden_by)
        out["in_path"] = self.in_path
        return out


@attrs.frozen
class Explanation:
    """The decision, what produced each of its outputs, and every rule in scope with its reasons."""

    pack: Any
    decision: Any
    outputs: dict
    rules: tuple  # RuleExplanation, in pack order (rules in the case's service and version)
    engine: tuple = ()  # engine decisions made before any rule ran: {"rule", "text", "source"}

    @property
    def applied(self) -> tuple:
        return tuple(r for r in self.rules if r.status == APPLIED)

    @property
    def not_applied(self) -> tuple:
        return tuple(r for r in self.rules if r.status != APPLIED)

    def rule(self, rule_id: str) -> RuleExplanation:
        for r in self.rules:
            if r.rule == rule_id:
                return r
        raise KeyError(rule_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision.to_dict(),
            "outputs": self.outputs,
            "engine": list(self.engine),
            "rules": [r.to_dict() for r in self.rules],
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    def to_text(self, lang: str = "zh", only: str | None = None) -> str:
        return explanation_text(self, lang, only)

    def _repr_html_(self) -> str:  # notebooks (mtbrules.htmlview)
        return explanation_html(self)


def explain(pack, case, depth: int = DEFAULT_DEPTH, rules=None, lang: str = "en") -> Explanation:
    """Explain `pack`'s decision for `case` (a CONTRACT §2 mapping).

    `depth` limits how deep sub-conditions are expanded (1 = the rule's whole
    condition only). `rules`, an optional collection of rule ids, limits the
    explanation to those rules. Raises the same errors as `pack.evaluate`.
    """
    trace = Trace()
    decision = _evaluate(pack, case, trace, lang=lang)
    wanted = set(rules) if rules is not None else None
    if wanted is not None:
        unknown = sorted(wanted - set(pack.rules_by_id))
        if unknown:
            raise InputError(f"unknown rule {', '.join(unknown)} in pack {pack.id}")
    out = []
    if trace.env is None:
        engine = tuple(r.to_dict() for r in decision.reasons)
        for rule in pack.rules:
            if wanted is not None and rule.id not in wanted:
                continue
            out.append(_rule_explanation(rule, NOT_RUN, None, ()))
        return Explanation(pack, decision, _outputs(pack, decision), tuple(out), engine)
    env = Env(trace.env)
    in_path = {p.rule for p in decision.path}
    scope = pack.scope
    for rule in pack.rules:
        if rule.id not in trace.results:
            continue  # out of the case's service or version scope
        if wanted is not None and rule.id not in wanted:
            continue
        result = trace.results[rule.id]
        overridden_by: tuple = ()
        if result is True:
            if rule.id in trace.suppressed:
                status = OVERRIDDEN
                overridden_by = tuple(
                    r
                    for r, res in trace.results.items()
                    if res is True and rule.id in pack.suppresses[r]
                )
            else:
                status = APPLIED
        elif result is UNDEFINED:
            status = UNDECIDED
        else:
            status = NOT_APPLIED
        condition = None
        if rule.when is not None:
            condition = _condition(rule.when.node, scope, env, depth)
        out.append(_rule_explanation(rule, status, condition, overridden_by, rule.id in in_path))
    return Explanation(pack, decision, _outputs(pack, decision), tuple(out))


def _rule_explanation(rule, status, condition, overridden_by, in_path=False) -> RuleExplanation:
    return RuleExplanation(
        rule=rule.id,
        title=rule.title,
        source=str(rule.source),
        quote=rule.source.quote,
        status=status,
        effects=_effects(rule),
        condition=condition,
        overridden_by=overridden_by,
        in_path=in_path,
    )


def _effects(rule) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if rule.outcome:
        out["outcome"] = rule.outcome
    if rule.reject:
        out["reject"] = rule.reject
    if rule.require:
        out["require"] = [r.doc for r in rule.require]
    if rule.deadlines:
        out["deadlines"] = {d.kind: n.to_source(d.date.node) for d in rule.deadlines}
    if rule.channels:
        out["channels"] = list(rule.channels)
    if rule.reason:
        out["reason"] = rule.reason
    if rule.warn:
        out["warn"] = rule.warn
    if rule.overrides:
        out["overrides"] = list(rule.overrides)
    return out


def _outputs(pack, decision) -> dict[str, Any]:
    """Each output of the decision and the rule that produced it."""
    path_ids = [p.rule for p in decision.path]
    by_id = pack.rules_by_id
    outcome_rule = None
    if decision.outcome in ("instant", "review"):
        outcome_rule = next(
            (r for r in path_ids if r in by_id and by_id[r].outcome == decision.outcome), None
        )
    elif decision.reasons:
        outcome_rule = decision.reasons[0].rule
    channels = []
    for c in decision.channels:
        rule = next((r for r in path_ids if r in by_id and c.id in by_id[r].channels), None)
        channels.append({"id": c.id, "name": c.name, "rule": rule})
    return {
        "outcome": {"value": decision.outcome, "rule": outcome_rule},
        "required_documents": [
            {"id": d.id, "name": d.name, "provided": d.provided, "rule": d.rule, "source": d.source}
            for d in decision.required_documents
        ],
        "deadlines": [d.to_dict() for d in decision.deadlines],
        "channels": channels,
        "reasons": [r.to_dict() for r in decision.reasons],
    }


# ---------------------------------------------------------------- conditions


def _nowhere(line: int, col: int) -> Location:
    return Location("<explain>", line, col)


def _condition(node: n.Node, scope, env: Env, depth: int) -> Condition:
    compiled = compile_expression(node, scope, _nowhere)
    value = compiled.fn(env)
    # Only the fields this expression reads (privacy); a quantifier's item is labelled by its parent.
    seen = {f: show(env.get(f, UNDEFINED)) for f in sorted(compiled.fields)}
    parts: list = []
    items: list = []
    truncated = False
    if depth > 1:
        if isinstance(node, n.BoolOp):
            parts = [_condition(x, scope, env, depth - 1) for x in _flatten(node, node.op)]
        elif isinstance(node, n.Not):
            parts = [_condition(node.operand, scope, env, depth - 1)]
        elif isinstance(node, n.If):
            parts = [_condition(node.cond, scope, env, depth - 1)]
        elif isinstance(node, n.Quantifier):
            seq = compile_expression(node.seq, scope, _nowhere)
            values = seq.fn(env)
            if values is not UNDEFINED:
                inner = scope.with_local(node.var, seq.type.item)
                saved = env.locals.get(node.var, UNDEFINED)
                for i, item in enumerate(values):
                    if i >= MAX_ITEMS:
                        truncated = True
                        break
                    env.locals[node.var] = item
                    items.append((show(item), _condition(node.body, inner, env, depth - 1)))
                if saved is UNDEFINED:
                    env.locals.pop(node.var, None)
                else:
                    env.locals[node.var] = saved
    elif isinstance(node, (n.BoolOp, n.Not, n.If, n.Quantifier)):
        truncated = True
    return Condition(n.to_source(node), show(value), seen, tuple(parts), tuple(items), truncated)


def _flatten(node: n.Node, op: str) -> list:
    """`a and b and c` as [a, b, c]."""
    if isinstance(node, n.BoolOp) and node.op == op:
        return _flatten(node.left, op) + _flatten(node.right, op)
    return [node]


def show(value: Any) -> Any:
    """A case value as JSON: dates as ISO text, diseases by name, sets sorted; undefined as null."""
    if value is UNDEFINED:
        return None
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, (frozenset, set)):
        return sorted(show(v) for v in value)
    if isinstance(value, (tuple, list)):
        return [show(v) for v in value]
    if hasattr(value, "groups") and hasattr(value, "name") and hasattr(value, "id"):
        return value.name
    return value


# ---------------------------------------------------------------- text

_T: dict[str, dict[str, Any]] = {
    "zh": {
        "head": "{pack}：{service} 申请，受理日 {as_of}",
        "outcome": "结论",
        "why": "为什么",
        "outputs": "各项结果的来源",
        "applied": "适用的规则",
        "not_applied": "未适用的规则",
        "engine": "引擎在规则运行前作出决定",
        "not_run": "（规则均未运行）",
        "documents": "材料",
        "deadlines": "期限",
        "channels": "渠道",
        "reasons": "理由",
        "by": "依据",
        "status": {
            APPLIED: "适用",
            OVERRIDDEN: "条件成立，但被覆盖",
            NOT_APPLIED: "不适用",
            UNDECIDED: "无法判断（缺少字段）",
            NOT_RUN: "未运行",
        },
        "undefined": "未提供",
        "overridden_by": "被 {rules} 覆盖",
        "not_in_path": "条件成立，但{outcome}的决定不列出此规则的效果",
        "no_condition": "无条件（总是适用）",
        "more": "……（已截断，可用 --depth 展开）",
        "outcome_names": {
            "instant": "即时办结",
            "review": "受理审核",
            "ineligible": "不符合条件",
            "not_covered": "不在本政策范围内",
            "undetermined": "无法确定（政策原文未说明）",
        },
    },
    "en": {
        "head": "{pack}: {service} application submitted on {as_of}",
        "outcome": "Outcome",
        "why": "Why",
        "outputs": "Where each output comes from",
        "applied": "Rules that applied",
        "not_applied": "Rules that did not apply",
        "engine": "The engine decided before any rule ran",
        "not_run": "(no rule ran)",
        "documents": "Documents",
        "deadlines": "Deadlines",
        "channels": "Channels",
        "reasons": "Reasons",
        "by": "by",
        "status": {
            APPLIED: "applied",
            OVERRIDDEN: "condition true, but overridden",
            NOT_APPLIED: "did not apply",
            UNDECIDED: "undecided (a field is missing)",
            NOT_RUN: "not run",
        },
        "undefined": "not given",
        "overridden_by": "overridden by {rules}",
        "not_in_path": "condition true, but an {outcome} decision does not list this rule's effects",
        "no_condition": "no condition (always applies)",
        "more": "… (truncated; use --depth to expand)",
        "outcome_names": {
            "instant": "decided on the spot",
            "review": "accepted for review",
            "ineligible": "ineligible",
            "not_covered": "not covered",
            "undetermined": "undetermined (the source is silent)",
        },
    },
}
_MARK = {True: "✓", False: "✗", None: "?"}


def explanation_text(x: Explanation, lang: str = "zh", only: str | None = None) -> str:
    """The explanation as a report. `only`: "applied" or "not_applied" to show one half."""
    t = _T[lang]
    d = x.decision
    pack_name = x.pack.name if lang == "zh" else (x.pack.name_en or x.pack.id)
    lines = [
        t["head"].format(pack=pack_name, service=d.service, as_of=d.as_of),
        f"{t['outcome']}: {d.outcome} ({t['outcome_names'][d.outcome]})"
        + (f"  [{t['by']} {x.outputs['outcome']['rule']}]" if x.outputs["outcome"]["rule"] else ""),
    ]
    o = x.outputs
    if o["required_documents"] or o["deadlines"] or o["channels"] or o["reasons"]:
        lines.append("")
        lines.append(f"{t['outputs']}:")
        for doc in o["required_documents"]:
            lines.append(
                f"  {t['documents']}: {'✓' if doc['provided'] else '✗'} {doc['name']} ← {doc['rule']} [{doc['source']}]"
            )
        for dl in o["deadlines"]:
            lines.append(
                f"  {t['deadlines']}: {dl['kind']} {dl['date']} ({dl['basis']}) ← {dl['rule']} [{dl['source']}]"
            )
        for c in o["channels"]:
            lines.append(f"  {t['channels']}: {c['name']} ← {c['rule']}")
        for r in o["reasons"]:
            lines.append(f"  {t['reasons']}: {r['text']} ← {r['rule']} [{r['source']}]")
    if x.engine:
        lines.append("")
        lines.append(f"{t['engine']} {t['not_run']}:")
        for e in x.engine:
            lines.append(f"  {e['rule']}: {e['text']}")
    applied = [r for r in x.rules if r.status == APPLIED]
    others = [r for r in x.rules if r.status != APPLIED and r.status != NOT_RUN]
    if applied and only in (None, "applied"):
        lines.append("")
        lines.append(f"{t['applied']}:")
        for r in applied:
            lines.extend(_rule_lines(r, t, lang, why_not=False, outcome=d.outcome))
    if others and only in (None, "not_applied"):
        lines.append("")
        lines.append(f"{t['not_applied']}:")
        for r in others:
            lines.extend(_rule_lines(r, t, lang, why_not=True))
    return "\n".join(lines) + "\n"


def _rule_lines(r: RuleExplanation, t, lang, why_not: bool, outcome: str = "") -> list[str]:
    mark = {APPLIED: "✓", OVERRIDDEN: "↷", NOT_APPLIED: "✗", UNDECIDED: "?"}.get(r.status, "-")
    status = t["status"][r.status]
    if r.status == APPLIED and not r.in_path:
        status = t["not_in_path"].format(outcome=t["outcome_names"].get(outcome, outcome))
    if r.overridden_by:
        status += " — " + t["overridden_by"].format(rules=", ".join(r.overridden_by))
    lines = [f"  {mark} {r.rule}: {r.title}  [{r.source}]  ({status})"]
    if r.condition is None:
        lines.append(f"      {t['no_condition']}")
        return lines
    lines.extend(_condition_lines(r.condition, t, 3, why_not))
    return lines


def _condition_lines(c: Condition, t, indent: int, why_not: bool) -> list[str]:
    pad = "  " * indent
    seen = "; ".join(f"{k} = {_fmt(v, t)}" for k, v in c.seen.items())
    line = f"{pad}{_MARK.get(c.value, '·') if c.value in (True, False, None) else '·'} {c.expr}"
    if seen and not c.parts and not c.items and not _is_literal(c.expr):
        line += f"    ({seen})"
    lines = [line]
    parts = c.parts
    if why_not and c.value is not True:
        # Why not: show the parts that were not true (the ones that decided it).
        parts = tuple(p for p in parts if p.value is not True) or parts
    for p in parts:
        lines.extend(_condition_lines(p, t, indent + 1, why_not))
    for label, item in c.items:
        lines.append(f"{pad}  [{label}]")
        lines.extend(_condition_lines(item, t, indent + 2, why_not))
    if c.truncated:
        lines.append(f"{pad}  {t['more']}")
    return lines


def _fmt(value: Any, t) -> str:
    if value is None:
        return t["undefined"]
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def _is_literal(expr: str) -> bool:
    return expr in ("true", "false")
