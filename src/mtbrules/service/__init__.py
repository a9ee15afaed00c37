"""`mtbrules serve`: the library over HTTP for systems not written in Python (docs/service.md).

Needs the `serve` extra (Starlette and uvicorn): `pip install "mtbrules[serve]"`.
"""

from __future__ import annotations

from .openapi import build_openapi as build_openapi

__all__ = ["ServiceConfig", "build_openapi", "create_app"]


def __getattr__(name):
    if name in ("create_app", "ServiceConfig"):
        from . import app  # deferred: Starlette (the serve extra) only when an app is asked for

        return getattr(app, name)
    raise AttributeError(name)
