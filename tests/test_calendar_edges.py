"""Calendar edges through the whole engine: years beyond the data, leap days,
quarter and year ends, make-up working days (调休) at the edges of a period.

Facts used here are from the State Council's published schedules (also in
src/mtbrules/calendars): 2024-09-29 (Sunday) and 2026-02-28 (Saturday) were
working days; 2018-12-29 (Saturday) was one, and 2019-01-01 a holiday.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pytest
from packbuilder import MINI_PACK, write_pack

import mtbrules
from mtbrules.errors import CalendarError, MtbError
from mtbrules.loader import load_pack_folder
from mtbrules.workdays import WorkingCalendar

D = dt.date
CAL = WorkingCalendar.official()


def _pack_with_deadline(
    tmp_path, date_expr: str, extra_meta: str = "", versions="effective_to: 2025-12-31"
):
    rules = MINI_PACK["rules/a.yaml"].replace(
        "date: submitted_on + 7 working_days", f"date: '{date_expr}'"
    )
    meta = MINI_PACK["pack.yaml"].replace("effective_to: 2025-12-31", versions) + extra_meta
    return load_pack_folder(write_pack(tmp_path / "p", {"rules/a.yaml": rules, "pack.yaml": meta}))


def _due(pack, submitted_on):
    d = pack.evaluate(
        {"service": "certificate", "submitted_on": submitted_on, "diseases": ["支气管哮喘"]}
    )
    return d.deadline("decision_due").date


# ---------------------------------------------------------------- beyond the data


@pytest.mark.parametrize("submitted_on", ["2026-12-25", "2026-12-31"])
def test_counting_past_the_last_known_year_is_provisional_not_a_guess(tmp_path, submitted_on):
    pack = _pack_with_deadline(
        tmp_path, "submitted_on + 7 working_days", versions="effective_to: null"
    )
    d = pack.evaluate(
        {"service": "certificate", "submitted_on": submitted_on, "diseases": ["支气管哮喘"]}
    )
    due = d.deadline("decision_due")
    assert due.provisional and due.date.startswith("2027-")
    assert any("2027 holiday schedule" in w for w in d.warnings)


@pytest.mark.parametrize("submitted_on", ["2100-01-04", "9999-12-31"])
def test_dates_after_the_data(tmp_path, submitted_on):
    pack = _pack_with_deadline(
        tmp_path, "submitted_on + 7 working_days", versions="effective_to: null"
    )
    with pytest.raises(CalendarError):
        _due(pack, submitted_on)
    # calendar days need no calendar data
    pack = _pack_with_deadline(
        tmp_path / "b", "submitted_on + 7 days", versions="effective_to: null"
    )
    if submitted_on != "9999-12-31":
        assert (
            _due(pack, submitted_on)
            == (D.fromisoformat(submitted_on) + dt.timedelta(days=7)).isoformat()
        )
    else:
        with pytest.raises(MtbError):
            _due(pack, submitted_on)


def test_dates_before_the_data(tmp_path):
    meta = MINI_PACK["pack.yaml"].replace(
        "effective_from: 2024-01-01", "effective_from: 1990-01-01"
    )
    rules = MINI_PACK["rules/a.yaml"]
    pack = load_pack_folder(write_pack(tmp_path / "p", {"pack.yaml": meta, "rules/a.yaml": rules}))
    with pytest.raises(CalendarError):
        _due(pack, "2003-12-30")
    assert _due(pack, "2004-01-02") == CAL.add_working_days(D(2004, 1, 2), 7).isoformat()


def test_pack_can_extend_the_known_years(tmp_path):
    extra = "\n        calendar:\n          known_years: [2027]\n          holidays: [2027-01-01]\n"
    pack = _pack_with_deadline(
        tmp_path, "submitted_on + 7 working_days", extra, versions="effective_to: null"
    )
    # 2026-12-31 (Thu) + 7 working days, with 2027-01-01 off and weekends off
    assert _due(pack, "2026-12-31") == "2027-01-12"


def test_cli_outside_the_calendar_is_exit_2(tmp_path):
    case = tmp_path / "c.json"
    case.write_text(
        json.dumps(
            {"service": "certificate", "submitted_on": "2031-03-02", "diseases": ["糖尿病"]}
        ),
        encoding="utf-8",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "mtbrules", "eval", str(case), "--pack", "qingdao"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode in (0, 2), proc.stderr
    assert "Traceback" not in proc.stderr
    if proc.returncode == 0:  # decided without counting working days (e.g. not covered)
        assert "2031" in proc.stdout


# ---------------------------------------------------------------- leap days and month ends


@pytest.mark.parametrize(
    ("expr", "submitted_on", "expected"),
    [
        ("submitted_on + 1 year", "2024-02-29", "2025-02-28"),
        ("submitted_on + 4 years", "2024-02-29", "2028-02-29"),
        ("submitted_on + 12 months", "2024-02-29", "2025-02-28"),
        ("submitted_on + 1 month", "2024-01-31", "2024-02-29"),
        ("submitted_on + 1 month", "2025-01-31", "2025-02-28"),
        ("submitted_on - 1 month", "2024-03-31", "2024-02-29"),
        ("submitted_on + 1 day", "2024-02-28", "2024-02-29"),
        ("submitted_on + 1 day", "2025-02-28", "2025-03-01"),
        ("natural_years_end(submitted_on, 2)", "2024-02-29", "2025-12-31"),
        ("end_of_month(submitted_on)", "2024-02-10", "2024-02-29"),
        ("end_of_month(submitted_on)", "2025-02-10", "2025-02-28"),
        ("date(year(submitted_on), 2, 29)", "2024-07-01", "2024-02-29"),
    ],
)
def test_leap_days(tmp_path, expr, submitted_on, expected):
    pack = _pack_with_deadline(tmp_path, expr)
    assert _due(pack, submitted_on) == expected


def test_no_leap_day_in_a_common_year_is_a_clean_error(tmp_path):
    pack = _pack_with_deadline(tmp_path, "date(year(submitted_on), 2, 29)")
    with pytest.raises(MtbError):
        _due(pack, "2025-07-01")
    pack = _pack_with_deadline(tmp_path / "b", "day_of_month(submitted_on, 30)")
    with pytest.raises(MtbError):
        _due(pack, "2025-02-03")


# ---------------------------------------------------------------- quarter and year ends


@pytest.mark.parametrize(
    ("expr", "submitted_on", "expected"),
    [
        ("end_of_quarter(submitted_on)", "2024-03-31", "2024-03-31"),
        ("end_of_quarter(submitted_on)", "2024-04-01", "2024-06-30"),
        ("start_of_next_quarter(submitted_on)", "2024-12-31", "2025-01-01"),
        ("start_of_quarter(submitted_on)", "2025-01-01", "2025-01-01"),
        ("start_of_next_month(submitted_on)", "2024-12-31", "2025-01-01"),
        ("start_of_next_year(submitted_on)", "2024-12-31", "2025-01-01"),
        ("end_of_year(submitted_on)", "2025-01-01", "2025-12-31"),
        (
            "if quarter(submitted_on) == 4 then end_of_year(submitted_on) else end_of_quarter(submitted_on)",
            "2024-10-01",
            "2024-12-31",
        ),
    ],
)
def test_quarter_and_year_ends(tmp_path, expr, submitted_on, expected):
    pack = _pack_with_deadline(tmp_path, expr)
    assert _due(pack, submitted_on) == expected


# ---------------------------------------------------------------- make-up working days at the edges


@pytest.mark.parametrize(
    ("expr", "submitted_on", "expected"),
    [
        # Friday before a Sunday make-up day at the end of September (quarter end)
        ("submitted_on + 1 working_day", "2024-09-27", "2024-09-29"),
        ("submitted_on + 2 working_days", "2024-09-27", "2024-09-30"),
        ("submitted_on + 3 working_days", "2024-09-27", "2024-10-08"),
        # a make-up Saturday at the end of December, then New Year's Day off (year end)
        ("submitted_on + 1 working_day", "2018-12-28", "2018-12-29"),
        ("submitted_on + 2 working_days", "2018-12-28", "2019-01-02"),
        # the last working day of a month that ends on a make-up Saturday
        ("nth_working_day(submitted_on, -1)", "2026-02-02", "2026-02-28"),
        ("nth_working_day(submitted_on, -1)", "2024-09-02", "2024-09-30"),
        ("nth_working_day(submitted_on, 1)", "2024-10-15", "2024-10-08"),
        ("nth_working_day(submitted_on, 1)", "2019-01-15", "2019-01-02"),
        # counting from a make-up day itself
        ("submitted_on + 1 working_day", "2024-09-29", "2024-09-30"),
        ("submitted_on - 1 working_day", "2024-09-30", "2024-09-29"),
    ],
)
def test_make_up_days_at_period_edges(tmp_path, expr, submitted_on, expected):
    versions = "effective_to: null"
    meta_from = "effective_from: 2018-01-01"
    rules = MINI_PACK["rules/a.yaml"].replace(
        "date: submitted_on + 7 working_days", f"date: '{expr}'"
    )
    meta = (
        MINI_PACK["pack.yaml"]
        .replace("effective_to: 2025-12-31", versions)
        .replace("effective_from: 2024-01-01", meta_from)
    )
    pack = load_pack_folder(write_pack(tmp_path / "p", {"rules/a.yaml": rules, "pack.yaml": meta}))
    assert _due(pack, submitted_on) == expected


def test_make_up_days_are_working_days_and_holidays_are_not():
    assert CAL.is_working_day(D(2024, 9, 29)) and CAL.is_working_day(D(2026, 2, 28))
    assert not CAL.is_working_day(D(2024, 10, 1)) and not CAL.is_working_day(D(2019, 1, 1))


@pytest.mark.parametrize(
    "submitted_on",
    ["2024-09-29", "2024-09-30", "2024-12-31", "2024-03-31", "2026-12-31", "2026-02-28"],
)
def test_quarterly_pack_on_edge_days(submitted_on):
    """The built-in quarterly pack (cycles by quarter) decides edge days or fails cleanly."""
    if "quarterly" not in mtbrules.builtin_packs():
        pytest.skip("quarterly pack not present")
    pack = mtbrules.load_pack("quarterly")
    for service in sorted(pack.services):
        try:
            pack.evaluate({"service": service, "submitted_on": submitted_on}).to_json()
        except MtbError:
            pass
