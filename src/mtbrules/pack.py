"""The compiled Pack: catalogues, rules in order, versions, and the indices evaluation uses."""

from __future__ import annotations

import datetime as _dt
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from . import workdays as wd
from .model import (
    Category,
    Channel,
    Disease,
    Document,
    Fact,
    Group,
    Note,
    Rule,
    Service,
    Source,
    UnknownMembers,
    Version,
)
from .names import NameIndex

if TYPE_CHECKING:
    from .decision import Decision


@attrs.frozen(eq=False)
class Pack:
    """A loaded policy pack. Immutable and safe to share between threads."""

    id: str
    name: str
    name_en: str | None
    city: str
    province: str | None
    folder: str
    sources: Mapping[str, Source]
    versions: tuple[Version, ...]
    services: Mapping[str, Service]
    case_fields: Mapping[str, str]
    case_field_values: Mapping[str, tuple]
    facts: tuple[Fact, ...]
    notes: tuple[Note, ...]
    groups: Mapping[str, Group]
    diseases: Mapping[str, Disease]
    unknown_members: UnknownMembers | None
    documents: Mapping[str, Document]
    channels: Mapping[str, Channel]
    categories: Mapping[str, Category]
    rules: tuple[Rule, ...]
    calendar: wd.WorkingCalendar
    # The names, types and vocabularies the rules were compiled against (compiler.Scope);
    # tools compile sub-expressions with it (e.g. `mtbrules explain`).
    scope: Any = attrs.field(default=None, kw_only=True)

    # Derived indices, built once.
    disease_index: NameIndex = attrs.field(init=False)
    document_index: NameIndex = attrs.field(init=False)
    category_index: NameIndex = attrs.field(init=False)
    rules_by_service: Mapping[str, tuple[Rule, ...]] = attrs.field(init=False)
    rules_by_id: Mapping[str, Rule] = attrs.field(init=False)
    suppresses: Mapping[str, frozenset] = attrs.field(init=False)
    # Parts of decisions that depend only on the pack, built once (evaluation's hot path).
    path_steps: Mapping[str, Any] = attrs.field(init=False, repr=False)
    rule_reasons: Mapping[str, tuple] = attrs.field(init=False, repr=False)
    requirement_entries: Mapping[tuple, tuple] = attrs.field(init=False, repr=False)
    channel_refs: Mapping[str, Any] = attrs.field(init=False, repr=False)
    alternative_documents: tuple = attrs.field(init=False, repr=False)
    disease_matches: Mapping[str, Any] = attrs.field(init=False, repr=False)
    # service -> generated function evaluating every rule's condition (codegen.py)
    condition_runners: Mapping[str, Any] = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self):
        def names(items, with_aliases=True):
            for item in items:
                yield item.name, item.id
                yield item.id, item.id
                if getattr(item, "name_en", None):
                    yield item.name_en, item.id
                if with_aliases:
                    for alias in getattr(item, "aliases", ()):
                        yield alias, item.id

        setter = object.__setattr__
        setter(
            self,
            "disease_index",
            NameIndex(
                names(self.diseases.values()), display=[d.name for d in self.diseases.values()]
            ),
        )
        setter(
            self,
            "document_index",
            NameIndex(
                names(self.documents.values()), display=[d.name for d in self.documents.values()]
            ),
        )
        setter(
            self,
            "category_index",
            NameIndex(
                names(self.categories.values()), display=[c.name for c in self.categories.values()]
            ),
        )
        setter(
            self,
            "rules_by_service",
            {
                s: tuple(r for r in self.rules if r.services is None or s in r.services)
                for s in self.services
            },
        )
        setter(self, "rules_by_id", {r.id: r for r in self.rules})
        setter(self, "suppresses", _override_closure(self.rules))
        self._build_decision_parts(setter)
        setter(self, "condition_runners", _Runners(self))

    def _build_decision_parts(self, setter):
        from .decision import ChannelRef, DiseaseMatch, PathStep, Reason, RequiredDocument

        units = {
            "working_days": "working days",
            "days": "days",
            "weeks": "weeks",
            "months": "months",
            "years": "years",
        }
        steps, reasons, entries = {}, {}, {}
        for r in self.rules:
            source = str(r.source)
            steps[r.id] = PathStep(r.id, r.title, source, r.source.quote)
            reasons[r.id] = (
                (Reason(r.id, r.reject, source),) if r.reject else (),
                (Reason(r.id, r.reason, source),) if r.reason else (),
            )
            for req in r.require:
                doc = self.documents[req.doc]
                within = (
                    f"{req.issued_within[0]} {units[req.issued_within[1]]}"
                    if req.issued_within
                    else None
                )
                entries[(r.id, req.doc)] = tuple(
                    RequiredDocument(
                        doc.id, doc.name, doc.name_en, provided, r.id, source, doc.any_of, within
                    )
                    for provided in (False, True)
                )
        setter(self, "path_steps", steps)
        setter(self, "rule_reasons", reasons)
        setter(self, "requirement_entries", entries)
        setter(
            self,
            "channel_refs",
            {c.id: ChannelRef(c.id, c.name, c.kind, c.name_en) for c in self.channels.values()},
        )
        setter(
            self,
            "disease_matches",
            {
                d.id: DiseaseMatch(d.id, d.name, tuple(sorted(d.groups)))
                for d in self.diseases.values()
            },
        )
        setter(
            self,
            "alternative_documents",
            tuple((d.id, d.any_of) for d in self.documents.values() if d.any_of),
        )

    def version_on(self, day: _dt.date) -> Version | None:
        """The version in force on `day` (the latest that starts on or before it)."""
        best = None
        for v in self.versions:
            if v.in_force(day) and (best is None or v.effective_from > best.effective_from):
                best = v
        return best

    def evaluate(self, case: Any, lang: str = "en") -> Decision:
        """Decide `case` (a CONTRACT §2 mapping or a Case). Returns a Decision.

        `lang` ("zh" or "en") is the language of the engine's own messages
        (reasons, warnings, deadline bases); `name` fields do not change.
        """
        from .evaluator import evaluate

        return evaluate(self, case, lang=lang)

    def describe(self) -> dict[str, Any]:
        """Metadata for listings (`mtbrules packs`)."""
        return {
            "id": self.id,
            "name": self.name,
            "name_en": self.name_en,
            "city": self.city,
            "province": self.province,
            "versions": [
                {
                    "id": v.id,
                    "effective_from": v.effective_from.isoformat(),
                    "effective_to": v.effective_to.isoformat() if v.effective_to else None,
                }
                for v in self.versions
            ],
            "services": sorted(self.services),
            "sources": [
                {"id": s.id, "title": s.title, "confidence": s.confidence, "published": s.published}
                for s in self.sources.values()
            ],
            "counts": {
                "diseases": len(self.diseases),
                "documents": len(self.documents),
                "channels": len(self.channels),
                "categories": len(self.categories),
                "rules": len(self.rules),
            },
            "facts": [{"id": f.id, "value": f.value, "source": str(f.source)} for f in self.facts],
        }

    def __repr__(self) -> str:
        return f"<Pack {self.id} ({len(self.rules)} rules)>"


class _Runners:
    """service → generated condition function, built on first use (start-up stays fast)."""

    def __init__(self, pack: Pack):
        self._pack = pack
        self._built: dict = {}
        self._lock = threading.Lock()

    def __getitem__(self, service: str):
        runner = self._built.get(service)
        if runner is None:
            from .codegen import build_runner

            with self._lock:
                runner = self._built.get(service)
                if runner is None:
                    pack = self._pack
                    runner = build_runner(
                        f"{pack.id}:{service}", pack.rules_by_service[service], pack.calendar
                    )
                    self._built[service] = runner
        return runner


def _override_closure(rules) -> dict[str, frozenset]:
    direct = {r.id: set(r.overrides) for r in rules}
    closure: dict[str, frozenset] = {}

    def reach(rid: str, seen: set) -> set:
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
