"""A pack prepared for evaluation: its indices, static decision parts and generated code.

`Pack` (pack.py) is the data a pack's files say; everything derived from it
for deciding cases lives here, built once per pack (the generated functions
on first use of each service, so loading stays fast). As OPA's prepared
query, it is immutable once built and shared between threads.
"""

from __future__ import annotations

import datetime as _dt
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Generic, Protocol, TypeVar

from . import codegen, decisioncode, decisionindex
from . import workdays as wd
from .case import CaseReader
from .decision import ChannelRef, DiseaseMatch, PathStep, Reason, RequiredDocument
from .decisionruntime import Decider
from .model import (
    Category,
    Channel,
    Disease,
    Document,
    Rule,
    UnknownMembers,
    Version,
)
from .names import NameIndex
from .primitives import UNIT_WORDS

T = TypeVar("T")

#: What a case's disease names come to: the diseases, their matches, the names not known.
Named = tuple[tuple[Disease, ...], tuple[DiseaseMatch, ...], tuple[str, ...]]

_KEPT = 4096  # entries of the per-names and per-day memos: beyond, computed each time

#: The default bound of a generated decision function's memo (PreparedPack.decision_memo).
DECISION_MEMO = 2048
#: Cases of one pattern of present fields before it gets its own function, and how many
#: patterns may (PreparedPack.specialise_after, .specialised_max).
SPECIALISE_AFTER = 8
SPECIALISED_MAX = 32


class PackContent(Protocol):
    """What preparing reads of a pack: the data of mtbrules.pack.Pack."""

    @property
    def id(self) -> str: ...
    @property
    def folder(self) -> str: ...
    @property
    def versions(self) -> tuple[Version, ...]: ...
    @property
    def services(self) -> Mapping[str, Any]: ...
    @property
    def case_fields(self) -> Mapping[str, str]: ...
    @property
    def case_field_values(self) -> Mapping[str, tuple]: ...
    @property
    def diseases(self) -> Mapping[str, Disease]: ...
    @property
    def unknown_members(self) -> UnknownMembers | None: ...
    @property
    def documents(self) -> Mapping[str, Document]: ...
    @property
    def channels(self) -> Mapping[str, Channel]: ...
    @property
    def categories(self) -> Mapping[str, Category]: ...
    @property
    def rules(self) -> tuple[Rule, ...]: ...
    @property
    def calendar(self) -> wd.WorkingCalendar: ...

    def version_on(self, day: _dt.date) -> Version | None: ...


class PreparedPack:
    """The indices and compiled functions evaluating cases against one pack."""

    def __init__(self, pack: PackContent):
        self.pack = pack
        self.case_reader = CaseReader(pack.case_fields, pack.case_field_values)
        self.disease_index = NameIndex(
            _names(pack.diseases.values()), display=[d.name for d in pack.diseases.values()]
        )
        self.document_index = NameIndex(
            _names(pack.documents.values()), display=[d.name for d in pack.documents.values()]
        )
        self.category_index = NameIndex(
            _names(pack.categories.values()), display=[c.name for c in pack.categories.values()]
        )
        self.rules_by_service: dict[str, tuple[Rule, ...]] = {
            s: tuple(r for r in pack.rules if r.services is None or s in r.services)
            for s in pack.services
        }
        self.rules_by_id: dict[str, Rule] = {r.id: r for r in pack.rules}
        self.suppresses: dict[str, frozenset[str]] = override_closure(pack.rules)
        # Parts of decisions that depend only on the pack (the hot path copies none of them).
        self.path_steps: dict[str, PathStep] = {}
        self.rule_reasons: dict[str, tuple[tuple[Reason, ...], tuple[Reason, ...]]] = {}
        self.requirement_entries: dict[tuple[str, str], tuple[RequiredDocument, ...]] = {}
        for r in pack.rules:
            source = str(r.source)
            self.path_steps[r.id] = PathStep(r.id, r.title, source, r.source.quote)
            self.rule_reasons[r.id] = (
                (Reason(r.id, r.reject, source),) if r.reject else (),
                (Reason(r.id, r.reason, source),) if r.reason else (),
            )
            for req in r.require:
                doc = pack.documents[req.doc]
                within = (
                    f"{req.issued_within[0]} {UNIT_WORDS[req.issued_within[1]]}"
                    if req.issued_within
                    else None
                )
                self.requirement_entries[(r.id, req.doc)] = tuple(
                    RequiredDocument(
                        doc.id, doc.name, doc.name_en, provided, r.id, source, doc.any_of, within
                    )
                    for provided in (False, True)
                )
        # Per rule, in order: its reasons, and each requirement with its document,
        # the ids that satisfy it (the document or an alternative) and its two entries.
        self.reasons_of: dict[str, tuple[Reason, ...]] = {
            rid: rejected + informed for rid, (rejected, informed) in self.rule_reasons.items()
        }
        self.requirements_of: dict[str, tuple[tuple[Any, ...], ...]] = {
            r.id: tuple(
                (
                    req,
                    pack.documents[req.doc],
                    frozenset((req.doc, *pack.documents[req.doc].any_of)),
                    self.requirement_entries[(r.id, req.doc)],
                )
                for req in r.require
            )
            for r in pack.rules
        }
        self.channel_refs = {
            c.id: ChannelRef(c.id, c.name, c.kind, c.name_en) for c in pack.channels.values()
        }
        self.disease_matches = {
            d.id: DiseaseMatch(d.id, d.name, tuple(sorted(d.groups)))
            for d in pack.diseases.values()
        }
        self.alternative_documents = tuple(
            (d.id, d.any_of) for d in pack.documents.values() if d.any_of
        )
        self._named: dict[tuple[str, ...], Named] = {}
        self._days: dict[_dt.date, tuple[Version | None, str]] = {}
        self.condition_runners = _PerService(self, _build_runner)
        self.firing = _PerService(self, _build_firing)
        # service -> the generated whole-decision function (None: the interpreter decides).
        self.deciders = _PerService(self, _build_decider)

    #: Entries each generated decision function keeps of the parts of decisions that
    #: depend only on which rules take effect and which documents a case provides (and
    #: of deadlines per date): 0 turns the memo off (set_decision_memo).
    decision_memo = DECISION_MEMO

    #: A pattern of present fields seen this many times gets a decision function specialised
    #: to it, up to `specialised_max` patterns per service (decisionruntime.Shapes; 0: none).
    specialise_after = SPECIALISE_AFTER
    specialised_max = SPECIALISED_MAX

    def set_specialisation(self, after: int, most: int) -> None:
        """When a pattern of present fields gets its own function, and how many (0: none)."""
        self.specialise_after, self.specialised_max = after, most
        self.deciders = _PerService(self, _build_decider)

    def set_decision_memo(self, entries: int) -> None:
        """Bound the generated functions' memo (0: none); they are generated again on next use."""
        self.decision_memo = entries
        self.deciders = _PerService(self, _build_decider)

    def named_diseases(self, names: tuple[str, ...]) -> Named:
        """The diseases of the pack that `names` name (each once, in order), their
        matches in a Decision, and the names the pack does not know. Kept per names."""
        if type(names) is not tuple:
            names = tuple(names)
        named = self._named.get(names)
        if named is None:
            lookup, catalogue = self.disease_index.lookup, self.pack.diseases
            found: dict[str, Disease] = {}
            unknown = []
            for name in names:
                ident = lookup(name)
                if ident is None:
                    unknown.append(name)
                elif ident not in found:
                    found[ident] = catalogue[ident]
            matches = tuple([self.disease_matches[i] for i in found])
            named = (tuple(found.values()), matches, tuple(unknown))
            if len(self._named) < _KEPT:
                self._named[names] = named
        return named

    def on_day(self, day: _dt.date) -> tuple[Version | None, str]:
        """The version in force on `day` and the day as ISO text (`as_of`). Kept per day."""
        known = self._days.get(day)
        if known is None:
            known = (self.pack.version_on(day), day.isoformat())
            if len(self._days) < _KEPT:
                self._days[day] = known
        return known

    def generated_source(self, service: str) -> str | None:
        """The Python source generated for `service` (None: the reference interpreter runs it).

        The whole-decision function (mtbrules.decisioncode): every rule's
        condition (a plain form and an undefined-aware one), which rules take
        effect, and the Decision they give; for a service of many disease
        rules (mtbrules.decisionindex), the ungated conditions in line and a
        function per gated one. Where no such function is made, the firing
        function. Literals appear as `_k…` names: they are data in the
        namespace, never text.
        """
        if service not in self.rules_by_service:
            raise KeyError(service)
        fn: Any = self.deciders[service] or self.firing[service]
        fn = getattr(fn, "general", fn)  # dispatching on present fields: the general function
        source = getattr(fn, "source", None)
        if source is None:
            return None
        constants = sorted(
            (int(k[2:]), k, v)
            for k, v in fn.__globals__.items()
            if k[:2] == "_k" and k[2:].isdigit()
        )
        listing = "".join(f"# {k} = {v!r}\n" for _, k, v in constants)
        return source + (
            "\n# constants (data of the namespace, not code):\n" + listing if listing else ""
        )


def _names(items: Iterable[Any]) -> Iterator[tuple[str, str]]:
    for item in items:
        yield item.name, item.id
        yield item.id, item.id
        if getattr(item, "name_en", None):
            yield item.name_en, item.id
        for alias in getattr(item, "aliases", ()):
            yield alias, item.id


def _build_runner(prepared: PreparedPack, service: str) -> codegen.Runner:
    pack = prepared.pack
    return codegen.build_runner(
        f"{pack.id}:{service}", prepared.rules_by_service[service], pack.calendar
    )


def _build_decider(prepared: PreparedPack, service: str) -> Decider | None:
    pack = prepared.pack
    # Many disease rules: gated rules found by the case's diseases, not each tested in line.
    indexed = decisionindex.indexed(prepared.rules_by_service[service])
    build = decisionindex.build_decider if indexed else decisioncode.build_decider
    return build(f"{pack.id}:{service}", pack, prepared, service, prepared.decision_memo)


def _build_firing(prepared: PreparedPack, service: str) -> codegen.Firing:
    pack = prepared.pack
    return codegen.build_firing(
        f"{pack.id}:{service}",
        prepared.rules_by_service[service],
        prepared.suppresses,
        pack.calendar,
    )


class _PerService(Generic[T]):
    """service → a generated function, built on first use (start-up stays fast)."""

    def __init__(self, prepared: PreparedPack, build: Callable[[PreparedPack, str], T]):
        self._prepared = prepared
        self._build = build
        self._built: dict[str, T] = {}
        self._lock = threading.Lock()

    def __getitem__(self, service: str) -> T:
        try:
            return self._built[service]
        except KeyError:
            with self._lock:
                if service not in self._built:
                    self._built[service] = self._build(self._prepared, service)
                return self._built[service]


def override_closure(rules: Iterable[Rule]) -> dict[str, frozenset[str]]:
    """Rule id -> every rule it overrides, directly or through others."""
    direct = {r.id: set(r.overrides) for r in rules}
    closure: dict[str, frozenset[str]] = {}

    def reach(rid: str, seen: set[str]) -> set[str]:
        out = set()
        for nxt in direct.get(rid, ()):
            if nxt not in seen:
                seen.add(nxt)
                out.add(nxt)
                out |= reach(nxt, seen)
        return out

    for rid in direct:
        closure[rid] = frozenset(reach(rid, {rid}))
    return closure
