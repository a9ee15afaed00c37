"""Serve packs over HTTP (/v1, JSON; docs/service.md). Needs the `serve` extra: pip install "mtbrules[serve]".

The packs are compiled before the server accepts connections; a pack that
does not compile stops the start with the usual message (exit 2). SIGHUP or
POST /v1/admin/reload compiles them again and swaps them in without
dropping requests. Access logs are JSON lines on standard error.
"""

from __future__ import annotations

import inspect
import os
import sys

from ..errors import InputError
from ..service.limits import (
    DEFAULT_MAX_BATCH,
    DEFAULT_MAX_BODY,
    DEFAULT_MAX_RESPONSE,
    DEFAULT_QUEUE,
)

HELP = "serve packs over HTTP (JSON API under /v1)"


def add_arguments(parser) -> None:
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
        "--max-response",
        type=int,
        default=DEFAULT_MAX_RESPONSE,
        metavar="BYTES",
        help=f"largest answer; a larger one is refused with 413 (default: {DEFAULT_MAX_RESPONSE})",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=0,
        metavar="N",
        help="decision processes per worker for batches, explanations and comparisons "
        "(default: the cores divided among the workers, at least 1)",
    )
    parser.add_argument(
        "--queue",
        type=int,
        default=DEFAULT_QUEUE,
        metavar="N",
        help=f"requests per worker that may wait for a decision process before 503 "
        f"(default: {DEFAULT_QUEUE})",
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
    if args.print_openapi:
        # deferred: loaded when the command runs (mtbrules --help stays fast)
        from ..service.openapi import openapi_text

        sys.stdout.write(openapi_text(args.max_body, args.max_batch, args.max_response))
        return 0
    try:
        # deferred: the serve extra is optional (checked here), loaded when the server starts
        import starlette  # noqa: F401
        import uvicorn
    except ImportError:
        raise InputError(
            'mtbrules serve needs the serve extra: pip install "mtbrules[serve]"'
        ) from None
    if args.workers < 1:
        raise InputError("--workers: must be at least 1")
    if args.max_body < 1 or args.max_batch < 1 or args.max_response < 1:
        raise InputError("--max-body, --max-batch and --max-response: must be at least 1")
    if args.processes < 0 or args.queue < 0:
        raise InputError("--processes and --queue: must be 0 or more")
    if not 0 <= args.port <= 65535:
        raise InputError(f"--port: {args.port} is not a port number")

    # deferred: loaded when the command runs (mtbrules --help stays fast)
    from ..service import accesslog
    from ..service.app import CONFIG_ENV, ServiceConfig, create_app
    from ..service.offload import cores
    from ..service.packs import load_pack_set

    config = ServiceConfig(
        packs=tuple(args.packs or ()),
        max_body=args.max_body,
        max_batch=args.max_batch,
        max_response=args.max_response,
        processes=args.processes or max(1, cores() // args.workers),
        queue=args.queue,
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
        # The service reads neither the client's address nor the scheme (nor logs them):
        # no proxy-headers middleware on every request.
        "proxy_headers": False,
        "log_level": "info",
        "timeout_graceful_shutdown": 10,
    }
    if args.workers == 1:
        uvicorn.run(create_app(config, packs), **options)
    else:
        # Each worker process builds its own app (and compiles the packs) from the same settings.
        os.environ[CONFIG_ENV] = config.to_json()
        if "timeout_worker_healthcheck" in inspect.signature(uvicorn.Config).parameters:
            # A replacement worker compiles every pack before it is ready; give it time on a busy machine.
            options["timeout_worker_healthcheck"] = 60
        uvicorn.run(
            "mtbrules.service.app:app_from_env", factory=True, workers=args.workers, **options
        )
    return 0
