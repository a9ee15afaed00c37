"""Evaluate one case with several packs and show the decisions side by side
(outcome, documents, decision_due, validity, channels)."""

from __future__ import annotations

import sys

from ..terminal import printable
from ._io import LANG_HELP, answer_lang, read_json

HELP = "one case across packs, side by side"


def add_arguments(parser) -> None:
    parser.add_argument("case", metavar="CASE.json", help="the case file, or - for standard input")
    parser.add_argument(
        "--packs",
        default="all",
        metavar="REFS",
        help="comma-separated pack ids, folders or git:REV:PATH, or 'all' for every built-in pack (default); the case's own `pack` is ignored",
    )
    parser.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    parser.add_argument("--lang", choices=("zh", "en"), default=None, help=LANG_HELP)


def run(args) -> int:
    # deferred: loaded when the command runs (mtbrules --help stays fast)
    from .. import compare as cmp

    case = read_json(args.case)
    refs = "all" if args.packs == "all" else [r.strip() for r in args.packs.split(",") if r.strip()]
    lang = answer_lang(args.lang, args.format)
    rows = cmp.compare(case, refs, lang=lang)
    if args.format == "json":
        sys.stdout.write(cmp.to_json(rows) + "\n")
    elif args.format == "markdown":
        sys.stdout.write(printable(cmp.to_markdown(rows, lang)))
    else:
        sys.stdout.write(printable(cmp.to_text(rows, lang)))
    return 0
