"""Schema-valid pack files → the Pack: catalogues built, every reference checked, the
DSL parsed and compiled, override cycles found. Problems are collected, not raised one
by one (`Collector`), so a pack's author sees them all at once."""

from __future__ import annotations

import datetime as _dt
import os
import re
from pathlib import Path

import attrs

from . import schedules
from . import workdays as wd
from ._yaml import MAX_FILE_BYTES, YamlDoc
from .case import (
    CASE_FIELDS,
    CASE_OBJECTS,
    CHANNEL_KINDS,
    CONTRACT_SERVICES,
    PACK_FIELD_TYPES,
    RELATIONS,
    SCHEMES,
)
from .compiler import BOOL, DATE, Compiled, Scope, compile_expression, did_you_mean, enum, list_of
from .diagnostics import ERROR, Diagnostic, Location, sort_key
from .errors import CalendarError, MtbError, PackError
from .locator import PackLocator
from .model import (
    INCOMPLETE_CATALOGUE,
    Category,
    Channel,
    Citation,
    DeadlineSpec,
    Disease,
    Document,
    Fact,
    Group,
    Note,
    Requirement,
    Rule,
    Service,
    Source,
    UnknownMembers,
    Version,
)
from .nodes import Literal, Node
from .pack import Pack

#: Problems reported at most for one pack.
MAX_ERRORS = 50
#: Rules in one pack (the built-in packs have a few dozen).
MAX_RULES = 5000
#: Schedule files read from a pack's calendars/ folder (as many as rule files).
MAX_SCHEDULE_FILES = 200
_DURATION_RE = re.compile(r"^\s*(\d+)\s+(working_days?|days?|weeks?|months?|years?)\s*$")


class Collector:
    """The problems found while loading one pack."""

    def __init__(self):
        self.diagnostics: list[Diagnostic] = []

    def add(self, code: str, message: str, location: Location | None, hint: str | None = None):
        self.diagnostics.append(Diagnostic(code, message, location, hint=hint))

    def extend(self, diagnostics):
        self.diagnostics.extend(diagnostics)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == ERROR]

    def raise_if_errors(self):
        errors = self.errors
        if errors:
            errors.sort(key=sort_key)
            raise PackError.from_diagnostics(errors[:MAX_ERRORS])


class PackBuilder:
    """Builds the model from schema-valid documents, checking references."""

    def __init__(
        self, root: Path, docs, rule_docs, out: Collector, calendar, trees=None, files=None
    ):
        self.root = root
        self.files = files
        # (file, path) -> parsed expression tree; filled on a cache miss, given on a hit.
        self.trees: dict = {} if trees is None else trees
        self.docs = docs
        self.rule_docs = rule_docs
        self.out = out
        self.base_calendar = calendar
        self.meta = docs["pack.yaml"].value

    # -- helpers

    def _cite_optional(self, raw, doc: YamlDoc, path) -> Citation | None:
        return None if raw is None else self._cite(raw, doc, path)

    def _cite(self, raw, doc: YamlDoc, path) -> Citation:
        if raw["doc"] not in self.sources:
            self.out.add(
                "MTB403",
                f"citation names unknown source '{raw['doc']}'",
                doc.location(path + ("doc",)),
                hint="sources: " + ", ".join(sorted(self.sources)),
            )
        return Citation(raw["doc"], str(raw["clause"]), raw.get("quote"))

    def _unique(self, items, kind: str, doc: YamlDoc, key: str) -> dict:
        seen: dict = {}
        for i, item in enumerate(items):
            if item.id in seen:
                self.out.add(
                    "MTB401", f"duplicate {kind} id '{item.id}'", doc.location((key, i, "id"))
                )
            else:
                seen[item.id] = item
        return seen

    def _ref(self, value: str, known, kind: str, location: Location):
        if value not in known:
            hint = did_you_mean(value, known) or (
                f"known: {', '.join(sorted(known)[:10])}" if known else f"no {kind}s are defined"
            )
            self.out.add("MTB402", f"unknown {kind} '{value}'", location, hint=hint)
            return False
        return True

    # -- stages

    def build(self) -> Pack:
        meta_doc = self.docs["pack.yaml"]
        meta = self.meta
        self.sources = {
            key: Source(
                key,
                s["title"],
                s.get("file"),
                s.get("url"),
                s.get("published"),
                s.get("confidence"),
                s.get("note"),
            )
            for key, s in meta["sources"].items()
        }
        for key, src in self.sources.items():
            problem = _source_file_problem(self.root, src.file) if src.file else None
            if problem == "not found" and self.files is not None and src.file:
                problem = None if self.files.is_file(self.root / src.file) else problem
            if problem and src.file:
                shown = src.file if len(src.file) <= 80 else src.file[:77] + "..."
                self.out.add(
                    "MTB404",
                    f"source file '{shown}' {problem}",
                    meta_doc.location(("sources", key, "file")),
                    hint="name a file inside the pack folder, relative to it"
                    if "folder" in problem
                    else None,
                )
        versions = []
        for i, v in enumerate(meta["versions"]):
            start = _date(
                v["effective_from"], meta_doc, ("versions", i, "effective_from"), self.out
            )
            end = (
                _date(v["effective_to"], meta_doc, ("versions", i, "effective_to"), self.out)
                if v.get("effective_to")
                else None
            )
            versions.append(
                Version(
                    str(v["id"]),
                    start,
                    end,
                    self._cite_optional(v.get("source"), meta_doc, ("versions", i, "source")),
                )
            )
        self._unique(versions, "version", meta_doc, "versions")
        services = [
            Service(
                s["id"],
                s["name"],
                s.get("name_en"),
                self._cite_optional(s.get("source"), meta_doc, ("services", i, "source")),
            )
            for i, s in enumerate(meta["services"])
        ]
        services_by_id = self._unique(services, "service", meta_doc, "services")
        facts = tuple(
            Fact(
                f["id"],
                f["value"],
                f.get("description"),
                self._cite(f["source"], meta_doc, ("facts", i, "source")),
            )
            for i, f in enumerate(meta.get("facts", []))
        )
        notes = tuple(
            Note(
                x["id"],
                x["text"],
                self._cite_optional(x.get("source"), meta_doc, ("notes", i, "source")),
                tuple(str(a) for a in x.get("acknowledges", ())),
            )
            for i, x in enumerate(meta.get("notes", []))
        )
        case_fields = {}
        case_field_values = {}
        for name, spec in meta.get("case_fields", {}).items():
            if name in CASE_FIELDS or name in CASE_OBJECTS or name == "pack":
                self.out.add(
                    "MTB405",
                    f"case field '{name}' is already defined by the contract",
                    meta_doc.location(("case_fields", name)),
                )
            case_fields[name] = spec["type"]
            if "values" in spec:
                if spec["type"] not in ("string", "list"):
                    self.out.add(
                        "MTB405",
                        f"case field '{name}': `values` needs type string or list",
                        meta_doc.location(("case_fields", name, "values")),
                    )
                case_field_values[name] = tuple(spec["values"])
        calendar = self._calendar(meta_doc)

        groups, diseases, unknown_members = self._diseases()
        if unknown_members is not None:
            # The note that says the catalogue is incomplete; undetermined decisions cite it.
            ack = next((x for x in notes if x.acknowledges_code(INCOMPLETE_CATALOGUE)), None)
            unknown_members = attrs.evolve(unknown_members, acknowledged_by=ack)
        documents = self._documents()
        channels = self._channels()
        categories = self._categories()
        self.out.raise_if_errors()

        vocab = {
            "service": frozenset(CONTRACT_SERVICES) | frozenset(services_by_id),
            "scheme": frozenset(SCHEMES),
            "channel": frozenset(CHANNEL_KINDS),
            "relation": frozenset(RELATIONS),
            "category": frozenset(categories),
            "disease": frozenset(diseases),
            "group": frozenset(groups),
            "document": frozenset(documents),
        }
        fields = dict(CASE_FIELDS)
        for name, t in case_fields.items():
            fields[name] = PACK_FIELD_TYPES[t]
            if name in case_field_values:
                vocab["field:" + name] = frozenset(case_field_values[name])
                fields[name] = (
                    enum("field:" + name) if t == "string" else list_of(enum("field:" + name))
                )
        scope = Scope(fields, CASE_OBJECTS, vocab, calendar)
        rules = self._rules(scope, services_by_id, versions, documents, channels)
        self.out.raise_if_errors()
        return Pack(
            id=meta["id"],
            name=meta["name"],
            name_en=meta.get("name_en"),
            city=meta["city"],
            province=meta.get("province"),
            folder=str(self.root),
            sources=self.sources,
            versions=tuple(versions),
            services=services_by_id,
            case_fields=case_fields,
            case_field_values=case_field_values,
            facts=facts,
            notes=notes,
            groups=groups,
            diseases=diseases,
            unknown_members=unknown_members,
            documents=documents,
            channels=channels,
            categories=categories,
            rules=tuple(rules),
            calendar=calendar,
            scope=scope,
            locator=PackLocator(str(self.root), dict(self.docs), tuple(self.rule_docs)),
        )

    def _calendar(self, doc: YamlDoc) -> wd.WorkingCalendar:
        base = self.base_calendar or schedules.default_calendar()
        base = self._pack_schedules(base)
        extra = self.meta.get("calendar")
        if not extra:
            return base
        try:
            return base.with_days(
                holidays=extra.get("holidays", ()),
                working_days=extra.get("working_days", ()),
                known_years=extra.get("known_years", ()),
            )
        except (CalendarError, ValueError) as exc:
            self.out.add("MTB504", f"calendar additions: {exc}", doc.location(("calendar",)))
            return base

    def _pack_schedules(self, base: wd.WorkingCalendar) -> wd.WorkingCalendar:
        """The pack's own schedule files (calendars/*.yaml), below a deployment's (docs/calendar.md)."""
        folder = self.root / schedules.PACK_FOLDER
        if not folder.is_dir():
            return base
        found = []
        for path in sorted(folder.glob("*.yaml"))[:MAX_SCHEDULE_FILES]:
            try:
                schedule, problems = schedules.parse_schedule(str(path), rank=wd.PACK)
            except PackError as exc:
                self.out.extend(exc.diagnostics)
                continue
            self.out.extend(problems)
            if schedule is not None:
                found.append(schedule)
        if not found:
            return base
        try:
            return schedules.extend_calendar(base, found)
        except CalendarError as exc:
            self.out.extend(exc.diagnostics)
            return base

    def _diseases(self):
        doc = self.docs["diseases.yaml"]
        if doc is None:
            return {}, {}, None
        raw = doc.value
        groups = [
            Group(
                g["id"],
                g["name"],
                g.get("name_en"),
                self._cite_optional(g.get("source"), doc, ("groups", i, "source")),
            )
            for i, g in enumerate(raw.get("groups", []))
        ]
        groups_by_id = self._unique(groups, "group", doc, "groups")
        diseases = []
        for i, d in enumerate(raw.get("diseases", [])):
            for j, g in enumerate(d.get("groups", [])):
                self._ref(g, groups_by_id, "group", doc.location(("diseases", i, "groups", j)))
            diseases.append(
                Disease(
                    d["id"],
                    d["name"],
                    d.get("name_en"),
                    d.get("no"),
                    tuple(d.get("aliases", ())),
                    frozenset(d.get("groups", ())),
                    self._cite_optional(d.get("source"), doc, ("diseases", i, "source")),
                )
            )
        diseases_by_id = self._unique(diseases, "disease", doc, "diseases")
        um = raw.get("unknown_members")
        unknown = (
            UnknownMembers(um["count_stated"], um.get("count_named", len(diseases)), um["note"])
            if um
            else None
        )
        return groups_by_id, diseases_by_id, unknown

    def _documents(self):
        doc = self.docs["documents.yaml"]
        if doc is None:
            return {}
        items = [
            Document(
                d["id"],
                d["name"],
                d["name_en"],
                tuple(d.get("aliases", ())),
                tuple(d.get("any_of", ())),
                self._cite_optional(d.get("source"), doc, ("documents", i, "source")),
            )
            for i, d in enumerate(doc.value["documents"])
        ]
        by_id = self._unique(items, "document", doc, "documents")
        for i, d in enumerate(items):
            for j, alt in enumerate(d.any_of):
                if (
                    self._ref(alt, by_id, "document", doc.location(("documents", i, "any_of", j)))
                    and by_id[alt].any_of
                ):
                    self.out.add(
                        "MTB406",
                        f"alternative '{alt}' is itself an alternative; list its documents directly",
                        doc.location(("documents", i, "any_of", j)),
                    )
        return by_id

    def _channels(self):
        doc = self.docs["channels.yaml"]
        if doc is None:
            return {}
        items = [
            Channel(
                c["id"],
                c["name"],
                c["kind"],
                c.get("name_en"),
                c.get("contact"),
                self._cite_optional(c.get("source"), doc, ("channels", i, "source")),
            )
            for i, c in enumerate(doc.value["channels"])
        ]
        return self._unique(items, "channel", doc, "channels")

    def _categories(self):
        doc = self.docs["categories.yaml"]
        if doc is None:
            return {}
        items = [
            Category(
                c["id"],
                c["name"],
                c.get("name_en"),
                tuple(c.get("aliases", ())),
                self._cite_optional(c.get("source"), doc, ("categories", i, "source")),
            )
            for i, c in enumerate(doc.value["categories"])
        ]
        return self._unique(items, "category", doc, "categories")

    def _rules(self, scope: Scope, services, versions, documents, channels) -> list[Rule]:
        rules: list[Rule] = []
        version_ids = {v.id for v in versions}
        raw_rules = []
        for doc in self.rule_docs:
            for i, r in enumerate(doc.value["rules"]):
                raw_rules.append((doc, i, r))
        if len(raw_rules) > MAX_RULES:
            doc, i, _ = raw_rules[MAX_RULES]
            self.out.add(
                "MTB105", f"more than {MAX_RULES} rules in the pack", doc.location(("rules", i))
            )
            raw_rules = raw_rules[:MAX_RULES]
        ids: dict[str, Location] = {}
        for doc, i, r in raw_rules:
            if r["id"] in ids:
                self.out.add(
                    "MTB401",
                    f"duplicate rule id '{r['id']}'",
                    doc.location(("rules", i, "id")),
                    hint=f"first defined at {ids[r['id']]}",
                )
            else:
                ids[r["id"]] = doc.location(("rules", i, "id"))
        for order, (doc, i, r) in enumerate(raw_rules):
            path = ("rules", i)
            loc = doc.location(path + ("id",))
            for j, s in enumerate(r.get("services", ())):
                self._ref(s, services, "service", doc.location(path + ("services", j)))
            for j, v in enumerate(r.get("versions", ())):
                self._ref(str(v), version_ids, "version", doc.location(path + ("versions", j)))
            for j, o in enumerate(r.get("overrides", ())):
                self._ref(o, ids, "rule", doc.location(path + ("overrides", j)))
                if o == r["id"]:
                    self.out.add(
                        "MTB407",
                        "a rule cannot override itself",
                        doc.location(path + ("overrides", j)),
                    )
            for j, c in enumerate(r.get("channels", ())):
                self._ref(c, channels, "channel", doc.location(path + ("channels", j)))
            require = []
            for j, q in enumerate(r.get("require", ())):
                qpath = path + ("require", j)
                if isinstance(q, str):
                    q = {"doc": q}
                    ref_loc = doc.location(qpath)
                else:
                    ref_loc = doc.location(qpath + ("doc",))
                self._ref(q["doc"], documents, "document", ref_loc)
                within = None
                if q.get("issued_within"):
                    m = _DURATION_RE.match(q["issued_within"])
                    assert m is not None  # the pack schema's pattern is the same expression
                    unit = m.group(2) if m.group(2).endswith("s") else m.group(2) + "s"
                    within = (int(m.group(1)), unit)
                require.append(Requirement(q["doc"], within))
            when = self._expr(r.get("when", True), doc, path + ("when",), scope, BOOL)
            deadlines = []
            for j, d in enumerate(r.get("deadlines", ())):
                dpath = path + ("deadlines", j)
                compiled = self._expr(d["date"], doc, dpath + ("date",), scope, DATE)
                if compiled is not None:
                    deadlines.append(
                        DeadlineSpec(
                            d["kind"], compiled, d.get("basis"), doc.location(dpath + ("date",))
                        )
                    )
            kinds = [d["kind"] for d in r.get("deadlines", ())]
            for kind in {k for k in kinds if kinds.count(k) > 1}:
                self.out.add(
                    "MTB408",
                    f"rule sets deadline '{kind}' twice",
                    doc.location(path + ("deadlines",)),
                )
            rules.append(
                Rule(
                    id=r["id"],
                    title=r["title"],
                    source=self._cite(r["source"], doc, path + ("source",)),
                    location=loc,
                    order=order,
                    when=when,
                    services=frozenset(r["services"]) if "services" in r else None,
                    versions=frozenset(str(v) for v in r["versions"]) if "versions" in r else None,
                    overrides=tuple(r.get("overrides", ())),
                    outcome=r.get("outcome"),
                    reject=r.get("reject"),
                    require=tuple(require),
                    deadlines=tuple(deadlines),
                    channels=tuple(r.get("channels", ())),
                    reason=r.get("reason"),
                    warn=r.get("warn"),
                    file=doc.file,
                )
            )
        self._check_override_cycles(rules)
        return rules

    def _expr(self, raw, doc: YamlDoc, path, scope: Scope, expect) -> Compiled | None:
        if isinstance(raw, bool):
            return compile_expression(
                Literal(raw), scope, lambda line, col: doc.location(path), expect
            )

        def locate(line, col):
            return doc.expression_location(path, line, col)

        try:
            node: Node | None = self.trees.get((doc.file, path))
            if node is None:
                from .parser import parse_expression  # Lark is needed only when the cache misses

                if self.files is None:
                    node = parse_expression(raw, locate)
                else:  # a tree depends only on its text (its positions are the expression's own)
                    node = self.files.memo("dsl", "", raw, lambda: parse_expression(raw, locate))
                self.trees[(doc.file, path)] = node
            return compile_expression(node, scope, locate, expect)
        except MtbError as exc:
            self.out.extend(exc.diagnostics)
            return None

    def _check_override_cycles(self, rules: list[Rule]):
        graph = {r.id: r.overrides for r in rules}
        by_id = {r.id: r for r in rules}
        state: dict[str, int] = {}

        def visit(rid: str, trail: list[str]):
            state[rid] = 1
            for nxt in graph.get(rid, ()):
                if state.get(nxt) == 1:
                    cycle = trail[trail.index(nxt) :] + [nxt] if nxt in trail else [rid, nxt]
                    self.out.add(
                        "MTB409",
                        "overrides form a cycle: " + " → ".join(cycle),
                        by_id[rid].location,
                    )
                elif nxt in graph and not state.get(nxt):
                    visit(nxt, trail + [nxt])
            state[rid] = 2

        for rid in graph:
            if not state.get(rid):
                visit(rid, [rid])


def _source_file_problem(root: Path, name: str) -> str | None:
    """Why a source's `file` cannot be used, or None.

    A pack may only name files inside its own folder: no absolute paths, no
    `..` or symlinks leading out (tools read these files to check quotes).
    """
    if os.path.isabs(name) or "\0" in name:
        return "must be a path inside the pack folder"
    try:
        target = (root / name).resolve()
        if not target.is_relative_to(root.resolve()):
            return "is outside the pack folder"
        if not target.is_file():
            return "not found"
        if target.stat().st_size > MAX_FILE_BYTES:
            return f"is larger than {MAX_FILE_BYTES} bytes"
    except (OSError, ValueError):
        return "not found"
    return None


def _date(text: str, doc: YamlDoc, path, out: Collector) -> _dt.date:
    try:
        return _dt.date.fromisoformat(str(text))
    except ValueError:
        out.add("MTB111", f"not a real date: {text}", doc.location(path))
        return _dt.date.min
