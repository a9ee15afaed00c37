"""Positions: the checker's 1-based (line, column) in characters, and the protocol's
0-based ranges in the client's code units; the end of what a finding points at."""

from __future__ import annotations

from collections.abc import Sequence

import attrs
from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec

from ..diagnostics import Location
from ..files import YamlDoc
from ..parser import tokens
from .index import value_span

#: Keys whose string values are DSL expressions.
DSL_KEYS = ("when", "date")


def to_range(loc: Location, lines: Sequence[str], codec: PositionCodec) -> types.Range:
    """The protocol range of a located span (a start alone: to the end of its line)."""
    line = max(loc.line, 1) - 1
    col = max(loc.col, 1) - 1
    if loc.end_line is None or loc.end_col is None:
        end_line, end_col = line, len(lines[line]) if line < len(lines) else col
    else:
        end_line, end_col = loc.end_line - 1, loc.end_col - 1
    start = codec.position_to_client_units(lines, types.Position(line=line, character=col))
    end = codec.position_to_client_units(lines, types.Position(line=end_line, character=end_col))
    return types.Range(start=start, end=end)


def from_position(
    pos: types.Position, lines: Sequence[str], codec: PositionCodec
) -> tuple[int, int]:
    """The 1-based (line, column) in characters of a protocol position."""
    server = codec.position_from_client_units(lines, pos)
    return server.line + 1, server.character + 1


def scalar_at(doc: YamlDoc, line: int, col: int) -> tuple | None:
    """The path of the string scalar whose text holds the 1-based position, if any."""
    best = None
    for path in doc.scalars:
        span = doc.span(path)
        if span is None or span.end_line is None or span.end_col is None:
            continue
        inside = (span.line, span.col) <= (line, col) <= (span.end_line, span.end_col)
        if inside and (best is None or (span.line, span.col) >= best[1]):
            best = (path, (span.line, span.col))
    return best[0] if best else None


def dsl_token_span(doc: YamlDoc, path: tuple, line: int, col: int) -> Location | None:
    """The DSL token at a file position inside the expression at `path`, with its end."""
    offset = doc.value_offset(path, line, col)
    if offset is None:
        return None
    text = doc.scalars[tuple(path)].value
    lines = text.split("\n")
    spans = [
        (_offset(lines, t.line, t.col), _offset(lines, t.end_line, t.end_col)) for t in tokens(text)
    ]
    found = next(((s, e) for s, e in spans if s <= offset < e), None)
    if found is None and spans and offset >= len(text.rstrip()):
        found = spans[-1]  # the end of the expression: its last token
    if found is None and offset < len(text):
        found = (offset, offset + 1)  # a character no token starts with
    if found is None:
        return None
    first = doc.offset_location(path, found[0])
    last = doc.offset_location(path, found[1])
    return attrs.evolve(first, end_line=last.line, end_col=last.col)


def extent(doc: YamlDoc | None, loc: Location) -> Location:
    """`loc` with the end of what it points at: the DSL token inside an expression, the
    scalar or key it starts, else the rest of its line."""
    if doc is None or not loc.line:
        return Location(loc.file, 1, 1)
    if loc.end_line is not None:
        return loc
    path = scalar_at(doc, loc.line, loc.col)
    if path is not None:
        if path and path[-1] in DSL_KEYS:
            token = dsl_token_span(doc, path, loc.line, loc.col)
            if token is not None:
                return attrs.evolve(token, file=loc.file)
        span = value_span(doc, path)
        if span is not None:
            return attrs.evolve(span, file=loc.file)
    for path, (line, col, _, _) in doc.keys.items():
        if (line, col) == (loc.line, loc.col):
            key = doc.key_span(path)
            if key is not None:
                return attrs.evolve(key, file=loc.file)
    text = doc.lines[loc.line - 1] if loc.line <= len(doc.lines) else ""
    end = len(text.rstrip()) + 1
    return attrs.evolve(loc, end_line=loc.line, end_col=max(end, loc.col + 1))


def _offset(lines: list[str], line: int, col: int) -> int:
    return sum(len(x) + 1 for x in lines[: line - 1]) + col - 1
