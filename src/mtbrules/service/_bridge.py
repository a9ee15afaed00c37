"""The library's explain and compare functions, looked up when first needed.

They live in `mtbrules.explain` and `mtbrules.compare`; while a module is
missing, its endpoint answers 501.
"""

from __future__ import annotations

import importlib


def api(name: str):
    try:
        module = importlib.import_module(f"mtbrules.{name}")
    except ImportError:
        return None
    return getattr(module, name, None)
