"""The pack against its notice: the source text cut into passages, and where each quote stands.

A passage is a non-blank line of `source.txt` (the notices are written one
clause or sentence group per line). A citation's quote is found in the text
the way the checker compares quotes (`checker.lint.normalize_quote`: NFKC, no
whitespace, and for Traditional texts the Simplified form without pinyin
glosses): the match is made on the normalised whole text and mapped back to
the characters of the original, so the page highlights exactly the quoted
span, across lines when the quote runs over several. A passage that holds no
quote of any rule is marked as cited by no rule.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from pathlib import Path

import attrs

from ..checker.lint import normalize_quote
from ..names import simplified

# The checker's comparison form (checker.lint.normalize_quote) drops these.
_PINYIN = re.compile(r"\([a-zA-Zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹḿ\u0300-\u036f]+\)")
_SPACE = re.compile(r"\s+")


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
    # Quoted by a catalogue entry, fact, version, service or note (not by a rule).
    catalogue: bool = False

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


def _citations(pack):
    """(rule id, citation) for each rule, then (None, citation) for everything else that cites."""
    for rule in pack.rules:
        yield rule.id, rule.source
    for fact in pack.facts:
        yield None, fact.source
    for note in pack.notes:
        yield None, note.source
    for v in pack.versions:
        yield None, v.source
    for table in (
        pack.services,
        pack.groups,
        pack.diseases,
        pack.documents,
        pack.channels,
        pack.categories,
    ):
        for entry in table.values():
            yield None, entry.source


def _drop(text: str, origin: list[int], pattern) -> tuple[str, list[int]]:
    """`text` without `pattern`'s matches, keeping each remaining character's origin."""
    keep = [True] * len(text)
    for m in pattern.finditer(text):
        for i in range(m.start(), m.end()):
            keep[i] = False
    return (
        "".join(c for c, k in zip(text, keep) if k),
        [o for o, k in zip(origin, keep) if k],
    )


def _normalised(text: str, traditional: bool) -> tuple[str, list[int]]:
    """`text` in the checker's comparison form (`normalize_quote`), and for each of its
    characters the index in `text` it came from."""
    chars: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        for c in unicodedata.normalize("NFKC", ch):
            chars.append(c)
            origin.append(i)
    out = "".join(chars)
    if traditional:
        out, origin = _drop(out, origin, _PINYIN)
        converted = simplified(out)
        if len(converted) == len(out):  # character for character: the origins still hold
            out = converted
        else:
            out = "".join(simplified(c) if len(simplified(c)) == 1 else c for c in out)
        out, origin = _drop(out, origin, _PINYIN)
    return _drop(out, origin, _SPACE)


def source_views(pack) -> list[SourceView]:
    """One view per source of `pack` that has a readable text file."""
    out = []
    for sid, src in pack.sources.items():
        text = ""
        if src.file:
            try:
                text = (Path(pack.folder) / src.file).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                text = ""
        lines = text.split("\n")
        starts = [0]
        for line in lines:
            starts.append(starts[-1] + len(line) + 1)
        forms = (_normalised(text, False), _normalised(text, True))
        found: dict[int, list[tuple[int, int, str]]] = {}
        located: dict[str, int] = {}
        others: set[int] = set()
        for owner, cite in _citations(pack):
            quote = cite.quote if cite is not None else None
            if cite is None or cite.doc != sid or not quote:
                continue
            for traditional, (norm, origin) in enumerate(forms):
                needle = normalize_quote(quote, traditional=bool(traditional))
                at = norm.find(needle) if needle else -1
                if at >= 0:
                    break
            else:
                continue
            begin, end = origin[at], origin[at + len(needle) - 1] + 1
            first = bisect_right(starts, begin) - 1
            last = bisect_right(starts, end - 1) - 1
            if owner is None:
                others.update(range(first, last + 1))
                continue
            located.setdefault(owner, first + 1)
            for i in range(first, last + 1):
                lo = max(begin, starts[i]) - starts[i]
                hi = min(end, starts[i] + len(lines[i])) - starts[i]
                if hi > lo:
                    found.setdefault(i, []).append((lo, hi, owner))
        passages = []
        for i, line in enumerate(lines):
            if not line.strip():
                continue
            passages.append(Passage(i + 1, line, _merge(found.get(i, [])), i in others))
        out.append(SourceView(sid, src.title, src.file, tuple(passages), located))
    return out


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
