"""Shared by the atheris harnesses: only MtbError may come out of the library."""

from __future__ import annotations

import os
import sys

os.environ.setdefault("MTBRULES_CACHE", "0")
sys.setrecursionlimit(3000)


def expected(exc: BaseException) -> bool:
    from mtbrules.errors import MtbError

    return isinstance(exc, MtbError)
