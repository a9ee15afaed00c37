"""The checker's findings for a pack, as the editor shows them: per file, each with
the range of what it points at, the other places it involves, and its fix."""

from __future__ import annotations

import json
import re
from pathlib import Path

import attrs

from ..checker import PackReport, check_folder, check_pack, ruleanalysis
from ..diagnostics import Diagnostic, Location
from ..errors import MtbError
from ..files import PackFiles
from .index import PackIndex
from .ranges import extent

#: Findings about two or more rules: the rules they name are related locations.
_RULE_PAIRS = ("MTB401", "MTB409", "MTB430", "MTB432")
_DID_YOU_MEAN = re.compile(r"did you mean '([^']+)'\?")
_QUOTED = re.compile(r"'([^']+)'")


@attrs.frozen
class Finding:
    """One diagnostic, placed: its span, the related spans with what they are, its fix."""

    diagnostic: Diagnostic
    location: Location  # with its end
    related: tuple[tuple[Location, str], ...] = ()
    replacement: str | None = None  # the did-you-mean text for the span


@attrs.frozen
class CheckResult:
    report: PackReport
    index: PackIndex
    findings: dict[str, list[Finding]]  # file -> its findings


#: The findings of the static rule analysis (checker.ruleanalysis), and the one that
#: depends on them (an acknowledgement matching no warning can only be told after it).
ANALYSIS_CODES: frozenset[str] = ruleanalysis.CODES
AFTER_ANALYSIS = frozenset({"MTB414"})


def recheck(
    folder: Path,
    files: PackFiles,
    previous: PackIndex | None = None,
    analysis: bool = True,
) -> CheckResult:
    """Check the pack in `folder` as `files` hold it, and place every finding.

    Without `analysis`, the static rule analysis is left out, and so are the
    findings that depend on it: what can be shown at once, while it runs.
    """
    report = check_folder(folder, analysis=analysis, files=files)
    if not analysis:
        kept = tuple(d for d in report.diagnostics if d.code not in AFTER_ANALYSIS)
        report = attrs.evolve(report, diagnostics=kept)
    return _placed(report, folder, files, PackIndex.build(folder, files, previous))


def complete(first: CheckResult, folder: Path, files: PackFiles) -> CheckResult:
    """`first` (a check without the analysis, of a pack that loaded) with the analysis."""
    assert first.report.pack is not None
    found = check_pack(first.report.pack, analysis=True, files=files)
    report = attrs.evolve(first.report, diagnostics=tuple(found))
    return _placed(report, folder, files, first.index)


def _placed(report: PackReport, folder: Path, files: PackFiles, index: PackIndex) -> CheckResult:
    findings: dict[str, list[Finding]] = {}
    for diag in report.diagnostics:
        finding = place(diag, index, folder, files)
        findings.setdefault(finding.location.file, []).append(finding)
    return CheckResult(report, index, findings)


def place(diag: Diagnostic, index: PackIndex, folder: Path, files: PackFiles) -> Finding:
    loc = diag.location
    if loc is None or not Path(loc.file).suffix:
        # About the pack as a whole (a folder, a missing file): shown on pack.yaml.
        loc = Location(str(folder / "pack.yaml"), 1, 1)
    doc = index.docs.get(loc.file)
    if doc is None and loc.file.endswith((".yaml", ".yml")):
        try:
            doc = files.yaml(loc.file)
        except MtbError:  # a file that does not parse: its line
            doc = None
    span = extent(doc, loc) if doc is not None else _line_span(loc, files)
    related = []
    if diag.code in _RULE_PAIRS:
        for ident in dict.fromkeys(_QUOTED.findall(diag.message)):
            other = index.definition("rule", ident)
            if other is None:
                continue
            at = other.location
            if (at.file, at.line) == (span.file, span.line) and diag.code != "MTB401":
                continue
            if diag.code == "MTB401" and (at.line, at.col) == (span.line, span.col):
                continue
            related.append((at, f"rule '{ident}'"))
    replacement = None
    m = _DID_YOU_MEAN.search(diag.hint or "")
    if m is not None:
        replacement = m.group(1)
        text = _text_at(span, files)
        if text[:1] in "\"'" and text[-1:] == text[:1] and len(text) > 1:
            replacement = text[0] + replacement + text[0]  # a DSL string literal keeps its quotes
    return Finding(diag, span, tuple(related), replacement)


def message(diag: Diagnostic) -> str:
    text = diag.message
    if diag.hint:
        text += f" ({diag.hint})"
    if diag.example is not None:
        text += "\nexample case: " + json.dumps(diag.example, ensure_ascii=False)
    return text


def _text_at(span: Location, files: PackFiles) -> str:
    if span.end_line != span.line or span.end_col is None:
        return ""
    try:
        lines = files.read_text(span.file).splitlines()
    except (OSError, UnicodeDecodeError):
        return ""
    if not 0 < span.line <= len(lines):
        return ""
    return lines[span.line - 1][span.col - 1 : span.end_col - 1]


def _line_span(loc: Location, files: PackFiles) -> Location:
    line = max(loc.line, 1)
    try:
        lines = files.read_text(loc.file).splitlines()
    except (OSError, UnicodeDecodeError):
        lines = []
    width = len(lines[line - 1]) if line <= len(lines) else 0
    return Location(loc.file, line, max(loc.col, 1), line, max(width + 1, loc.col + 1))
