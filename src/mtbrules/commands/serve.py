"""Serve packs over HTTP (/v1, JSON; docs/service.md). Needs the `serve` extra: pip install "mtbrules[serve]".

The packs are compiled before the server accepts connections; a pack that
does not compile stops the start with the usual message (exit 2). SIGHUP or
POST /v1/admin/reload compiles them again and swaps them in without
dropping requests. Access logs are JSON lines on standard error.
"""

from __future__ import annotations

import sys

HELP = "serve packs over HTTP (JSON API under /v1)"


def add_arguments(parser) -> None:
    from ..service.openapi import DEFAULT_MAX_BATCH, DEFAULT_MAX_BODY

    parser.add_argument(
        "--pack",
        action="append",
        metavar="REF",
        dest="packs",
        help="built-in pack id or pack folder to serve (repeatable; default: every built-in pack)",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=int, default=8000, help="port (default: 8000; 0 picks a free one)"
    )
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default: 1)")
    parser.add_argument(
        "--max-body",
        type=int,
        default=DEFAULT_MAX_BODY,
        metavar="BYTES",
        help=f"largest request body (default: {DEFAULT_MAX_BODY})",
    )
    parser.add_argument(
        "--max-batch",
        type=int,
        default=DEFAULT_MAX_BATCH,
        metavar="N",
        help=f"most cases in one batch (default: {DEFAULT_MAX_BATCH})",
    )
    parser.add_argument(
        "--no-access-log", action="store_true", help="do not write access log lines"
    )
    parser.add_argument(
        "--no-admin", action="store_true", help="no POST /v1/admin/reload (SIGHUP still reloads)"
    )
    parser.add_argument(
        "--print-openapi",
        action="store_true",
        help="print the OpenAPI document and exit (docs/openapi.json)",
    )


def run(args) -> int:
    from ..errors import InputError

    if args.print_openapi:
        from ..service.openapi import openapi_text

        sys.stdout.write(openapi_text(args.max_body, args.max_batch))
        return 0
    try:
        import starlette  # noqa: F401
        import uvicorn
    except ImportError:
        raise InputError(
            'mtbrules serve needs the serve extra: pip install "mtbrules[serve]"'
        ) from None
    if args.workers < 1:
        raise InputError("--workers: must be at least 1")
    if args.max_body < 1 or args.max_batch < 1:
        raise InputError("--max-body and --max-batch: must be at least 1")
    if not 0 <= args.port <= 65535:
        raise InputError(f"--port: {args.port} is not a port number")

    import os

    import uvicorn

    from ..service import accesslog
    from ..service.app import CONFIG_ENV, ServiceConfig, create_app
    from ..service.packs import load_pack_set

    config = ServiceConfig(
        packs=tuple(args.packs or ()),
        max_body=args.max_body,
        max_batch=args.max_batch,
        access_log=not args.no_access_log,
        admin=not args.no_admin,
    )
    # Compile once here: a broken pack stops the start with its file:line:col (exit 2).
    packs = load_pack_set(config.refs())
    accesslog.configure()
    options = {
        "host": args.host,
        "port": args.port,
        "access_log": False,
        "server_header": False,
        "log_level": "info",
        "timeout_graceful_shutdown": 10,
    }
    if args.workers == 1:
        uvicorn.run(create_app(config, packs), **options)
    else:
        # Each worker process builds its own app (and compiles the packs) from the same settings.
        os.environ[CONFIG_ENV] = config.to_json()
        import inspect

        if "timeout_worker_healthcheck" in inspect.signature(uvicorn.Config).parameters:
            # A replacement worker compiles every pack before it is ready; give it time on a busy machine.
            options["timeout_worker_healthcheck"] = 60
        uvicorn.run(
            "mtbrules.service.app:app_from_env", factory=True, workers=args.workers, **options
        )
    return 0
