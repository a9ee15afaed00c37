"""Files shipped inside the mtbrules package (grammar, schemas, calendars), read by name.

They sit next to this module in the installed package (and in a checkout).
Reading them with open() rather than importlib.resources keeps that module's
imports (tempfile, shutil, zipfile ...) out of every process's start-up.
"""

from __future__ import annotations

import os

_ROOT = os.path.dirname(os.path.abspath(__file__))


def read_bytes(*parts: str) -> bytes:
    """The bytes of the package file at `parts` (e.g. "schemas", "pack.schema.json")."""
    with open(os.path.join(_ROOT, *parts), "rb") as fh:
        return fh.read()


def read_text(*parts: str) -> str:
    """The UTF-8 text of the package file at `parts`."""
    return read_bytes(*parts).decode("utf-8")
