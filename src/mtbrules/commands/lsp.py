"""Run the language server for policy packs on standard input and output (editors
start it themselves: docs/lsp.md). Needs the `lsp` extra: pip install 'mtbrules[lsp]'."""

from __future__ import annotations

from ..errors import InputError

HELP = "language server for pack YAML (editors: diagnostics, hover, completion)"


def add_arguments(parser) -> None:
    parser.add_argument(
        "--stdio",
        action="store_true",
        help="speak over standard input and output (the default, and the only transport)",
    )


def run(args) -> int:
    try:
        # deferred: the lsp extra (pygls) is optional, loaded when the server starts
        from ..lsp.server import serve
    except ImportError as exc:
        raise InputError(
            f"the language server needs the lsp extra ({exc.name} is not installed): "
            "pip install 'mtbrules[lsp]'"
        ) from None
    serve()
    return 0
