"""Structured access logs: one JSON line per request, with nothing of the case in it.

A line carries the method, the route *template* (`/v1/packs/{pack}/evaluate`,
never the raw URL or its query string), the status, the duration, the pack
(only if it is one the server serves), the outcome, and for errors the
diagnostic code or error class — never a field value, a message (messages
quote values), the client address or a header other than a well-formed
X-Request-ID.

    {"ts":"2025-09-29T08:00:00.123Z","event":"access","method":"POST","path":"/v1/packs/{pack}/evaluate",
     "status":200,"duration_ms":0.41,"pack":"qingdao","outcome":"review","request_id":"9f2c…"}
"""

from __future__ import annotations

import datetime as _dt
import itertools
import json
import logging
import os
import re
import sys
import time
import uuid

ACCESS = logging.getLogger("mtbrules.access")
SERVICE = logging.getLogger("mtbrules.service")

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}\Z")
#: Generated request ids: a random prefix per process, then a counter (unique, and cheaper than uuid4 per request).
_PREFIX = uuid.uuid4().hex[:12]
_COUNTER = itertools.count(1)
#: The only keys an endpoint may add to a line (anything else is dropped).
_ALLOWED = ("pack", "outcome", "cases", "errors", "outcomes", "error", "route")


def configure(stream=None) -> None:
    """Send both loggers' lines, as they are (already JSON), to `stream` (standard error)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    for logger in (ACCESS, SERVICE):
        logger.handlers[:] = [handler]
        logger.setLevel(logging.INFO)
        logger.propagate = False


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def log_info(event: str, **fields) -> None:
    """A service event (start, reload) as one JSON line."""
    if SERVICE.isEnabledFor(logging.INFO):
        SERVICE.info(
            json.dumps(
                {"ts": _now(), "event": event, **fields}, ensure_ascii=False, separators=(",", ":")
            )
        )


class AccessLogMiddleware:
    """Pure ASGI middleware: times each HTTP request and writes its access line."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        request_id = None
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                text = value.decode("latin-1")
                if _REQUEST_ID.match(text):
                    request_id = text
                break
        request_id = request_id or f"{_PREFIX}{os.getpid():x}-{next(_COUNTER):x}"
        notes: dict = {}
        scope["mtbrules.log"] = notes
        status = [500]
        header = (b"x-request-id", request_id.encode("ascii"))

        async def send_with_status(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message = dict(message)
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            if ACCESS.isEnabledFor(logging.INFO):
                line = {
                    "ts": _now(),
                    "event": "access",
                    "method": scope.get("method"),
                    "path": notes.get("route"),
                    "status": status[0],
                    "duration_ms": round((time.perf_counter() - start) * 1000, 3),
                }
                for key in _ALLOWED:
                    if key != "route" and notes.get(key) is not None:
                        line[key] = notes[key]
                line["request_id"] = request_id
                # A record made directly: Logger.info would walk the stack to find the caller on every request.
                text = json.dumps(line, ensure_ascii=False, separators=(",", ":"))
                ACCESS.handle(
                    logging.LogRecord(ACCESS.name, logging.INFO, __file__, 0, text, None, None)
                )
