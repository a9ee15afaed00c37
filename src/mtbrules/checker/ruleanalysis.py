"""The model analysis of a pack's rules: conflicts, unreachable and always-overridden
rules, and gaps of a service, disease or category, searched over constructed cases.

It never re-implements the DSL: it builds environments the way the evaluator does,
calls the compiled closures, and asks `analysis.not_overridden` which rules take effect.
"""

from __future__ import annotations

import datetime as _dt
import itertools
from collections.abc import Iterable

from .. import analysis
from ..errors import CalendarError
from ..pack import Pack
from .domain import ABSENT, EXHAUSTIVE_LIMIT, SAT_KEEP, CaseDomain, SearchScope, env_to_case
from .findings import Findings

#: The codes this analysis reports.
CODES = frozenset({"MTB430", "MTB431", "MTB432", "MTB433", "MTB434", "MTB435"})


class RuleAnalysis:
    """Conflicts, unreachable and shadowed rules, gaps: searched over a finite domain."""

    def __init__(self, found: Findings):
        self.c = found
        self.pack = found.pack
        self.domain = CaseDomain(self.pack)
        self.scopes = self._scopes()
        # (rule id, scope index) -> list of satisfying partial environments
        self._sat: dict = {}

    def _scopes(self) -> list[SearchScope]:
        out = []
        cal_years = _known_years(self.pack)
        for v in self.pack.versions:
            base = _typical_day(v, cal_years)
            if base is None:
                continue
            for s in self.pack.services:
                out.append(SearchScope(s, v, base))
        return out

    def in_scope(self, rule, scope: SearchScope) -> bool:
        return (rule.services is None or scope.service in rule.services) and (
            rule.versions is None or scope.version.id in rule.versions
        )

    # -- environments

    def sat(self, rule, si: int, fixed: dict | None = None) -> list[dict]:
        """Partial environments (over the fields `rule` reads, plus `fixed`) in which it applies."""
        scope = self.scopes[si]
        if not self.in_scope(rule, scope):
            return []
        fixed = fixed or {}
        reads = rule.when.fields if rule.when is not None else frozenset()
        relevant = {k: v for k, v in fixed.items() if k in reads}
        key = (rule.id, si, tuple(sorted(relevant.items(), key=lambda kv: kv[0])))
        found = self._sat.get(key)
        if found is None:
            fields = [f for f in sorted(reads) if f != "service" and f not in relevant]
            found = list(
                itertools.islice(
                    self.domain.search(fields, scope, relevant, lambda env: _holds(rule, env)),
                    SAT_KEEP,
                )
            )
            self._sat[key] = found
        return [dict(fixed, **p) for p in found]

    def env_of(self, partial: dict, scope: SearchScope) -> dict:
        env = {
            "service": scope.service,
            "submitted_on": scope.base,
            "agent": False,
            "diseases": (),
            "materials": frozenset(),
        }
        for k, v in partial.items():
            if v is ABSENT:
                env.pop(k, None)
            else:
                env[k] = v
        if env.get("agent", ABSENT) is ABSENT or "agent" not in env:
            env["agent"] = False
        return env

    def effective(self, env: dict, scope: SearchScope) -> set[str] | None:
        """Ids of the rules that take effect in `env` (None: the env is outside the pack's versions)."""
        version = self.pack.version_on(env["submitted_on"])
        if version is None or version.id != scope.version.id:
            return None
        applying = []
        for rule in self.pack.rules_by_service.get(scope.service, ()):
            if rule.versions is not None and version.id not in rule.versions:
                continue
            if _holds(rule, env):
                applying.append(rule.id)
        return set(analysis.not_overridden(applying, self.pack.suppresses))

    def case_of(self, env: dict) -> dict:
        return env_to_case(env, self.pack)

    # -- the checks

    def run(self):
        self._reachability()
        self._conflicts()
        self._gaps()

    def _reachability(self):
        for rule in self.pack.rules:
            if rule.when is None:
                continue
            applies, example = False, None
            effective = False
            for si, scope in enumerate(self.scopes):
                for partial in self.sat(rule, si):
                    env = self.env_of(partial, scope)
                    eff = self.effective(env, scope)
                    if eff is None:
                        continue
                    applies = True
                    if rule.id in eff:
                        effective = True
                        break
                    if example is None:
                        example = env
                if effective:
                    break
            loc = self.c.rule_location(rule, ("when",))
            if not applies:
                self.add_unreachable(rule, loc)
            elif not effective:
                over = sorted(
                    r.id for r in self.pack.rules if rule.id in self.pack.suppresses[r.id]
                )
                self.c.add(
                    "MTB432",
                    f"rule '{rule.id}' never takes effect: whenever it applies, {', '.join(over)} overrides it",
                    loc,
                    hint="narrow the overriding rule's condition, or remove this rule",
                    example=self.case_of(example) if example is not None else None,
                    subject=rule.id,
                )

    def add_unreachable(self, rule, loc):
        scope_services = (
            sorted(rule.services) if rule.services is not None else sorted(self.pack.services)
        )
        self.c.add(
            "MTB431",
            f"rule '{rule.id}' can never apply: no case makes its `when` true "
            f"(searched {', '.join(scope_services)} cases)",
            loc,
            hint="check the condition for contradictory tests, or a field that no case of this service gives",
            subject=rule.id,
        )

    def _conflicts(self):
        pack = self.pack
        setters: dict[str, list] = {}
        for rule in pack.rules:
            for slot in rule.sets():
                setters.setdefault(slot, []).append(rule)
        reported = set()
        for slot, rules in setters.items():
            for a, b in itertools.combinations(rules, 2):
                if a.id in pack.suppresses[b.id] or b.id in pack.suppresses[a.id]:
                    continue
                if (a.id, b.id) in reported:
                    continue
                env = self._both(a, b)
                if env is None:
                    continue
                reported.add((a.id, b.id))
                what = "the outcome" if slot == "outcome" else f"deadline '{slot.split(':', 1)[1]}'"
                self.c.add(
                    "MTB430",
                    f"conflict: rules '{a.id}' and '{b.id}' can both apply and both set {what}, and neither overrides the other",
                    b.location,
                    hint=f"'{a.id}' is at {a.location}; add `overrides: [{a.id}]` to the more specific rule, or make the conditions exclusive",
                    example=self.case_of(env),
                )

    def _both(self, a, b) -> dict | None:
        """An environment where both rules take effect, or None."""
        for si, scope in enumerate(self.scopes):
            if not (self.in_scope(a, scope) and self.in_scope(b, scope)):
                continue
            tried = 0
            for pa in self.sat(a, si):
                for pb in self.sat(b, si, fixed=pa):
                    env = self.env_of({**pa, **pb}, scope)
                    eff = self.effective(env, scope)
                    if eff is not None and a.id in eff and b.id in eff:
                        return env
                    tried += 1
                    if tried > EXHAUSTIVE_LIMIT:
                        break
                if tried > EXHAUSTIVE_LIMIT:
                    break
        return None

    def _reachable(self, rules, fixed: dict, scopes=None) -> dict | None:
        """An environment (with `fixed` fields) in which one of `rules` takes effect."""
        for si, scope in enumerate(self.scopes):
            if scopes is not None and si not in scopes:
                continue
            for rule in rules:
                if not self.in_scope(rule, scope):
                    continue
                if rule.when is None:
                    candidates: Iterable[dict] = [dict(fixed)]
                else:
                    candidates = (dict(fixed, **p) for p in self.sat(rule, si, fixed=fixed))
                for partial in candidates:
                    env = self.env_of(partial, scope)
                    eff = self.effective(env, scope)
                    if eff is not None and rule.id in eff:
                        return env
        return None

    def _gaps(self):
        pack = self.pack
        kinds = (
            ("decides its outcome", [r for r in pack.rules if r.outcome], "outcome"),
            ("requires a document", [r for r in pack.rules if r.require], "documents"),
            (
                "sets a time limit",
                [r for r in pack.rules if r.deadlines or r.outcome == "instant"],
                "time_limit",
            ),
        )
        hint = "encode the sentence that covers it; if the text is silent, acknowledge it in a pack note"
        for service in pack.services:
            scopes = {i for i, s in enumerate(self.scopes) if s.service == service}
            if not scopes:
                continue
            loc = self.c.entry_location("pack.yaml", "services", service)
            example = self.case_of(self.env_of({}, self.scopes[min(scopes)]))
            for what, rules, tag in kinds:
                if self._reachable(rules, {}, scopes) is None:
                    self.c.add(
                        "MTB433",
                        f"service '{service}': no rule {what} for any case",
                        loc,
                        hint=hint,
                        example=example,
                        subject=f"{service}:{tag}",
                    )
        reads: set[str] = set()
        for r in pack.rules:
            if r.when is not None:
                reads |= r.when.fields
        if "diseases" in reads and self.scopes:
            checked: dict = {}
            for d in pack.diseases.values():
                key = self.domain.disease_class(d)
                if key not in checked:
                    checked[key] = [
                        (what, tag)
                        for what, rules, tag in kinds
                        if self._reachable(rules, {"diseases": (d,)}) is None
                    ]
                for what, tag in checked[key]:
                    self.c.add(
                        "MTB434",
                        f"disease '{d.id}': no rule {what} for a case naming it",
                        self.c.entry_location("diseases.yaml", "diseases", d.id),
                        hint=hint,
                        example=self.case_of(self.env_of({"diseases": (d,)}, self.scopes[0])),
                        subject=f"{d.id}:{tag}",
                    )
        if "category" in reads and self.scopes:
            for cat in pack.categories.values():
                for what, rules, tag in kinds:
                    if self._reachable(rules, {"category": cat.id}) is None:
                        self.c.add(
                            "MTB435",
                            f"category '{cat.id}': no rule {what} for a case in it",
                            self.c.entry_location("categories.yaml", "categories", cat.id),
                            hint=hint,
                            example=self.case_of(self.env_of({"category": cat.id}, self.scopes[0])),
                            subject=f"{cat.id}:{tag}",
                        )


def _holds(rule, env) -> bool:
    if rule.when is None:
        return True
    try:
        return rule.when.fn(env) is True
    except (CalendarError, OverflowError, ValueError, TypeError, KeyError):
        return False


def _known_years(pack: Pack) -> tuple[int, int] | None:
    cal = pack.calendar
    years = getattr(cal, "known_years", None) or getattr(cal, "years", None)
    if years is None:
        return None
    try:
        ys = sorted(years)
        return ys[0], ys[-1]
    except Exception:  # noqa: BLE001 - calendar without a year list
        return None


def _typical_day(version, years) -> _dt.date | None:
    want = _dt.date(2025, 9, 29)
    start, end = version.effective_from, version.effective_to or _dt.date.max
    if years is not None:
        start = max(start, _dt.date(years[0], 1, 1))
        end = min(end, _dt.date(years[1], 12, 31))
    if start > end:
        return None
    return min(max(want, start), end)
