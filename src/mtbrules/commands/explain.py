"""Explain a decision: for each rule, the clause, the sub-conditions with the values they saw,
and, for the rules that did not apply, which sub-condition was false (or missing)."""

from __future__ import annotations

import sys

from ..errors import InputError
from ..terminal import printable
from ._case import add_case_arguments, read_case_and_pack
from ._io import answer_lang, write_json

HELP = "explain why a case's decision holds, rule by rule"


def add_arguments(parser) -> None:
    add_case_arguments(parser, default_format="text")
    parser.add_argument(
        "--depth",
        type=int,
        default=4,
        metavar="N",
        help="how deep to expand sub-conditions (default 4)",
    )
    parser.add_argument(
        "--rule", action="append", metavar="ID", help="explain only this rule (repeatable)"
    )
    parser.add_argument(
        "--only", choices=("applied", "not_applied"), help="text: show only one half"
    )


def run(args) -> int:
    # deferred: loaded when the command runs (mtbrules --help stays fast)
    from ..explain import explain

    if args.depth < 1:
        raise InputError("--depth: must be at least 1")
    choice = read_case_and_pack(args.case, args.pack)
    lang = answer_lang(args.lang, args.format)
    x = explain(choice.pack, choice.case, depth=args.depth, rules=args.rule, lang=lang)
    if args.format == "json":
        write_json(x.to_dict())
    else:
        sys.stdout.write(printable(x.to_text(lang, args.only)))
    return 0
