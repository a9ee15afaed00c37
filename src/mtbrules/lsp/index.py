"""Where each id, clause and DSL name of a pack is defined and used.

The map behind hover, completion, go to definition, references and document
symbols. It is built from the YAML files as the editor holds them (a file that
does not parse keeps the occurrences of its last good text), so it works while
the pack has errors and does not need the pack to load.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from pathlib import Path
from typing import Any

import attrs

from ..case import CASE_FIELDS, CASE_OBJECTS
from ..diagnostics import Location
from ..errors import MtbError
from ..files import PackFiles, YamlDoc
from ..parser import DslToken, tokens

#: The catalogue files of a pack and the id lists they define: (file, key, kind).
CATALOGUES = (
    ("pack.yaml", "versions", "version"),
    ("pack.yaml", "services", "service"),
    ("pack.yaml", "facts", "fact"),
    ("pack.yaml", "notes", "note"),
    ("diseases.yaml", "groups", "group"),
    ("diseases.yaml", "diseases", "disease"),
    ("documents.yaml", "documents", "document"),
    ("channels.yaml", "channels", "channel"),
    ("categories.yaml", "categories", "category"),
)
CATALOGUE_FILES = (
    "pack.yaml",
    "diseases.yaml",
    "documents.yaml",
    "channels.yaml",
    "categories.yaml",
)
#: What a scenario's `expect` lists name.
EXPECT_KINDS = {
    "path": "rule",
    "path_includes": "rule",
    "reasons": "rule",
    "required_documents": "document",
    "missing_documents": "document",
    "channels": "channel",
    "diseases": "disease",
}
#: Catalogue kinds a string literal in a condition may name, in the order they are tried.
LITERAL_KINDS = ("document", "group", "disease", "category", "service", "channel")


@attrs.frozen
class Occurrence:
    """An id, clause or DSL name at a place in a file: its definition or a use."""

    kind: str  # rule, document, disease, group, channel, category, service, version,
    # source, field, fact, note, clause, function, duration
    ident: str  # clauses: "<source key>:<label>"
    location: Location  # with its end
    definition: bool = False
    path: tuple = ()  # the YAML path of the scalar it is in
    token: DslToken | None = None  # inside a DSL string: the token


@attrs.frozen
class SourceText:
    """A source document's text, with its clause headings and a way to find quotes in it."""

    key: str
    file: str
    text: str
    line_starts: tuple[int, ...]
    outline: dict  # clause label -> 1-based line of its heading

    @classmethod
    def read(cls, key: str, file: str, text: str) -> SourceText:
        starts = [0] + [m.end() for m in re.finditer("\n", text)]
        return cls(key, file, text, tuple(starts), _outline(text))

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, col) of a character offset."""
        i = bisect.bisect_right(self.line_starts, offset) - 1
        return i + 1, offset - self.line_starts[i] + 1

    def line_text(self, line: int) -> str:
        lines = self.text.splitlines()
        return lines[line - 1] if 0 < line <= len(lines) else ""

    def find(self, quote: str) -> tuple[int, int] | None:
        """Character offsets (start, end) of `quote` in the text, compared the way the
        checker compares them (NFKC, whitespace ignored), or None."""
        wanted = "".join(ch for ch in unicodedata.normalize("NFKC", quote) if not ch.isspace())
        if not wanted:
            return None
        chars, where = _normalized(self.text)
        at = chars.find(wanted)
        if at < 0:
            return None
        return where[at], where[at + len(wanted) - 1] + 1

    def sentence(self, start: int, end: int) -> str:
        """The sentence around the characters start..end: from the stop before to the stop after."""
        stops = "。；;！？!?\n"
        left = max((self.text.rfind(s, 0, start) for s in stops), default=-1) + 1
        rights = [i for i in (self.text.find(s, end) for s in stops) if i >= 0]
        right = min(rights) + 1 if rights else len(self.text)
        return self.text[left:right].strip()

    def clause_line(self, label: str, quotes: list[str]) -> int | None:
        """The line where clause `label` starts: its heading when the text numbers it so,
        else the first of its quotes found in the text, else its nearest numbered parent."""
        if label in self.outline:
            return self.outline[label]
        for quote in quotes:
            found = self.find(quote)
            if found is not None:
                return self.position(found[0])[0]
        for size in range(len(label) - 1, 0, -1):
            if label[:size] in self.outline:
                return self.outline[label[:size]]
        return None


_CN = "一二三四五六七八九十百"
_HEADINGS = (
    (1, re.compile(rf"([{_CN}]+)[、．.]")),
    (2, re.compile(rf"[(（]([{_CN}]+)[)）]")),
    (3, re.compile(r"(\d+(?:\.\d+)+)(?![\d])")),
    (3, re.compile(r"(\d+)[、．.](?!\d)")),
    (4, re.compile(r"([⑴-⒇])")),
    (4, re.compile(r"[(（](\d+)[)）]")),
)


def _outline(text: str) -> dict:
    """Clause labels the text's own numbering gives, composed the way packs cite them:
    一 → 一(二) → 一(二)3 → 一(二)3⑴; dotted numbers (1.2) stand alone."""
    out: dict = {}
    trail: dict[int, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        head = line.strip()
        for level, pattern in _HEADINGS:
            m = pattern.match(head)
            if m is None:
                continue
            mark = m.group(1)
            if level == 2 or level == 4 and mark.isascii():
                mark = f"({mark})"
            if level == 3 and "." in mark:
                label = mark
            else:
                label = "".join(trail[k] for k in sorted(trail) if k < level) + mark
            trail = {k: v for k, v in trail.items() if k < level}
            trail[level] = mark
            out.setdefault(label, number)
            break
    return out


def _normalized(text: str) -> tuple[str, list[int]]:
    chars: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        for c in unicodedata.normalize("NFKC", ch):
            if not c.isspace():
                chars.append(c)
                where.append(i)
    return "".join(chars), where


@attrs.define
class PackIndex:
    """Every occurrence in the files of one pack folder."""

    folder: Path
    docs: dict[str, YamlDoc]  # file -> its last good parse
    sources: dict[str, SourceText]
    occurrences: list[Occurrence] = attrs.Factory(list)
    by_file: dict[str, list[Occurrence]] = attrs.Factory(dict)
    definitions: dict[tuple[str, str], Occurrence] = attrs.Factory(dict)
    uses: dict[tuple[str, str], list[Occurrence]] = attrs.Factory(dict)
    #: pack case field name -> its spec in pack.yaml (type, values, description)
    case_fields: dict[str, Any] = attrs.Factory(dict)

    # -- building

    @classmethod
    def build(cls, folder: Path, files: PackFiles, previous: PackIndex | None = None) -> PackIndex:
        docs: dict[str, YamlDoc] = {}
        paths = [folder / name for name in CATALOGUE_FILES if files.is_file(folder / name)]
        paths += files.glob(folder / "rules") + files.glob(folder / "scenarios")
        for path in paths:
            try:
                docs[str(path)] = files.yaml(path)
            except MtbError:
                if previous is not None and str(path) in previous.docs:
                    docs[str(path)] = previous.docs[str(path)]
        index = cls(folder, docs, {})
        index._read_sources(files)
        index._collect()
        return index

    def doc(self, name: str) -> YamlDoc | None:
        return self.docs.get(str(self.folder / name))

    def _read_sources(self, files: PackFiles) -> None:
        meta = self.doc("pack.yaml")
        sources = meta.value.get("sources") if meta and isinstance(meta.value, dict) else None
        for key, spec in (sources or {}).items() if isinstance(sources, dict) else ():
            name = spec.get("file") if isinstance(spec, dict) else None
            if not isinstance(name, str):
                continue
            path = self.folder / name
            try:
                if path.resolve().is_relative_to(self.folder.resolve()):
                    self.sources[key] = SourceText.read(key, str(path), files.read_text(path))
            except (OSError, UnicodeDecodeError, ValueError):
                continue

    def _add(self, occ: Occurrence) -> None:
        self.occurrences.append(occ)
        self.by_file.setdefault(occ.location.file, []).append(occ)
        key = (occ.kind, occ.ident)
        if occ.definition:
            self.definitions.setdefault(key, occ)
        else:
            self.uses.setdefault(key, []).append(occ)

    def _scalar(self, doc: YamlDoc, path: tuple, kind: str, definition: bool = False) -> None:
        value = _get(doc.value, path)
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            span = value_span(doc, path)
            if span is not None:
                self._add(Occurrence(kind, str(value), span, definition, path))

    def _collect(self) -> None:
        meta = self.doc("pack.yaml")
        if meta is not None and isinstance(meta.value, dict):
            for key in _mapping(meta.value.get("sources")):
                span = meta.key_span(("sources", key))
                if span is not None:
                    self._add(Occurrence("source", key, span, True, ("sources", key)))
            fields = _mapping(meta.value.get("case_fields"))
            for name, spec in fields.items():
                span = meta.key_span(("case_fields", name))
                self.case_fields[name] = spec if isinstance(spec, dict) else {}
                if span is not None:
                    self._add(Occurrence("field", name, span, True, ("case_fields", name)))
        for file, key, kind in CATALOGUES:
            doc = self.doc(file)
            if doc is None or not isinstance(doc.value, dict):
                continue
            for i, item in enumerate(_sequence(doc.value.get(key))):
                if isinstance(item, dict):
                    self._scalar(doc, (key, i, "id"), kind, True)
        diseases = self.doc("diseases.yaml")
        if diseases is not None and isinstance(diseases.value, dict):
            for i, item in enumerate(_sequence(diseases.value.get("diseases"))):
                for j, _ in enumerate(_sequence(_get(item, ("groups",)))):
                    self._scalar(diseases, ("diseases", i, "groups", j), "group")
        documents = self.doc("documents.yaml")
        if documents is not None and isinstance(documents.value, dict):
            for i, item in enumerate(_sequence(documents.value.get("documents"))):
                for j, _ in enumerate(_sequence(_get(item, ("any_of",)))):
                    self._scalar(documents, ("documents", i, "any_of", j), "document")
        for file, doc in self.docs.items():
            parent = Path(file).parent.name
            if parent == "rules":
                self._rules(doc)
            elif parent == "scenarios":
                self._scenarios(doc)
            self._citations(doc, doc.value, ())

    def _rules(self, doc: YamlDoc) -> None:
        if not isinstance(doc.value, dict):
            return
        for i, rule in enumerate(_sequence(doc.value.get("rules"))):
            if not isinstance(rule, dict):
                continue
            base = ("rules", i)
            self._scalar(doc, base + ("id",), "rule", True)
            for key, kind in (
                ("services", "service"),
                ("versions", "version"),
                ("overrides", "rule"),
                ("channels", "channel"),
            ):
                for j, _ in enumerate(_sequence(rule.get(key))):
                    self._scalar(doc, base + (key, j), kind)
            for j, req in enumerate(_sequence(rule.get("require"))):
                sub = base + ("require", j) + (("doc",) if isinstance(req, dict) else ())
                self._scalar(doc, sub, "document")
            if isinstance(rule.get("when"), str):
                self._dsl(doc, base + ("when",))
            for j, d in enumerate(_sequence(rule.get("deadlines"))):
                if isinstance(d, dict) and isinstance(d.get("date"), str):
                    self._dsl(doc, base + ("deadlines", j, "date"))

    def _scenarios(self, doc: YamlDoc) -> None:
        if not isinstance(doc.value, dict):
            return
        for i, sc in enumerate(_sequence(doc.value.get("scenarios"))):
            expect = _get(sc, ("expect",))
            if not isinstance(expect, dict):
                continue
            for key, kind in EXPECT_KINDS.items():
                for j, _ in enumerate(_sequence(expect.get(key))):
                    self._scalar(doc, ("scenarios", i, "expect", key, j), kind)

    def _citations(self, doc: YamlDoc, value: Any, path: tuple) -> None:
        if isinstance(value, dict):
            cite = value.get("source")
            if isinstance(cite, dict) and path[:1] != ("sources",):
                self._scalar(doc, path + ("source", "doc"), "source")
                label = cite.get("clause")
                span = value_span(doc, path + ("source", "clause"))
                if label is not None and span is not None:
                    ident = f"{cite.get('doc')}:{label}"
                    self._add(Occurrence("clause", ident, span, False, path + ("source", "clause")))
            for key, item in value.items():
                if key != "source":
                    self._citations(doc, item, path + (key,))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                self._citations(doc, item, path + (i,))

    def _dsl(self, doc: YamlDoc, path: tuple) -> None:
        text = _get(doc.value, path)
        toks = tokens(text)
        lines = text.split("\n")
        pack_fields = set(self.case_fields)
        catalogue = {kind: self.ids(kind) for kind in LITERAL_KINDS}

        def span(first: DslToken, last: DslToken) -> Location:
            start = doc.offset_location(path, _offset(lines, first.line, first.col))
            end = doc.offset_location(path, _offset(lines, last.end_line, last.end_col))
            return attrs.evolve(start, end_line=end.line, end_col=end.col)

        for k, tok in enumerate(toks):
            before = toks[k - 1] if k else None
            after = toks[k + 1] if k + 1 < len(toks) else None
            if tok.kind == "NAME":
                if after is not None and after.kind == "LPAR":
                    occ = Occurrence("function", tok.text, span(tok, tok), False, path, tok)
                elif before is not None and before.kind == "DOT":
                    owner = toks[k - 2] if k >= 2 else None
                    if owner is None or owner.text not in CASE_OBJECTS:
                        continue
                    ident = f"{owner.text}.{tok.text}"
                    occ = Occurrence("field", ident, span(owner, tok), False, path, tok)
                elif tok.text in pack_fields or tok.text in CASE_FIELDS:
                    occ = Occurrence("field", tok.text, span(tok, tok), False, path, tok)
                else:
                    continue
            elif tok.kind == "INT" and after is not None and after.kind == "UNIT":
                ident = f"{tok.text} {after.text}"
                occ = Occurrence("duration", ident, span(tok, after), False, path, tok)
            elif tok.kind == "STRING":
                literal = tok.text[1:-1]
                kind = next((kd for kd in LITERAL_KINDS if literal in catalogue[kd]), None)
                if kind is None:
                    continue
                occ = Occurrence(kind, literal, span(tok, tok), False, path, tok)
            else:
                continue
            self._add(occ)

    # -- questions

    def ids(self, kind: str) -> list[str]:
        """The ids of one kind that are defined, in file order."""
        return [ident for (k, ident) in self.definitions if k == kind]

    def at(self, file: str, line: int, col: int) -> Occurrence | None:
        """The occurrence at a 1-based position of `file`, if any."""
        for occ in self.by_file.get(file, ()):
            loc = occ.location
            if (loc.line, loc.col) <= (line, col) <= (loc.end_line or 0, loc.end_col or 0):
                return occ
        return None

    def definition(self, kind: str, ident: str) -> Occurrence | None:
        return self.definitions.get((kind, ident))

    def references(self, kind: str, ident: str) -> list[Occurrence]:
        return list(self.uses.get((kind, ident), ()))

    def entry(self, occ: Occurrence) -> dict | None:
        """The YAML mapping that defines `occ`'s id (a rule, a catalogue entry)."""
        definition = occ if occ.definition else self.definition(occ.kind, occ.ident)
        if definition is None:
            return None
        doc = self.docs.get(definition.location.file)
        if doc is None:
            return None
        if definition.kind in ("source", "field"):
            value = _get(doc.value, definition.path)
        else:
            value = _get(doc.value, definition.path[:-1])
        return value if isinstance(value, dict) else None

    def clause_location(self, ident: str) -> Location | None:
        """The line of clause `<source>:<label>` in its source file."""
        key, _, label = ident.partition(":")
        source = self.sources.get(key)
        if source is None:
            return None
        line = source.clause_line(label, self.quotes_of(ident))
        if line is None:
            return None
        width = len(source.line_text(line))
        return Location(source.file, line, 1, line, width + 1)

    def quotes_of(self, ident: str) -> list[str]:
        """The quotes of the citations of clause `<source>:<label>`."""
        out = []
        for occ in self.uses.get(("clause", ident), ()):
            doc = self.docs.get(occ.location.file)
            cite = _get(doc.value, occ.path[:-1]) if doc is not None else None
            if isinstance(cite, dict) and isinstance(cite.get("quote"), str):
                out.append(cite["quote"])
        return out

    def clause_labels(self, key: str) -> dict[str, str]:
        """Clause labels of source `key`: the text's numbered headings and the labels
        cited so far, each with the line it starts on."""
        source = self.sources.get(key)
        out: dict[str, str] = {}
        if source is not None:
            for label, line in source.outline.items():
                out[label] = source.line_text(line).strip()
        for kind, ident in self.uses:
            if kind == "clause" and ident.startswith(key + ":"):
                label = ident.partition(":")[2]
                if label not in out and source is not None:
                    line = source.clause_line(label, self.quotes_of(ident))
                    if line is not None:
                        out[label] = source.line_text(line).strip()
        return out


def value_span(doc: YamlDoc, path: tuple) -> Location | None:
    """The characters of the scalar at `path` (inside its quotes), with its end."""
    span = doc.span(path)
    if span is None:
        return None
    info = doc.scalars.get(tuple(path))
    if info is not None and info.style in ("'", '"') and span.end_line == span.line:
        return attrs.evolve(span, col=span.col + 1, end_col=(span.end_col or span.col) - 1)
    if info is not None and info.style in ("|", ">"):
        start = doc.offset_location(path, 0)
        end = doc.offset_location(path, len(info.value.rstrip("\n")))
        return attrs.evolve(start, end_line=end.line, end_col=end.col)
    return span


def _offset(lines: list[str], line: int, col: int) -> int:
    return sum(len(x) + 1 for x in lines[: line - 1]) + col - 1


def _get(value: Any, path: tuple) -> Any:
    for part in path:
        if (
            isinstance(value, dict)
            and part in value
            or isinstance(value, list)
            and isinstance(part, int)
            and 0 <= part < len(value)
        ):
            value = value[part]
        else:
            return None
    return value


def _mapping(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _sequence(value: Any) -> list:
    return value if isinstance(value, list) else []
