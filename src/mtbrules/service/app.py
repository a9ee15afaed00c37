"""The ASGI application of `mtbrules serve`: the fast path, Starlette's routes, errors, lifespan.

Every body in and out is the library's JSON: a case (CONTRACT §2) in, a
Decision (CONTRACT §3) out. Invalid input is a 4xx whose JSON body carries
the message `mtbrules eval` prints for the same input and the field it names:

    {"error": {"message": "case field 'age': expected a whole number, got 'x'", "field": "age", "code": null}}

400 the body is not JSON; 404 an unknown pack or path; 405 wrong method;
413 body, batch or answer too large; 422 a case the library rejects;
503 every decision process busy and the queue full (with Retry-After).

POST /v1/packs/{pack}/evaluate and /v1/evaluate are answered by
fastpath.FastEvaluate before Starlette sees them; the other routes are
Starlette's (endpoints.Service). Batches, explanations and comparisons are
decided in the decision processes of offload.py, never on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import MtbError
from . import accesslog
from .accesslog import AccessLogMiddleware, log_info
from .answers import HttpError, error_response, refusal
from .config import ServiceConfig
from .endpoints import Service
from .fastpath import CASE_NAMES_PACK, WITH_PACK, FastEvaluate, route_of
from .limits import short
from .packs import PackSet

# ServiceConfig too: `mtbrules serve` and embedders take it from here, with create_app.
__all__ = ["CONFIG_ENV", "ServiceApp", "ServiceConfig", "app_from_env", "create_app"]

#: Environment variable through which `mtbrules serve` hands its settings to uvicorn workers.
CONFIG_ENV = "MTBRULES_SERVE_CONFIG"


class ServiceApp(Starlette):
    """Starlette, with the evaluation routes answered by the fast path before its routing."""

    fast: FastEvaluate

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            route = route_of(scope)
            if route is not None:
                return await self.fast(scope, receive, send, *route)
        await super().__call__(scope, receive, send)


def create_app(config: ServiceConfig | None = None, packs: PackSet | None = None) -> ServiceApp:
    """The ASGI app; compiles the packs now (PackError if one does not compile)."""
    config = config or ServiceConfig()
    service = Service(config, packs)

    def route(path: str, method, verb: str) -> Route:
        async def handle(request: Request) -> Response:
            notes = request.scope.setdefault("mtbrules.log", {})
            notes["route"] = path
            try:
                return await method(request)
            except (HttpError, MtbError) as exc:
                response, code = refusal(exc)
                if code:
                    notes["error"] = code
                return response

        return Route(path, handle, methods=[verb])

    s = service
    routes = [
        # Matched in order: the busiest first (each miss is a regular-expression match). The fast
        # path answers POSTs to the first two; these routes remain for their 405s and under a prefix.
        route(WITH_PACK, s.evaluate, "POST"),
        route(CASE_NAMES_PACK, s.evaluate, "POST"),
        route("/v1/health", s.health, "GET"),
        route("/v1/ready", s.ready_, "GET"),
        route("/v1/packs", s.list_packs, "GET"),
        route("/v1/packs/{pack}", s.get_pack, "GET"),
        route("/v1/batch", s.batch, "POST"),
        route("/v1/packs/{pack}/batch", s.batch, "POST"),
        route("/v1/packs/{pack}/explain", s.explain, "POST"),
        route("/v1/compare", s.compare, "POST"),
        route("/v1/admin/reload", s.reload, "POST"),
        route("/v1/openapi.json", s.openapi_doc, "GET"),
    ]

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)  # registered for HTTPException only
        message = {
            404: f"no such path: {short(request.url.path)}",
            405: f"method {request.method} not allowed here",
        }.get(exc.status_code, exc.detail)
        return error_response(exc.status_code, message, headers=getattr(exc, "headers", None))

    async def any_error(request: Request, exc: Exception) -> Response:
        # A bug. Say so without a traceback or any of the request in the body.
        return error_response(500, f"internal error (this is a bug): {type(exc).__name__}")

    @contextlib.asynccontextmanager
    async def lifespan(app):
        loop = asyncio.get_running_loop()
        hup = False
        if hasattr(signal, "SIGHUP"):
            try:
                loop.add_signal_handler(
                    signal.SIGHUP, lambda: loop.create_task(service.on_sighup())
                )
                hup = True
            except (NotImplementedError, RuntimeError, ValueError):
                pass  # not the main thread (tests) or no signals here
        await service.start_pool()
        service.ready = True
        log_info(
            "start",
            pid=os.getpid(),
            generation=service.packs.generation,
            packs=service.packs.describe(),
        )
        try:
            yield
        finally:
            service.ready = False
            # Joined here: uvicorn ends by re-raising SIGTERM, which runs no exit handlers.
            await service.pool_shutdown()
            if hup:
                loop.remove_signal_handler(signal.SIGHUP)
            accesslog.flush()  # the last turn's lines, should the loop not turn again

    middleware = [Middleware(AccessLogMiddleware)] if config.access_log else []
    app = ServiceApp(
        routes=routes,
        exception_handlers={HTTPException: http_error, Exception: any_error},
        lifespan=lifespan,
        middleware=middleware,
    )
    app.fast = FastEvaluate(service, config.access_log)
    app.state.service = service
    return app


def app_from_env():
    """Factory for uvicorn workers: the settings `mtbrules serve` put in MTBRULES_SERVE_CONFIG."""
    text = os.environ.get(CONFIG_ENV)
    config = ServiceConfig.from_json(text) if text else ServiceConfig()
    if config.access_log:
        accesslog.configure()
    return create_app(config)
