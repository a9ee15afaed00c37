"""Show the Python code a pack is compiled to: per service, the generated function that
takes a case and returns its Decision (every rule's condition, which rules take effect,
documents, deadlines, channels, path, reasons, warnings). Literals of the pack appear as
names (`_k3`) with their values listed below the source: they are data, never code.
Tracebacks through generated code show these same lines."""

from __future__ import annotations

import sys

from ..errors import InputError

HELP = "show the Python code generated for a pack's decisions"


def add_arguments(parser) -> None:
    parser.add_argument("pack", metavar="PACK", help="built-in pack id or pack folder")
    parser.add_argument("--service", help="one service (default: every service of the pack)")
    parser.add_argument(
        "--show", action="store_true", help="print the generated source (the default action)"
    )


def run(args) -> int:
    # deferred: loaded when the command runs (mtbrules --help stays fast)
    from ..registry import load_pack

    pack = load_pack(args.pack)
    services = sorted(pack.services)
    if args.service is not None:
        if args.service not in pack.services:
            raise InputError(
                f"pack {pack.id} has no service '{args.service}'; it has: {', '.join(services)}"
            )
        services = [args.service]
    out = sys.stdout
    for service in services:
        source = pack.prepared.generated_source(service)
        out.write(f"# {pack.id} · {service}\n")
        if source is None:
            out.write("# (too deeply nested for CPython: the reference interpreter runs it)\n\n")
            continue
        out.write(source)
        out.write("\n")
    return 0
