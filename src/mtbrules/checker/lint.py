"""The checker's lints of a loaded pack: citations and quotes, scenario ids, unused
catalogue entries, and a disease catalogue declared incomplete without a note."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from .. import analysis
from ..compiler import did_you_mean
from ..diagnostics import Location
from ..errors import PackError
from ..model import INCOMPLETE_CATALOGUE
from ..names import simplified
from ..tester import load_scenarios
from .findings import Findings


def lint(found: Findings) -> None:
    """Every lint of the pack, in the order its findings are listed."""
    citations(found)
    quotes(found)
    scenarios(found)
    unused(found)
    incomplete_catalogue(found)


_PINYIN = re.compile(r"\([a-zA-Zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹḿ\u0300-\u036f]+\)")
_SPACE = re.compile(r"\s+")


def normalize_quote(text: str, traditional: bool = False) -> str:
    """The comparison form of a quote or source text: NFKC, no whitespace,
    and for Traditional texts also converted to Simplified with pinyin glosses like `(shí)` removed."""
    text = unicodedata.normalize("NFKC", text)
    if traditional:
        text = _PINYIN.sub("", text)
        text = simplified(text)
        text = _PINYIN.sub("", text)
    return _SPACE.sub("", text)


def citations(found: Findings) -> None:
    """Rules quote their sentence (MTB410), entries cite a source (MTB411), every source is cited (MTB413)."""
    pack = found.pack
    for rule in pack.rules:
        if not rule.source.quote:
            found.add(
                "MTB410",
                f"rule '{rule.id}' cites {rule.source} without quoting the sentence it encodes",
                found.rule_location(rule, ("source",)),
                hint="add `quote:` with the sentence, verbatim from the source",
                subject=rule.id,
            )
    entries: list[tuple[str, str, str, Iterable[Any]]] = [
        ("diseases.yaml", "groups", "group", pack.groups.values()),
        ("diseases.yaml", "diseases", "disease", pack.diseases.values()),
        ("channels.yaml", "channels", "channel", pack.channels.values()),
        ("categories.yaml", "categories", "category", pack.categories.values()),
        ("pack.yaml", "services", "service", pack.services.values()),
        ("pack.yaml", "versions", "version", pack.versions),
    ]
    for file, key, kind, items in entries:
        for item in items:
            if item.source is None:
                found.add(
                    "MTB411",
                    f"{kind} '{item.id}' cites no source",
                    found.entry_location(file, key, item.id),
                    hint="add `source: {doc: …, clause: …}`",
                    subject=item.id,
                )
    cited = {r.source.doc for r in pack.rules}
    for items in (
        pack.groups.values(),
        pack.diseases.values(),
        pack.channels.values(),
        pack.categories.values(),
        pack.services.values(),
        pack.versions,
        pack.documents.values(),
        pack.facts,
        pack.notes,
    ):
        cited |= {i.source.doc for i in items if i.source is not None}
    for key in pack.sources:
        if key not in cited:
            found.add(
                "MTB413",
                f"source '{key}' is never cited",
                found.entry_location("pack.yaml", "sources", key, ()),
                hint="cite it from a rule, or remove it",
                subject=key,
            )


def quotes(found: Findings) -> None:
    """Every quote is found in its cited source's text (MTB412)."""
    pack = found.pack
    texts: dict[str, tuple[str, str] | None] = {}
    for key, src in pack.sources.items():
        if not src.file:
            texts[key] = None
            continue
        try:
            raw = found.files.read_text(found.folder / src.file)
        except (OSError, UnicodeDecodeError):
            texts[key] = None
            continue
        texts[key] = (normalize_quote(raw), normalize_quote(raw, traditional=True))
    cites: list[tuple[Any, Location | None]] = []
    for rule in pack.rules:
        cites.append((rule.source, found.rule_location(rule, ("source", "quote"))))
    for i, fact in enumerate(pack.facts):
        cites.append((fact.source, found.locator.at("pack.yaml", ("facts", i, "source", "quote"))))
    for cite, loc in cites:
        if cite is None or not cite.quote:
            continue
        text = texts.get(cite.doc)
        if text is None:
            continue
        plain, simple = text
        if (
            normalize_quote(cite.quote) in plain
            or normalize_quote(cite.quote, traditional=True) in simple
        ):
            continue
        file = pack.sources[cite.doc].file
        found.add(
            "MTB412",
            f'quote not found in {file} ({cite.doc}): "{_clip(cite.quote)}"',
            loc,
            hint="quote the source verbatim (whitespace and Traditional/Simplified forms are ignored)",
        )


def scenarios(found: Findings) -> None:
    """Scenario files are valid (MTB110) and expect only ids the pack has (MTB450)."""
    try:
        scenarios = load_scenarios(found.pack, found.files)
    except PackError as exc:
        found.out.extend(exc.diagnostics)
        return
    pack = found.pack
    rule_ids = set(pack.rules_by_id) | {
        "pack:versions",
        "pack:services",
        "pack:diseases",
        "pack:no-outcome",
    }
    kinds = {
        "path": ("rule", rule_ids),
        "path_includes": ("rule", rule_ids),
        "reasons": ("rule", rule_ids),
        "required_documents": ("document", set(pack.documents)),
        "missing_documents": ("document", set(pack.documents)),
        "channels": ("channel", set(pack.channels)),
        "diseases": ("disease", set(pack.diseases)),
    }
    for sc in scenarios:
        for key, (kind, known) in kinds.items():
            for j, value in enumerate(sc.expect.get(key) or ()):
                if value in known:
                    continue
                found.add(
                    "MTB450",
                    f"scenario '{sc.name}' expects unknown {kind} '{value}' in {key}",
                    sc.where(("expect", key, j)),
                    hint=did_you_mean(str(value), known),
                )


def unused(found: Findings) -> None:
    """Documents, channels, groups and pack case fields no rule uses (MTB440–MTB443)."""
    pack = found.pack
    literals: set[str] = set()
    fields_read: set[str] = set()
    for rule in pack.rules:
        for compiled in [rule.when] + [d.date for d in rule.deadlines]:
            if compiled is None:
                continue
            fields_read |= compiled.fields
            literals |= analysis.string_literals(compiled.node)
    used_docs = set()
    for rule in pack.rules:
        used_docs |= {q.doc for q in rule.require}
    for doc_id in list(used_docs):
        used_docs |= set(pack.documents[doc_id].any_of)
    used_docs |= literals & set(pack.documents)
    for doc in pack.documents.values():
        if doc.id not in used_docs and not (doc.any_of and set(doc.any_of) & used_docs and False):
            found.add(
                "MTB440",
                f"document '{doc.id}' is never required by a rule",
                found.entry_location("documents.yaml", "documents", doc.id),
                hint="require it from the rule that encodes its sentence, or remove it",
                subject=doc.id,
            )
    used_channels = {c for r in pack.rules for c in r.channels}
    for ch in pack.channels.values():
        if ch.id not in used_channels:
            found.add(
                "MTB441",
                f"channel '{ch.id}' is never offered by a rule",
                found.entry_location("channels.yaml", "channels", ch.id),
                hint="list it under a rule's `channels:`, or remove it",
                subject=ch.id,
            )
    for g in pack.groups.values():
        members = [d.id for d in pack.diseases.values() if g.id in d.groups]
        if g.id not in literals:
            found.add(
                "MTB442",
                f"disease group '{g.id}' is never used by a rule"
                + ("" if members else " and has no members"),
                found.entry_location("diseases.yaml", "groups", g.id),
                hint=f'use it in a condition (`"{g.id}" in d.groups`), or remove it',
                subject=g.id,
            )
    for name in pack.case_fields:
        if name not in fields_read:
            found.add(
                "MTB443",
                f"case field '{name}' is declared but no rule reads it",
                found.entry_location("pack.yaml", "case_fields", name, ()),
                hint="read it in a condition, or remove it",
                subject=name,
            )


def incomplete_catalogue(found: Findings) -> None:
    """A disease catalogue declared incomplete with no note acknowledging it (MTB436)."""
    um = found.pack.unknown_members
    if um is None:
        return
    loc = found.locator.at("diseases.yaml", ("unknown_members",))
    found.add(
        "MTB436",
        f"diseases.yaml declares the disease catalogue incomplete (the policy states "
        f"{um.count_stated} diseases, the pack lists {len(found.pack.diseases)}): a disease outside it "
        "is decided `undetermined`, citing the pack note that acknowledges this; no note does",
        loc,
        hint=f'say in a pack note what the text leaves out and add `acknowledges: ["{INCOMPLETE_CATALOGUE}"]` to it',
        subject="diseases",
    )


def _clip(text: str, size: int = 40) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"
