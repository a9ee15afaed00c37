"""The pack against its notice: the source text cut into passages, and where each quote stands.

A passage is a non-blank line of `source.txt` (the notices are written one
clause or sentence group per line). A citation's quote is found in the text
the way the checker compares quotes (`checker.normalize_quote`: NFKC, no
whitespace, and for Traditional texts the Simplified form): the match is made
on the normalised text and mapped back to the characters of the original, so
the page can highlight exactly the quoted span. A passage that holds no quote
of any rule is marked as cited by no rule.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import attrs

from ..checker import normalize_quote
from ..names import simplified


@attrs.frozen
class Span:
    """A quoted stretch of a passage: [start, end) in the passage's characters."""

    start: int
    end: int
    rules: tuple[str, ...]


@attrs.frozen
class Passage:
    number: int  # 1-based line number in source.txt
    text: str
    spans: tuple[Span, ...]  # non-overlapping, in order

    @property
    def cited(self) -> bool:
        return bool(self.spans)

    def pieces(self) -> list[tuple[str, tuple[str, ...]]]:
        """The passage as (text, rule ids) pieces; rule ids empty outside quotes."""
        out: list[tuple[str, tuple[str, ...]]] = []
        at = 0
        for s in self.spans:
            if s.start > at:
                out.append((self.text[at : s.start], ()))
            out.append((self.text[s.start : s.end], s.rules))
            at = s.end
        if at < len(self.text):
            out.append((self.text[at:], ()))
        return out


@attrs.frozen
class SourceView:
    source_id: str
    title: str
    file: str | None
    passages: tuple[Passage, ...]
    located: dict  # rule id -> line number of its quote (absent: not located)

    @property
    def uncited(self) -> int:
        return sum(not p.cited for p in self.passages)


def _normalised(text: str, traditional: bool) -> tuple[str, list[int]]:
    """`text` in the checker's comparison form, and for each of its characters the index it came from."""
    chars: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        form = unicodedata.normalize("NFKC", ch)
        if traditional:
            form = simplified(form)
        for c in form:
            if c.isspace():
                continue
            chars.append(c)
            origin.append(i)
    return "".join(chars), origin


def source_views(pack) -> list[SourceView]:
    """One view per source of `pack` that has a readable text file."""
    out = []
    for sid, src in pack.sources.items():
        lines: list[str] = []
        if src.file:
            try:
                lines = (Path(pack.folder) / src.file).read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError):
                lines = []
        cites = [
            (r.id, r.source.quote) for r in pack.rules if r.source.doc == sid and r.source.quote
        ]
        norm = [_normalised(line, False) for line in lines]
        trad = [_normalised(line, True) for line in lines]
        found: dict[int, list[tuple[int, int, str]]] = {}
        located: dict[str, int] = {}
        for rule_id, quote in cites:
            hit = _find(quote, norm, False) or _find(quote, trad, True)
            if hit is None:
                continue
            line_no, start, end = hit
            found.setdefault(line_no, []).append((start, end, rule_id))
            located.setdefault(rule_id, line_no + 1)
        passages = []
        for i, line in enumerate(lines):
            if not line.strip():
                continue
            passages.append(Passage(i + 1, line, _merge(found.get(i, []))))
        out.append(SourceView(sid, src.title, src.file, tuple(passages), located))
    return out


def _find(quote: str, lines: list[tuple[str, list[int]]], traditional: bool):
    """(line index, start, end) of `quote` in the original line, or None."""
    needle = normalize_quote(quote, traditional=traditional)
    if not needle:
        return None
    for i, (text, origin) in enumerate(lines):
        at = text.find(needle)
        if at >= 0:
            return i, origin[at], origin[at + len(needle) - 1] + 1
    return None


def _merge(hits: list[tuple[int, int, str]]) -> tuple[Span, ...]:
    """Overlapping quotes become one span naming every rule that quotes it."""
    spans: list[list] = []
    for start, end, rule in sorted(hits):
        if spans and start < spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], end)
            if rule not in spans[-1][2]:
                spans[-1][2].append(rule)
        else:
            spans.append([start, end, [rule]])
    return tuple(Span(s, e, tuple(r)) for s, e, r in spans)


def clause_groups(pack) -> list[tuple[str, str, list]]:
    """(source id, clause, rules citing it) in the order the rules first cite each clause."""
    groups: dict[tuple[str, str], list] = {}
    for rule in pack.rules:
        groups.setdefault((rule.source.doc, rule.source.clause), []).append(rule)
    return [(doc, clause, rules) for (doc, clause), rules in groups.items()]
