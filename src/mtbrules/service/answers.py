"""How the service answers: JSON bodies, the `{"error": ...}` body, and the status of each error."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from starlette.responses import Response

from .. import jsontext
from ..decision import OUTCOMES
from ..errors import InputError, MtbError, error_message
from .limits import RESPONSE_TOO_LARGE
from .packs import UnknownPackError


class HttpError(Exception):
    """An error answered as `{"error": {...}}` with `status`."""

    def __init__(
        self,
        status: int,
        message: str,
        field: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.headers = headers
        self.status = status
        self.message = message
        self.field = field
        self.code = code

    def __reduce__(self):
        # Raised in a decision process, answered by the server.
        return (
            self.__class__,
            (self.status, self.message, self.field, self.code, self.headers),
        )

    def to_dict(self) -> dict[str, Any]:
        return {"message": self.message, "field": self.field, "code": self.code}


def error_of(exc: MtbError) -> tuple[int, dict[str, Any]]:
    """The HTTP status and `error` object for a library error: the CLI's message and the field."""
    if isinstance(exc, UnknownPackError):
        status = 404
    elif isinstance(exc, InputError):
        status = 422
    else:  # an InternalError: a bug, said as such
        status = 500
    code = exc.diagnostics[0].code if exc.diagnostics else None
    field = getattr(exc, "field", None)
    return status, {"message": error_message(exc), "field": field, "code": code}


#: Compact UTF-8 JSON, as every answer is written (orjson: 8 µs for a 3.7 KB decision, where
#: json.dumps takes 130 µs); the library's one encoder, so answers and decision files agree.
dumps = jsontext.dumps_bytes


def encode(obj: Any, limit: int) -> bytes:
    """`obj` as the answer's JSON bytes; HttpError 413 (RESPONSE_TOO_LARGE) if longer than `limit`."""
    return within(dumps(obj), limit)


def within(body: bytes, limit: int) -> bytes:
    """`body` itself, or HttpError 413 (RESPONSE_TOO_LARGE) if longer than `limit`."""
    if len(body) > limit:
        raise HttpError(
            413,
            f"answer: {len(body)} bytes, more than this server sends ({limit}); "
            "ask for fewer cases or packs",
            code=RESPONSE_TOO_LARGE,
        )
    return body


def json_response(obj: Any, status: int = 200, headers: dict | None = None) -> Response:
    return Response(dumps(obj), status_code=status, media_type="application/json", headers=headers)


def error_response(
    status: int, message: str, field: str | None = None, code: str | None = None, headers=None
) -> Response:
    return json_response(
        {"error": {"message": message, "field": field, "code": code}}, status, headers
    )


def refusal(exc: HttpError | MtbError) -> tuple[Response, str | None]:
    """The answer to an error raised while handling a request, and the code its access line carries
    (the diagnostic code, else the error's class: never the message, which may quote the case)."""
    if isinstance(exc, HttpError):
        return error_response(exc.status, exc.message, exc.field, exc.code, exc.headers), exc.code
    status, err = error_of(exc)
    return json_response({"error": err}, status), err["code"] or type(exc).__name__


def count_outcomes(outcomes: Iterable[str]) -> dict[str, int]:
    """How many cases got each outcome, in the order of decision.OUTCOMES (those no case got left out)."""
    seen = Counter(outcomes)
    ordered = {o: seen.pop(o) for o in OUTCOMES if o in seen}
    return {**ordered, **dict(sorted(seen.items()))}
