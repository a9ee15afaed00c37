"""Shared by commands that take one case file: read it and choose its pack (registry.pack_for_case)."""

from __future__ import annotations

from ._io import LANG_HELP, read_json

#: How the command line says where a pack may be given.
REQUIRED = "when --pack is not given"


def add_case_arguments(parser, default_format: str) -> None:
    """CASE.json, --pack, --format json|text and --lang: the arguments of eval and explain."""
    parser.add_argument("case", metavar="CASE.json", help="the case file, or - for standard input")
    parser.add_argument(
        "--pack",
        metavar="REF",
        help="built-in pack id, pack folder or git:REV:PATH (default: the case's `pack`)",
    )
    other = "text" if default_format == "json" else "json"
    parser.add_argument("--format", choices=(default_format, other), default=default_format)
    parser.add_argument("--lang", choices=("zh", "en"), default=None, help=LANG_HELP)


def read_case_and_pack(path: str, ref: str | None):
    """The PackChoice for the case file `path` with `--pack ref` (or the case's own `pack`)."""
    # deferred: loaded when the command runs (mtbrules --help stays fast)
    from ..registry import pack_for_case

    return pack_for_case(read_json(path), ref, required=REQUIRED, name=path)
