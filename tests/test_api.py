"""The public surface: what `import mtbrules` offers, pinned."""

from __future__ import annotations

import mtbrules


def test_all_is_pinned():
    """The exported names are exactly the documented public API."""
    assert sorted(mtbrules.__all__) == sorted(
        [
            "load_pack",
            "evaluate",
            "builtin_packs",
            "Pack",
            "Case",
            "Decision",
            "WorkingCalendar",
            "Diagnostic",
            "Location",
            "MtbError",
            "InputError",
            "PackError",
            "DslSyntaxError",
            "CaseError",
            "CalendarError",
            "ConflictError",
            "InternalError",
        ]
    )
    for name in mtbrules.__all__:
        assert hasattr(mtbrules, name)


def test_errors_share_one_base():
    """Every library error is an MtbError; input errors are ValueErrors too."""
    for cls in (
        mtbrules.PackError,
        mtbrules.CaseError,
        mtbrules.DslSyntaxError,
        mtbrules.CalendarError,
        mtbrules.ConflictError,
    ):
        assert issubclass(cls, mtbrules.MtbError) and issubclass(cls, ValueError)


def test_evaluate_uses_case_pack():
    """`mtbrules.evaluate(case)` takes the pack from the case."""
    d = mtbrules.evaluate(
        {
            "pack": "qingdao",
            "service": "certificate",
            "submitted_on": "2025-09-29",
            "diseases": ["恶性肿瘤"],
        }
    )
    assert d.pack == "qingdao" and d.outcome == "instant"


def test_errors_pickle():
    """Errors survive pickling (batch evaluation uses processes)."""
    import pickle

    err = mtbrules.CaseError("case field 'age': bad", field="age")
    again = pickle.loads(pickle.dumps(err))
    assert again.field == "age" and str(again) == str(err)


def test_docstring_example():
    """The module docstring's example runs."""
    import doctest

    assert doctest.testmod(mtbrules).failed == 0
