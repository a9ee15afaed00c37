"""One module per `mtbrules` subcommand: HELP, add_arguments(parser), run(args) -> exit code.

`mtbrules --help` imports every one of these modules (cli.build_parser), so each imports
at its top only what is loaded at start-up anyway (such as the errors, the terminal, `_io`,
`_case`); what a command runs with (the registry, the engine, an optional extra) is
imported inside its functions, on purpose, each group saying so in a comment.
"""

import os

PACK_PATHS_HELP = (
    "pack folders, folders holding packs (searched below), built-in ids, files inside packs,"
    " or git:REV:PATH (default: every built-in pack)"
)


def add_pack_paths(parser) -> None:
    """The PATH… arguments of check, test and fmt (resolved by registry.pack_folders)."""
    parser.add_argument("paths", nargs="*", metavar="PATH", help=PACK_PATHS_HELP)


def display_path(path: str) -> str:
    """`path` relative to the working directory when it is below it, with forward slashes:
    how a command's report names a file."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path.replace(os.sep, "/")
    if rel.startswith(".."):
        return path.replace(os.sep, "/")
    return rel.replace(os.sep, "/")
