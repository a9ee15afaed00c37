"""Completion: case fields and functions in conditions and dates, ids where an id of
one kind is expected, clause labels that exist in the source text.

The text being typed is often not valid YAML or DSL yet, so the context is read
from the line and the lines above it (indentation), and from the expression up to
the cursor, token by token.
"""

from __future__ import annotations

import re
from pathlib import Path

import attrs

from ..case import CASE_FIELDS, CASE_OBJECTS
from ..files import YamlDoc
from ..parser import tokens
from .index import PackIndex
from .ranges import DSL_KEYS, scalar_at
from .vocabulary import (
    DISEASE_FIELD_MEANINGS,
    FIELD_MEANINGS,
    FUNCTIONS,
    KEYWORDS,
    field_type,
    fixed_values,
)


@attrs.frozen
class Suggestion:
    label: str
    kind: str  # field, function, keyword, id, clause
    detail: str = ""
    documentation: str = ""
    insert: str | None = None


_KEY_LINE = re.compile(r"^(\s*)(?:-\s+)?([A-Za-z_]+):(?:\s|$)")
_ITEM_LINE = re.compile(r"^(\s*)-(?:\s|$)")
_INLINE_KEY = re.compile(r"([A-Za-z_]+):\s*")
#: (file kind, key, parent key) -> the kind of id expected; None: any parent.
_ID_KEYS = {
    ("rules", "require", None): "document",
    ("rules", "doc", "require"): "document",
    ("rules", "channels", None): "channel",
    ("rules", "overrides", None): "rule",
    ("rules", "services", None): "service",
    ("rules", "versions", None): "version",
    ("diseases", "groups", None): "group",
    ("documents", "any_of", None): "document",
    ("scenarios", "path", None): "rule",
    ("scenarios", "path_includes", None): "rule",
    ("scenarios", "reasons", None): "rule",
    ("scenarios", "required_documents", None): "document",
    ("scenarios", "missing_documents", None): "document",
    ("scenarios", "channels", "expect"): "channel",
    ("scenarios", "diseases", "expect"): "disease",
}
#: A field compared with a string literal, and the catalogue its values come from.
_LITERAL_FIELDS = {
    "d.groups": "group",
    "d.id": "disease",
    "materials": "document",
    "category": "category",
    "service": "service",
}


def complete(
    index: PackIndex, file: str, lines: list[str], line: int, col: int, doc: YamlDoc | None
) -> list[Suggestion]:
    """Suggestions at the 1-based (line, col) of `file`, whose text is `lines`."""
    prefix, rest = _expression_at(doc, lines, line, col)
    if prefix is not None:
        return _dsl(index, prefix, rest or "")
    key, parent, head = _yaml_context(lines, line, col)
    if key is None:
        return []
    if key == "clause":
        source = _cited_doc(head, lines, line) or next(iter(index.sources), None)
        if source is None:
            return []
        return [
            Suggestion(label, "clause", f"{source} line", text[:80])
            for label, text in index.clause_labels(source).items()
        ]
    if key == "doc" and parent in ("source", None):
        return [Suggestion(k, "id", "source", s.file) for k, s in index.sources.items()] + [
            Suggestion(ident, "id", "source")
            for ident in index.ids("source")
            if ident not in index.sources
        ]
    kind = _file_kind(file)
    wanted = _ID_KEYS.get((kind, key, parent)) or _ID_KEYS.get((kind, key, None))
    if wanted is None:
        return []
    return [_id_suggestion(index, wanted, ident) for ident in index.ids(wanted)]


def _id_suggestion(index: PackIndex, kind: str, ident: str) -> Suggestion:
    occ = index.definition(kind, ident)
    entry = index.entry(occ) if occ is not None else None
    name = ""
    if entry:
        name = str(entry.get("name") or entry.get("title") or "")
    return Suggestion(ident, "id", f"{kind} {name}".strip())


def _file_kind(file: str) -> str:
    path = Path(file)
    if path.parent.name in ("rules", "scenarios"):
        return path.parent.name
    return path.stem


# -- expressions


def _expression_at(
    doc: YamlDoc | None, lines: list[str], line: int, col: int
) -> tuple[str | None, str | None]:
    """The DSL text before and after the cursor, when the cursor is in a condition or date."""
    if doc is not None:
        path = scalar_at(doc, line, col)
        if path is not None and path[-1] in DSL_KEYS:
            offset = doc.value_offset(path, line, col)
            if offset is not None:
                value = doc.scalars[path].value
                return value[:offset], value[offset:]
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    m = re.match(r"^\s*(?:-\s+)?(when|date):[ \t]*", text)
    if m is None or col - 1 < m.end():
        return None, None
    before = text[m.end() : col - 1]
    after = text[col - 1 :]
    if before[:1] in "\"'":
        before = before[1:]
    return before, after


def _dsl(index: PackIndex, before: str, after: str) -> list[Suggestion]:
    toks = tokens(before)
    open_quote = _open_string(before)
    if open_quote is not None:
        return _literals(index, before[:open_quote], after)
    last = toks[-1] if toks else None
    typing = last is not None and last.kind == "NAME" and before.endswith(last.text)
    dot_at = len(toks) - (2 if typing else 1)
    if 0 <= dot_at < len(toks) and toks[dot_at].kind == "DOT":
        owner = toks[dot_at - 1].text if dot_at >= 1 else ""
        if owner in CASE_OBJECTS:
            return [
                Suggestion(
                    name,
                    "field",
                    str(t),
                    FIELD_MEANINGS.get(f"{owner}.{name}", ""),
                )
                for name, t in CASE_OBJECTS[owner].items()
            ]
        return [
            Suggestion(name, "field", "disease field", meaning)
            for name, meaning in DISEASE_FIELD_MEANINGS.items()
        ]
    out = []
    for name in CASE_FIELDS:
        out.append(
            Suggestion(name, "field", str(field_type(name, {})), FIELD_MEANINGS.get(name, ""))
        )
    for name, spec in index.case_fields.items():
        out.append(
            Suggestion(
                name,
                "field",
                f"{spec.get('type', '?')} (this pack)",
                str(spec.get("description") or ""),
            )
        )
    for name in CASE_OBJECTS:
        out.append(Suggestion(name, "field", "object", ", ".join(CASE_OBJECTS[name])))
    for name, (signature, meaning) in FUNCTIONS.items():
        out.append(Suggestion(name, "function", signature, meaning, insert=name + "("))
    out += [Suggestion(word, "keyword") for word in KEYWORDS]
    return out


def _open_string(text: str) -> int | None:
    """Where the string literal the text ends inside starts, or None."""
    quote = None
    start = 0
    escaped = False
    for i, ch in enumerate(text):
        if quote is not None:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = None
        elif ch in "\"'":
            quote, start = ch, i
    return start if quote is not None else None


def _literals(index: PackIndex, before: str, after: str) -> list[Suggestion]:
    """Ids for a string literal: of the catalogue the compared field takes values from."""
    field = None
    m = re.match(r"^[^\"']*[\"']\s*(?:not\s+)?in\s+([A-Za-z_][\w.]*)", after)
    if m is not None:
        field = m.group(1)
    else:
        m = re.search(r"([A-Za-z_][\w.]*)\s*(?:==|!=|not\s+in|in)\s*\[?[^\[\]]*$", before)
        if m is not None:
            field = m.group(1)
    if field is not None and "." in field and field.split(".", 1)[0] not in CASE_OBJECTS:
        field = "d." + field.split(".", 1)[1]  # the quantifier's variable, whatever its name
    kinds: list[str] = []
    if field in _LITERAL_FIELDS:
        kinds = [_LITERAL_FIELDS[field]]
    elif field is not None:
        t = field_type(field, index.case_fields)
        spec = index.case_fields.get(field)
        if spec is not None and spec.get("values"):
            return [Suggestion(str(v), "id", f"{field} value") for v in spec["values"]]
        if t is not None and fixed_values(t.vocab):
            return [Suggestion(v, "id", f"{field} value") for v in fixed_values(t.vocab)]
    if not kinds:
        kinds = ["document", "group", "disease", "category"]
    return [_id_suggestion(index, kind, ident) for kind in kinds for ident in index.ids(kind)]


# -- YAML


def _yaml_context(lines: list[str], line: int, col: int) -> tuple[str | None, str | None, str]:
    """The key whose value the cursor is in, its parent key, and the line up to the cursor."""
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    head = text[: col - 1]
    inline = list(_INLINE_KEY.finditer(head))
    m = _KEY_LINE.match(text)
    if inline and (m is None or inline[-1].start() >= m.start(2)):
        key = inline[-1].group(1)
        opener = head.rfind("{", 0, inline[-1].start())
        if opener >= 0 and head.rfind("}", 0, inline[-1].start()) < opener:
            keys = _INLINE_KEY.findall(head[:opener])
            parent = keys[-1] if keys else _parent(lines, line, _indent(text))
            return key, parent, head
        indent = len(m.group(1)) if m is not None else _indent(text)
        return key, _parent(lines, line, indent), head
    item = _ITEM_LINE.match(text)
    if item is not None:
        return _parent(lines, line, len(item.group(1)), item=True), None, head
    return None, None, head


def _parent(lines: list[str], line: int, indent: int, item: bool = False) -> str | None:
    """The key of the nearest line above that holds the line indented `indent` (a list
    item may stand at its key's own indentation)."""
    for number in range(line - 1, 0, -1):
        text = lines[number - 1]
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        ind = _indent(text)
        is_item = text.lstrip().startswith("-")
        m = _KEY_LINE.match(text)
        if not is_item and m is not None:
            if ind < indent or (item and ind == indent and text.rstrip().endswith(":")):
                return m.group(2)
            continue
        if is_item and ind < indent:
            indent, item = ind, True  # the list item holding our line: its key is above
    return None


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip(" "))


def _cited_doc(head: str, lines: list[str], line: int) -> str | None:
    """The source key of the citation the cursor is in (`doc:` on the line or above)."""
    m = re.findall(r"doc:\s*([^,}\s]+)", head)
    if m:
        return m[-1].strip("\"'")
    for number in range(line - 1, max(line - 4, 0), -1):
        found = re.search(r"doc:\s*([^,}\s]+)", lines[number - 1])
        if found:
            return found.group(1).strip("\"'")
    return None
