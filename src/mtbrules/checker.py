"""`mtbrules check`: everything that can be known about a pack without a case.

A pack is first loaded the way the engine loads it (schema, references,
DSL syntax and types: MTB1xx–MTB4xx raised by the loader become findings
here). A pack that loads is then checked further:

* citations: every rule quotes its sentence (MTB410), catalogue entries cite
  a source (MTB411), every quote is found in the cited source file (MTB412),
  every source is cited (MTB413);
* scenario files: schema (MTB110) and the rule/document ids they expect (MTB450);
* static rule analysis over a finite abstraction of the case (`Domain`):
  conflicts (MTB430), unreachable rules (MTB431), rules always overridden
  (MTB432), gaps of a service, disease or category (MTB433–MTB435);
* unused catalogue entries (MTB440–MTB443).

The analysis never re-implements the DSL: it builds environments the way the
evaluator does and calls the compiled closures. Finite fields (booleans,
enumerations, catalogue values, diseases) are enumerated exhaustively; ints,
numbers and dates take boundary values around the literals the expressions
compare them with. When a rule reads so many fields that the product is too
large, a seeded random sample is tried, then a hypothesis search when the
sample finds nothing (hypothesis is optional: without it the sample alone). Every conflict and gap finding carries a
counterexample case in contract JSON (CONTRACT §2).
"""

from __future__ import annotations

import datetime as _dt
import itertools
import os
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs

from . import analysis, schedules
from . import nodes as n
from .case import CASE_FIELDS, CASE_OBJECTS, CHANNEL_KINDS, PACK_FIELD_TYPES, RELATIONS, SCHEMES
from .compiler import did_you_mean
from .diagnostics import ERROR, WARNING, Diagnostic, Location, sort_key
from .dsltypes import UNDEFINED, Type
from .errors import CalendarError, PackError
from .files import PackFiles
from .locator import PackLocator
from .model import INCOMPLETE_CATALOGUE
from .pack import Pack

#: Every code `check` can report, with a title and its default severity.
#: docs/diagnostics.md documents each one; a test keeps the two in step.
CODES: dict[str, tuple[str, str]] = {
    "MTB100": ("unknown pack", ERROR),
    "MTB101": ("unreadable or missing file", ERROR),
    "MTB102": ("YAML syntax error", ERROR),
    "MTB103": ("duplicate YAML key", ERROR),
    "MTB104": ("YAML alias bomb or recursion", ERROR),
    "MTB105": ("size limit exceeded", ERROR),
    "MTB110": ("schema violation", ERROR),
    "MTB111": ("not a real date", ERROR),
    "MTB201": ("empty expression or not text", ERROR),
    "MTB202": ("DSL unexpected character", ERROR),
    "MTB203": ("DSL unexpected token or end", ERROR),
    "MTB204": ("DSL invalid date literal", ERROR),
    "MTB205": ("DSL expression too long or too deep", ERROR),
    "MTB301": ("unknown name", ERROR),
    "MTB302": ("type mismatch", ERROR),
    "MTB303": ("unknown catalogue value", ERROR),
    "MTB304": ("unknown function or wrong arity", ERROR),
    "MTB305": ("object used as a value", ERROR),
    "MTB306": ("quantifier variable hides a case field", ERROR),
    "MTB401": ("duplicate id", ERROR),
    "MTB402": ("unknown reference", ERROR),
    "MTB403": ("citation names an unknown source", ERROR),
    "MTB404": ("source file not found", ERROR),
    "MTB405": ("pack case field clashes with a contract field", ERROR),
    "MTB406": ("nested alternative document", ERROR),
    "MTB407": ("rule overrides itself", ERROR),
    "MTB408": ("deadline kind set twice in one rule", ERROR),
    "MTB409": ("override cycle", ERROR),
    "MTB410": ("rule citation without a quote", WARNING),
    "MTB411": ("catalogue entry without a citation", WARNING),
    "MTB412": ("quote not found in the cited source", ERROR),
    "MTB413": ("source never cited", WARNING),
    "MTB414": ("acknowledgement that matches no warning", WARNING),
    "MTB420": ("conflict at run time", ERROR),
    "MTB430": ("conflict: two rules can set the same output", ERROR),
    "MTB431": ("unreachable rule", WARNING),
    "MTB432": ("rule always overridden", WARNING),
    "MTB433": ("gap: service", WARNING),
    "MTB434": ("gap: disease", WARNING),
    "MTB435": ("gap: category", WARNING),
    "MTB436": ("incomplete disease catalogue not acknowledged in a note", WARNING),
    "MTB440": ("unused document", WARNING),
    "MTB441": ("unused channel", WARNING),
    "MTB442": ("unused disease group", WARNING),
    "MTB443": ("unused pack case field", WARNING),
    "MTB450": ("scenario expects an unknown id", ERROR),
    "MTB501": ("date outside the calendar's years", ERROR),
    "MTB502": ("working-day count leaves the calendar's years", ERROR),
    "MTB503": ("no such day", ERROR),
    "MTB504": ("bad calendar additions", ERROR),
    "MTB505": ("not a schedule file", ERROR),
    "MTB506": ("schedule day outside the file's year", ERROR),
    "MTB507": ("statutory holiday not a day off", ERROR),
    "MTB508": ("make-up working day not on a weekend", ERROR),
    "MTB509": ("schedule day listed twice", ERROR),
    "MTB510": ("not a festival of the 放假办法", ERROR),
    "MTB511": ("net days off differ from the 放假办法", WARNING),
    "MTB512": ("schedule year the calendar cannot take", ERROR),
}

#: Environments tried exhaustively per rule before switching to a search.
EXHAUSTIVE_LIMIT = 4000
#: Environments a search tries per rule when the domain is too large.
SEARCH_EXAMPLES = 200
#: Random environments tried before hypothesis is asked.
RANDOM_EXAMPLES = 2000
#: Satisfying environments kept per rule (the search stops there).
SAT_KEEP = 48

ABSENT = object()  # a field the case does not give


# ---------------------------------------------------------------- entry points


@attrs.frozen
class PackReport:
    """The findings for one pack folder."""

    folder: str
    pack_id: str | None
    diagnostics: tuple[Diagnostic, ...]
    #: The loaded pack, or None when it did not load.
    pack: Pack | None = attrs.field(default=None, eq=False, repr=False)


def check_folder(
    folder: str | Path, analysis: bool = True, files: PackFiles | None = None
) -> PackReport:
    """Every finding for the pack in `folder` (loading errors included).

    `files` gives texts that take the place of files on disk (an editor's unsaved
    buffers; see `mtbrules.files.PackFiles`); without it the disk is read.
    """
    from .loader import load_pack_folder

    folder = Path(folder)
    try:
        pack = load_pack_folder(folder, files=files)
    except PackError as exc:
        return PackReport(str(folder), None, tuple(sorted(exc.diagnostics, key=sort_key)))
    found = _Checker(pack, folder, files).run(analysis) + schedules.pack_warnings(folder)
    return PackReport(str(folder), pack.id, tuple(sorted(_unique(found), key=sort_key)), pack)


def check_pack(
    pack: Pack, analysis: bool = True, files: PackFiles | None = None
) -> list[Diagnostic]:
    """The findings for an already loaded pack (no loading errors, by definition)."""
    found = _Checker(pack, Path(pack.folder), files).run(analysis)
    return sorted(_unique(found), key=sort_key)


def _unique(found: list[Diagnostic]) -> list[Diagnostic]:
    seen, out = set(), []
    for d in found:
        key = (d.code, d.message, d.location)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


# ---------------------------------------------------------------- quotes


_PINYIN = re.compile(r"\([a-zA-Zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹḿ\u0300-\u036f]+\)")
_SPACE = re.compile(r"\s+")


def normalize_quote(text: str, traditional: bool = False) -> str:
    """The comparison form of a quote or source text: NFKC, no whitespace,
    and for Traditional texts also converted to Simplified with pinyin glosses like `(shí)` removed."""
    text = unicodedata.normalize("NFKC", text)
    if traditional:
        from .names import simplified

        text = _PINYIN.sub("", text)
        text = simplified(text)
        text = _PINYIN.sub("", text)
    return _SPACE.sub("", text)


# ---------------------------------------------------------------- the checker


class _Checker:
    def __init__(self, pack: Pack, folder: Path, files: PackFiles | None = None):
        self.pack = pack
        self.folder = folder
        self.files = files or PackFiles()
        self.out: list[Diagnostic] = []
        self.subjects: dict[int, str] = {}  # id(diagnostic) -> the entry it is about
        # The positions the loader kept; a pack built in memory has none.
        self.locator = pack.locator or PackLocator(str(folder), {})

    def add(
        self,
        code: str,
        message: str,
        location: Location | None,
        hint: str | None = None,
        example=None,
        subject: str | None = None,
    ):
        diag = Diagnostic(code, message, location, CODES[code][1], hint, example)
        self.out.append(diag)
        if subject is not None:
            self.subjects[id(diag)] = subject

    def run(self, analysis: bool) -> list[Diagnostic]:
        self._citations()
        self._quotes()
        self._scenarios()
        self._unused()
        self._incomplete_catalogue()
        if analysis and self.pack.rules:
            _Analysis(self).run()
        self._acknowledged()
        return self.out

    # -- acknowledgements: a pack note may say a warning is the text's own silence

    def _acknowledged(self):
        acks = []
        for i, noted in enumerate(self.pack.notes):
            for j, entry in enumerate(noted.acknowledges):
                where = self.locator.at("pack.yaml", ("notes", i, "acknowledges", j))
                acks.append((entry, where, noted.id))
        if not acks:
            return
        used = set()
        kept = []
        for diag in self.out:
            subject = self.subjects.get(id(diag))
            hit = None
            for k, (entry, _loc, _note) in enumerate(acks):
                code, _, subj = entry.partition(":")
                if (
                    code == diag.code
                    and diag.severity == WARNING
                    and (not subj or subj == subject or (subject or "").startswith(subj + ":"))
                ):
                    hit = k
                    break
            if hit is None:
                kept.append(diag)
            else:
                used.add(hit)
        for k, (entry, loc, note) in enumerate(acks):
            code = entry.partition(":")[0]
            if CODES.get(code, ("", ERROR))[1] != WARNING:
                kept.append(
                    Diagnostic(
                        "MTB414",
                        f"note '{note}' acknowledges {entry}, but only warnings can be acknowledged",
                        loc,
                        ERROR,
                        "fix the error instead",
                    )
                )
            elif k not in used:
                kept.append(
                    Diagnostic(
                        "MTB414",
                        f"note '{note}' acknowledges {entry}, but check finds no such warning",
                        loc,
                        WARNING,
                        "remove the stale acknowledgement",
                    )
                )
        self.out = kept

    # -- a catalogue the pack declares incomplete: decisions cite the note that says so

    def _incomplete_catalogue(self):
        um = self.pack.unknown_members
        if um is None:
            return
        loc = self.locator.at("diseases.yaml", ("unknown_members",))
        self.add(
            "MTB436",
            f"diseases.yaml declares the disease catalogue incomplete (the policy states "
            f"{um.count_stated} diseases, the pack lists {len(self.pack.diseases)}): a disease outside it "
            "is decided `undetermined`, citing the pack note that acknowledges this; no note does",
            loc,
            hint=f'say in a pack note what the text leaves out and add `acknowledges: ["{INCOMPLETE_CATALOGUE}"]` to it',
            subject="diseases",
        )

    # -- positions

    def entry_location(
        self, file: str, key: str, ident: str, sub: tuple = ("id",)
    ) -> Location | None:
        return self.locator.entry(file, key, ident, sub)

    def rule_location(self, rule, sub: tuple = ()) -> Location:
        return (self.locator.rule(rule.id, sub) if sub else None) or rule.location

    # -- citations

    def _citations(self):
        pack = self.pack
        for rule in pack.rules:
            if not rule.source.quote:
                self.add(
                    "MTB410",
                    f"rule '{rule.id}' cites {rule.source} without quoting the sentence it encodes",
                    self.rule_location(rule, ("source",)),
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
                    self.add(
                        "MTB411",
                        f"{kind} '{item.id}' cites no source",
                        self.entry_location(file, key, item.id),
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
                self.add(
                    "MTB413",
                    f"source '{key}' is never cited",
                    self.entry_location("pack.yaml", "sources", key, ()),
                    hint="cite it from a rule, or remove it",
                    subject=key,
                )

    def _quotes(self):
        pack = self.pack
        texts: dict[str, tuple[str, str] | None] = {}
        for key, src in pack.sources.items():
            if not src.file:
                texts[key] = None
                continue
            try:
                raw = self.files.read_text(self.folder / src.file)
            except (OSError, UnicodeDecodeError):
                texts[key] = None
                continue
            texts[key] = (normalize_quote(raw), normalize_quote(raw, traditional=True))
        cites: list[tuple[Any, Location | None]] = []
        for rule in pack.rules:
            cites.append((rule.source, self.rule_location(rule, ("source", "quote"))))
        for i, fact in enumerate(pack.facts):
            cites.append(
                (fact.source, self.locator.at("pack.yaml", ("facts", i, "source", "quote")))
            )
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
            self.add(
                "MTB412",
                f'quote not found in {file} ({cite.doc}): "{_clip(cite.quote)}"',
                loc,
                hint="quote the source verbatim (whitespace and Traditional/Simplified forms are ignored)",
            )

    # -- scenarios

    def _scenarios(self):
        from .tester import load_scenarios

        try:
            scenarios = load_scenarios(self.pack, self.files)
        except PackError as exc:
            self.out.extend(exc.diagnostics)
            return
        pack = self.pack
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
                    self.add(
                        "MTB450",
                        f"scenario '{sc.name}' expects unknown {kind} '{value}' in {key}",
                        sc.where(("expect", key, j)),
                        hint=did_you_mean(str(value), known),
                    )

    # -- unused entries

    def _unused(self):
        pack = self.pack
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
            if doc.id not in used_docs and not (
                doc.any_of and set(doc.any_of) & used_docs and False
            ):
                self.add(
                    "MTB440",
                    f"document '{doc.id}' is never required by a rule",
                    self.entry_location("documents.yaml", "documents", doc.id),
                    hint="require it from the rule that encodes its sentence, or remove it",
                    subject=doc.id,
                )
        used_channels = {c for r in pack.rules for c in r.channels}
        for ch in pack.channels.values():
            if ch.id not in used_channels:
                self.add(
                    "MTB441",
                    f"channel '{ch.id}' is never offered by a rule",
                    self.entry_location("channels.yaml", "channels", ch.id),
                    hint="list it under a rule's `channels:`, or remove it",
                    subject=ch.id,
                )
        for g in pack.groups.values():
            members = [d.id for d in pack.diseases.values() if g.id in d.groups]
            if g.id not in literals:
                self.add(
                    "MTB442",
                    f"disease group '{g.id}' is never used by a rule"
                    + ("" if members else " and has no members"),
                    self.entry_location("diseases.yaml", "groups", g.id),
                    hint=f'use it in a condition (`"{g.id}" in d.groups`), or remove it',
                    subject=g.id,
                )
        for name in pack.case_fields:
            if name not in fields_read:
                self.add(
                    "MTB443",
                    f"case field '{name}' is declared but no rule reads it",
                    self.entry_location("pack.yaml", "case_fields", name, ()),
                    hint="read it in a condition, or remove it",
                    subject=name,
                )


def _clip(text: str, size: int = 40) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


# ---------------------------------------------------------------- static analysis


@attrs.frozen
class _Scope:
    service: str
    version: Any  # model.Version
    base: _dt.date  # a typical submitted_on inside the version


class _Analysis:
    """Conflicts, unreachable and shadowed rules, gaps: searched over a finite domain."""

    def __init__(self, checker: _Checker):
        self.c = checker
        self.pack = checker.pack
        self.domain = _Domain(self.pack)
        self.scopes = self._scopes()
        # (rule id, scope index) -> list of satisfying partial environments
        self._sat: dict = {}

    def _scopes(self) -> list[_Scope]:
        out = []
        cal_years = _known_years(self.pack)
        for v in self.pack.versions:
            base = _typical_day(v, cal_years)
            if base is None:
                continue
            for s in self.pack.services:
                out.append(_Scope(s, v, base))
        return out

    def in_scope(self, rule, scope: _Scope) -> bool:
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

    def env_of(self, partial: dict, scope: _Scope) -> dict:
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

    def effective(self, env: dict, scope: _Scope) -> set[str] | None:
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


# ---------------------------------------------------------------- the domain


class _Domain:
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

    def values(self, field: str, scope: _Scope) -> list:
        key = (field, scope.version.id, scope.base)
        cached = self._values_cache.get(key)
        if cached is not None:
            return cached
        out = self._values(field, scope)
        self._values_cache[key] = out
        return out

    def _values(self, field: str, scope: _Scope) -> list:
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

    def search(self, fields: list[str], scope: _Scope, fixed: dict, predicate) -> Iterable[dict]:
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
    import random

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


# ---------------------------------------------------------------- output formats


def display_path(path: str) -> str:
    """`path` relative to the working directory when it is below it, with forward slashes."""

    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path.replace(os.sep, "/")
    if rel.startswith(".."):
        return path.replace(os.sep, "/")
    return rel.replace(os.sep, "/")


def _relocated(d: Diagnostic) -> Diagnostic:
    if d.location is None:
        return d
    return attrs.evolve(d, location=attrs.evolve(d.location, file=display_path(d.location.file)))


def strict(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Warnings promoted to errors (`--strict`)."""
    return [attrs.evolve(d, severity=ERROR) if d.severity == WARNING else d for d in diagnostics]


def render_text(reports: list[PackReport]) -> str:
    import json

    lines = []
    for rep in reports:
        for d in rep.diagnostics:
            text = d.render()
            loc = d.location
            if loc is not None:
                shown = _relocated(d)
                text = shown.render(_lines(loc.file))
            lines.append(f"{d.severity}: {text}")
            if d.example is not None:
                lines.append("    example case: " + json.dumps(d.example, ensure_ascii=False))
        errors = sum(d.severity == ERROR for d in rep.diagnostics)
        warnings = sum(d.severity == WARNING for d in rep.diagnostics)
        name = rep.pack_id or display_path(rep.folder)
        lines.append(
            f"{name}: {errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"
        )
    return "\n".join(lines) + "\n"


def _lines(path: str) -> list[str] | None:
    try:
        return Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None


def render_json(reports: list[PackReport]) -> str:
    import json

    out = []
    for rep in reports:
        out.append(
            {
                "pack": rep.pack_id,
                "folder": display_path(rep.folder),
                "errors": sum(d.severity == ERROR for d in rep.diagnostics),
                "warnings": sum(d.severity == WARNING for d in rep.diagnostics),
                "diagnostics": [_relocated(d).to_dict() for d in rep.diagnostics],
            }
        )
    return json.dumps(out, ensure_ascii=False, indent=2) + "\n"


def _gh_escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def render_github(reports: list[PackReport]) -> str:
    """GitHub Actions workflow commands: one `::error` / `::warning` line per finding."""
    import json

    lines = []
    for rep in reports:
        for d in rep.diagnostics:
            level = "error" if d.severity == ERROR else "warning"
            props = []
            if d.location is not None:
                props.append(f"file={_gh_escape(display_path(d.location.file), True)}")
                if d.location.line:
                    props.append(f"line={d.location.line}")
                    props.append(f"col={max(d.location.col, 1)}")
            props.append(f"title={_gh_escape(d.code + ' ' + CODES.get(d.code, ('', ''))[0], True)}")
            message = f"{d.code} {d.message}"
            if d.hint:
                message += f" ({d.hint})"
            if d.example is not None:
                message += "\nexample case: " + json.dumps(d.example, ensure_ascii=False)
            lines.append(f"::{level} {','.join(props)}::{_gh_escape(message)}")
    return "\n".join(lines) + ("\n" if lines else "")


SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def render_sarif(reports: list[PackReport]) -> str:
    """SARIF 2.1.0, for code scanning (one run, one result per finding)."""
    import json

    from ._version import __version__

    used = sorted({d.code for rep in reports for d in rep.diagnostics} | set(CODES))
    index = {code: i for i, code in enumerate(used)}
    rules = []
    for code in used:
        title, severity = CODES.get(code, (code, ERROR))
        rules.append(
            {
                "id": code,
                "name": title.replace(" ", "-").replace(":", ""),
                "shortDescription": {"text": title},
                "helpUri": f"https://mtbrules.invalid/docs/diagnostics#{code.lower()}",
                "defaultConfiguration": {"level": "error" if severity == ERROR else "warning"},
            }
        )
    results = []
    for rep in reports:
        for d in rep.diagnostics:
            text = d.message + (f" ({d.hint})" if d.hint else "")
            result: dict[str, Any] = {
                "ruleId": d.code,
                "ruleIndex": index[d.code],
                "level": "error" if d.severity == ERROR else "warning",
                "message": {"text": text},
            }
            if d.location is not None:
                physical: dict[str, Any] = {
                    "artifactLocation": {"uri": display_path(d.location.file)}
                }
                if d.location.line:
                    physical["region"] = {
                        "startLine": d.location.line,
                        "startColumn": max(d.location.col, 1),
                    }
                result["locations"] = [{"physicalLocation": physical}]
            if d.example is not None:
                result["properties"] = {"exampleCase": d.example}
            results.append(result)
    sarif = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "mtbrules",
                        "version": __version__,
                        "informationUri": "https://mtbrules.invalid/docs/diagnostics",
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(sarif, ensure_ascii=False, indent=2) + "\n"


RENDERERS = {
    "text": render_text,
    "json": render_json,
    "github": render_github,
    "sarif": render_sarif,
}
