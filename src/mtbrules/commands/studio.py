"""The analysts' studio: a local web page on pack folders (docs/studio.md). Needs the `studio` extra:
pip install "mtbrules[studio]".

It serves on 127.0.0.1 by default and prints its URL with a per-run token, as
Jupyter does; the token guards every request. Started with one pack, the URL
opens on that pack's rules-by-clause page. Built-in pack ids open read-only;
pack folders are editable.
"""

from __future__ import annotations

import sys
import threading

from ..errors import InputError

HELP = "the analysts' local web page: notice, try a case, change a rule and see its impact"


def add_arguments(parser) -> None:
    parser.add_argument(
        "packs",
        nargs="*",
        metavar="PACK",
        help="built-in pack id (read-only) or pack folder (editable); default: every built-in pack",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=int, default=8765, help="port (default: 8765; 0 picks a free one)"
    )
    parser.add_argument(
        "--no-browser", action="store_true", help="print the URL but do not open a browser"
    )


def run(args) -> int:
    # deferred: loaded when the command runs (mtbrules --help stays fast)
    import logging
    import socket
    import webbrowser

    try:
        # deferred: the studio extra is optional (checked here), loaded when the studio starts
        import uvicorn

        from ..studio.app import create_app
    except ImportError as exc:
        raise InputError(
            f'the studio needs the `studio` extra (pip install "mtbrules[studio]"): {exc}'
        ) from None
    # deferred: loaded when the command runs (mtbrules --help stays fast)
    from ..studio.security import new_token

    token = new_token()
    port_ref = [args.port]
    app, studio = create_app(args.packs, token, host=args.host, port_ref=port_ref)
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as exc:
        raise InputError(
            f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}"
        ) from None
    port_ref[0] = sock.getsockname()[1]
    shown = f"[{args.host}]" if ":" in args.host else args.host
    start = "/"
    if len(studio.workspace.packs) == 1:
        start = f"/p/{next(iter(studio.workspace.packs))}/notice"
    url = f"http://{shown}:{port_ref[0]}{start}?token={token}"
    logging.basicConfig(level=logging.INFO, format="studio: %(message)s", stream=sys.stderr)
    for entry in studio.workspace.packs.values():
        mode = "editable" if entry.editable else "read-only"
        print(f"studio: {entry.key} ({mode}) {entry.folder}", file=sys.stderr)
    print(url, flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    if not args.no_browser:
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    server.run(sockets=[sock])
    return 0
