"""Candidate cases for the rule analysis: the values each case field may take, drawn
from the pack's own literals, the search for those that satisfy a rule, and the
contract case (CONTRACT §2) of what was found."""

from __future__ import annotations

import datetime as _dt
import itertools
import random
from collections.abc import Iterable
from typing import Any

import attrs

from .. import analysis
from .. import nodes as n
from ..case import CASE_FIELDS, CASE_OBJECTS, CHANNEL_KINDS, PACK_FIELD_TYPES, RELATIONS, SCHEMES
from ..dsltypes import UNDEFINED, Type
from ..pack import Pack

#: Environments tried exhaustively per rule before switching to a search.
EXHAUSTIVE_LIMIT = 4000
#: Environments a search tries per rule when the domain is too large.
SEARCH_EXAMPLES = 200
#: Random environments tried before hypothesis is asked.
RANDOM_EXAMPLES = 2000
#: Satisfying environments kept per rule (the search stops there).
SAT_KEEP = 48

ABSENT = object()  # a field the case does not give


@attrs.frozen
class SearchScope:
    """Where the analysis searches: one service in one version, around a typical day."""

    service: str
    version: Any  # model.Version
    base: _dt.date  # a typical submitted_on inside the version


def env_to_case(env: dict, pack: Pack) -> dict:
    """The contract case (CONTRACT §2) that gives exactly the fields of `env`."""
    case: dict[str, Any] = {
        "service": env["service"],
        "submitted_on": env["submitted_on"].isoformat(),
    }
    for key in sorted(env):
        value = env[key]
        if (
            key in ("service", "submitted_on")
            or key.startswith("$")
            or value is ABSENT
            or value is UNDEFINED
        ):
            continue
        if key == "agent" and value is False:
            continue
        if key == "diseases":
            if value:
                case["diseases"] = [d.name for d in value]
            continue
        if key == "materials":
            base = sorted(m for m in value if not pack.documents[m].any_of)
            if base:
                case["materials"] = base
            continue
        if isinstance(value, _dt.date):
            value = value.isoformat()
        if "." in key:
            obj, sub = key.split(".", 1)
            case.setdefault(obj, {})[sub] = value
        else:
            case[key] = value
    return case


class CaseDomain:
    """Candidate values of each case field, drawn from the pack's own literals."""

    def __init__(self, pack: Pack):
        self.pack = pack
        self.types: dict[str, Type] = dict(CASE_FIELDS)
        for obj, fields in CASE_OBJECTS.items():
            for f, t in fields.items():
                self.types[f"{obj}.{f}"] = t
        for name, kind in pack.case_fields.items():
            self.types[name] = PACK_FIELD_TYPES[kind]
        self.field_literals: dict[str, set] = {}
        self.ints: set = set()
        self.numbers: set = set()
        self.dates: set = set()
        self.offsets: set = {0, 1, -1}
        self.strings: set = set()
        self.disease_ids: set = set()
        self.disease_attrs: set = set()
        for rule in pack.rules:
            for compiled in [rule.when] + [d.date for d in rule.deadlines]:
                if compiled is not None:
                    self._collect(compiled.node)
        self._disease_values = self._diseases()
        self._material_values = self._materials()
        self._values_cache: dict = {}

    # -- literal harvesting

    def _collect(self, node: n.Node):
        for x in n.walk(node):
            if isinstance(x, n.Literal):
                v = x.value
                if isinstance(v, bool):
                    continue
                if isinstance(v, int):
                    self.ints.add(v)
                    self.offsets |= {v, v + 1, v - 1, -v, -v - 1, -v + 1}
                elif isinstance(v, float):
                    self.numbers.add(v)
                elif isinstance(v, str):
                    self.strings.add(v)
                    if v in self.pack.diseases:
                        self.disease_ids.add(v)
                elif isinstance(v, _dt.date):
                    self.dates.add(v)
            elif isinstance(x, n.Duration):
                days = {"days": 1, "working_days": 1, "weeks": 7, "months": 30, "years": 365}[
                    x.unit
                ] * x.amount
                extra = {days, days + 1, days - 1}
                if x.unit == "months":
                    extra |= {31 * x.amount, 31 * x.amount + 1, 28 * x.amount}
                if x.unit == "working_days":
                    extra |= {days * 2, days * 7 // 5 + 10}
                if x.unit == "years":
                    extra |= {days + 2}
                self.offsets |= extra | {-e for e in extra}
            elif isinstance(x, n.Attr) and not (
                isinstance(x.operand, n.Name) and x.operand.name in CASE_OBJECTS
            ):
                self.disease_attrs.add(x.name)
            elif isinstance(x, n.Compare):
                for side, other in ((x.left, x.right), (x.right, x.left)):
                    key = analysis.compared_field(side)
                    if key is not None:
                        self.field_literals.setdefault(key, set()).update(analysis.literals(other))

    def disease_class(self, d) -> tuple:
        return (
            d.groups,
            d.id
            if (d.id in self.disease_ids or "id" in self.disease_attrs and not self.disease_ids)
            else None,
            d.no if "no" in self.disease_attrs else None,
            d.name if "name" in self.disease_attrs else None,
        )

    def _diseases(self) -> list:
        reps: dict = {}
        for d in self.pack.diseases.values():
            reps.setdefault(self.disease_class(d), d)
        singles = [(d,) for d in reps.values()]
        pairs = [(a, b) for a, b in itertools.combinations(reps.values(), 2)][:60]
        return [()] + singles + pairs

    def _materials(self) -> list:
        docs = self.pack.documents
        named = sorted(s for s in self.strings if s in docs)
        out: list[frozenset[str]] = [frozenset()]
        for doc_id in named:
            out.append(self._closure({doc_id}))
        if len(named) > 1:
            out.append(self._closure(set(named)))
        return out

    def _closure(self, ids: set) -> frozenset:
        ids = set(ids)
        for doc in self.pack.documents.values():
            if doc.any_of and any(a in ids for a in doc.any_of):
                ids.add(doc.id)
        return frozenset(ids)

    # -- values

    def values(self, field: str, scope: SearchScope) -> list:
        key = (field, scope.version.id, scope.base)
        cached = self._values_cache.get(key)
        if cached is not None:
            return cached
        out = self._values(field, scope)
        self._values_cache[key] = out
        return out

    def _values(self, field: str, scope: SearchScope) -> list:
        if field == "diseases":
            return self._disease_values
        if field == "materials":
            return self._material_values
        if field == "submitted_on":
            v = scope.version
            days = {scope.base} | {
                d + _dt.timedelta(days=k) for d in self.dates for k in (-1, 0, 1)
            }
            days |= {v.effective_from, v.effective_from + _dt.timedelta(days=1)}
            if v.effective_to:
                days |= {v.effective_to, v.effective_to - _dt.timedelta(days=1)}
            days |= {_dt.date(scope.base.year, m, 1) for m in (1, 3, 4, 6, 7, 10, 12)}
            days |= {_dt.date(scope.base.year, m, 28) for m in (3, 6, 9, 12)}
            return sorted(d for d in days if v.in_force(d))
        t = self.types.get(field)
        if t is None:
            return [ABSENT]
        out: list = [] if field == "agent" else [ABSENT]
        lits = self.field_literals.get(field, set())
        if t.name == "bool":
            return out + [True, False]
        if t.name == "string":
            if t.vocab == "scheme":
                return out + list(SCHEMES)
            if t.vocab == "channel":
                return out + list(CHANNEL_KINDS)
            if t.vocab == "relation":
                return out + list(RELATIONS)
            if t.vocab == "category":
                return out + sorted(self.pack.categories)
            if t.vocab == "service":
                return [scope.service]
            if t.vocab and t.vocab.startswith("field:"):
                return out + list(self.pack.case_field_values.get(t.vocab[6:], ()))
            return out + sorted(x for x in lits if isinstance(x, str)) + ["(其他)"]
        if t.name in ("int", "number"):
            base = {x for x in lits if isinstance(x, (int, float)) and not isinstance(x, bool)}
            if not base:
                base = set(self.ints) or {0}
            vals = set()
            for x in base:
                vals |= {x - 1, x, x + 1}
                if t.name == "number":
                    vals |= {x - 0.5, x + 0.5}
            vals.add(0)
            return out + sorted(vals)
        if t.name == "date":
            days = {scope.base + _dt.timedelta(days=o) for o in self.offsets}
            days |= {d + _dt.timedelta(days=k) for d in self.dates for k in (-1, 0, 1)}
            return out + sorted(days)
        if t.name == "list":
            if t.item is not None and t.item.vocab and t.item.vocab.startswith("field:"):
                lits = set(lits) | set(self.pack.case_field_values.get(t.item.vocab[6:], ()))
            strings = sorted(x for x in lits if isinstance(x, str))
            return out + [()] + [(s,) for s in strings]
        return out

    # -- search

    def search(
        self, fields: list[str], scope: SearchScope, fixed: dict, predicate
    ) -> Iterable[dict]:
        """Partial environments over `fields` (plus `fixed`) for which `predicate(env)` holds."""
        domains = [self.values(f, scope) for f in fields]
        size = 1
        for d in domains:
            size *= max(len(d), 1)
        base = {
            "service": scope.service,
            "submitted_on": scope.base,
            "agent": False,
            "diseases": (),
            "materials": frozenset(),
        }
        base.update({k: v for k, v in fixed.items() if v is not ABSENT})
        for k, v in fixed.items():
            if v is ABSENT:
                base.pop(k, None)

        def make(combo) -> dict:
            env = dict(base)
            for f, v in zip(fields, combo):
                if v is ABSENT:
                    env.pop(f, None)
                else:
                    env[f] = v
            return env

        if size <= EXHAUSTIVE_LIMIT:
            combos: Iterable = itertools.product(*domains)
        else:
            combos = _sampled(domains, SEARCH_EXAMPLES, predicate, make)
        for combo in combos:
            env = make(combo)
            if predicate(env):
                yield dict(fixed, **dict(zip(fields, combo)))


def _sampled(domains, count, predicate, make):
    """Combinations of values for a domain too large to enumerate: a seeded random pass
    first (cheap), then, when it finds nothing, a hypothesis search (small values first)."""
    rng = random.Random(0)
    found: list = []
    for _ in range(RANDOM_EXAMPLES):
        combo = tuple(rng.choice(d) for d in domains)
        if predicate(make(combo)):
            found.append(combo)
            if len(found) >= SAT_KEEP:
                break
    if found:
        yield from dict.fromkeys(found)
        return
    try:
        # deferred: hypothesis is optional (the test extra), ~70 ms; only for a large domain
        from hypothesis import HealthCheck, Phase, given, settings
        from hypothesis import strategies as st
    except ImportError:  # pragma: no cover - hypothesis is a test extra
        return

    strategy = st.tuples(*(st.sampled_from(d) for d in domains))

    class _Enough(Exception):
        pass

    @settings(
        max_examples=count,
        database=None,
        derandomize=True,
        deadline=None,
        phases=(Phase.generate,),
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def probe(combo):
        if predicate(make(combo)):
            found.append(combo)
            if len(found) >= SAT_KEEP:
                raise _Enough

    try:
        probe()
    except _Enough:
        pass
    yield from dict.fromkeys(found)
