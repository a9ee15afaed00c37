"""The interpreted assembly of a Decision: the reference the generated decision is tested against.

`Evaluation` decides one case step by step (the obvious way). It is the
oracle of the whole-decision differential test (generated ≡ interpreted), and
it serves the paths the generated functions leave to it (mtbrules.decisioncode,
mtbrules.decisionindex): diseases outside a catalogue declared incomplete
(undetermined), conflicts and errors that must name their rule. Pure: the
date comes from the case (never the clock), so one Pack serves many threads.
"""

from __future__ import annotations

from functools import partial
from typing import Protocol

from .case import Case
from .decision import (
    ChannelRef,
    Deadline,
    Decision,
    PathStep,
    Reason,
    RequiredDocument,
)
from .decisionparts import (
    RULE_DISEASES,
    RULE_UNDECIDED,
    check_vocabulary,
    deadline_basis,
    is_provided,
    match_materials,
    no_service,
    no_version,
    provided_ids,
    provisional_deadline,
    unknown_diseases,
)
from .diagnostics import Diagnostic
from .dsltypes import UNDEFINED
from .env import Env
from .errors import CalendarError, CaseError, ConflictError
from .messages import DEFAULT_LANG, join
from .messages import text as _text
from .prepared import PackContent, PreparedPack
from .workdays import track


class Prepared(PackContent, Protocol):
    """A pack with its prepared form (mtbrules.pack.Pack)."""

    @property
    def prepared(self) -> PreparedPack: ...


class Trace:
    """What one evaluation saw: a hook for tools that explain decisions.

    `env` is the environment the rules' conditions read (None when the engine
    decided before any rule ran); `version` the version in force; `results`
    maps each rule in scope (service and version) to True, False or UNDEFINED;
    `suppressed` holds the rules that an applying rule overrides.
    """

    __slots__ = ("env", "results", "suppressed", "version")

    def __init__(self):
        self.env: dict | None = None
        self.version = None
        self.results: dict = {}
        self.suppressed: frozenset = frozenset()


class Evaluation:
    """One case decided by the interpreted assembly (CONTRACT §3)."""

    def __init__(
        self, pack: Prepared, case: Case, trace: Trace | None = None, lang: str = DEFAULT_LANG
    ):
        self.pack = pack
        self.prep = pack.prepared
        self.lang = lang
        self.case = case
        self.trace = trace
        self.values = case.values
        self.as_of = case.submitted_on.isoformat()
        self.service = case.service
        self.warnings: list[str] = []

    def msg(self, message_id: str, *args, **kw) -> str:
        """An engine message in the answer's language (messages.py)."""
        return _text(message_id, self.lang, *args, **kw)

    # -- outcomes the engine decides before any rule

    def _decision(self, version, outcome, **kw) -> Decision:
        return Decision(
            pack=self.pack.id,
            pack_version=version.id if version else None,
            service=self.service,
            as_of=self.as_of,
            outcome=outcome,
            complete=kw.pop("complete", False),
            warnings=tuple(self.warnings),
            **kw,
        )

    def _engine_step(self, rule: str, title: str, source: str) -> PathStep:
        return PathStep(rule, title, source)

    def run(self) -> Decision:
        self._check_vocabulary()
        pack, values = self.pack, self.values
        if self.case.pack and self.case.pack not in (pack.id, pack.folder):
            self.warnings.append(self.msg("case.other_pack", named=self.case.pack, pack=pack.id))
        version = pack.version_on(self.case.submitted_on)
        if version is None:
            path, reasons = no_version(pack, self.as_of, self.lang)
            return self._decision(None, "not_covered", path=path, reasons=reasons)
        if self.service not in pack.services:
            path, reasons = no_service(pack, self.service, self.lang)
            return self._decision(version, "not_covered", path=path, reasons=reasons)

        diseases, matches, unknown = self.prep.named_diseases(self.case.diseases)
        if unknown and not pack.diseases and pack.unknown_members is None:
            # A pack with no disease catalogue does not decide by disease (e.g. off-site filing).
            self.warnings.append(self.msg("diseases.not_used", pack=pack.id))
            unknown = ()
        if unknown and pack.unknown_members is None:
            return self._unknown_diseases(version, matches, unknown)
        # The pack declares its catalogue incomplete: a disease it does not list is one the
        # source is silent on (undetermined), and the listed ones are still decided by the rules.
        unlisted = tuple(unknown)
        if unlisted:
            self._unknown_members_warning(unlisted)

        provided = match_materials(self.prep, self.case.materials, self.warnings, self.lang)
        env = Env(values)
        env["diseases"] = diseases
        env["materials"] = self._provided_ids(provided)
        if self.trace is not None:
            self.trace.env = env
            self.trace.version = version

        effective, undecided = self._applying_rules(version, env)
        for rule in undecided:
            missing = sorted(f for f in rule.when.needs if f not in env)
            if missing:
                self.warnings.append(
                    self.msg("rules.undecided", rule=rule.id, fields=join(missing, self.lang))
                )
        setters = self._setters(effective)
        rejects = [r for r in effective if r.reject]
        if unlisted and not any(whatever_the_diseases(r) for r in rejects):
            return self._undetermined(version, matches, unlisted, effective, setters, provided, env)
        if rejects:
            # An ineligible decision explains the exclusion only; other rules' notes are noise here.
            used = [r for r in effective if r.reject or r.warn]
            reasons = self._reasons(rejects)
            self.warnings.extend(r.warn for r in used if r.warn)
            return self._decision(
                version, "ineligible", diseases=matches, path=self._path(used), reasons=reasons
            )
        outcome_rule = setters.get("outcome")
        if outcome_rule is None:
            used = [r for r in effective if r.reason or r.warn]
            self.warnings.extend(r.warn for r in used if r.warn)
            step = self._engine_step(
                RULE_UNDECIDED, self.msg("rules.no_outcome_step"), "pack rules"
            )
            text = self.msg("rules.no_outcome", pack=pack.id, service=self.service)
            reasons = self._reasons(used) + (Reason(RULE_UNDECIDED, text, step.source),)
            return self._decision(
                version,
                "not_covered",
                diseases=matches,
                path=self._path(used) + (step,),
                reasons=reasons,
            )

        return self._decided(
            version, outcome_rule.outcome, matches, effective, outcome_rule, provided, env
        )

    def _decided(
        self, version, outcome, matches, effective, outcome_rule, provided, env, first=(), before=()
    ) -> Decision:
        """The answer the applying rules give: their documents, channels and deadlines.
        `first` (path steps) and `before` (reasons) come ahead of the rules' own."""
        documents = self._required_documents(effective, provided)
        complete = self.case.materials is not None and all(d.provided for d in documents)
        deadlines = self._deadlines(effective, env)
        if outcome_rule.outcome == "instant":
            deadlines = self._instant_due(outcome_rule, deadlines)
        channels = self._channels(effective)
        self.warnings.extend(r.warn for r in effective if r.warn)
        return self._decision(
            version,
            outcome,
            complete=complete,
            diseases=matches,
            required_documents=documents,
            channels=channels,
            path=tuple(first) + self._path(effective),
            deadlines=deadlines,
            reasons=tuple(before) + self._reasons(effective),
        )

    # -- input against the pack's vocabularies (CONTRACT §2: exit 2, naming the allowed values)

    def _check_vocabulary(self):
        self.values = check_vocabulary(self.pack, self.prep, self.values)

    def _unknown_diseases(self, version, matches, unknown) -> Decision:
        """A complete catalogue: a disease outside it is not covered (ineligible), with did-you-mean."""
        path, reasons = unknown_diseases(self.prep, unknown, self.lang)
        return self._decision(version, "ineligible", diseases=matches, path=path, reasons=reasons)

    def _unknown_members_warning(self, unlisted) -> None:
        pack = self.pack
        um = pack.unknown_members
        assert um is not None  # only called for a catalogue declared incomplete
        self.warnings.append(
            self.msg(
                "diseases.unknown_members",
                stated=um.count_stated,
                listed=len(pack.diseases),
                names="、".join(unlisted),
                note=um.note,
            )
        )

    def _undetermined(self, version, matches, unlisted, effective, setters, provided, env):
        """Some diseases of the case are outside a catalogue the pack declares incomplete.

        The source is silent on them, so the case as a whole is `undetermined`; the listed
        diseases still get what the rules decide for them (documents, channels, deadlines).
        Exclusions that hold whatever the diseases are were decided before (ineligible).
        """
        pack = self.pack
        um = pack.unknown_members
        assert um is not None  # only called for a catalogue declared incomplete
        note = um.acknowledged_by
        source = (
            str(note.source)
            if note is not None and note.source
            else "diseases.yaml unknown_members"
        )
        note_id = note.id if note is not None else None
        reasons = []
        for name in unlisted:
            text = self.msg(
                "diseases.unlisted", name=name, listed=len(pack.diseases), stated=um.count_stated
            )
            close = self.prep.disease_index.closest(name)
            if close:
                text += self.msg("diseases.closest_listed", names="、".join(close))
            if note_id:
                text += self.msg("diseases.see_note", note=note_id)
            reasons.append(Reason(RULE_DISEASES, text, source, note_id))
        step = self._engine_step(RULE_DISEASES, self.msg("diseases.unlisted_step"), source)
        if not matches:
            return self._decision(version, "undetermined", path=(step,), reasons=tuple(reasons))
        listed = "、".join(m.name for m in matches)
        rejects = [r for r in effective if r.reject]
        outcome_rule = setters.get("outcome")
        if rejects or outcome_rule is None:
            # The listed diseases alone are excluded, or no rule decides them: no checklist.
            used = [r for r in effective if r.reject or (not rejects and r.reason) or r.warn]
            self.warnings.extend(r.warn for r in used if r.warn)
            extra: tuple[Reason, ...] = ()
            if not rejects:
                text = self.msg(
                    "diseases.listed_no_outcome", pack=pack.id, service=self.service, names=listed
                )
                extra = (Reason(RULE_UNDECIDED, text, "pack rules"),)
            return self._decision(
                version,
                "undetermined",
                diseases=matches,
                path=(step,) + self._path(used),
                reasons=tuple(reasons) + self._reasons(rejects or used) + extra,
            )
        outcome = outcome_rule.outcome
        text = self.msg(
            "diseases.listed_outcome",
            names=listed,
            outcome=outcome,
            outcome_name=self.msg(f"outcome.{outcome}"),
        )
        reasons.append(Reason(outcome_rule.id, text, str(outcome_rule.source)))
        return self._decided(
            version,
            "undetermined",
            matches,
            effective,
            outcome_rule,
            provided,
            env,
            (step,),
            reasons,
        )
        index = self.prep.document_index
        for m in self.case.materials:
            ident = index.lookup(m.name)
            if ident is None:
                self.warnings.append(self.msg("materials.unknown", name=m.name))
                continue
            provided.setdefault(ident, []).append(m.issued_on)
        return provided

    def _provided_ids(self, provided) -> frozenset:
        return provided_ids(self.prep, provided)

    # -- rules

    def _applying_rules(self, version, env):
        """The rules that take effect (in order) and those left undecided (generated code)."""
        rules = self.prep.rules_by_service[self.service]
        try:
            (effective, undecided), read = track(
                partial(self.prep.firing[self.service], env, version.id)
            )
            if read is not None:
                what = self.msg("calendar.what.conditions")
                self.warnings.append(read.describe_reading(what, self.lang))
        except (CalendarError, OverflowError, ValueError):
            # Evaluate rule by rule to say which rule failed, and why.
            for rule in rules:
                self._condition(rule, version, env)
            raise
        if self.trace is not None:  # every rule's result, for explain and coverage (when asked)
            record_results(self.trace, self.prep, self.service, env, version)
        return effective, undecided

    def _condition(self, rule, version, env):
        if rule.versions is not None and version.id not in rule.versions:
            return None
        if rule.when is None:
            return True
        try:
            return rule.when.fn(env)
        except CalendarError as exc:
            raise CalendarError(f"rule {rule.id}: {exc}", exc.diagnostics) from None
        except (OverflowError, ValueError) as exc:
            raise CaseError(f"rule {rule.id} cannot be evaluated for this case: {exc}") from None

    def _setters(self, effective) -> dict:
        setters: dict = {}
        for rule in effective:
            for slot in rule.slots:
                other = setters.get(slot)
                if other is not None:
                    what = (
                        "the outcome"
                        if slot == "outcome"
                        else f"deadline '{slot.split(':', 1)[1]}'"
                    )
                    raise ConflictError.from_diagnostics(
                        [
                            Diagnostic(
                                "MTB420",
                                f"conflict: rules {other.id} and {rule.id} both apply and both set {what}, "
                                "and neither overrides the other",
                                rule.location,
                                hint=f"{other.id} is at {other.location}; add `overrides: [{other.id}]` to the more specific rule",
                            )
                        ]
                    )
                setters[slot] = rule
        return setters

    def _path(self, rules) -> tuple[PathStep, ...]:
        steps = self.prep.path_steps
        return tuple(steps[r.id] for r in rules)

    def _reasons(self, rules) -> tuple[Reason, ...]:
        out: list[Reason] = []  # one list, not `tuple +=` (quadratic in the rules that apply)
        reasons = self.prep.reasons_of
        for r in rules:
            out.extend(reasons[r.id])
        return tuple(out)

    def _required_documents(self, effective, provided) -> tuple[RequiredDocument, ...]:
        requirements = self.prep.requirements_of
        listed: dict[str, RequiredDocument] = {}
        for rule in effective:
            for req, doc, candidates, entry in requirements[rule.id]:
                if req.doc in listed:
                    continue
                if req.issued_within is None:  # the common case: any candidate will do
                    is_provided = not provided.keys().isdisjoint(candidates)
                else:
                    is_provided = self._is_provided(doc, req, provided)
                listed[req.doc] = entry[is_provided]
        return tuple(listed.values())

    def _is_provided(self, doc, req, provided) -> bool:
        return is_provided(self.pack, self.case, doc, req, provided, self.warnings, self.lang)

    def _deadlines(self, effective, env) -> tuple[Deadline, ...]:
        out = []
        for rule in effective:
            for spec in rule.deadlines:
                try:
                    value, provisional = track(partial(spec.date.fn, env))
                except CalendarError as exc:
                    raise CalendarError(
                        f"rule {rule.id}, deadline {spec.kind}: {exc}", exc.diagnostics
                    ) from None
                except (OverflowError, ValueError) as exc:
                    raise CaseError(f"rule {rule.id}, deadline {spec.kind}: {exc}") from None
                if value is UNDEFINED:
                    missing = sorted(f for f in spec.date.needs if f not in env)
                    self.warnings.append(
                        self.msg(
                            "deadlines.undefined",
                            kind=spec.kind,
                            rule=rule.id,
                            fields=join(missing, self.lang),
                        )
                    )
                    continue
                basis = spec.basis or deadline_basis(
                    spec.date.node, env, spec.date.conditions, self.lang
                )
                deadline = Deadline(spec.kind, value.isoformat(), basis, rule.id, str(rule.source))
                if provisional is not None:
                    deadline = provisional_deadline(deadline, provisional, self.warnings, self.lang)
                out.append(deadline)
        return tuple(out)

    def _instant_due(self, rule, deadlines) -> tuple[Deadline, ...]:
        """An instant decision is due the day it is made (contract amendment 2026-12),
        cited by the rule that makes it instant; a pack's own decision_due stands."""
        if any(d.kind == "decision_due" for d in deadlines):
            return deadlines
        basis = self.msg("basis.instant", date=self.as_of)
        due = Deadline("decision_due", self.as_of, basis, rule.id, str(rule.source))
        return (due,) + deadlines

    def _channels(self, effective) -> tuple[ChannelRef, ...]:
        seen: dict[str, ChannelRef] = {}
        refs = self.prep.channel_refs
        for rule in effective:
            for cid in rule.channels:
                if cid not in seen:
                    seen[cid] = refs[cid]
        return tuple(seen.values())


def record_results(trace: Trace, prep: PreparedPack, service: str, env: Env, version) -> None:
    """Fill `trace` with each rule's result on `env` and the rules the applying ones override.

    The service's generated condition runner computes them: the trace hook of
    both assemblies, run only when a trace is asked for.
    """
    trace.env, trace.version = env, version
    results = prep.condition_runners[service](env, version.id)
    applying = []
    for rule, result in zip(prep.rules_by_service[service], results):
        if result is not None:
            trace.results[rule.id] = result
        if result is True:
            applying.append(rule)
    if applying:
        trace.suppressed = frozenset().union(*(prep.suppresses[r.id] for r in applying))


def whatever_the_diseases(rule) -> bool:
    """The rule's condition does not read the case's diseases: it holds for unlisted ones too."""
    return rule.when is None or "diseases" not in rule.when.fields
