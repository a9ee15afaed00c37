"""The pack model: immutable catalogue entries and compiled rules."""

from __future__ import annotations

import datetime as _dt
from typing import Any

import attrs

from .diagnostics import Location
from .ir import Compiled


@attrs.frozen
class Citation:
    """A clause of a source document, optionally with the sentence quoted."""

    doc: str
    clause: str
    quote: str | None = None

    def __str__(self) -> str:
        return f"{self.doc} {self.clause}"

    def to_dict(self) -> dict[str, Any]:
        out = {"doc": self.doc, "clause": self.clause}
        if self.quote:
            out["quote"] = self.quote
        return out


@attrs.frozen
class Source:
    """A document a pack was written from (pack.yaml `sources`)."""

    id: str
    title: str
    file: str | None = None
    url: str | None = None
    published: str | None = None
    confidence: str | None = None
    note: str | None = None


@attrs.frozen
class Version:
    """A version of the policy and the dates it is in force (inclusive)."""

    id: str
    effective_from: _dt.date
    effective_to: _dt.date | None = None
    source: Citation | None = None

    def in_force(self, day: _dt.date) -> bool:
        return self.effective_from <= day and (
            self.effective_to is None or day <= self.effective_to
        )


@attrs.frozen
class Service:
    id: str
    name: str
    name_en: str | None = None
    source: Citation | None = None


@attrs.frozen
class Group:
    id: str
    name: str
    name_en: str | None = None
    source: Citation | None = None


@attrs.frozen
class Disease:
    """A covered disease. In the DSL: `d.id`, `d.name`, `d.no`, `d.groups`."""

    id: str
    name: str
    name_en: str | None = None
    no: int | None = None
    aliases: tuple[str, ...] = ()
    groups: frozenset = frozenset()
    source: Citation | None = None


@attrs.frozen
class Document:
    """A document; `any_of` makes it an "A 或 B" alternative of other documents."""

    id: str
    name: str
    name_en: str
    aliases: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()
    source: Citation | None = None


@attrs.frozen
class Channel:
    id: str
    name: str
    kind: str
    name_en: str | None = None
    contact: str | None = None
    source: Citation | None = None


@attrs.frozen
class Category:
    id: str
    name: str
    name_en: str | None = None
    aliases: tuple[str, ...] = ()
    source: Citation | None = None


@attrs.frozen
class Fact:
    id: str
    value: Any
    description: str | None
    source: Citation


@attrs.frozen
class Note:
    id: str
    text: str
    source: Citation | None = None
    # Warnings of `mtbrules check` the note explains as the text's own silence ("MTB436", "MTB433:renewal").
    acknowledges: tuple[str, ...] = ()

    def acknowledges_code(self, code: str) -> bool:
        return any(entry.partition(":")[0] == code for entry in self.acknowledges)


@attrs.frozen
class Requirement:
    """A document a rule requires; `issued_within` demands a recent one."""

    doc: str
    issued_within: tuple[int, str] | None = None  # (amount, unit)


@attrs.frozen
class DeadlineSpec:
    kind: str
    date: Compiled
    basis: str | None = None
    location: Location | None = None


@attrs.frozen
class Rule:
    """A compiled rule: scope, condition, and effects, with its citation."""

    id: str
    title: str
    source: Citation
    location: Location
    order: int
    when: Compiled | None = None
    services: frozenset | None = None
    versions: frozenset | None = None
    overrides: tuple[str, ...] = ()
    outcome: str | None = None
    reject: str | None = None
    require: tuple[Requirement, ...] = ()
    deadlines: tuple[DeadlineSpec, ...] = ()
    channels: tuple[str, ...] = ()
    reason: str | None = None
    warn: str | None = None
    file: str = ""
    # The single-valued outputs this rule sets, computed once (conflict detection).
    slots: tuple[str, ...] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self):
        out = tuple(f"deadline:{d.kind}" for d in self.deadlines)
        object.__setattr__(self, "slots", (("outcome",) if self.outcome else ()) + out)

    def sets(self) -> tuple[str, ...]:
        """The single-valued outputs this rule sets (for conflict detection)."""
        return self.slots


#: The `check` code a pack note acknowledges to say its disease catalogue is incomplete.
INCOMPLETE_CATALOGUE = "MTB436"


@attrs.frozen
class UnknownMembers:
    """The text states more diseases than it names (e.g. 75 stated, 3 named).

    This is the pack's declaration that its disease catalogue is incomplete: a
    disease outside it is `undetermined`, not `ineligible`. `acknowledged_by` is
    the pack note that says so (it acknowledges INCOMPLETE_CATALOGUE); decisions cite it.
    """

    count_stated: int
    count_named: int | None
    note: str
    acknowledged_by: Note | None = None
