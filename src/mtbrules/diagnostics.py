"""Diagnostics: one positioned, coded finding type shared by every stage.

Codes are stable and never reused (docs/diagnostics.md lists them):
MTB1xx YAML and schema, MTB2xx DSL syntax, MTB3xx names and types,
MTB4xx pack structure and static analysis, MTB5xx calendar, MTB7xx the HTTP
service's refusals. Errors in a case are not coded: a CaseError names the
offending field instead (docs/contract.md).
"""

from __future__ import annotations

from typing import Any

import attrs

ERROR = "error"
WARNING = "warning"


@attrs.frozen
class Location:
    """Where something stands in a file: 1-based line and column."""

    file: str
    line: int = 0
    col: int = 0
    end_line: int | None = None
    end_col: int | None = None

    def shifted(self, line_offset: int, col: int) -> Location:
        """The location `line_offset` lines below this one, at column `col`."""
        return Location(self.file, self.line + line_offset, col)

    def __str__(self) -> str:
        if not self.line:
            return self.file
        return f"{self.file}:{self.line}:{self.col}"

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "col": self.col}


@attrs.frozen
class Diagnostic:
    """A finding with a stable code, a severity, a message and a location."""

    code: str
    message: str
    location: Location | None = None
    severity: str = ERROR
    hint: str | None = None
    # A concrete case that shows the finding (static analysis), as a mapping.
    example: Any = None

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        text = f"{where}{self.code} {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text

    def render(self, source_lines: list[str] | None = None) -> str:
        """The one-line form, then the source line and a caret when known."""
        text = str(self)
        loc = self.location
        if source_lines is None and loc is not None and loc.line:
            source_lines = _read_lines(loc.file)
        if loc is not None and loc.line and source_lines and loc.line <= len(source_lines):
            line = source_lines[loc.line - 1].rstrip("\n")
            caret = " " * max(loc.col - 1, 0) + "^"
            text += f"\n    {line}\n    {caret}"
        return text

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
        }
        if self.location is not None:
            out.update(self.location.to_dict())
        if self.hint:
            out["hint"] = self.hint
        if self.example is not None:
            out["example"] = self.example
        return out


def _read_lines(path: str) -> list[str] | None:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read().splitlines()
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def sort_key(diag: Diagnostic) -> tuple[str, int, int, str]:
    loc = diag.location
    if loc is None:
        return ("", 0, 0, diag.code)
    return (loc.file, loc.line, loc.col, diag.code)
