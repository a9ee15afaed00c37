"""Compare two versions of a pack: what changed (diseases, documents, rules, time limits, with
their clauses) and, with a caseload, what that does to the decisions, blamed on the rules.

OLD and NEW are built-in pack ids, pack folders, or git:REV:PATH (e.g.
git:HEAD~1:policies/qingdao). Exit 0 when nothing changed, 1 when something did."""

from __future__ import annotations

import sys

from ..terminal import printable
from ._io import write_json

HELP = "static and caseload impact diff between two pack versions"


def add_arguments(parser) -> None:
    parser.add_argument("old", metavar="OLD", help="pack id, folder, or git:REV:PATH")
    parser.add_argument("new", metavar="NEW", help="pack id, folder, or git:REV:PATH")
    parser.add_argument("--cases", metavar="FILE", help="a JSONL caseload to measure the impact on")
    parser.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    parser.add_argument(
        "--examples", type=int, default=3, metavar="N", help="example rows per change (default 3)"
    )
    parser.add_argument(
        "-j", "--workers", type=int, metavar="N", help="processes for the caseload (default: CPUs)"
    )


def run(args) -> int:
    # deferred: loaded when the command runs (mtbrules --help stays fast)
    from .. import diff as d
    from ..registry import load_pack

    old, new = load_pack(args.old), load_pack(args.new)
    static = d.static_diff(old, new)
    impact = None
    if args.cases:
        impact = d.impact_file(old, new, args.cases, workers=args.workers, examples=args.examples)
    rep = d.report(static, impact, str(args.old), str(args.new))
    if args.format == "json":
        write_json(rep)
    else:
        sys.stdout.write(printable(d.to_text(rep, markdown=args.format == "markdown")))
    return 1 if d.something_changed(rep) else 0
