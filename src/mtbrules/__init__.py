"""mtbrules: policy as code for China's outpatient chronic and special disease insurance.

>>> import mtbrules
>>> pack = mtbrules.load_pack("qingdao")
>>> decision = pack.evaluate({"service": "certificate", "submitted_on": "2025-09-29", "diseases": ["恶性肿瘤"]})
>>> decision.outcome
'instant'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__ as __version__
from .errors import CalendarError as CalendarError
from .errors import CaseError as CaseError
from .errors import ConflictError as ConflictError
from .errors import DslSyntaxError as DslSyntaxError
from .errors import InputError as InputError
from .errors import InternalError as InternalError
from .errors import MtbError as MtbError
from .errors import PackError as PackError

if TYPE_CHECKING:
    from .case import Case as Case
    from .decision import Decision as Decision
    from .diagnostics import Diagnostic as Diagnostic
    from .diagnostics import Location as Location
    from .pack import Pack as Pack
    from .registry import builtin_ids as builtin_packs
    from .registry import load_pack as load_pack
    from .workdays import WorkingCalendar as WorkingCalendar

# Imported on first use (PEP 562), so `import mtbrules` stays fast: the engine core
# (compiler, code generator, evaluator) loads with the first pack, not with the package.
_LAZY = {
    "Case": ("case", "Case"),
    "Decision": ("decision", "Decision"),
    "Diagnostic": ("diagnostics", "Diagnostic"),
    "Location": ("diagnostics", "Location"),
    "Pack": ("pack", "Pack"),
    "WorkingCalendar": ("workdays", "WorkingCalendar"),
    "builtin_packs": ("registry", "builtin_ids"),
    "load_pack": ("registry", "load_pack"),
}


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'mtbrules' has no attribute {name!r}")
    module, attr = target
    value = getattr(importlib.import_module(f".{module}", __name__), attr)
    globals()[name] = value  # later lookups are plain module attributes
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "CalendarError",
    "Case",
    "CaseError",
    "ConflictError",
    "Decision",
    "Diagnostic",
    "DslSyntaxError",
    "InputError",
    "InternalError",
    "Location",
    "MtbError",
    "Pack",
    "PackError",
    "WorkingCalendar",
    "builtin_packs",
    "evaluate",
    "load_pack",
]


def evaluate(case: Any, lang: str = "en") -> Decision:
    """Decide `case` with the pack its `pack` field names (CONTRACT §1); `lang` as for Pack.evaluate."""
    # deferred: the registry and the engine load with the first case (import mtbrules stays ~20 ms)
    from .registry import pack_for_case

    return pack_for_case(case).evaluate(lang)
