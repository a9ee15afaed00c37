"""Print a JSON Schema: `pack` (every pack file kind, under $defs), `case`,
`decision` or `scenario`. With --pack, `case` is the schema of that pack's cases
(its own case fields, services and categories; unknown fields rejected)."""

from __future__ import annotations

import json
import sys
from importlib import resources

from ..errors import InputError

HELP = "print the JSON Schemas of pack files, cases, decisions and scenario files"
NAMES = ("pack", "case", "decision", "scenario")


def add_arguments(parser) -> None:
    parser.add_argument(
        "name", nargs="?", choices=NAMES, default="pack", help="which schema (default: pack)"
    )
    parser.add_argument("--pack", metavar="REF", help="with `case`: the case schema of this pack")
    parser.add_argument(
        "--path", action="store_true", help="print the schema file's path instead of its text"
    )


def load(name: str) -> dict:
    return json.loads(
        resources.files("mtbrules")
        .joinpath(f"schemas/{name}.schema.json")
        .read_text(encoding="utf-8")
    )


def case_schema_for(pack) -> dict:
    """The case schema narrowed to one pack: its fields, services and categories."""
    # deferred: loaded when the command runs (mtbrules --help stays fast)
    from ..case import CONTRACT_SERVICES

    schema = load("case")
    props = schema["properties"]
    props["service"] = {"enum": sorted(set(CONTRACT_SERVICES) | set(pack.services))}
    if pack.categories:
        names = set()
        for c in pack.categories.values():
            names |= {c.id, c.name, *c.aliases} | ({c.name_en} if c.name_en else set())
        props["category"] = {"anyOf": [{"enum": sorted(names)}, {"type": "null"}]}
    types = {
        "bool": {"type": "boolean"},
        "int": {"type": "integer"},
        "number": {"type": "number"},
        "string": {"type": "string"},
        "date": props["admitted_on"]["anyOf"][0],
        "list": {"type": "array", "items": {"type": "string"}},
    }
    for name, t in pack.case_fields.items():
        spec = dict(types[t])
        allowed = getattr(pack, "case_field_values", {}).get(name)
        if allowed:
            spec = (
                {"enum": list(allowed)}
                if t == "string"
                else {"type": "array", "items": {"enum": list(allowed)}}
            )
        props[name] = {"anyOf": [spec, {"type": "null"}]}
    schema["additionalProperties"] = False
    schema["title"] = f"mtbrules case for pack {pack.id}"
    return schema


def run(args) -> int:
    if args.path:
        print(resources.files("mtbrules").joinpath(f"schemas/{args.name}.schema.json"))
        return 0
    if args.pack:
        # deferred: loaded when the command runs (mtbrules --help stays fast)
        from ..registry import load_pack

        if args.name != "case":
            raise InputError("--pack goes with `mtbrules schema case`")
        schema = case_schema_for(load_pack(args.pack))
    else:
        schema = load(args.name)
    sys.stdout.write(json.dumps(schema, ensure_ascii=False, indent=2) + "\n")
    return 0
