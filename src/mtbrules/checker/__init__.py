"""`mtbrules check`: everything that can be known about a pack without a case.

A pack is first loaded the way the engine loads it (schema, references,
DSL syntax and types: MTB1xx–MTB4xx raised by the loader become findings
here). A pack that loads is then checked further:

* citations: every rule quotes its sentence (MTB410), catalogue entries cite
  a source (MTB411), every quote is found in the cited source file (MTB412),
  every source is cited (MTB413);
* scenario files: schema (MTB110) and the rule/document ids they expect (MTB450);
* static rule analysis over a finite abstraction of the case (`domain.CaseDomain`):
  conflicts (MTB430), unreachable rules (MTB431), rules always overridden
  (MTB432), gaps of a service, disease or category (MTB433–MTB435);
* unused catalogue entries (MTB440–MTB443).

One module per job: `lint` (citations, quotes, scenarios, unused entries),
`ruleanalysis` over the candidate cases of `domain` (conflicts, gaps,
reachability), `findings` (what each finding is about, acknowledgements).
Positions come from the pack's locator, never from a second read of its files;
diagnostics.py owns the codes and the output formats.

The analysis never re-implements the DSL: it builds environments the way the
evaluator does and calls the compiled closures. Finite fields (booleans,
enumerations, catalogue values, diseases) are enumerated exhaustively; ints,
numbers and dates take boundary values around the literals the expressions
compare them with. When a rule reads so many fields that the product is too
large, a seeded random sample is tried, then a hypothesis search when the
sample finds nothing (hypothesis is optional: without it the sample alone). Every conflict and gap finding carries a
counterexample case in contract JSON (CONTRACT §2).
"""

from __future__ import annotations

from pathlib import Path

import attrs

from .. import schedules
from ..diagnostics import Diagnostic, sort_key
from ..errors import PackError
from ..files import PackFiles
from ..loader import load_pack_folder
from ..pack import Pack
from .findings import Findings, unique
from .lint import lint
from .ruleanalysis import RuleAnalysis


@attrs.frozen
class PackReport:
    """The findings for one pack folder."""

    folder: str
    pack_id: str | None
    diagnostics: tuple[Diagnostic, ...]
    #: The loaded pack, or None when it did not load.
    pack: Pack | None = attrs.field(default=None, eq=False, repr=False)


def check_folder(
    folder: str | Path, analysis: bool = True, files: PackFiles | None = None
) -> PackReport:
    """Every finding for the pack in `folder` (loading errors included).

    `files` gives texts that take the place of files on disk (an editor's unsaved
    buffers; see `mtbrules.files.PackFiles`); without it the disk is read.
    """
    folder = Path(folder)
    try:
        pack = load_pack_folder(folder, files=files)
    except PackError as exc:
        return PackReport(str(folder), None, tuple(sorted(exc.diagnostics, key=sort_key)))
    return PackReport(str(folder), pack.id, tuple(check_pack(pack, analysis, files)), pack)


def check_pack(
    pack: Pack, analysis: bool = True, files: PackFiles | None = None
) -> list[Diagnostic]:
    """The findings for an already loaded pack (no loading errors, by definition)."""
    folder = Path(pack.folder)
    found = _checked(pack, folder, files, analysis) + schedules.pack_warnings(folder)
    return sorted(unique(found), key=sort_key)


def _checked(pack: Pack, folder: Path, files: PackFiles | None, analysis: bool) -> list[Diagnostic]:
    found = Findings(pack, folder, files)
    lint(found)
    if analysis and pack.rules:
        RuleAnalysis(found).run()
    found.acknowledged()
    return found.out
