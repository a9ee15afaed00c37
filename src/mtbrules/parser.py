"""DSL text → syntax tree (nodes), with Lark errors turned into DslSyntaxError."""

from __future__ import annotations

import datetime as _dt
import functools
from importlib import resources

import attrs
import lark
from lark import Lark, Token, Transformer, v_args

from . import nodes as n
from .diagnostics import Diagnostic, Location
from .errors import DslSyntaxError

#: Longest expression accepted, in characters.
MAX_EXPRESSION_LENGTH = 4000
#: Deepest nesting accepted: of brackets, and of the syntax tree (operators, calls,
#: quantifiers, chains of `and`/`or`/`+`). Compiling and evaluating recurse once
#: per level, so this bound keeps them far from Python's recursion limit.
MAX_DEPTH = 64

_UNITS = {
    "working_day": "working_days",
    "working_days": "working_days",
    "day": "days",
    "days": "days",
    "week": "weeks",
    "weeks": "weeks",
    "month": "months",
    "months": "months",
    "year": "years",
    "years": "years",
}

_TERMINAL_NAMES = {
    "NAME": "a name",
    "INT": "a number",
    "DECIMAL": "a number",
    "STRING": "a string",
    "DATE": "a date",
    "UNIT": "a unit (days, working_days, months, years)",
    "COMPARE": "a comparison",
    "LPAR": "'('",
    "RPAR": "')'",
    "LSQB": "'['",
    "RSQB": "']'",
    "COMMA": "','",
    "COLON": "':'",
    "DOT": "'.'",
    "PLUS": "'+'",
    "MINUS": "'-'",
    "STAR": "'*'",
    "$END": "the end of the expression",
}


@functools.cache
def _lark() -> Lark:
    grammar = resources.files("mtbrules").joinpath("grammar.lark").read_text(encoding="utf-8")
    # cache=True keeps the LALR tables between runs, so start-up stays fast.
    return Lark(
        grammar, parser="lalr", propagate_positions=True, maybe_placeholders=False, cache=True
    )


def parse_expression(text: str, locate=None) -> n.Node:
    """Parse one DSL expression; DslSyntaxError (code MTB2xx) on failure.

    `locate(line, col)` maps a 1-based position inside `text` to its place in
    the file (the loader knows the YAML scalar's position and style).
    """
    location = locate
    if not isinstance(text, str):
        raise _error(
            "MTB201", f"expected an expression (text), got {type(text).__name__}", 1, 1, location
        )
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise _error(
            "MTB205", f"expression longer than {MAX_EXPRESSION_LENGTH} characters", 1, 1, location
        )
    depth = _bracket_depth(text)
    if depth > MAX_DEPTH:
        raise _error("MTB205", f"expression nested deeper than {MAX_DEPTH} levels", 1, 1, location)
    if not text.strip():
        raise _error("MTB201", "empty expression", 1, 1, location)
    try:
        tree = _lark().parse(text)
    except lark.UnexpectedCharacters as exc:
        at = exc.pos_in_stream
        ch = text[at] if at is not None and at < len(text) else ""
        raise _error("MTB202", f"unexpected character {ch!r}", exc.line, exc.column, location)
    except lark.UnexpectedToken as exc:
        tok = exc.token
        expected = sorted(
            {_TERMINAL_NAMES.get(t, repr(t.lower()) if t.isupper() else t) for t in exc.expected}
        )
        if tok.type == "$END":
            msg = "unexpected end of expression"
            line, col = _end_position(text)
        else:
            msg = f"unexpected {tok.value!r}"
            line, col = tok.line, tok.column
        hint = "expected " + ", ".join(expected[:6]) if expected else None
        raise _error("MTB203", msg, line, col, location, hint)
    except lark.UnexpectedEOF:  # pragma: no cover - LALR reports UnexpectedToken($END)
        line, col = _end_position(text)
        raise _error("MTB203", "unexpected end of expression", line, col, location)
    except RecursionError:
        raise _error("MTB205", "expression nested too deeply", 1, 1, location)
    if _tree_depth(tree) > MAX_DEPTH:
        raise _error(
            "MTB205",
            f"expression nested deeper than {MAX_DEPTH} levels",
            1,
            1,
            location,
            "long chains of and/or count as nesting too; a list with `in [...]` is flatter",
        )
    try:
        return _ToNodes().transform(tree)
    except lark.exceptions.VisitError as exc:
        if isinstance(exc.orig_exc, DslSyntaxError):
            err = exc.orig_exc
            if location is not None:
                raise _relocate(err, location) from None
            raise err from None
        raise
    except RecursionError:
        raise _error("MTB205", "expression nested too deeply", 1, 1, location)


@attrs.frozen
class DslToken:
    """One token of an expression: its kind (the grammar's terminal: NAME, STRING,
    INT, UNIT, AND, ...), its text, and where it starts and ends (1-based, end exclusive)."""

    kind: str
    text: str
    line: int
    col: int
    end_line: int
    end_col: int


def tokens(text: str) -> list[DslToken]:
    """The tokens of `text` as the grammar reads them, up to the first character that
    starts none (so text being typed still gives what precedes the cursor)."""
    if not isinstance(text, str) or len(text) > MAX_EXPRESSION_LENGTH:
        return []
    return list(_tokens(text))


@functools.lru_cache(maxsize=4096)
def _tokens(text: str) -> tuple[DslToken, ...]:
    out: list[DslToken] = []
    try:
        for tok in _lark().lex(text):
            out.append(
                DslToken(
                    tok.type,
                    tok.value,
                    tok.line or 1,
                    tok.column or 1,
                    tok.end_line or 1,
                    tok.end_column or 1,
                )
            )
    except lark.LarkError:
        pass
    return tuple(out)


def _relocate(err: DslSyntaxError, location: Location) -> DslSyntaxError:
    d = err.diagnostics[0]
    line, col = (d.location.line, d.location.col) if d.location else (1, 1)
    return _error(d.code, d.message, line, col, location, d.hint)


def _bracket_depth(text: str) -> int:
    """Deepest bracket nesting outside string literals (checked before parsing)."""
    depth = deepest = 0
    quote = None
    escaped = False
    for ch in text:
        if quote is not None:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote or ch == "\n":
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch in "([":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in ")]":
            depth -= 1
    return deepest


def _tree_depth(tree) -> int:
    """Depth of a Lark tree, without recursion (LALR parsing itself does not recurse)."""
    deepest = 0
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        for child in node.children:
            if isinstance(child, lark.Tree):
                stack.append((child, depth + 1))
    return deepest


def _end_position(text: str) -> tuple[int, int]:
    lines = text.split("\n")
    return len(lines), len(lines[-1]) + 1


def _error(code, message, line, col, locate, hint=None) -> DslSyntaxError:
    loc = Location("<expression>", line, col) if locate is None else locate(line, col)
    return DslSyntaxError(
        str(Diagnostic(code, message, loc, hint=hint)), [Diagnostic(code, message, loc, hint=hint)]
    )


def _pos(meta_or_token) -> dict:
    return {
        "line": getattr(meta_or_token, "line", 1) or 1,
        "col": getattr(meta_or_token, "column", 1) or 1,
    }


def _unescape(token: Token) -> str:
    body = token.value[1:-1]
    out = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            i += 1
            ch = body[i]
        out.append(ch)
        i += 1
    return "".join(out)


@v_args(meta=True)
class _ToNodes(Transformer):
    def int_(self, meta, items):
        (tok,) = items
        return n.Literal(int(tok.value), **_pos(tok))

    def number(self, meta, items):
        (tok,) = items
        return n.Literal(float(tok.value), **_pos(tok))

    def string(self, meta, items):
        (tok,) = items
        return n.Literal(_unescape(tok), **_pos(tok))

    def date(self, meta, items):
        (tok,) = items
        try:
            value = _dt.date.fromisoformat(tok.value)
        except ValueError:
            raise _error("MTB204", f"not a valid date: {tok.value}", tok.line, tok.column, None)
        return n.Literal(value, **_pos(tok))

    def true(self, meta, items):
        return n.Literal(True, **_pos(meta))

    def false(self, meta, items):
        return n.Literal(False, **_pos(meta))

    def duration(self, meta, items):
        amount, unit = items
        return n.Duration(int(amount.value), _UNITS[unit.value], **_pos(amount))

    def name(self, meta, items):
        (tok,) = items
        return n.Name(tok.value, **_pos(tok))

    def list_(self, meta, items):
        return n.ListLit(tuple(items), **_pos(meta))

    def attr(self, meta, items):
        operand, name = items
        return n.Attr(operand, name.value, **_pos(name))

    def call(self, meta, items):
        func, *args = items
        return n.Call(func.value, tuple(args), **_pos(func))

    def neg(self, meta, items):
        return n.Neg(items[0], **_pos(meta))

    def not_(self, meta, items):
        return n.Not(items[0], **_pos(meta))

    def and_(self, meta, items):
        return n.BoolOp("and", items[0], items[1], **_pos(meta))

    def or_(self, meta, items):
        return n.BoolOp("or", items[0], items[1], **_pos(meta))

    def compare(self, meta, items):
        left, op, right = items
        return n.Compare(op.value, left, right, **_pos(op))

    def in_(self, meta, items):
        return n.Compare("in", items[0], items[1], **_pos(meta))

    def not_in(self, meta, items):
        return n.Compare("not in", items[0], items[1], **_pos(meta))

    def add(self, meta, items):
        return n.Arith("+", items[0], items[1], **_pos(meta))

    def sub(self, meta, items):
        return n.Arith("-", items[0], items[1], **_pos(meta))

    def mul(self, meta, items):
        return n.Arith("*", items[0], items[1], **_pos(meta))

    def if_expr(self, meta, items):
        return n.If(items[0], items[1], items[2], **_pos(meta))

    def any_(self, meta, items):
        var, seq, body = items
        return n.Quantifier("any", var.value, seq, body, **_pos(meta))

    def all_(self, meta, items):
        var, seq, body = items
        return n.Quantifier("all", var.value, seq, body, **_pos(meta))
