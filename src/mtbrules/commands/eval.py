"""Evaluate one case (CONTRACT §1): print its Decision as JSON or as a readable report."""

from __future__ import annotations

import sys

HELP = "evaluate one case and print the decision"


def add_arguments(parser) -> None:
    from ._io import LANG_HELP

    parser.add_argument("case", metavar="CASE.json", help="the case file, or - for standard input")
    parser.add_argument(
        "--pack", metavar="REF", help="built-in pack id or pack folder (default: the case's `pack`)"
    )
    parser.add_argument("--format", choices=("json", "text"), default="json")
    parser.add_argument("--lang", choices=("zh", "en"), default=None, help=LANG_HELP)


def run(args) -> int:
    from ..errors import CaseError
    from ..registry import load_pack
    from ..render import decision_text
    from ..terminal import printable
    from ._io import answer_lang, read_json, write_json

    case = read_json(args.case)
    if not isinstance(case, dict):
        raise CaseError(f"{args.case}: a case must be a JSON object, got {type(case).__name__}")
    ref = args.pack
    if ref is None:
        ref = case.get("pack") if isinstance(case, dict) else None
        if not isinstance(ref, str) or not ref:
            raise CaseError("case field 'pack': is required when --pack is not given", field="pack")
    pack = load_pack(ref)
    if args.pack and isinstance(case, dict) and "pack" in case:
        # The command line wins (CONTRACT §2: `pack` is optional when given there).
        case = {k: v for k, v in case.items() if k != "pack"}
    lang = answer_lang(args.lang, args.format)
    decision = pack.evaluate(case, lang=lang)
    if args.format == "json":
        write_json(decision.to_dict())
    else:
        sys.stdout.write(printable(decision_text(decision, pack, lang)))
    return 0
