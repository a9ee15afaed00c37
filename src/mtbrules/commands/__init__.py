"""One module per `mtbrules` subcommand: HELP, add_arguments(parser), run(args) -> exit code."""

PACK_PATHS_HELP = (
    "pack folders, folders holding packs (searched below), built-in ids, files inside packs,"
    " or git:REV:PATH (default: every built-in pack)"
)


def add_pack_paths(parser) -> None:
    """The PATH… arguments of check, test and fmt (resolved by registry.pack_folders)."""
    parser.add_argument("paths", nargs="*", metavar="PATH", help=PACK_PATHS_HELP)
