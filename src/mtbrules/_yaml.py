"""Read YAML safely, keeping the file position of every key and scalar.

PyYAML's safe composer builds the node tree; we turn it into plain Python
values ourselves so that each value's position is kept under its path
(("rules", 3, "when") → Location) for schema and DSL errors, and so that
duplicate keys and alias bombs are caught instead of silently accepted.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import TYPE_CHECKING, Any

import attrs

from .diagnostics import Location
from .errors import PackError

if TYPE_CHECKING:
    import yaml

#: Values a file may expand to, aliases included (billion-laughs guard).
MAX_NODES = 200_000
#: Bytes of one YAML file.
MAX_FILE_BYTES = 4 * 1024 * 1024
#: Deepest nesting of lists and mappings (packs need about 6). LibYAML's composer
#: recurses in C and crashes the process on very deep input, and parsers add
#: limits of their own between releases, so ours is checked first: flow nesting
#: by a lexical scan of the text, everything else on the parser's event stream
#: (which does not recurse).
MAX_DEPTH = 100

Path = tuple


def _loader() -> Any:
    """LibYAML's parser when PyYAML was built with it: the same nodes and marks, ten times faster."""
    import yaml  # on first parse: a pack loaded from the compiled-pack cache reads no YAML

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@attrs.frozen
class Scalar:
    """Where a scalar's text starts and ends, and its style, for mapping DSL columns."""

    location: Location
    style: str | None  # None plain, "'" or '"' quoted, "|" or ">" block
    block_indent: int = 0
    # The end of the scalar's text in the file (1-based, exclusive) and its value,
    # so a position inside the value maps back to the file whatever the folding.
    end: tuple[int, int] = (0, 0)
    value: str = ""


@attrs.frozen
class YamlDoc:
    """A parsed YAML file: its value and the positions of every path in it."""

    file: str
    value: Any
    locations: dict
    scalars: dict
    lines: list
    # path -> (line, col, end line, end col) of the node (1-based, end exclusive); keys:
    # the same for the key of a mapping entry, under the entry's path. Plain tuples:
    # they are made for every node, alias bombs included.
    spans: dict = attrs.field(factory=dict)
    keys: dict = attrs.field(factory=dict)
    # path -> the file position of each character of its string value, worked out once.
    _places: dict = attrs.field(factory=dict, init=False, eq=False, repr=False)

    def _value_places(self, path: tuple) -> list[tuple[int, int]]:
        places = self._places.get(path)
        if places is None:
            places = self._places[path] = _value_places(self.scalars[path], self.lines)
        return places

    def location(self, path: Path) -> Location:
        """The position of `path`, or of its nearest located ancestor."""
        path = tuple(path)
        while path:
            loc = self.locations.get(path)
            if loc is not None:
                return loc
            path = path[:-1]
        return self.locations.get((), Location(self.file, 1, 1))

    def expression_location(self, path: Path, line: int, col: int) -> Location:
        """File position of 1-based (line, col) inside the scalar at `path`."""
        info = self.scalars.get(tuple(path))
        if info is None:
            return self.location(path)
        lines = info.value.split("\n")
        line = min(max(line, 1), len(lines))
        offset = sum(len(x) + 1 for x in lines[: line - 1]) + max(col, 1) - 1
        return self.offset_location(path, offset)

    def offset_location(self, path: Path, offset: int) -> Location:
        """File position of the character at `offset` (0-based) of the string value at
        `path`; `offset == len(value)` is the position just after its last character.
        Exact for every scalar style: folded lines, quotes doubled, escapes."""
        info = self.scalars.get(tuple(path))
        if info is None:
            return self.location(path)
        places = self._value_places(tuple(path))
        if not places:
            return info.location
        if offset < len(places):
            line, col = places[max(offset, 0)]
        else:
            line, col = places[-1]
            col += 1
        return Location(self.file, line, col)

    def value_offset(self, path: Path, line: int, col: int) -> int | None:
        """The offset in the string value at `path` of the file position (line, col),
        the inverse of `offset_location`; None when the position is not inside it."""
        if tuple(path) not in self.scalars:
            return None
        places = self._value_places(tuple(path))
        for i, place in enumerate(places):
            if place >= (line, col):
                return i
        if places and (line, col) == (places[-1][0], places[-1][1] + 1):
            return len(places)
        return None

    def span(self, path: Path) -> Location | None:
        """The node at `path` with its end, or None when the path is not in the file."""
        found = self.spans.get(tuple(path))
        return None if found is None else Location(self.file, *found)

    def key_span(self, path: Path) -> Location | None:
        """The key of the mapping entry at `path` with its end, or None."""
        found = self.keys.get(tuple(path))
        return None if found is None else Location(self.file, *found)


_ESCAPES = {
    "0": "\0",
    "a": "\a",
    "b": "\b",
    "t": "\t",
    "\t": "\t",
    "n": "\n",
    "v": "\v",
    "f": "\f",
    "r": "\r",
    "e": "\x1b",
    " ": " ",
    '"': '"',
    "/": "/",
    "\\": "\\",
    "N": "\x85",
    "_": "\xa0",
    "L": "\u2028",
    "P": "\u2029",
}
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}


def _value_places(info: Scalar, lines: list[str]) -> list[tuple[int, int]]:
    """(line, col) in the file of each character of a string scalar's value.

    The value's characters are matched, in order, against the scalar's text in the
    file: what YAML removes (indentation, quotes doubled, escape backslashes, line
    folds) is skipped, what it turns into a space or a newline maps to where it was.
    """
    first_line, first_col = info.location.line, info.location.col
    last_line, last_col = info.end
    if info.style in ("|", ">"):
        first_line, first_col = first_line + 1, 1
    elif info.style in ("'", '"'):
        first_col += 1
        last_col -= 1
    source: list[tuple[str, int, int]] = []
    for ln in range(first_line, min(last_line, len(lines)) + 1):
        text = lines[ln - 1]
        start = first_col - 1 if ln == first_line else 0
        stop = last_col - 1 if ln == last_line else len(text)
        source.extend((ch, ln, i + 1) for i, ch in enumerate(text[start:stop], start))
        if ln != last_line:
            source.append(("\n", ln, len(text) + 1))
    places: list[tuple[int, int]] = []
    p = 0
    for ch in info.value:
        if p >= len(source):
            places.append(places[-1] if places else (info.location.line, info.location.col))
            continue
        if ch in " \t\n":
            # Whitespace the value has (a fold's space, an indentation kept): where it was.
            places.append(source[p][1:])
            p += source[p][0] in " \t\n"
            continue
        q = p
        found = width = 0
        while q < len(source):
            here = source[q][0]
            if info.style == '"' and here == "\\":
                decoded, width = _escape_at(source, q)
                if decoded == ch:
                    found = 1
                    break
                q += max(width, 1)
                continue
            if here == ch:
                found, width = 1, 1
                doubled = q + 1 < len(source) and source[q + 1][0] == "'"
                if info.style == "'" and ch == "'" and doubled:
                    width = 2  # '' stands for one quote
                break
            q += 1
        if not found:
            places.append(source[p][1:])
            continue
        places.append(source[q][1:])
        p = q + width
    return places


def _escape_at(source: list[tuple[str, int, int]], q: int) -> tuple[str, int]:
    """The character a double-quoted escape at `q` stands for, and its width in the file."""
    if q + 1 >= len(source):
        return "", 1
    kind = source[q + 1][0]
    if kind in _HEX_ESCAPES:
        digits = "".join(c for c, _, _ in source[q + 2 : q + 2 + _HEX_ESCAPES[kind]])
        try:
            return chr(int(digits, 16)), 2 + len(digits)
        except ValueError:
            return "", 2
    if kind == "\n":
        return "", 2  # an escaped line break joins the lines
    return _ESCAPES.get(kind, ""), 2


def load_yaml(path: str, text: str | None = None) -> YamlDoc:
    """Parse one YAML file into a YamlDoc; PackError with a position on failure."""
    if text is None:
        try:
            with open(path, "rb") as fh:
                raw = fh.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise PackError.at("MTB101", f"cannot read file: {exc.strerror or exc}", Location(path))
        if len(raw) > MAX_FILE_BYTES:
            raise PackError.at("MTB105", f"file larger than {MAX_FILE_BYTES} bytes", Location(path))
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw.count(b"\n", 0, exc.start) + 1
            col = (
                exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
            )  # in bytes: the line is not text
            raise PackError.at(
                "MTB101", f"not UTF-8 text (byte {exc.start})", Location(path, line, col)
            )
    else:
        # Text handed over directly gets the same checks as a file's bytes.
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError as exc:
            raise PackError.at(
                "MTB101",
                f"not valid Unicode text (character {exc.start + 1} is a lone surrogate)",
                Location(path),
            )
        if size > MAX_FILE_BYTES:
            raise PackError.at("MTB105", f"file larger than {MAX_FILE_BYTES} bytes", Location(path))
    import yaml  # on first parse: a pack loaded from the compiled-pack cache reads no YAML

    try:
        _check_depth(text, path)
        node = yaml.compose(text, Loader=_loader())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = Location(path, mark.line + 1, mark.column + 1) if mark else Location(path)
        problem = exc.problem or exc.context or "invalid YAML"
        raise PackError.at("MTB102", f"YAML syntax error: {problem}", loc)
    except yaml.YAMLError as exc:
        raise PackError.at("MTB102", f"YAML error: {exc}", Location(path))
    lines = text.splitlines()
    builder = _Builder(path, lines)
    value = None if node is None else builder.build(node, ())
    return YamlDoc(
        path, value, builder.locations, builder.scalars, lines, builder.spans, builder.keys
    )


def _check_depth(text: str, path: str) -> None:
    deep = _deep_flow(text)
    if deep is not None:
        raise PackError.at(
            "MTB105", f"YAML nested deeper than {MAX_DEPTH} levels", Location(path, *deep)
        )
    import yaml  # on first parse: a pack loaded from the compiled-pack cache reads no YAML

    depth = 0
    for event in yaml.parse(text, Loader=_loader()):
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                m = event.start_mark
                raise PackError.at(
                    "MTB105",
                    f"YAML nested deeper than {MAX_DEPTH} levels",
                    Location(path, m.line + 1, m.column + 1) if m else Location(path),
                )
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1


# What matters to flow nesting: brackets, quotes, comments, block scalar indicators, newlines.
_FLOW_SIGNIFICANT = re.compile(r"[\[\]{}'\"#|>\n]")
_BLOCK_HEADER = re.compile(r"[|>][-+0-9]*[ \t]*(?:#[^\n]*)?(?=\n|$)")
_SCALAR_START = frozenset(":-,[{?")


def _deep_flow(text: str) -> tuple[int, int] | None:
    """1-based (line, column) where flow nesting first goes past MAX_DEPTH, else None.

    A conservative lexer: a bracket counts only where a flow collection may start
    (or inside one), quoted scalars and comments are skipped, and the lines of a
    block scalar are passed over, so valid YAML is never refused.

    >>> _deep_flow("a: " + "[" * 101 + "]" * 101)
    (1, 104)
    >>> _deep_flow("a: x" + "[" * 200 + "\\nb: |\\n  " + "{" * 200 + "\\nc: '" + "[" * 200 + "'")
    >>> _deep_flow("a: [" + "'[', " * 200 + "]")
    """
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return None
    depth = 0
    pos = 0
    line_start = 0
    line = 1
    while True:
        m = _FLOW_SIGNIFICANT.search(text, pos)
        if m is None:
            return None
        i = m.start()
        ch = text[i]
        pos = i + 1
        if ch == "\n":
            line += 1
            line_start = pos
            continue
        if ch in "]}":
            depth = max(0, depth - 1)
            continue
        if ch == "#":
            if i == line_start or text[i - 1] in " \t":
                end = text.find("\n", i)
                pos = len(text) if end < 0 else end
            continue
        if depth == 0 and not _at_scalar_start(text, i, line_start):
            # Inside a plain block scalar ('x[y', "it's"): nothing counts until a
            # mapping value starts on this line (': ') or the line ends.
            end = text.find("\n", i)
            end = len(text) if end < 0 else end
            colon = text.find(": ", i, end)
            pos = end if colon < 0 else colon + 1
            continue
        if ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return (line, i - line_start + 1)
        elif ch in "'\"":
            end = _quoted_end(text, i)
            line += text.count("\n", i, end)
            nl = text.rfind("\n", i, end)
            if nl >= 0:
                line_start = nl + 1
            pos = end
        elif depth == 0 and _BLOCK_HEADER.match(text, i):
            # A literal or folded scalar: skip the lines indented past its parent's.
            indent = len(text[line_start:i]) - len(text[line_start:i].lstrip(" "))
            pos = _block_end(text, i, indent)
            line += text.count("\n", i, pos)
            line_start = text.rfind("\n", 0, pos) + 1


def _at_scalar_start(text: str, i: int, line_start: int) -> bool:
    j = i - 1
    while j >= line_start and text[j] in " \t":
        j -= 1
    return j < line_start or text[j] in _SCALAR_START


def _quoted_end(text: str, i: int) -> int:
    quote = text[i]
    j = i + 1
    while True:
        k = text.find(quote, j)
        if k < 0:
            return len(text)
        if quote == "'" and text.startswith("''", k):
            j = k + 2
        elif quote == '"' and _escaped(text, k):
            j = k + 1
        else:
            return k + 1


def _escaped(text: str, k: int) -> bool:
    backslashes = 0
    while text[k - 1 - backslashes] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


def _block_end(text: str, i: int, indent: int) -> int:
    end = text.find("\n", i)
    while end >= 0:
        nxt = text.find("\n", end + 1)
        body = text[end + 1 : len(text) if nxt < 0 else nxt]
        if body.strip() and len(body) - len(body.lstrip(" ")) <= indent:
            return end  # the newline before the first line that is not the scalar's
        end = nxt
    return len(text)


class _Builder:
    def __init__(self, file: str, lines: list[str]):
        self.file = file
        self.lines = lines
        self.locations: dict = {}
        self.scalars: dict = {}
        self.spans: dict = {}
        self.keys: dict = {}
        # node id -> its Scalar: a node an alias repeats is described once (alias bombs).
        self.described: dict[int, Scalar] = {}
        self.count = 0
        self.active: set[int] = set()
        import yaml  # on first parse: a pack loaded from the compiled-pack cache reads no YAML

        self.constructor = yaml.constructor.SafeConstructor()
        # PyYAML's node classes, looked up once per file rather than per node.
        self.scalar_node: type[yaml.ScalarNode] = yaml.ScalarNode
        self.sequence_node: type[yaml.SequenceNode] = yaml.SequenceNode
        self.constructor_error: type[yaml.constructor.ConstructorError] = (
            yaml.constructor.ConstructorError
        )

    def _loc(self, node) -> Location:
        m = node.start_mark
        return Location(self.file, m.line + 1, m.column + 1)

    @staticmethod
    def _span(node) -> tuple[int, int, int, int]:
        m, e = node.start_mark, node.end_mark
        return (m.line + 1, m.column + 1, e.line + 1, e.column + 1)

    def build(self, node, path: Path) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise PackError.at(
                "MTB104",
                f"YAML expands to more than {MAX_NODES} values (alias bomb?)",
                self._loc(node),
            )
        if len(path) > MAX_DEPTH:  # aliases can nest what the text does not
            raise PackError.at(
                "MTB105", f"YAML nested deeper than {MAX_DEPTH} levels", self._loc(node)
            )
        self.locations.setdefault(path, self._loc(node))
        if id(node) not in self.described and path not in self.spans:
            self.spans[path] = self._span(node)
        if isinstance(node, self.scalar_node):
            return self._scalar(node, path)
        if id(node) in self.active:
            raise PackError.at("MTB104", "recursive YAML alias", self._loc(node))
        self.active.add(id(node))
        try:
            if isinstance(node, self.sequence_node):
                return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
            out: dict = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, self.scalar_node):
                    raise PackError.at(
                        "MTB102", "mapping keys must be plain values", self._loc(key_node)
                    )
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise PackError.at(
                        "MTB102", "merge keys (<<) are not supported", self._loc(key_node)
                    )
                # Keys are always text: YAML 1.1 would read the key `no` as False.
                key = key_node.value
                if key in out:
                    raise PackError.at("MTB103", f"duplicate key '{key}'", self._loc(key_node))
                self.locations[path + (key,)] = self._loc(key_node)
                self.keys[path + (key,)] = self._span(key_node)
                out[key] = self.build(value_node, path + (key,))
                # The value's own position is more useful than the key's for scalars.
                if isinstance(value_node, self.scalar_node):
                    self.locations[path + (key,)] = self._loc(value_node)
            return out
        finally:
            self.active.discard(id(node))

    def _scalar(self, node, path: Path | None) -> Any:
        try:
            value = self.constructor.construct_object(node, deep=True)
        except self.constructor_error as exc:
            raise PackError.at("MTB102", f"YAML value error: {exc.problem}", self._loc(node))
        except (ValueError, OverflowError) as exc:
            raise PackError.at("MTB102", f"YAML value error: {exc}", self._loc(node))
        except (IndexError, KeyError, AttributeError, TypeError):
            # PyYAML's constructors assume well-formed text for explicit tags: `!!int` alone, `!!bool x`.
            raise PackError.at(
                "MTB102",
                f"YAML value error: not a valid {node.tag.rsplit(':', 1)[-1]} value",
                self._loc(node),
            )
        if isinstance(value, (_dt.date, _dt.datetime)):
            # Dates stay ISO text: the schema and the DSL read them as text.
            value = (
                value.isoformat()
                if not isinstance(value, _dt.datetime)
                else value.date().isoformat()
            )
        elif isinstance(value, bytes):
            raise PackError.at("MTB102", "binary YAML values are not supported", self._loc(node))
        if path is not None and isinstance(value, str):
            info = self.described.get(id(node))
            if info is None:
                end = (node.end_mark.line + 1, node.end_mark.column + 1)
                info = Scalar(self._loc(node), node.style, self._block_indent(node), end, value)
                self.described[id(node)] = info
            self.scalars[path] = info
        return value

    def _block_indent(self, node) -> int:
        if node.style not in ("|", ">"):
            return 0
        for line in self.lines[node.start_mark.line + 1 : node.end_mark.line + 1]:
            if line.strip():
                return len(line) - len(line.lstrip(" "))
        return 0
