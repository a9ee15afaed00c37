"""The Decision of CONTRACT §3: immutable values whose to_dict() is the contract JSON."""

from __future__ import annotations

import json
from typing import Any

import attrs
import orjson


class _Part:
    """A part of a decision: its JSON encoded once, on first use (static parts are shared)."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def fragment(self) -> orjson.Fragment:
        """This part's JSON, pre-encoded: `Decision.to_json` splices it in unchanged."""
        cached: bytes | None = self._json  # type: ignore[attr-defined]
        if cached is None:
            cached = orjson.dumps(self.to_dict())
            # Bytes, not the fragment: a decision holding this part stays picklable.
            object.__setattr__(self, "_json", cached)
        return orjson.Fragment(cached)


#: Every outcome a decision can have (CONTRACT §3 and its 2026-12 amendment). Count from this.
OUTCOMES = ("instant", "review", "ineligible", "not_covered", "undetermined")


@attrs.frozen
class DiseaseMatch(_Part):
    id: str
    name: str
    groups: tuple[str, ...]

    _json: bytes | None = attrs.field(default=None, init=False, eq=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "groups": list(self.groups)}


@attrs.frozen
class RequiredDocument(_Part):
    id: str
    name: str
    name_en: str
    provided: bool
    rule: str
    source: str
    alternatives: tuple[str, ...] = ()
    issued_within: str | None = None

    _json: bytes | None = attrs.field(default=None, init=False, eq=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        out = {
            "id": self.id,
            "name": self.name,
            "name_en": self.name_en,
            "provided": self.provided,
            "rule": self.rule,
            "source": self.source,
        }
        # Extensions (docs/contract.md): only present when they say something.
        if self.alternatives:
            out["alternatives"] = list(self.alternatives)
        if self.issued_within:
            out["issued_within"] = self.issued_within
        return out


@attrs.frozen
class ChannelRef(_Part):
    id: str
    name: str
    kind: str | None = None
    name_en: str | None = None

    _json: bytes | None = attrs.field(default=None, init=False, eq=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        out = {"id": self.id, "name": self.name}
        if self.kind:
            out["kind"] = self.kind
        if self.name_en:
            out["name_en"] = self.name_en
        return out


@attrs.frozen
class PathStep(_Part):
    rule: str
    title: str
    source: str
    quote: str | None = None

    _json: bytes | None = attrs.field(default=None, init=False, eq=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        out = {"rule": self.rule, "title": self.title, "source": self.source}
        if self.quote:
            out["quote"] = self.quote
        return out


@attrs.frozen
class Deadline(_Part):
    kind: str
    date: str
    basis: str
    rule: str
    source: str
    # Counted on years without an official holiday schedule (docs/calendar.md);
    # `latest` is the latest date it could move to once they are published.
    provisional: bool = False
    latest: str | None = None

    _json: bytes | None = attrs.field(default=None, init=False, eq=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "date": self.date,
            "basis": self.basis,
            "rule": self.rule,
            "source": self.source,
        }
        # Extensions (docs/contract.md): only present on a provisional deadline.
        if self.provisional:
            out["provisional"] = True
            if self.latest:
                out["latest"] = self.latest
        return out


@attrs.frozen
class Reason(_Part):
    rule: str
    text: str
    source: str
    # The pack note that acknowledges what the source is silent on (undetermined decisions).
    note: str | None = None

    _json: bytes | None = attrs.field(default=None, init=False, eq=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        out = {"rule": self.rule, "text": self.text, "source": self.source}
        if self.note:
            out["note"] = self.note
        return out


@attrs.frozen
class Decision:
    """What the pack decides for one case (CONTRACT §3)."""

    pack: str
    pack_version: str | None
    service: str
    as_of: str
    outcome: str
    complete: bool
    diseases: tuple[DiseaseMatch, ...] = ()
    required_documents: tuple[RequiredDocument, ...] = ()
    channels: tuple[ChannelRef, ...] = ()
    path: tuple[PathStep, ...] = ()
    deadlines: tuple[Deadline, ...] = ()
    reasons: tuple[Reason, ...] = ()
    warnings: tuple[str, ...] = ()
    # The JSON of required_documents, missing_documents, channels, path and reasons, when
    # a generated decision function kept it with them (make_decision): spliced as it is.
    # Bytes, not orjson fragments: a decision stays picklable.
    _parts_json: tuple[bytes, ...] | None = attrs.field(
        default=None, init=False, eq=False, repr=False
    )

    @property
    def missing_documents(self) -> tuple[str, ...]:
        return tuple(d.id for d in self.required_documents if not d.provided)

    def deadline(self, kind: str) -> Deadline | None:
        """The deadline of `kind`, if the decision has one."""
        for d in self.deadlines:
            if d.kind == kind:
                return d
        return None

    def to_dict(self) -> dict[str, Any]:
        """The contract JSON object (CONTRACT §3), as plain dicts and lists."""
        return {
            "pack": self.pack,
            "pack_version": self.pack_version,
            "service": self.service,
            "as_of": self.as_of,
            "outcome": self.outcome,
            "complete": self.complete,
            "diseases": [d.to_dict() for d in self.diseases],
            "required_documents": [d.to_dict() for d in self.required_documents],
            "missing_documents": list(self.missing_documents),
            "channels": [c.to_dict() for c in self.channels],
            "path": [p.to_dict() for p in self.path],
            "deadlines": [d.to_dict() for d in self.deadlines],
            "reasons": [r.to_dict() for r in self.reasons],
            "warnings": list(self.warnings),
        }

    def to_json_bytes(self) -> bytes:
        """The contract JSON as compact UTF-8 bytes; byte-identical for the same decision.

        Parts are encoded once each (orjson) and spliced in: the static parts of
        a pack (path steps, reasons, required documents, channels) are shared by
        every decision that lists them, and so are the deadlines a generated
        decision function keeps in its memo.
        """
        kept = self._parts_json
        if kept is None:
            documents: Any = [d.fragment() for d in self.required_documents]
            missing: Any = list(self.missing_documents)
            channels: Any = [c.fragment() for c in self.channels]
            path: Any = [p.fragment() for p in self.path]
            reasons: Any = [r.fragment() for r in self.reasons]
        else:
            documents, missing, channels, path, reasons = map(orjson.Fragment, kept)
        return orjson.dumps(
            {
                "pack": self.pack,
                "pack_version": self.pack_version,
                "service": self.service,
                "as_of": self.as_of,
                "outcome": self.outcome,
                "complete": self.complete,
                "diseases": [d.fragment() for d in self.diseases],
                "required_documents": documents,
                "missing_documents": missing,
                "channels": channels,
                "path": path,
                "deadlines": [d.fragment() for d in self.deadlines],
                "reasons": reasons,
                "warnings": list(self.warnings),
            }
        )

    def to_json(self, indent: int | None = None) -> str:
        """The contract JSON text; byte-identical for the same decision.

        Compact (no spaces) unless `indent` asks for lines.
        """
        if indent is None:
            return self.to_json_bytes().decode("utf-8")
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    def _repr_html_(self) -> str:  # notebooks (mtbrules.htmlview)
        from .htmlview import decision_html  # deferred: only notebooks render HTML

        return decision_html(self)


def encode_parts(
    documents: tuple[RequiredDocument, ...],
    channels: tuple[ChannelRef, ...],
    path: tuple[PathStep, ...],
    reasons: tuple[Reason, ...],
) -> tuple[bytes, ...]:
    """The JSON of a decision's static parts, in the order Decision.to_json_bytes splices them."""
    return (
        orjson.dumps([d.fragment() for d in documents]),
        orjson.dumps([d.id for d in documents if not d.provided]),
        orjson.dumps([c.fragment() for c in channels]),
        orjson.dumps([p.fragment() for p in path]),
        orjson.dumps([r.fragment() for r in reasons]),
    )


def _decision_maker() -> Any:
    """`make_decision(...)`: Decision(...) by the generated decision functions, a slot at a time.

    attrs' __init__ of a frozen class sets each field through a call of
    object.__setattr__; a decision function makes one Decision per case, so
    this one sets the slots' descriptors directly, the cached JSON of the
    static parts it keeps too (its last argument). Same class, same values: equal to
    Decision(...) with the same arguments. Written once, from the field names.
    """
    names = [a.name for a in attrs.fields(Decision)]
    params = ", ".join(names[:-1]) + ", _parts_json=None"
    lines = [f"def make_decision({params}):", "    d = _new(_Decision)"]
    lines += [f"    _s{i}(d, {name})" for i, name in enumerate(names)]
    lines.append("    return d")
    namespace: dict[str, Any] = {"_new": object.__new__, "_Decision": Decision}
    for i, name in enumerate(names):
        namespace[f"_s{i}"] = getattr(Decision, name).__set__
    exec("\n".join(lines) + "\n", namespace)  # noqa: S102 - the class's own field names
    return namespace["make_decision"]


make_decision = _decision_maker()
