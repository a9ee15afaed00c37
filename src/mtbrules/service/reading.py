"""How the service reads a request: its body within the size limit, its language, its request id.

Plain ASGI (a `receive` callable and the raw headers), so that the fast path
and the Starlette endpoints read requests the same way.
"""

from __future__ import annotations

import itertools
import os
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.requests import ClientDisconnect

from ..messages import negotiate
from .answers import HttpError

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}\Z")
#: Generated request ids: a random prefix per process, then a counter (unique, and cheaper than uuid4 per request).
_PREFIX = f"{uuid.uuid4().hex[:12]}{os.getpid():x}-"
_COUNTER = itertools.count(1)
#: Accept-Language values seen, and the language each asks for (clients send a few values, over and over).
_LANGS: dict[bytes | None, str] = {}
_MAX_LANGS = 256


async def read_body(
    receive: Callable[[], Awaitable[Mapping[str, Any]]], declared: bytes | None, limit: int
) -> bytes:
    """The request body, within `limit` bytes (HttpError 413 as soon as it is over).

    `declared` is the Content-Length header, if any. ClientDisconnect if the
    client goes away before the body is in.
    """
    if declared is not None:
        try:
            if int(declared.decode("latin-1")) > limit:
                raise HttpError(413, f"request body: larger than {limit} bytes")
        except ValueError:
            raise HttpError(400, "request body: Content-Length is not a number") from None
    message = await receive()
    if message["type"] == "http.request" and not message.get("more_body", False):
        # The usual request: the whole body in one message.
        body = message.get("body", b"")
        if len(body) > limit:
            raise HttpError(413, f"request body: larger than {limit} bytes")
        return body
    chunks = []
    size = 0
    while True:
        if message["type"] == "http.request":
            chunk = message.get("body", b"")
            if chunk:
                size += len(chunk)
                # As declared, the server reads exactly Content-Length bytes: checked once, at the end.
                if size > limit and declared is None:
                    raise HttpError(413, f"request body: larger than {limit} bytes")
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
        elif message["type"] == "http.disconnect":
            raise ClientDisconnect()
        message = await receive()
    if size > limit:
        raise HttpError(413, f"request body: larger than {limit} bytes")
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def headers_of(scope: Mapping[str, Any]) -> tuple[bytes | None, bytes | None, bytes | None]:
    """Content-Length, Accept-Language and X-Request-ID of an HTTP request (None when absent)."""
    length = lang = rid = None
    for name, value in scope["headers"]:
        # The first of each, as Starlette's `headers.get` gives.
        if name == b"content-length":
            length = value if length is None else length
        elif name == b"accept-language":
            lang = value if lang is None else lang
        elif name == b"x-request-id":
            rid = value if rid is None else rid
    return length, lang, rid


def language(accept_language: bytes | None) -> str:
    """The language of the engine's messages: the one `Accept-Language` prefers (default en)."""
    lang = _LANGS.get(accept_language)
    if lang is None:
        lang = negotiate(None if accept_language is None else accept_language.decode("latin-1"))
        if len(_LANGS) < _MAX_LANGS:
            _LANGS[accept_language] = lang
    return lang


def request_id(header: bytes | None) -> str:
    """The request's X-Request-ID when it is a short token (letters, digits, `._:-`), else a new one."""
    if header is not None:
        text = header.decode("latin-1")
        if _REQUEST_ID.match(text):
            return text
    return f"{_PREFIX}{next(_COUNTER):x}"
