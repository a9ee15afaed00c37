"""The hot path of `mtbrules serve`: POST /v1/packs/{pack}/evaluate and /v1/evaluate as plain ASGI.

These two routes are most of a deployment's traffic. They are answered here,
in front of Starlette's routing and middleware, with what the Starlette
endpoint would answer (the same body, status, headers and access line): the
body read straight from `receive`, the case decided (endpoints.Service), the
decision's own bytes sent, the access line written from pre-made pieces.
Anything else (another method or path, an app mounted under a prefix) goes on
to Starlette.
"""

from __future__ import annotations

from collections.abc import Mapping
from time import perf_counter
from typing import Any

from starlette.requests import ClientDisconnect

from ..errors import MtbError
from .accesslog import access_line, enabled, write_access
from .answers import HttpError, error_response, refusal
from .endpoints import Service, url_pack_of
from .reading import headers_of, language, read_body, request_id

#: The route templates, as the access line names them.
WITH_PACK = "/v1/packs/{pack}/evaluate"
CASE_NAMES_PACK = "/v1/evaluate"
_PREFIX = "/v1/packs/"
_SUFFIX = "/evaluate"
_JSON = (b"content-type", b"application/json")


def route_of(scope: Mapping[str, Any]) -> tuple[str, str | None] | None:
    """(route template, pack in the URL) when the fast path answers this request, else None.

    Matches what Starlette's routes do: `{pack}` is one non-empty path segment.
    """
    if scope["method"] != "POST" or scope.get("root_path"):
        return None
    path = scope["path"]
    if path == CASE_NAMES_PACK:
        return CASE_NAMES_PACK, None
    if path.startswith(_PREFIX) and path.endswith(_SUFFIX):
        pack = path[len(_PREFIX) : -len(_SUFFIX)]
        if pack and "/" not in pack:
            return WITH_PACK, pack
    return None


class FastEvaluate:
    """Answers one evaluation request (a route `route_of` matched) straight over ASGI."""

    def __init__(self, service: Service, access_log: bool):
        self.service = service
        # Off: no access line and no X-Request-ID, as without the middleware.
        self.access_log = access_log

    async def __call__(self, scope, receive, send, route: str, url_pack: str | None) -> None:
        start = perf_counter()
        length, lang, rid_header = headers_of(scope)
        service = self.service
        log = self.access_log
        rid = request_id(rid_header) if log else ""
        notes: dict[str, Any] = {}
        status = 500
        started = False
        try:
            packs = service.packs  # one set for the whole request, even if a reload swaps it
            url_pack_of(notes, url_pack, packs)
            raw = await read_body(receive, length, service.config.max_body)
            body = await service.evaluate_case(notes, packs, url_pack, raw, language(lang))
            status, started = 200, True
            headers = [(b"content-length", b"%d" % len(body)), _JSON]
            if log:
                headers.append((b"x-request-id", rid.encode("ascii")))
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
        except (HttpError, MtbError) as exc:
            response, code = refusal(exc)
            if code:
                notes["error"] = code
            status, started = response.status_code, True
            if log:
                response.raw_headers.append((b"x-request-id", rid.encode("ascii")))
            await response(scope, receive, send)
        except ClientDisconnect:
            pass  # nobody to answer; the line says 500, as Starlette's endpoint would have
        except Exception as exc:
            if not started:  # a bug: said so, without a traceback or anything of the request
                await error_response(500, f"internal error (this is a bug): {type(exc).__name__}")(
                    scope, receive, send
                )
            raise
        finally:
            if log and enabled():
                write_access(access_line("POST", route, status, perf_counter() - start, notes, rid))
