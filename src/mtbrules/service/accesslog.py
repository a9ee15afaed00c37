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

import json
import logging
import sys
import time
from collections.abc import Mapping
from typing import Any

import orjson

from .reading import headers_of, request_id

ACCESS = logging.getLogger("mtbrules.access")
SERVICE = logging.getLogger("mtbrules.service")

#: The only keys an endpoint may add to a line, in the line's order (anything else is dropped).
_ALLOWED = ("pack", "outcome", "cases", "errors", "outcomes", "error")
#: JSON of the values that repeat from line to line (methods, routes, pack ids, outcomes, codes).
_JSON: dict[Any, str] = {}
_MAX_JSON = 1024
#: The line's fixed middle for each (method, route): `"event":…,"method":…,"path":…,"status":`.
_HEADS: dict[tuple[str, str | None], str] = {}


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


def _json(value: Any) -> str:
    if isinstance(value, (str, type(None))):
        text = _JSON.get(value)
        if text is None:
            text = orjson.dumps(value).decode("utf-8")
            if len(_JSON) < _MAX_JSON:
                _JSON[value] = text
        return text
    return orjson.dumps(value).decode("utf-8")


def access_line(
    method: str,
    route: str | None,
    status: int,
    seconds: float,
    notes: Mapping[str, Any],
    request_id: str,
) -> str:
    """The access line of one request, as JSON text: the fixed fields, then what `notes` may carry.

    Written piece by piece (the repeating pieces' JSON made once): the same
    text `orjson.dumps` gives for the dict of these fields, in this order.
    """
    fixed = _HEADS.get((method, route))
    if fixed is None:
        fixed = f'"event":"access","method":{_json(method)},"path":{_json(route)},"status":'
        if len(_HEADS) < _MAX_JSON:
            _HEADS[(method, route)] = fixed
    head = f'{{"ts":"{_now()}",{fixed}{status},"duration_ms":{round(seconds * 1000, 3)!r}'
    parts = [head]
    for key in _ALLOWED:
        value = notes.get(key)
        if value is not None:
            parts.append(f',"{key}":{_json(value)}')
    # A request id is a token of `._:-`, letters and digits (reading.request_id): nothing to escape.
    parts.append(f',"request_id":"{request_id}"}}')
    return "".join(parts)


def write_access(line: str) -> None:
    """One access line to the access logger: straight to the stream when it is ours."""
    handlers = ACCESS.handlers
    if len(handlers) == 1 and isinstance(handlers[0], _Sink):
        handlers[0].write(line)  # ours: the line as it is, without a LogRecord
    else:  # a deployment's own logging set-up: a record like any other
        ACCESS.handle(logging.LogRecord(ACCESS.name, logging.INFO, __file__, 0, line, None, None))


def enabled() -> bool:
    """Whether access lines are wanted (the logger is at INFO or below)."""
    return ACCESS.isEnabledFor(logging.INFO)


class AccessLogMiddleware:
    """Pure ASGI middleware: times each HTTP request and writes its access line."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        rid = request_id(headers_of(scope)[2])
        notes: dict = {}
        scope["mtbrules.log"] = notes
        status = 500
        header = (b"x-request-id", rid.encode("ascii"))

        async def send_with_status(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            if enabled():
                line = access_line(
                    scope["method"],
                    notes.get("route"),
                    status,
                    time.perf_counter() - start,
                    notes,
                    rid,
                )
                write_access(line)
