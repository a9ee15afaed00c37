"""Where a loaded pack's entries stand in its files: the positions the loader keeps.

The loader parses every pack file with positions (`_yaml.YamlDoc`) and builds the
model from the values; the model keeps no positions of its own (a `Rule` keeps its
id's, for decisions). Tools that point at a part of an entry (the checker's
"rule X's `when`", "document Y", "the second acknowledgement of note Z") ask the
pack's `PackLocator` instead of reading the files a second time.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import attrs

from ._yaml import YamlDoc
from .diagnostics import Location


def _rule_entries(rule_docs: tuple[YamlDoc, ...]) -> dict[str, tuple[YamlDoc, tuple]]:
    found: dict[str, tuple[YamlDoc, tuple]] = {}
    for doc in rule_docs:
        raw = doc.value.get("rules") if isinstance(doc.value, dict) else None
        for i, entry in enumerate(raw or ()):
            if isinstance(entry, dict) and "id" in entry:
                found.setdefault(entry["id"], (doc, ("rules", i)))
    return found


@attrs.frozen(eq=False)
class PackLocator:
    """The parsed files of one loaded pack, asked for the position of its entries."""

    folder: str
    #: Catalogue file name (loader.CATALOGUE_FILES) -> its parsed text, None when the pack has none.
    files: Mapping[str, YamlDoc | None]
    #: The rule files, in the order their rules were read.
    rule_files: tuple[YamlDoc, ...] = ()
    _rules: dict[str, tuple[YamlDoc, tuple]] = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_rules", _rule_entries(self.rule_files))

    def file(self, name: str) -> YamlDoc | None:
        """The parsed catalogue file `name` ("pack.yaml", "diseases.yaml", …), or None."""
        return self.files.get(name)

    def at(self, name: str, path: tuple) -> Location | None:
        """The position of `path` in catalogue file `name` (or of its nearest located
        ancestor), None when the pack has no such file."""
        doc = self.files.get(name)
        return None if doc is None else doc.location(path)

    def entry(self, name: str, key: str, ident: str, sub: tuple = ("id",)) -> Location:
        """Where the entry `ident` of the list or mapping `key` of catalogue file `name`
        stands (its `sub` part; for a mapping keyed by id, `("id",)` is the key itself).
        Falls back to the list, then to the file."""
        doc = self.files.get(name)
        if doc is None:
            return Location(str(Path(self.folder) / name))
        items = doc.value.get(key) if isinstance(doc.value, dict) else None
        if isinstance(items, dict):
            return doc.location((key, ident) + (sub[1:] if sub and sub[0] == "id" else sub))
        for i, item in enumerate(items or ()):
            if isinstance(item, dict) and str(item.get("id")) == ident:
                return doc.location((key, i) + sub)
        return doc.location((key,))

    def rule(self, rule_id: str, sub: tuple) -> Location | None:
        """Where part `sub` of rule `rule_id` stands (`("source", "quote")`; an expression,
        `("when",)` or `("deadlines", j, "date")`, at its first character), None when the
        rule is not in the files."""
        found = self._rules.get(rule_id)
        if found is None:
            return None
        doc, path = found
        if sub and (sub[-1] == "when" or (len(sub) > 1 and sub[-2] == "deadlines")):
            return doc.expression_location(path + sub, 1, 1)
        return doc.location(path + sub)
