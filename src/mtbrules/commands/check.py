"""Check policy packs without a case: schema, DSL, references, citations and quotes,
scenario ids, and static rule analysis (conflicts, gaps, unreachable rules, unused
entries). Exit 0 clean, 1 findings, 2 unusable input (docs/diagnostics.md)."""

from __future__ import annotations

import sys

import attrs

from ..diagnostics import ERROR, RENDERERS, strict
from ..terminal import printable
from . import add_pack_paths, display_path

HELP = "check packs: schema, DSL, references, citations, conflicts, gaps"


def add_arguments(parser) -> None:
    add_pack_paths(parser)
    parser.add_argument("--format", choices=("text", "json", "github", "sarif"), default="text")
    parser.add_argument("--strict", action="store_true", help="treat warnings as errors")
    parser.add_argument(
        "--no-analysis",
        action="store_true",
        help="skip the static rule analysis (conflicts, gaps, reachability)",
    )
    parser.add_argument(
        "-o", "--output", metavar="FILE", help="write the report to FILE instead of standard output"
    )


def run(args) -> int:
    # deferred: loaded when the command runs (mtbrules --help stays fast)
    from ..checker import check_folder
    from ..registry import builtin_ids, pack_folders

    refs = args.paths or builtin_ids()
    folders = pack_folders(refs)  # MTB100 (exit 2) before any work
    reports = []
    for folder in folders:
        rep = check_folder(folder, analysis=not args.no_analysis)
        diagnostics = strict(rep.diagnostics) if args.strict else rep.diagnostics
        # The report names files as the user sees them: relative to the working directory.
        shown = tuple(_with_display_path(d) for d in diagnostics)
        reports.append(attrs.evolve(rep, folder=display_path(rep.folder), diagnostics=shown))
    text = RENDERERS[args.format](reports)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
    elif args.format == "text":
        sys.stdout.write(printable(text))
    else:
        sys.stdout.write(text)
    failed = any(d.severity == ERROR for rep in reports for d in rep.diagnostics)
    return 1 if failed else 0


def _with_display_path(d):
    """`d` with its file named by `display_path`."""
    if d.location is None:
        return d
    return attrs.evolve(d, location=attrs.evolve(d.location, file=display_path(d.location.file)))
