"""Write N synthetic, seeded cases for a pack as JSONL, drawn from the pack's catalogues and the
values its rules compare with; every reachable rule appears in some decision (see --report)."""

from __future__ import annotations

import sys

from ..errors import InputError

HELP = "generate seeded synthetic cases (JSONL) from a pack"


def add_arguments(parser) -> None:
    parser.add_argument(
        "--pack", required=True, metavar="REF", help="built-in pack id, pack folder or git:REV:PATH"
    )
    parser.add_argument("-n", type=int, required=True, metavar="N", help="how many cases")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    parser.add_argument(
        "-o", "--output", default="-", metavar="FILE", help="JSONL file (default: standard output)"
    )
    parser.add_argument(
        "--no-cover", action="store_true", help="skip the search for cases that reach every rule"
    )
    parser.add_argument("--with-pack", action="store_true", help="put the pack id in each case")


def run(args) -> int:
    # deferred: loaded when the command runs (mtbrules --help stays fast)
    from ..caseio import JsonlWriter
    from ..registry import load_pack
    from ..synth import Synth

    if args.n < 0:
        raise InputError("-n: must be 0 or more")
    pack = load_pack(args.pack)
    gen = Synth(pack, args.seed)
    cases = gen.cases(args.n, cover=not args.no_cover)
    if args.with_pack:
        cases = ({"pack": pack.id, **case} for case in cases)
    out = JsonlWriter(args.output)
    try:
        out.write_objects(cases)
    finally:
        out.close()
    for rule, why in gen.unreached.items():
        print(f"mtbrules synth: rule {rule} is not reached: {why}", file=sys.stderr)
    return 0
