"""The Pack: a loaded policy pack's data — catalogues, rules in order, versions.

What evaluation derives from it (indices, static parts of decisions,
generated code) is its `prepared` pack (prepared.py).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any

import attrs

from . import workdays as wd
from .codegen import Runner
from .compiler import Scope
from .decision import Decision
from .evaluator import evaluate
from .locator import PackLocator
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
from .prepared import PreparedPack


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
    case_field_values: Mapping[str, tuple[Any, ...]]
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
    scope: Scope | None = attrs.field(default=None, kw_only=True)
    # Where its entries stand in its files (locator.py), for tools that point at them
    # (the checker); None for a pack not loaded from files.
    locator: PackLocator | None = attrs.field(default=None, kw_only=True, repr=False)

    # Indices, static decision parts and generated code, built from the data above (prepared.py).
    prepared: PreparedPack = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "prepared", PreparedPack(self))

    # The prepared pack's indices, under the names tools have always used.
    @property
    def disease_index(self) -> NameIndex:
        return self.prepared.disease_index

    @property
    def document_index(self) -> NameIndex:
        return self.prepared.document_index

    @property
    def category_index(self) -> NameIndex:
        return self.prepared.category_index

    @property
    def rules_by_service(self) -> Mapping[str, tuple[Rule, ...]]:
        return self.prepared.rules_by_service

    @property
    def rules_by_id(self) -> Mapping[str, Rule]:
        return self.prepared.rules_by_id

    @property
    def suppresses(self) -> Mapping[str, frozenset[str]]:
        return self.prepared.suppresses

    @property
    def condition_runners(self) -> Mapping[str, Runner]:
        """service -> the generated function evaluating every rule's condition (codegen.py)."""
        return self.prepared.condition_runners  # type: ignore[return-value]

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
