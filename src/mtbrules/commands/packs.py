"""List the built-in packs with their versions, services and sources."""

from __future__ import annotations

from ..terminal import one_line
from ._io import write_json

HELP = "list built-in packs, versions and sources"


def add_arguments(parser) -> None:
    parser.add_argument("--format", choices=("text", "json"), default="text")


def run(args) -> int:
    # deferred: loaded when the command runs (mtbrules --help stays fast)
    from ..registry import builtin_ids, load_pack

    packs = [load_pack(pid) for pid in builtin_ids()]
    if args.format == "json":
        write_json([p.describe() for p in packs])
        return 0
    for p in packs:
        d = p.describe()
        versions = ", ".join(
            f"{v['id']} ({v['effective_from']}–{v['effective_to'] or ''})" for v in d["versions"]
        )
        where = one_line(p.city + (", " + p.province if p.province else ""))
        print(f"{p.id:<10} {one_line(p.name)}  [{where}]")
        print(f"{'':<10} versions: {versions}")
        print(f"{'':<10} services: {', '.join(d['services'])}")
        counts = d["counts"]
        print(
            f"{'':<10} {counts['diseases']} diseases, {counts['documents']} documents, {counts['rules']} rules"
        )
        for s in d["sources"]:
            conf = f" (confidence: {s['confidence']})" if s["confidence"] else ""
            print(f"{'':<10} source {s['id']}: {one_line(s['title'])}{one_line(conf)}")
    return 0
