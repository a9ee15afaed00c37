"""The studio's guard: a per-run token on every request, the Host header, and CSRF.

Like Jupyter, the studio prints a URL with a random token. The first visit with
`?token=` sets a cookie (HttpOnly, SameSite=Strict) and redirects to the same
page without the token, so the token does not stay in the address bar or the
browser history. Every later request needs the cookie (or the token in an
`Authorization: token …` header, for scripts).

- Host: only loopback names (and the address the studio is bound to) are
  accepted, so a page of another site cannot reach the studio through DNS
  rebinding.
- CSRF: a request that changes anything (any method but GET/HEAD) must carry
  the `X-Studio-CSRF` header with the run's CSRF value, which only pages served
  by the studio know; a foreign `Origin` is refused too.

Refusals are plain 403 pages that say what is missing, never the token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable, Callable], Awaitable[None]]

CSRF_HEADER = "x-studio-csrf"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]", "::1")


def new_token() -> str:
    """A fresh per-run token (URL-safe, 192 bits)."""
    return secrets.token_urlsafe(24)


class Guard:
    """ASGI middleware: token or cookie, Host header, CSRF header and Origin."""

    def __init__(self, app: ASGIApp, token: str, host: str, port_ref: list[int]):
        self.app = app
        self.token = token
        # The CSRF value is derived from the token: known to pages, useless without the cookie.
        self.csrf = hmac.new(token.encode(), b"studio-csrf", hashlib.sha256).hexdigest()[:32]
        self.host = host
        self.port_ref = port_ref  # the bound port, known only once the server listens

    @property
    def cookie(self) -> str:
        # Cookies ignore ports: one name per port keeps two studios from logging each other out.
        return f"mtbrules_studio_{self.port_ref[0]}"

    def allowed_hosts(self) -> set[str]:
        port = self.port_ref[0]
        names = set(LOOPBACK_NAMES) | {self.host}
        out = set()
        for name in names:
            shown = f"[{name}]" if ":" in name and not name.startswith("[") else name
            out.add(f"{shown}:{port}")
            if port == 80:
                out.add(shown)
        return out

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        if host not in self.allowed_hosts():
            await _refuse(send, "this studio answers only on its loopback address (Host header)")
            return
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        given = query.get("token")
        if given is not None:
            if not hmac.compare_digest(given, self.token):
                await _refuse(send, "wrong token: open the URL the studio printed when it started")
                return
            rest = {k: v for k, v in query.items() if k != "token"}
            target = scope.get("path", "/") + (f"?{urlencode(rest)}" if rest else "")
            await _redirect(send, target, self._cookie_header())
            return
        if not self._authorised(headers):
            await _refuse(
                send,
                "no token: open the URL with ?token=… that `mtbrules studio` printed when it started",
            )
            return
        if scope["method"] not in ("GET", "HEAD"):
            origin = headers.get("origin")
            if origin is not None and origin.split("://", 1)[-1] not in self.allowed_hosts():
                await _refuse(send, "request from another site (Origin) refused")
                return
            if not hmac.compare_digest(headers.get(CSRF_HEADER, ""), self.csrf):
                await _refuse(send, "missing or wrong CSRF header: reload the page")
                return
        scope.setdefault("state", {})["csrf"] = self.csrf
        await self.app(scope, receive, send)

    def _authorised(self, headers: dict[str, str]) -> bool:
        auth = headers.get("authorization", "")
        if auth.lower().startswith("token ") and hmac.compare_digest(auth[6:].strip(), self.token):
            return True
        for part in headers.get("cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == self.cookie and hmac.compare_digest(value, self.token):
                return True
        return False

    def _cookie_header(self) -> str:
        return f"{self.cookie}={self.token}; Path=/; HttpOnly; SameSite=Strict"


async def _refuse(send: Callable, message: str) -> None:
    body = (
        "<!doctype html><meta charset=utf-8><title>403</title>"
        f"<h1>403</h1><p class=refused>{message}</p>"
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _redirect(send: Callable, target: str, cookie: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 303,
            "headers": [
                (b"location", target.encode("latin-1", "replace")),
                (b"set-cookie", cookie.encode()),
                (b"cache-control", b"no-store"),
                (b"content-length", b"0"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b""})
