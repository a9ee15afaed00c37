"""`mtbrules fmt`: the canonical form of a pack's YAML files, comments kept.

The YAML is read and written with ruamel.yaml's round-trip mode, so comments,
key order, quoting style and flow/block style survive. What is canonical:

* indentation: 2 spaces for mappings, sequences indented 4 with the dash at 2
  (`  - id: …`); no line wrapping (Chinese text is never folded); `null` spelled out;
* private-use characters (garbled source text) stay escaped (`\\ue257`) in
  double-quoted strings, so nothing invisible reaches the file;
* a `# yaml-language-server: $schema=…` modeline on the first line, pointing at
  the pack schema, so editors validate as you type;
* DSL expressions (`when`, deadline `date`): one space around binary operators
  and after commas and colons, none inside brackets or before a call's `(`.
  Parentheses and line breaks are the author's and are kept. The result must
  parse to the same tree, or the expression is left as it was.

`format_text(text, path)` is pure; `format_file` writes only when the text changes.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

from .errors import MtbError

MODELINE = "# yaml-language-server: $schema="
_PUA = re.compile("[\ue000-\uf8ff]")

_TOKEN = re.compile(
    r"""
    (?P<space>[ \t]+)
  | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|[<>+\-*(),\[\]:.])
  | (?P<other>.)
    """,
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "if", "then", "else", "any", "all", "true", "false"}
_OPENERS = {"(", "["}
_CLOSERS = {")", "]"}


def _tokens(line: str) -> list[tuple[str, str]] | None:
    out: list[tuple[str, str]] = []
    for m in _TOKEN.finditer(line):
        kind = m.lastgroup
        if kind == "space":
            continue
        if kind == "other":
            return None
        out.append((kind or "", m.group()))
    return out


def _glue(prev: tuple[str, str] | None, cur: tuple[str, str], after_unary: bool) -> str:
    if prev is None or after_unary:
        return ""
    pk, pt = prev
    text = cur[1]
    if pt in _OPENERS or pt == "." or text in _CLOSERS or text in (",", ":", "."):
        return ""
    if text == "(" and pk == "name" and pt not in _KEYWORDS:
        return ""  # a call
    return " "


def _is_unary(cur: tuple[str, str], prev: tuple[str, str] | None) -> bool:
    if cur[1] != "-":
        return False
    if prev is None:
        return True
    pk, pt = prev
    return (pk == "op" and pt not in _CLOSERS) or (pk == "name" and pt in _KEYWORDS)


def format_expression(text: str) -> str:
    """`text` with canonical spacing, line breaks kept; unchanged if that would change its meaning."""
    # deferred: the parser (lark, ~20 ms) on the first expression, not at the studio's/LSP's start
    from .parser import parse_expression

    prev = None
    unary = False
    out_lines: list[str] = []
    for line in text.split("\n"):
        toks = _tokens(line)
        if toks is None:
            return text
        indent = line[: len(line) - len(line.lstrip(" "))] if out_lines else ""
        body = ""
        for tok in toks:
            body += (_glue(prev, tok, unary) if body else "") + tok[1]
            unary = _is_unary(tok, prev)
            prev = tok
        out_lines.append((indent + body) if body else "")
    result = "\n".join(out_lines)
    if result == text:
        return text
    try:
        before = parse_expression(text, lambda line, col: None)
        after = parse_expression(result, lambda line, col: None)
    except MtbError:
        return text
    return result if before == after else text


def _yaml():
    # deferred: ruamel.yaml (~10 ms) on the first format, not at the studio's/LSP's start
    from ruamel.yaml import YAML

    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 1_000_000
    y.indent(mapping=2, sequence=4, offset=2)
    y.allow_unicode = True

    def null(representer, data):
        return representer.represent_scalar("tag:yaml.org,2002:null", "null")

    y.representer.add_representer(type(None), null)
    return y


def schema_modeline(path: str | os.PathLike) -> str | None:
    """The modeline for a pack file at `path`: a relative path to the pack schema when the
    pack lives in the same tree as this checkout of mtbrules (the built-in packs), else None."""
    p = Path(path).resolve()
    schema = (Path(__file__).parent / "schemas" / "pack.schema.json").resolve()
    try:
        common = Path(os.path.commonpath([p, schema]))
    except ValueError:
        return None
    if len(common.parts) < 3 or not (common / "pyproject.toml").is_file():
        return None
    return MODELINE + os.path.relpath(schema, p.parent).replace(os.sep, "/")


def _fix_modeline(out: str, path) -> str:
    first, _, rest = out.partition("\n")
    existing = first if first.startswith(MODELINE) else None
    if existing is not None:
        target = (Path(path).resolve().parent / existing[len(MODELINE) :]).resolve()
        if target.is_file() or target.name.endswith(".json") and "://" in existing:
            return out
    line = schema_modeline(path)
    if line is None:
        return out
    return line + "\n" + (rest if existing is not None else out)


def _expressions(data):
    """(container, key) of each DSL expression in a rules file."""
    if not isinstance(data, dict):
        return
    for rule in data.get("rules") or ():
        if not isinstance(rule, dict):
            continue
        if isinstance(rule.get("when"), str):
            yield rule, "when"
        for d in rule.get("deadlines") or ():
            if isinstance(d, dict) and isinstance(d.get("date"), str):
                yield d, "date"


def format_text(text: str, path: str | os.PathLike = "pack.yaml") -> str:
    """The canonical form of one pack YAML file's text."""
    y = _yaml()
    data = y.load(text)
    if Path(path).parent.name == "rules":
        for container, key in _expressions(data):
            value = container[key]
            new = format_expression(str(value))
            if new != str(value):
                container[key] = type(value)(new) if type(value) is not str else new
    buf = io.StringIO()
    y.dump(data, buf)
    out = buf.getvalue()
    escaped = _PUA.sub(lambda m: f"\\u{ord(m.group()):04x}", out)
    if escaped != out:
        try:
            if _as_builtins(y.load(escaped)) == _as_builtins(y.load(out)):
                out = escaped
        except Exception:  # noqa: BLE001, S110 - keep the unescaped form when escaping is not valid YAML here
            pass
    out = _fix_modeline(out, path)
    out = "\n".join(x.rstrip() for x in out.split("\n"))
    return out.rstrip("\n") + "\n"


def _as_builtins(data):
    """Loaded YAML as plain dicts, lists and str (ruamel's own types compare by more than value)."""
    if isinstance(data, dict):
        return {str(k): _as_builtins(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_as_builtins(v) for v in data]
    return str(data) if isinstance(data, str) else data


def pack_files(folder: str | os.PathLike) -> list[Path]:
    """The YAML files of a pack folder, in the order the loader reads them, then scenarios."""
    root = Path(folder)
    out = [
        root / name
        for name in (
            "pack.yaml",
            "diseases.yaml",
            "documents.yaml",
            "channels.yaml",
            "categories.yaml",
        )
    ]
    out = [p for p in out if p.is_file()]
    for sub in ("rules", "scenarios"):
        if (root / sub).is_dir():
            out += sorted((root / sub).glob("*.yaml"))
    return out
