"""Evaluate one case (CONTRACT §1): print its Decision as JSON or as a readable report."""

from __future__ import annotations

import sys

from ..terminal import printable
from ._case import add_case_arguments, read_case_and_pack
from ._io import answer_lang, write_json

HELP = "evaluate one case and print the decision"


def add_arguments(parser) -> None:
    add_case_arguments(parser, default_format="json")


def run(args) -> int:
    # deferred: loaded when the command runs (mtbrules --help stays fast)
    from ..render import decision_text

    choice = read_case_and_pack(args.case, args.pack)
    lang = answer_lang(args.lang, args.format)
    decision = choice.evaluate(lang)
    if args.format == "json":
        write_json(decision.to_dict())
    else:
        sys.stdout.write(printable(decision_text(decision, choice.pack, lang)))
    return 0
