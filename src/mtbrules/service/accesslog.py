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

import itertools
import json
import logging
import os
import re
import sys
import time
import uuid

import orjson

ACCESS = logging.getLogger("mtbrules.access")
SERVICE = logging.getLogger("mtbrules.service")

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}\Z")
#: Generated request ids: a random prefix per process, then a counter (unique, and cheaper than uuid4 per request).
_PREFIX = f"{uuid.uuid4().hex[:12]}{os.getpid():x}-"
_COUNTER = itertools.count(1)
#: The only keys an endpoint may add to a line (anything else is dropped).
_ALLOWED = ("pack", "outcome", "cases", "errors", "outcomes", "error", "route")


class _Sink(logging.StreamHandler):
    """The handler `configure` installs: lines already JSON, written as they are."""

    def emit(self, record: logging.LogRecord) -> None:
        self.write(record.getMessage())

    def write(self, line: str) -> None:
        """One line, straight to the stream: no record, no formatter (the access log's path)."""
        with self.lock:  # type: ignore[union-attr]  # StreamHandler always has its lock
            self.stream.write(line + "\n")
            self.stream.flush()


def configure(stream=None) -> None:
    """Send both loggers' lines, as they are (already JSON), to `stream` (standard error)."""
    handler = _Sink(stream or sys.stderr)
    for logger in (ACCESS, SERVICE):
        logger.handlers[:] = [handler]
        logger.setLevel(logging.INFO)
        logger.propagate = False


class _Clock:
    """The time as `2025-09-29T08:00:00.123Z`: the part up to the second made once a second."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def now(self) -> str:
        t = time.time()
        second = int(t)
        if second != self._second:
            self._second = second
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._prefix}.{int((t - second) * 1000):03d}Z"


_CLOCK = _Clock()


def _now() -> str:
    return _CLOCK.now()


def log_info(event: str, **fields) -> None:
    """A service event (start, reload) as one JSON line."""
    if SERVICE.isEnabledFor(logging.INFO):
        SERVICE.info(
            json.dumps(
                {"ts": _now(), "event": event, **fields}, ensure_ascii=False, separators=(",", ":")
            )
        )


def _emit(line: dict) -> None:
    text = orjson.dumps(line).decode("utf-8")
    handlers = ACCESS.handlers
    if len(handlers) == 1 and isinstance(handlers[0], _Sink):
        handlers[0].write(text)  # ours: the line as it is, without a LogRecord
    else:  # a deployment's own logging set-up: a record like any other
        ACCESS.handle(logging.LogRecord(ACCESS.name, logging.INFO, __file__, 0, text, None, None))


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
        if request_id is None:
            request_id = f"{_PREFIX}{next(_COUNTER):x}"
        notes: dict = {}
        scope["mtbrules.log"] = notes
        status = 500
        header = (b"x-request-id", request_id.encode("ascii"))

        async def send_with_status(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), header]}
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
                    "status": status,
                    "duration_ms": round((time.perf_counter() - start) * 1000, 3),
                }
                for key in _ALLOWED:
                    value = notes.get(key)
                    if value is not None and key != "route":
                        line[key] = value
                line["request_id"] = request_id
                _emit(line)
