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

import asyncio
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
#: The line's fixed middle for each (method, route, status): `"event":…,"status":…,"duration_ms":`.
_HEADS: dict[tuple[str, str | None, int], str] = {}
#: The notes an evaluation carries, each text or None: their part of the line, made once for
#: each (pack, outcome, error) seen (served pack ids, the outcomes, diagnostic codes: a few).
_TEXT_NOTES = frozenset(("pack", "outcome", "error"))
_TAILS: dict[tuple[Any, Any, Any], str] = {}


class _Sink(logging.StreamHandler):
    """The handler `configure` installs: lines already JSON, written as they are.

    With `per_turn`, the lines of one turn of the event loop (the requests it
    answered; about five a turn in a busy worker) go to the stream together
    in one write when the turn ends, instead of one write (a system call)
    each; a line written outside an event loop goes at once.
    """

    def __init__(self, stream, per_turn: bool = False) -> None:
        super().__init__(stream)
        self.per_turn = per_turn
        self._pending: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.write(record.getMessage())
        self.flush_lines()  # a service event (start, reload) is not held back

    def write(self, line: str) -> None:
        """One line, with no record or formatter (the access log's path): now, or at the turn's end."""
        with self.lock:  # type: ignore[union-attr]  # StreamHandler always has its lock
            pending = self._pending
            pending.append(line)
            if len(pending) > 1:
                return  # the turn's write is already due
            if self.per_turn:
                try:
                    asyncio.get_running_loop().call_soon(self.flush_lines)
                    return
                except RuntimeError:
                    pass  # no event loop here: at once
            self.flush_lines()

    def flush_lines(self) -> None:
        """Write the lines held for this turn, if any."""
        with self.lock:  # type: ignore[union-attr]
            if self._pending:
                lines, self._pending = self._pending, []
                self.stream.write("\n".join(lines) + "\n")
                self.stream.flush()


def configure(stream=None, per_turn: bool | None = None) -> None:
    """Send both loggers' lines, as they are (already JSON), to `stream` (standard error).

    `per_turn`: the access lines of one turn of the event loop in one write
    (default: when writing to standard error, as `mtbrules serve` does).
    """
    handler = _Sink(stream or sys.stderr, stream is None if per_turn is None else per_turn)
    for logger in (ACCESS, SERVICE):
        logger.handlers[:] = [handler]
        logger.setLevel(logging.INFO)
        logger.propagate = False


def flush() -> None:
    """Write the access lines held for the current turn now (the server does before it exits)."""
    for handler in ACCESS.handlers:
        if isinstance(handler, _Sink):
            handler.flush_lines()


class _Clock:
    """The time as `2025-09-29T08:00:00.123Z`: made once a millisecond (a busy worker logs
    several lines in one), the part up to the second once a second."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""
        self._milli = -1
        self._text = ""

    def now(self) -> str:
        milli = int(time.time() * 1000)
        if milli != self._milli:
            second, ms = divmod(milli, 1000)
            if second != self._second:
                self._second = second
                self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._milli = milli
            self._text = f"{self._prefix}.{ms:03d}Z"
        return self._text


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

    Written piece by piece (the repeating pieces made once): the same text
    `orjson.dumps` gives for the dict of these fields, in this order.
    """
    key = (method, route, status)
    fixed = _HEADS.get(key)
    if fixed is None:
        fixed = (
            f'"event":"access","method":{_json(method)},"path":{_json(route)},'
            f'"status":{status},"duration_ms":'
        )
        if len(_HEADS) < _MAX_JSON:
            _HEADS[key] = fixed
    if notes.keys() <= _TEXT_NOTES:  # an evaluation's: the same few tails over and over
        tail_key = (notes.get("pack"), notes.get("outcome"), notes.get("error"))
        tail = _TAILS.get(tail_key)
        if tail is None:
            tail = _tail(notes)
            if len(_TAILS) < _MAX_JSON:
                _TAILS[tail_key] = tail
    else:
        tail = _tail(notes)
    # A request id is a token of `._:-`, letters and digits (reading.request_id): nothing to escape.
    return f'{{"ts":"{_CLOCK.now()}",{fixed}{round(seconds * 1000, 3)!r}{tail}{request_id}"}}'


def _tail(notes: Mapping[str, Any]) -> str:
    """The line from the first note it carries to the opening quote of the request id."""
    parts = [
        f',"{key}":{_json(value)}' for key in _ALLOWED if (value := notes.get(key)) is not None
    ]
    parts.append(',"request_id":"')
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
