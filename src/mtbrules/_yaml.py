"""Read YAML safely, keeping the file position of every key and scalar.

PyYAML's safe composer builds the node tree; we turn it into plain Python
values ourselves so that each value's position is kept under its path
(("rules", 3, "when") → Location) for schema and DSL errors, and so that
duplicate keys and alias bombs are caught instead of silently accepted.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import attrs
import yaml

from .diagnostics import Diagnostic, Location
from .errors import PackError

#: Values a file may expand to, aliases included (billion-laughs guard).
MAX_NODES = 200_000
#: Bytes of one YAML file.
MAX_FILE_BYTES = 4 * 1024 * 1024
#: Deepest nesting of lists and mappings (packs need about 6). LibYAML's composer
#: recurses in C and crashes the process on very deep input, so depth is
#: checked on the parser's event stream (which does not recurse) first.
MAX_DEPTH = 100

Path = tuple

# LibYAML's parser when PyYAML was built with it: the same nodes and marks, ten times faster.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@attrs.frozen
class Scalar:
    """Where a scalar's text starts, and its style, for mapping DSL columns."""

    location: Location
    style: str | None  # None plain, "'" or '"' quoted, "|" or ">" block
    block_indent: int = 0


@attrs.frozen
class YamlDoc:
    """A parsed YAML file: its value and the positions of every path in it."""

    file: str
    value: Any
    locations: dict
    scalars: dict
    lines: list

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
        start = info.location
        if info.style in ("|", ">"):
            return Location(self.file, start.line + line, info.block_indent + col)
        if line == 1:
            quote = 1 if info.style in ("'", '"') else 0
            return Location(self.file, start.line, start.col + quote + col - 1)
        return Location(self.file, start.line + line - 1, col)


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
            raise PackError.at("MTB101", f"not UTF-8 text (byte {exc.start})", Location(path))
    else:
        # Text handed over directly gets the same checks as a file's bytes.
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError as exc:
            raise PackError.at("MTB101", f"not valid Unicode text (character {exc.start + 1} is a lone surrogate)", Location(path))
        if size > MAX_FILE_BYTES:
            raise PackError.at("MTB105", f"file larger than {MAX_FILE_BYTES} bytes", Location(path))
    try:
        _check_depth(text, path)
        node = yaml.compose(text, Loader=_LOADER)
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
    return YamlDoc(path, value, builder.locations, builder.scalars, lines)


def _check_depth(text: str, path: str) -> None:
    depth = 0
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                m = event.start_mark
                raise PackError.at("MTB105", f"YAML nested deeper than {MAX_DEPTH} levels", Location(path, m.line + 1, m.column + 1))
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1


class _Builder:
    def __init__(self, file: str, lines: list[str]):
        self.file = file
        self.lines = lines
        self.locations: dict = {}
        self.scalars: dict = {}
        self.count = 0
        self.active: set[int] = set()
        self.constructor = yaml.constructor.SafeConstructor()

    def _loc(self, node) -> Location:
        m = node.start_mark
        return Location(self.file, m.line + 1, m.column + 1)

    def build(self, node, path: Path) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise PackError.at(
                "MTB104", f"YAML expands to more than {MAX_NODES} values (alias bomb?)", self._loc(node)
            )
        if len(path) > MAX_DEPTH:  # aliases can nest what the text does not
            raise PackError.at("MTB105", f"YAML nested deeper than {MAX_DEPTH} levels", self._loc(node))
        self.locations.setdefault(path, self._loc(node))
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, path)
        if id(node) in self.active:
            raise PackError.at("MTB104", "recursive YAML alias", self._loc(node))
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
            out: dict = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise PackError.at("MTB102", "mapping keys must be plain values", self._loc(key_node))
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise PackError.at("MTB102", "merge keys (<<) are not supported", self._loc(key_node))
                # Keys are always text: YAML 1.1 would read the key `no` as False.
                key = key_node.value
                if key in out:
                    raise PackError.at("MTB103", f"duplicate key '{key}'", self._loc(key_node))
                self.locations[path + (key,)] = self._loc(key_node)
                out[key] = self.build(value_node, path + (key,))
                # The value's own position is more useful than the key's for scalars.
                if isinstance(value_node, yaml.ScalarNode):
                    self.locations[path + (key,)] = self._loc(value_node)
            return out
        finally:
            self.active.discard(id(node))

    def _scalar(self, node, path: Path | None) -> Any:
        try:
            value = self.constructor.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            raise PackError.at("MTB102", f"YAML value error: {exc.problem}", self._loc(node))
        except (ValueError, OverflowError) as exc:
            raise PackError.at("MTB102", f"YAML value error: {exc}", self._loc(node))
        except (IndexError, KeyError, AttributeError, TypeError):
            # PyYAML's constructors assume well-formed text for explicit tags: `!!int` alone, `!!bool x`.
            raise PackError.at("MTB102", f"YAML value error: not a valid {node.tag.rsplit(':', 1)[-1]} value", self._loc(node))
        if isinstance(value, (_dt.date, _dt.datetime)):
            # Dates stay ISO text: the schema and the DSL read them as text.
            value = value.isoformat() if not isinstance(value, _dt.datetime) else value.date().isoformat()
        elif isinstance(value, bytes):
            raise PackError.at("MTB102", "binary YAML values are not supported", self._loc(node))
        if path is not None and isinstance(value, str):
            self.scalars[path] = Scalar(self._loc(node), node.style, self._block_indent(node))
        return value

    def _block_indent(self, node) -> int:
        if node.style not in ("|", ">"):
            return 0
        for line in self.lines[node.start_mark.line + 1 : node.end_mark.line + 1]:
            if line.strip():
                return len(line) - len(line.lstrip(" "))
        return 0
