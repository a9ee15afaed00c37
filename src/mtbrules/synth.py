"""Synthetic caseloads drawn from a pack's own catalogues and rules, seeded and deterministic.

Values come from the pack: services, versions, diseases (by name, alias, id,
and some in Traditional characters, plus a few the pack does not cover),
documents (by name or alias, some missing, some with a stale `issued_on`),
categories, and the literals and thresholds the rules' conditions compare
fields with (districts, ages, hospital levels, …). Only the fields the rules
read are filled, each sometimes left out (an undecided rule is a case too).

With `cover=True` (the default), a search first finds, for every rule, a
case whose decision path contains it (mending a case whose other rules reject
it by re-drawing the fields those rules read); those cases are placed at seeded
positions among the random ones. Rules no search reaches are listed in
`Synth.unreached` with the reason.

>>> import mtbrules
>>> from mtbrules.synth import synth_cases
>>> cases = list(synth_cases(mtbrules.load_pack("qingdao"), 3, seed=1))
>>> len(cases), cases == list(synth_cases(mtbrules.load_pack("qingdao"), 3, seed=1))
(3, True)
"""

from __future__ import annotations

import datetime as _dt
import functools
import random
from collections.abc import Iterator
from typing import Any

from . import analysis
from . import nodes as n
from .case import (
    CASE_FIELDS,
    CASE_OBJECTS,
    CHANNEL_KINDS,
    CONTRACT_SERVICES,
    PACK_FIELD_TYPES,
    RELATIONS,
    SCHEMES,
)
from .errors import MtbError
from .evaluator import Trace, evaluate

#: Tries per rule when searching for a case that reaches it.
SEARCH_TRIES = 400
#: Disease names no pack covers (for the `ineligible` branch).
UNKNOWN_DISEASES = ("感冒", "急性胃肠炎", "骨折")
UNKNOWN_MATERIALS = ("户口本",)
_FIELD_ABSENT = 0.2
#: A text value no rule names (a district or specialty the notice does not list).
OTHER_TEXT = "其他"
#: Latest submission date, as days before the end of the calendar's known years,
#: so that deadlines counted from it stay inside the calendar.
_DEADLINE_ROOM = 200


@functools.lru_cache(maxsize=1)
def _to_traditional():
    try:
        # deferred: opencc (~40 ms) only when a Traditional variant is synthesised
        from opencc_purepy import OpenCC

        return OpenCC("s2t").convert
    except Exception:  # noqa: BLE001 - optional nicety
        return None


def _traditional(text: str) -> str:
    convert = _to_traditional()
    return convert(text) if convert else text


# ---------------------------------------------------------------- what the rules read


class _Mined:
    """Per field: the literal values and thresholds the pack's expressions compare it with."""

    def __init__(self):
        self.values: dict[str, set] = {}
        self.fields: set[str] = set()

    def add(self, field: str, value: Any):
        self.values.setdefault(field, set()).add(value)


def _mine(nodes) -> _Mined:
    m = _Mined()
    for root in nodes:
        for node in n.walk(root):
            key = analysis.field_key(node)
            if key is not None and (key in CASE_FIELDS or "." in key):
                m.fields.add(key)
            elif isinstance(node, n.Name):
                m.fields.add(node.name)
            if isinstance(node, n.Compare):
                for a, b in ((node.left, node.right), (node.right, node.left)):
                    k = analysis.field_key(a)
                    if k is not None:
                        for v in analysis.literals(b):
                            m.add(k, v)
    return m


def _rule_nodes(rule) -> list:
    out = []
    if rule.when is not None:
        out.append(rule.when.node)
    out.extend(d.date.node for d in rule.deadlines)
    return out


# ---------------------------------------------------------------- generator


class Synth:
    """A seeded case generator for one pack."""

    def __init__(self, pack, seed: int = 0):
        self.pack = pack
        self.seed = seed
        self.mined = _mine([x for r in pack.rules for x in _rule_nodes(r)])
        self.rule_mined = {r.id: _mine(_rule_nodes(r)) for r in pack.rules}
        self.unreached: dict[str, str] = {}
        cal = pack.calendar
        years = cal.known_years
        first = _dt.date(max(years.start, 2019), 1, 1)
        last = _dt.date(years.stop - 1, 12, 31)
        self.spans = []
        last = last - _dt.timedelta(days=_DEADLINE_ROOM)
        for v in pack.versions:
            lo = max(v.effective_from, first)
            hi = min(v.effective_to or last, last)
            if lo <= hi:
                self.spans.append((lo, hi))
        self.first, self.last = first, last
        self.types = dict(CASE_FIELDS)
        self.types.update({k: PACK_FIELD_TYPES[t] for k, t in pack.case_fields.items()})
        for obj, fields in CASE_OBJECTS.items():
            for f, t in fields.items():
                self.types[f"{obj}.{f}"] = t

    # -- values

    def _date(self, rng: random.Random) -> _dt.date:
        if self.spans and rng.random() > 0.02:
            lo, hi = rng.choice(self.spans)
        else:
            lo, hi = self.first, self.last
        return lo + _dt.timedelta(days=rng.randrange((hi - lo).days + 1))

    def _value(self, rng: random.Random, field: str, submitted: _dt.date, focus) -> Any:
        t = self.types.get(field)
        mined = set(self.mined.values.get(field, ()))
        if focus is not None and field in focus.values and rng.random() < 0.7:
            mined = set(focus.values[field])
        name = t.name if t is not None else "string"
        if field == "category":
            cats = list(self.pack.categories.values())
            if not cats:
                return None
            c = rng.choice(cats)
            forms = [c.id, c.name] + list(c.aliases)
            return rng.choice(forms)
        if t is not None and t.vocab == "scheme":
            return rng.choice(SCHEMES)
        if t is not None and t.vocab == "channel":
            return rng.choice(sorted(mined) if mined and rng.random() < 0.6 else CHANNEL_KINDS)
        if t is not None and t.vocab == "relation":
            return rng.choice(RELATIONS)
        allowed = (
            self.pack.case_field_values.get(field)
            if hasattr(self.pack, "case_field_values")
            else None
        )
        if allowed:
            return rng.choice(list(allowed))
        if name == "bool":
            return rng.random() < 0.5
        if name in ("int", "number"):
            nums = sorted(
                v for v in mined if isinstance(v, (int, float)) and not isinstance(v, bool)
            )
            if nums and rng.random() < 0.8:
                base = rng.choice(nums)
                value = base + rng.choice((-1, 0, 0, 1))
                if name == "number" and rng.random() < 0.3:
                    value = base + rng.choice((-0.5, 0.5))
            else:
                value = (
                    rng.randrange(0, 4)
                    if field in ("hospital_level", "prior.changes_this_year")
                    else rng.randrange(0, 90)
                )
            if field == "hospital_level":
                value = min(3, max(1, int(value)))
            value = max(0, value)
            return int(value) if name == "int" else value
        if name == "date":
            dates = sorted(v for v in mined if isinstance(v, _dt.date))
            if dates and rng.random() < 0.5:
                d = rng.choice(dates) + _dt.timedelta(days=rng.choice((-1, 0, 1)))
            else:
                d = submitted + _dt.timedelta(days=rng.randrange(-800, 60))
            d = min(max(d, self.first), self.last)
            return d.isoformat()
        if name == "list":
            strings = sorted(v for v in mined if isinstance(v, str))
            return rng.sample(strings, k=min(len(strings), rng.randrange(0, 3))) if strings else []
        strings = sorted(v for v in mined if isinstance(v, str))
        if strings and rng.random() < 0.9:
            return rng.choice(strings)
        return OTHER_TEXT if strings or name == "string" else None

    def _diseases(self, rng: random.Random, focus) -> list[str]:
        diseases = list(self.pack.diseases.values())
        roll = rng.random()
        if not diseases:
            return [] if roll < 0.9 else [rng.choice(UNKNOWN_DISEASES)]
        count = 0 if roll < 0.04 else (2 if roll > 0.85 else 1)
        if focus is not None and rng.random() < 0.6:
            wanted = {v for v in focus.values.get("$disease", ())}
            if wanted:
                pool = [d for d in diseases if d.id in wanted or d.groups & wanted] or diseases
                diseases = pool
        out = []
        for _ in range(count):
            if rng.random() < 0.03:
                out.append(rng.choice(UNKNOWN_DISEASES))
                continue
            d = rng.choice(diseases)
            form = rng.random()
            if form < 0.6:
                text = d.name
            elif form < 0.75 and d.aliases:
                text = rng.choice(d.aliases)
            elif form < 0.8:
                text = d.id
            else:
                text = _traditional(d.name)
            if text not in out:
                out.append(text)
        return out

    def _materials(self, rng: random.Random, submitted: _dt.date):
        if rng.random() < 0.3:
            return None  # not given: the decision is a checklist
        docs = [d for d in self.pack.documents.values() if not d.any_of]
        if not docs:
            return []
        chosen = rng.sample(docs, k=rng.randrange(0, min(len(docs), 8) + 1))
        out: list = []
        for d in chosen:
            name = rng.choice((d.name,) + d.aliases) if d.aliases and rng.random() < 0.3 else d.name
            if rng.random() < 0.25:
                # some recent, some stale (older than any "issued within" window)
                age = rng.choice((10, 40, 100, 200, 400, 900))
                out.append(
                    {
                        "name": name,
                        "issued_on": max(
                            self.first, submitted - _dt.timedelta(days=age)
                        ).isoformat(),
                    }
                )
            else:
                out.append(name)
        if rng.random() < 0.02:
            out.append(rng.choice(UNKNOWN_MATERIALS))
        return out

    def case(self, rng: random.Random, service: str | None = None, focus_rule=None) -> dict:
        """One random case (a CONTRACT §2 mapping)."""
        pack = self.pack
        focus = self.rule_mined.get(focus_rule.id) if focus_rule is not None else None
        if focus is not None:
            focus = _with_disease_targets(focus, focus_rule)
        if service is None:
            services = sorted(pack.services)
            others = [s for s in CONTRACT_SERVICES if s not in pack.services]
            service = rng.choice(others) if others and rng.random() < 0.02 else rng.choice(services)
        submitted = self._date(rng)
        case: dict[str, Any] = {"service": service, "submitted_on": submitted.isoformat()}
        diseases = self._diseases(rng, focus)
        if diseases or pack.diseases:
            case["diseases"] = diseases
        materials = self._materials(rng, submitted)
        if materials is not None:
            case["materials"] = materials
        for field in sorted(self.mined.fields):
            if (
                field in ("service", "submitted_on", "diseases", "materials")
                or field not in self.types
            ):
                continue
            absent = _FIELD_ABSENT
            if focus is not None and field in focus.fields:
                absent = 0.05
            if rng.random() < absent:
                continue
            value = self._value(rng, field, submitted, focus)
            if value is None:
                continue
            if "." in field:
                obj, sub = field.split(".", 1)
                case.setdefault(obj, {})[sub] = value
            else:
                case[field] = value
        return case

    # -- coverage

    def seed_cases(self, rng: random.Random) -> list[dict]:
        """For each rule, a case whose decision path contains it (when the search finds one)."""
        covered: set = set()
        out = []
        self.unreached = {}
        for rule in self.pack.rules:
            if rule.id in covered:
                continue
            services = (
                sorted(rule.services) if rule.services is not None else sorted(self.pack.services)
            )
            found = False
            for i in range(SEARCH_TRIES):
                case = self.case(rng, rng.choice(services), rule if i % 4 else None)
                hit = self._reach(rng, rule, case)
                if hit is not None:
                    case, path = hit
                    covered |= path
                    out.append(case)
                    found = True
                    break
            if not found:
                self.unreached[rule.id] = _why_unreached(self.pack, rule)
        return out

    def _reach(self, rng: random.Random, rule, case: dict, steps: int = 40):
        """(case, path) with `rule` on the path: `case` itself, or, when the rule's condition holds
        but other rules reject the case, `case` with the fields those rules read re-drawn."""
        best = None
        for _ in range(steps + 1):
            trace = Trace()
            try:
                decision = evaluate(self.pack, case, trace)
            except MtbError:
                return None
            path = [p.rule for p in decision.path]
            if rule.id in path:
                return case, set(path)
            if trace.results.get(rule.id) is not True:
                return None  # only mend cases where the rule itself applies
            blockers = [
                self.pack.rules_by_id[r]
                for r in path
                if r in self.pack.rules_by_id and self.pack.rules_by_id[r].reject
            ]
            if best is not None and len(blockers) > best[1]:
                case = best[0]  # the change made it worse: go back
            else:
                best = (case, len(blockers))
            fields = sorted(
                {f for b in blockers if b.when is not None for f in b.when.fields}
                - set(rule.when.fields if rule.when else ())
            )
            fields = [
                f
                for f in fields
                if f in self.types and f not in ("service", "submitted_on", "diseases", "materials")
            ]
            if not fields:
                return None
            case = self._redraw(rng, dict(case), rng.choice(fields))
        return None

    def _redraw(self, rng: random.Random, case: dict, field: str) -> dict:
        submitted = _dt.date.fromisoformat(case["submitted_on"])
        value = self._value(rng, field, submitted, None)
        if "." in field:
            obj, sub = field.split(".", 1)
            inner = dict(case.get(obj, {}))
            if value is None:
                inner.pop(sub, None)
            else:
                inner[sub] = value
            case[obj] = inner
        elif value is None:
            case.pop(field, None)
        else:
            case[field] = value
        return case

    def cases(self, count: int, cover: bool = True) -> Iterator[dict]:
        """`count` cases; with `cover`, the rule-covering cases at seeded positions among them."""
        rng = random.Random(self.seed)
        seeds = self.seed_cases(random.Random(f"{self.seed}:cover")) if cover else []
        seeds = seeds[:count]
        positions = sorted(rng.sample(range(count), len(seeds))) if seeds else []
        k = 0
        for i in range(count):
            if k < len(positions) and positions[k] == i:
                yield seeds[k]
                k += 1
            else:
                yield self.case(rng)


def _with_disease_targets(mined: _Mined, rule) -> _Mined:
    """Disease ids and groups the rule's condition names (for `d.id == …`, `"g" in d.groups`)."""
    targets = set()
    if rule.when is not None:
        for node in n.walk(rule.when.node):
            if isinstance(node, n.Compare):
                for side in (node.left, node.right):
                    if isinstance(side, n.Literal) and isinstance(side.value, str):
                        targets.add(side.value)
    out = _Mined()
    out.values = dict(mined.values)
    out.fields = set(mined.fields)
    out.values["$disease"] = targets
    return out


def _why_unreached(pack, rule) -> str:
    if rule.services is not None and not (set(rule.services) & set(pack.services)):
        return "its services are not services of the pack"
    if (
        rule.when is not None
        and isinstance(rule.when.node, n.Literal)
        and rule.when.node.value is False
    ):
        return "its condition is `false`"
    if rule.when is not None and pack.diseases:
        for node in n.walk(rule.when.node):
            if (
                isinstance(node, n.Compare)
                and node.op == "not in"
                and isinstance(node.left, n.Literal)
                and isinstance(node.right, n.Attr)
                and node.right.name == "groups"
                and all(node.left.value in d.groups for d in pack.diseases.values())
            ):
                return (
                    f"it needs a disease outside group '{node.left.value}', but every disease of the catalogue "
                    "is in that group, and the rules never see a disease outside the catalogue (the engine "
                    "decides it `ineligible`, or `undetermined` when the catalogue is declared incomplete)"
                )
    return (
        f"no case in {SEARCH_TRIES} seeded tries put it on a decision path "
        "(its condition may need a combination of values the generator rarely makes, "
        "or the rule is overridden or its effects are not listed whenever it applies)"
    )


def synth_cases(pack, count: int, seed: int = 0, cover: bool = True) -> Iterator[dict]:
    """`count` seeded synthetic cases for `pack` (see the module docstring)."""
    return Synth(pack, seed).cases(count, cover)


def coverage(pack, cases) -> dict[str, int]:
    """How many decisions' paths each rule of `pack` appears in."""
    counts = {r.id: 0 for r in pack.rules}
    for case in cases:
        try:
            decision = pack.evaluate(case)
        except MtbError:
            continue
        for p in decision.path:
            if p.rule in counts:
                counts[p.rule] += 1
    return counts
