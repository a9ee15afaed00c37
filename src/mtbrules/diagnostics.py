"""Diagnostics: the coded, positioned finding every stage reports, its codes, its formats.

Codes are stable and never reused (docs/diagnostics.md lists them):
MTB1xx YAML and schema, MTB2xx DSL syntax, MTB3xx names and types,
MTB4xx pack structure and static analysis, MTB5xx calendar, MTB7xx the HTTP
service's refusals. Errors in a case are not coded: a CaseError names the
offending field instead (docs/contract.md).

The formats (`RENDERERS`: text, JSON, GitHub workflow commands, SARIF 2.1.0) take
the findings per pack as they are; a command shows paths relative to its working
directory by giving them so (commands.display_path).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

import attrs

from ._version import __version__

ERROR = "error"
WARNING = "warning"

#: Every code `check` can report, with a title and its default severity.
#: docs/diagnostics.md documents each one; a test keeps the two in step.
CODES: dict[str, tuple[str, str]] = {
    "MTB100": ("unknown pack", ERROR),
    "MTB101": ("unreadable or missing file", ERROR),
    "MTB102": ("YAML syntax error", ERROR),
    "MTB103": ("duplicate YAML key", ERROR),
    "MTB104": ("YAML alias bomb or recursion", ERROR),
    "MTB105": ("size limit exceeded", ERROR),
    "MTB110": ("schema violation", ERROR),
    "MTB111": ("not a real date", ERROR),
    "MTB201": ("empty expression or not text", ERROR),
    "MTB202": ("DSL unexpected character", ERROR),
    "MTB203": ("DSL unexpected token or end", ERROR),
    "MTB204": ("DSL invalid date literal", ERROR),
    "MTB205": ("DSL expression too long or too deep", ERROR),
    "MTB301": ("unknown name", ERROR),
    "MTB302": ("type mismatch", ERROR),
    "MTB303": ("unknown catalogue value", ERROR),
    "MTB304": ("unknown function or wrong arity", ERROR),
    "MTB305": ("object used as a value", ERROR),
    "MTB306": ("quantifier variable hides a case field", ERROR),
    "MTB401": ("duplicate id", ERROR),
    "MTB402": ("unknown reference", ERROR),
    "MTB403": ("citation names an unknown source", ERROR),
    "MTB404": ("source file not found", ERROR),
    "MTB405": ("pack case field clashes with a contract field", ERROR),
    "MTB406": ("nested alternative document", ERROR),
    "MTB407": ("rule overrides itself", ERROR),
    "MTB408": ("deadline kind set twice in one rule", ERROR),
    "MTB409": ("override cycle", ERROR),
    "MTB410": ("rule citation without a quote", WARNING),
    "MTB411": ("catalogue entry without a citation", WARNING),
    "MTB412": ("quote not found in the cited source", ERROR),
    "MTB413": ("source never cited", WARNING),
    "MTB414": ("acknowledgement that matches no warning", WARNING),
    "MTB420": ("conflict at run time", ERROR),
    "MTB430": ("conflict: two rules can set the same output", ERROR),
    "MTB431": ("unreachable rule", WARNING),
    "MTB432": ("rule always overridden", WARNING),
    "MTB433": ("gap: service", WARNING),
    "MTB434": ("gap: disease", WARNING),
    "MTB435": ("gap: category", WARNING),
    "MTB436": ("incomplete disease catalogue not acknowledged in a note", WARNING),
    "MTB440": ("unused document", WARNING),
    "MTB441": ("unused channel", WARNING),
    "MTB442": ("unused disease group", WARNING),
    "MTB443": ("unused pack case field", WARNING),
    "MTB450": ("scenario expects an unknown id", ERROR),
    "MTB501": ("date outside the calendar's years", ERROR),
    "MTB502": ("working-day count leaves the calendar's years", ERROR),
    "MTB503": ("no such day", ERROR),
    "MTB504": ("bad calendar additions", ERROR),
    "MTB505": ("not a schedule file", ERROR),
    "MTB506": ("schedule day outside the file's year", ERROR),
    "MTB507": ("statutory holiday not a day off", ERROR),
    "MTB508": ("make-up working day not on a weekend", ERROR),
    "MTB509": ("schedule day listed twice", ERROR),
    "MTB510": ("not a festival of the 放假办法", ERROR),
    "MTB511": ("net days off differ from the 放假办法", WARNING),
    "MTB512": ("schedule year the calendar cannot take", ERROR),
}


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


def strict(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Warnings promoted to errors (`--strict`)."""
    return [attrs.evolve(d, severity=ERROR) if d.severity == WARNING else d for d in diagnostics]


# ---------------------------------------------------------------- output formats


class Findings(Protocol):
    """The findings of one pack, as the formats read them (checker.PackReport)."""

    @property
    def folder(self) -> str: ...
    @property
    def pack_id(self) -> str | None: ...
    @property
    def diagnostics(self) -> tuple[Diagnostic, ...]: ...


def render_text(reports: Sequence[Findings]) -> str:
    """Each finding with its source line and a caret, then a count per pack."""
    lines = []
    for rep in reports:
        for d in rep.diagnostics:
            lines.append(f"{d.severity}: {d.render()}")
            if d.example is not None:
                lines.append("    example case: " + json.dumps(d.example, ensure_ascii=False))
        errors = sum(d.severity == ERROR for d in rep.diagnostics)
        warnings = sum(d.severity == WARNING for d in rep.diagnostics)
        name = rep.pack_id or rep.folder
        lines.append(
            f"{name}: {errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"
        )
    return "\n".join(lines) + "\n"


def render_json(reports: Sequence[Findings]) -> str:
    """A list of packs, each with its counts and its findings."""
    out = []
    for rep in reports:
        out.append(
            {
                "pack": rep.pack_id,
                "folder": rep.folder,
                "errors": sum(d.severity == ERROR for d in rep.diagnostics),
                "warnings": sum(d.severity == WARNING for d in rep.diagnostics),
                "diagnostics": [d.to_dict() for d in rep.diagnostics],
            }
        )
    return json.dumps(out, ensure_ascii=False, indent=2) + "\n"


def github_escape(text: str, prop: bool = False) -> str:
    """`text` escaped for a GitHub workflow command: its message, or (`prop`) a property value."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def render_github(reports: Sequence[Findings]) -> str:
    """GitHub Actions workflow commands: one `::error` / `::warning` line per finding."""
    lines = []
    for rep in reports:
        for d in rep.diagnostics:
            level = "error" if d.severity == ERROR else "warning"
            props = []
            if d.location is not None:
                props.append(f"file={github_escape(d.location.file, True)}")
                if d.location.line:
                    props.append(f"line={d.location.line}")
                    props.append(f"col={max(d.location.col, 1)}")
            title = d.code + " " + CODES.get(d.code, ("", ""))[0]
            props.append(f"title={github_escape(title, True)}")
            message = f"{d.code} {d.message}"
            if d.hint:
                message += f" ({d.hint})"
            if d.example is not None:
                message += "\nexample case: " + json.dumps(d.example, ensure_ascii=False)
            lines.append(f"::{level} {','.join(props)}::{github_escape(message)}")
    return "\n".join(lines) + ("\n" if lines else "")


SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def render_sarif(reports: Sequence[Findings]) -> str:
    """SARIF 2.1.0, for code scanning (one run, one result per finding)."""
    used = sorted({d.code for rep in reports for d in rep.diagnostics} | set(CODES))
    index = {code: i for i, code in enumerate(used)}
    rules = []
    for code in used:
        title, severity = CODES.get(code, (code, ERROR))
        rules.append(
            {
                "id": code,
                "name": title.replace(" ", "-").replace(":", ""),
                "shortDescription": {"text": title},
                "helpUri": f"https://mtbrules.invalid/docs/diagnostics#{code.lower()}",
                "defaultConfiguration": {"level": "error" if severity == ERROR else "warning"},
            }
        )
    results = []
    for rep in reports:
        for d in rep.diagnostics:
            text = d.message + (f" ({d.hint})" if d.hint else "")
            result: dict[str, Any] = {
                "ruleId": d.code,
                "ruleIndex": index[d.code],
                "level": "error" if d.severity == ERROR else "warning",
                "message": {"text": text},
            }
            if d.location is not None:
                physical: dict[str, Any] = {"artifactLocation": {"uri": d.location.file}}
                if d.location.line:
                    physical["region"] = {
                        "startLine": d.location.line,
                        "startColumn": max(d.location.col, 1),
                    }
                result["locations"] = [{"physicalLocation": physical}]
            if d.example is not None:
                result["properties"] = {"exampleCase": d.example}
            results.append(result)
    sarif = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "mtbrules",
                        "version": __version__,
                        "informationUri": "https://mtbrules.invalid/docs/diagnostics",
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(sarif, ensure_ascii=False, indent=2) + "\n"


#: `--format` name -> the renderer.
RENDERERS: dict[str, Callable[[Sequence[Findings]], str]] = {
    "text": render_text,
    "json": render_json,
    "github": render_github,
    "sarif": render_sarif,
}
