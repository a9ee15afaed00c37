"""Every import inside a function says why it is there (issue 13), run by .ci/gates.

A function-level import is kept only where it buys start-up time (a heavy or optional
module, a command's implementation loaded when that command runs) or breaks an import
cycle, and then a comment says so: at the end of the import's line, or on a comment line
directly above it. Consecutive imports (nothing but blank lines between them, as isort
separates its sections) may share the comment line above the first. A bare pragma
(noqa, type: ignore, pragma: no cover) is not a reason. Every other import belongs at
the top of its module.

    python .ci/function_imports.py [PATH ...]   (default: src/mtbrules)

Prints `file:line: ...` for each bare function-level import and exits 1 if there is one.
"""

from __future__ import annotations

import ast
import io
import os
import re
import sys
import tokenize
from collections.abc import Iterator
from pathlib import Path

DEFAULT_ROOT = Path(__file__).resolve().parent.parent / "src" / "mtbrules"

# Tool directives, not reasons (noqa, type: ignore, pragma: no cover, fmt: ...)
_PRAGMA = re.compile(
    r"^(noqa\b|type:\s*ignore\b|pragma:|fmt:|pyright:|mypy:|isort:)", re.IGNORECASE
)

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_IMPORTS = (ast.Import, ast.ImportFrom)


def _reasons(source: str) -> tuple[set[int], set[int]]:
    """The lines carrying a comment that gives a reason, and those of them that hold
    nothing but the comment."""
    with_reason: set[int] = set()
    comment_only: set[int] = set()
    lines = source.splitlines()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type != tokenize.COMMENT:
            continue
        # "# type: ignore[x]  # deferred: ..." is one token: look at each '#' part
        parts = (p.strip() for p in tok.string.split("#"))
        if not any(p and not _PRAGMA.match(p) for p in parts):
            continue
        row = tok.start[0]
        with_reason.add(row)
        if not lines[row - 1][: tok.start[1]].strip():
            comment_only.add(row)
    return with_reason, comment_only


def _function_imports(tree: ast.AST, lines: list[str]) -> Iterator[list[ast.stmt]]:
    """The imports inside functions, grouped into runs of consecutive sibling imports
    (only blank lines between them)."""

    def follows(group: list[ast.stmt], stmt: ast.stmt) -> bool:
        between = lines[group[-1].end_lineno or 0 : stmt.lineno - 1]
        return not any(line.strip() for line in between)

    def bodies(node: ast.AST) -> Iterator[list[ast.stmt]]:
        for name in ("body", "orelse", "finalbody"):
            body = getattr(node, name, None)
            if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
                yield body
        for handler in getattr(node, "handlers", ()):
            yield handler.body
        for case in getattr(node, "cases", ()):
            yield case.body

    def walk(node: ast.AST, in_function: bool) -> Iterator[list[ast.stmt]]:
        for body in bodies(node):
            if in_function:
                group: list[ast.stmt] = []
                for stmt in body:
                    if isinstance(stmt, _IMPORTS) and group and follows(group, stmt):
                        group.append(stmt)
                        continue
                    if group:
                        yield group
                    group = [stmt] if isinstance(stmt, _IMPORTS) else []
                if group:
                    yield group
            for stmt in body:
                yield from walk(stmt, in_function or isinstance(stmt, _FUNCTIONS))

    yield from walk(tree, False)


def check_source(source: str, filename: str) -> list[str]:
    """`filename:line: message` for each function-level import without a reason."""
    tree = ast.parse(source, filename)
    with_reason, comment_only = _reasons(source)
    problems = []
    for group in _function_imports(tree, source.splitlines()):
        shared = (group[0].lineno - 1) in comment_only
        for stmt in group:
            own = any(row in with_reason for row in range(stmt.lineno, (stmt.end_lineno or 0) + 1))
            if not (own or shared):
                names = ", ".join(alias.name for alias in stmt.names)  # type: ignore[attr-defined]
                what = (
                    f"from {'.' * stmt.level}{stmt.module or ''} import {names}"
                    if isinstance(stmt, ast.ImportFrom)
                    else f"import {names}"
                )
                problems.append(
                    f"{filename}:{stmt.lineno}: `{what}` inside a function, with no comment saying "
                    "why it is deferred (start-up time, an optional extra, an import cycle): "
                    "say so, or import it at the top of the module"
                )
    return problems


def check_paths(paths: list[Path]) -> list[str]:
    problems = []
    for root in paths:
        files = sorted(root.rglob("*.py")) if root.is_dir() else [root]
        for path in files:
            name = os.path.relpath(path) if path.is_absolute() else str(path)
            problems += check_source(path.read_text(encoding="utf-8"), name)
    return problems


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or [DEFAULT_ROOT]
    problems = check_paths(paths)
    for line in problems:
        print(line)
    if problems:
        print(f"{len(problems)} function-level import(s) without a reason", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
