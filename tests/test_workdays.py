"""Tests for mtbrules.workdays: the official working-day calendar and date arithmetic."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from datetime import date, timedelta
from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mtbrules.errors import CalendarError, InputError
from mtbrules.workdays import (
    WorkingCalendar,
    add_days,
    add_months,
    add_weeks,
    add_years,
    day_of_month,
    end_of_month,
    end_of_quarter,
    end_of_year,
    natural_years_end,
    quarter,
    start_of_month,
    start_of_next_month,
    start_of_next_quarter,
    start_of_next_year,
    start_of_quarter,
    start_of_year,
    track,
)

CAL = WorkingCalendar.official()
D = date.fromisoformat

# Strategies (kept here: only this module uses them).
known_dates = st.dates(min_value=date(2004, 1, 1), max_value=date(2026, 12, 31))
# Dates and counts that stay inside 2004..2026: a year has at least 240 working
# days, so 2 x 200 working days from a 2024 date still ends in 2026.
inner_dates = st.dates(min_value=date(2005, 1, 1), max_value=date(2024, 12, 31))
counts = st.integers(min_value=1, max_value=200)
any_dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31))


def _days(first: date, last: date):
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


class TestShippedData:
    """The generated calendars/cn.json and its loading."""

    def test_official_range(self):
        """The official calendar knows exactly 2004 to 2026."""
        assert (CAL.first_year, CAL.last_year) == (2004, 2026)
        assert CAL.known_years == range(2004, 2027)

    def test_matches_chinese_calendar_every_day(self):
        """The shipped data gives chinese_calendar.is_workday for every day of 2004–2026."""
        import chinese_calendar  # a declared dependency: never skipped

        wrong = [
            d
            for d in _days(date(2004, 1, 1), date(2026, 12, 31))
            if CAL.is_working_day(d) != chinese_calendar.is_workday(d)
        ]
        assert wrong == []

    def test_data_covers_installed_chinese_calendar(self):
        """The shipped data covers every year the installed chinesecalendar knows (else regenerate)."""
        import chinese_calendar  # a declared dependency: never skipped

        last = max(d.year for d in chinese_calendar.holidays)
        assert CAL.last_year >= last, (
            f"chinesecalendar knows {last}; run python -m mtbrules.calendars.generate"
        )

    def test_data_names_its_source(self):
        """cn.json records the source package and version it was generated from."""
        text = resources.files("mtbrules").joinpath("calendars", "cn.json").read_text("utf-8")
        doc = json.loads(text)
        assert doc["source"]["package"] == "chinesecalendar"
        assert doc["source"]["version"] == "1.11.0"
        assert sorted(doc["years"]) == [str(y) for y in range(2004, 2027)]

    def test_official_is_cached(self):
        """official() returns the same object every time."""
        assert WorkingCalendar.official() is CAL

    def test_no_chinese_calendar_at_run_time(self):
        """Loading and using the calendar, provisional years and the bound included, imports
        neither chinese_calendar nor lunar_python (their data is generated into the package)."""
        code = (
            "import sys, datetime\n"
            "from mtbrules.workdays import WorkingCalendar, track\n"
            "cal = WorkingCalendar.official()\n"
            "cal.add_working_days(datetime.date(2025, 9, 29), 7)\n"
            "track(lambda: cal.add_working_days(datetime.date(2026, 12, 20), 20))\n"
            "assert 'chinese_calendar' not in sys.modules\n"
            "assert 'lunar_python' not in sys.modules\n"
        )
        subprocess.run([sys.executable, "-c", code], check=True)


class TestIsWorkingDay:
    """WorkingCalendar.is_working_day on known days."""

    @pytest.mark.parametrize("day", [f"2025-10-0{i}" for i in range(1, 9)])
    def test_national_day_2025_is_off(self, day):
        """2025-10-01 to 2025-10-08 are National Day / Mid-autumn holidays."""
        assert not CAL.is_working_day(D(day))

    @pytest.mark.parametrize(
        "day",
        ["2025-09-28", "2025-10-11", "2024-02-04", "2024-02-18", "2025-01-26", "2026-01-04"],
    )
    def test_makeup_days_are_working(self, day):
        """Make-up weekend days (调休) are working days."""
        assert D(day).weekday() >= 5
        assert CAL.is_working_day(D(day))

    def test_ordinary_days(self):
        """An ordinary Monday is a working day and an ordinary Saturday is not."""
        assert CAL.is_working_day(D("2025-09-29"))
        assert not CAL.is_working_day(D("2025-09-27"))

    def test_new_years_day_off(self):
        """1 January is off every known year."""
        assert not any(CAL.is_working_day(date(y, 1, 1)) for y in CAL.known_years)

    @pytest.mark.parametrize("day", ["2003-12-31", "2100-01-04"])
    def test_outside_known_years(self, day):
        """A date outside 2004–2099 raises CalendarError naming the date and the range."""
        with pytest.raises(CalendarError, match=rf"{day} is outside .*2004–2099") as info:
            CAL.is_working_day(D(day))
        assert info.value.diagnostics[0].code == "MTB501"

    def test_unpublished_year_is_provisional(self):
        """A day of 2027 (no official schedule bundled) is answered by rule, and tracked as such."""
        assert CAL.is_working_day(D("2027-01-04"))
        assert not CAL.is_working_day(D("2027-01-01"))  # 元旦
        value, provisional = track(lambda: CAL.is_working_day(D("2027-02-05")))  # 除夕
        assert value is False and provisional.years == (2027,)

    def test_calendar_error_is_input_error(self):
        """CalendarError is an InputError and a ValueError, and survives pickling."""
        with pytest.raises(CalendarError) as info:
            CAL.is_working_day(D("2100-01-04"))
        assert isinstance(info.value, InputError) and isinstance(info.value, ValueError)
        again = pickle.loads(pickle.dumps(info.value))
        assert str(again) == str(info.value)


class TestAddWorkingDays:
    """WorkingCalendar.add_working_days (CONTRACT §4)."""

    def test_seven_days_across_national_day_2025(self):
        """2025-09-29 + 7 working days is 2025-10-15 (holidays skipped, 10-11 counted)."""
        assert CAL.add_working_days(D("2025-09-29"), 7) == D("2025-10-15")

    def test_act_day_not_counted(self):
        """Counting starts the day after: Monday + 1 working day is Tuesday."""
        assert CAL.add_working_days(D("2025-09-29"), 1) == D("2025-09-30")

    def test_from_a_holiday(self):
        """From inside a holiday the first working day is the first after it."""
        assert CAL.add_working_days(D("2025-10-03"), 1) == D("2025-10-09")

    def test_makeup_day_counts(self):
        """A make-up Saturday is counted: 2025-10-10 + 1 working day is 2025-10-11."""
        assert CAL.add_working_days(D("2025-10-10"), 1) == D("2025-10-11")

    def test_zero(self):
        """n == 0 gives the day itself, even a holiday."""
        assert CAL.add_working_days(D("2025-10-01"), 0) == D("2025-10-01")

    def test_negative(self):
        """n < 0 counts back: 2025-10-09 - 1 working day is 2025-09-30."""
        assert CAL.add_working_days(D("2025-10-09"), -1) == D("2025-09-30")
        assert CAL.add_working_days(D("2025-10-09"), -2) == D("2025-09-29")
        assert CAL.add_working_days(D("2025-10-12"), -1) == D("2025-10-11")

    def test_across_year_end(self):
        """Counting crosses a year end inside the known range."""
        assert CAL.add_working_days(D("2025-12-31"), 1) == D("2026-01-04")

    def test_past_the_official_years_is_provisional(self):
        """A count that runs past 2026-12-31 is counted by rule, and track() says so."""
        value, provisional = track(lambda: CAL.add_working_days(D("2026-12-28"), 7))
        # 12-29, 12-30, 12-31, (2027-01-01 元旦 off, weekend), 01-04, 01-05, 01-06, 01-07
        assert value == D("2027-01-07")
        assert provisional is not None and provisional.years == (2027,)
        assert provisional.latest >= value

    def test_leaves_known_years_forward(self):
        """A count that runs past 2099-12-31 raises CalendarError naming the date and range."""
        with pytest.raises(
            CalendarError, match=r"after 2099-12-28 goes past 2099-12-31.*2004–2099"
        ) as info:
            CAL.add_working_days(D("2099-12-28"), 7)
        assert info.value.diagnostics[0].code == "MTB502"

    def test_leaves_known_years_backward(self):
        """A count that runs before 2004-01-01 raises CalendarError."""
        with pytest.raises(CalendarError, match=r"before 2004-01-05 goes before 2004-01-01"):
            CAL.add_working_days(D("2004-01-05"), -3)

    @pytest.mark.parametrize("day", ["2003-12-30", "2100-01-04"])
    def test_start_outside_known_years(self, day):
        """Counting from a date outside the known years raises CalendarError."""
        with pytest.raises(CalendarError, match=day):
            CAL.add_working_days(D(day), 1)

    def test_last_working_day_reachable(self):
        """The last working day of 2026 can be reached."""
        assert CAL.add_working_days(D("2026-12-30"), 1) == D("2026-12-31")


class TestNthWorkingDay:
    """WorkingCalendar.nth_working_day."""

    def test_first_after_national_day(self):
        """The first working day of October 2025 is 2025-10-09."""
        assert CAL.nth_working_day(2025, 10, 1) == D("2025-10-09")

    def test_makeup_day_at_month_start(self):
        """A make-up Sunday at a month's start is its first working day (2026-01-04)."""
        assert CAL.nth_working_day(2026, 1, 1) == D("2026-01-04")

    def test_makeup_day_at_month_end(self):
        """A make-up Saturday at a month's end is its last working day (2026-02-28)."""
        assert CAL.nth_working_day(2026, 2, -1) == D("2026-02-28")

    def test_makeup_day_counted_in_month(self):
        """2024-02-04 (make-up Sunday) is February 2024's 3rd working day."""
        assert CAL.nth_working_day(2024, 2, 3) == D("2024-02-04")

    def test_month_has_fewer(self):
        """Asking for more working days than the month has raises CalendarError."""
        count = CAL.working_days_between(D("2025-09-30"), D("2025-10-31"))
        assert CAL.nth_working_day(2025, 10, count) == D("2025-10-31")
        with pytest.raises(CalendarError, match=rf"2025-10 has {count} working days"):
            CAL.nth_working_day(2025, 10, count + 1)

    def test_zero_and_bad_month(self):
        """n == 0 and month 13 raise CalendarError."""
        with pytest.raises(CalendarError):
            CAL.nth_working_day(2025, 10, 0)
        with pytest.raises(CalendarError):
            CAL.nth_working_day(2025, 13, 1)

    def test_outside_known_years(self):
        """A month of 2100 raises CalendarError naming the range; 2027 is provisional."""
        with pytest.raises(CalendarError, match=r"2100-01 is outside .*2004–2099"):
            CAL.nth_working_day(2100, 1, 1)
        value, provisional = track(lambda: CAL.nth_working_day(2027, 1, 1))
        assert value == D("2027-01-04") and provisional.years == (2027,)


class TestWorkingDaysBetween:
    """WorkingCalendar.working_days_between."""

    def test_national_day_window(self):
        """There are 7 working days in (2025-09-29, 2025-10-15]."""
        assert CAL.working_days_between(D("2025-09-29"), D("2025-10-15")) == 7

    def test_same_day(self):
        """A day to itself counts zero."""
        assert CAL.working_days_between(D("2025-09-29"), D("2025-09-29")) == 0

    def test_outside(self):
        """An end outside the known years raises CalendarError."""
        with pytest.raises(CalendarError, match="2100-01-01"):
            CAL.working_days_between(D("2026-12-01"), D("2100-01-01"))


class TestWithDays:
    """WorkingCalendar.with_days local additions."""

    def test_adds_2027(self):
        """known_years=[2027] extends the range, with weekdays working and given days applied."""
        cal = CAL.with_days(
            holidays=["2027-01-01", date(2027, 2, 8)],
            working_days=["2027-02-06"],
            known_years=[2027],
        )
        assert (cal.first_year, cal.last_year) == (2004, 2027)
        assert not cal.is_working_day(D("2027-01-01"))
        assert cal.is_working_day(D("2027-01-04"))
        assert not cal.is_working_day(D("2027-01-09"))
        assert not cal.is_working_day(D("2027-02-08"))
        assert cal.is_working_day(D("2027-02-06"))
        assert cal.add_working_days(D("2026-12-28"), 7) == D("2027-01-07")

    def test_original_unchanged(self):
        """with_days returns a new calendar and leaves the official one as it was."""
        cal = CAL.with_days(holidays=["2025-09-30"])
        assert not cal.is_working_day(D("2025-09-30"))
        assert CAL.is_working_day(D("2025-09-30"))
        assert cal.add_working_days(D("2025-09-29"), 7) == D("2025-10-16")
        assert cal != CAL

    def test_local_working_day(self):
        """An extra working day turns a Sunday into a working day."""
        cal = CAL.with_days(working_days=[D("2025-10-12")])
        assert cal.is_working_day(D("2025-10-12"))

    def test_pickles(self):
        """A calendar survives pickling (batch evaluation uses processes)."""
        cal = CAL.with_days(known_years=[2027])
        again = pickle.loads(pickle.dumps(cal))
        assert again == cal
        assert again.add_working_days(D("2026-12-31"), 1) == D("2027-01-01")

    def test_nothing_added_is_same(self):
        """with_days() with no additions gives an equal calendar."""
        assert CAL.with_days() == CAL

    def test_day_outside_years(self):
        """A local day in an unknown year raises CalendarError."""
        with pytest.raises(CalendarError, match="2027-01-01 is outside the known years"):
            CAL.with_days(holidays=["2027-01-01"])

    def test_gap_in_years(self):
        """Known years must stay contiguous."""
        with pytest.raises(CalendarError, match="contiguous.*2027"):
            CAL.with_days(known_years=[2028])

    def test_conflict(self):
        """The same day as holiday and working day raises CalendarError."""
        with pytest.raises(CalendarError, match="both"):
            CAL.with_days(holidays=["2025-10-12"], working_days=["2025-10-12"])

    def test_bad_date(self):
        """An unreadable date raises CalendarError naming the field."""
        with pytest.raises(CalendarError, match="holidays: '2025-13-01'"):
            CAL.with_days(holidays=["2025-13-01"])

    def test_earlier_year(self):
        """known_years may extend the range backwards too."""
        cal = CAL.with_days(known_years=[2003], holidays=["2003-12-31"])
        assert cal.first_year == 2003
        assert not cal.is_working_day(D("2003-12-31"))
        assert cal.is_working_day(D("2003-12-30"))


class TestCalendarDays:
    """Calendar-day arithmetic and month/quarter/year boundaries."""

    def test_add_days_weeks(self):
        """add_days and add_weeks count calendar days."""
        assert add_days(D("2025-09-29"), 15) == D("2025-10-14")
        assert add_days(D("2025-01-01"), -1) == D("2024-12-31")
        assert add_weeks(D("2025-09-29"), 2) == D("2025-10-13")

    @pytest.mark.parametrize(
        ("start", "n", "end"),
        [
            ("2024-01-31", 1, "2024-02-29"),
            ("2023-01-31", 1, "2023-02-28"),
            ("2025-03-31", 6, "2025-09-30"),
            ("2025-11-15", 3, "2026-02-15"),
            ("2025-03-31", -1, "2025-02-28"),
            ("2024-02-29", 12, "2025-02-28"),
        ],
    )
    def test_add_months(self, start, n, end):
        """add_months keeps the day, clamped to the month's end."""
        assert add_months(D(start), n) == D(end)

    def test_add_years_leap_day(self):
        """29 February plus a year is 28 February; plus four years is 29 February."""
        assert add_years(D("2024-02-29"), 1) == D("2025-02-28")
        assert add_years(D("2024-02-29"), 4) == D("2028-02-29")

    def test_month_bounds(self):
        """start_of_month / end_of_month, including a leap February."""
        assert start_of_month(D("2024-02-17")) == D("2024-02-01")
        assert end_of_month(D("2024-02-17")) == D("2024-02-29")
        assert end_of_month(D("2025-02-17")) == D("2025-02-28")
        assert start_of_next_month(D("2025-12-31")) == D("2026-01-01")

    @pytest.mark.parametrize(
        ("day", "q", "start", "end", "next_start"),
        [
            ("2025-01-01", 1, "2025-01-01", "2025-03-31", "2025-04-01"),
            ("2025-06-30", 2, "2025-04-01", "2025-06-30", "2025-07-01"),
            ("2025-08-15", 3, "2025-07-01", "2025-09-30", "2025-10-01"),
            ("2025-12-31", 4, "2025-10-01", "2025-12-31", "2026-01-01"),
        ],
    )
    def test_quarter_bounds(self, day, q, start, end, next_start):
        """quarter, start/end of quarter and start of next quarter."""
        d = D(day)
        assert quarter(d) == q
        assert start_of_quarter(d) == D(start)
        assert end_of_quarter(d) == D(end)
        assert start_of_next_quarter(d) == D(next_start)

    def test_year_bounds(self):
        """start_of_year, end_of_year and start_of_next_year."""
        d = D("2024-02-29")
        assert start_of_year(d) == D("2024-01-01")
        assert end_of_year(d) == D("2024-12-31")
        assert start_of_next_year(d) == D("2025-01-01")

    def test_day_of_month(self):
        """day_of_month gives the n-th day and rejects days the month lacks."""
        assert day_of_month(D("2024-02-10"), 29) == D("2024-02-29")
        with pytest.raises(CalendarError, match="2025-02 has 28 days"):
            day_of_month(D("2025-02-10"), 29)
        with pytest.raises(CalendarError):
            day_of_month(D("2025-02-10"), 0)

    def test_natural_years_end(self):
        """Two natural years from 2025-03-10 end on 2026-12-31; one ends on 2025-12-31."""
        assert natural_years_end(D("2025-03-10"), 2) == D("2026-12-31")
        assert natural_years_end(D("2025-12-31"), 1) == D("2025-12-31")
        with pytest.raises(CalendarError):
            natural_years_end(D("2025-03-10"), 0)

    def test_overflow(self):
        """Arithmetic past year 9999 raises CalendarError, not OverflowError."""
        with pytest.raises(CalendarError):
            add_days(date(9999, 12, 31), 1)
        with pytest.raises(CalendarError):
            add_months(date(9999, 12, 31), 1)


class TestProperties:
    """Hypothesis properties of the calendar and date arithmetic."""

    @given(inner_dates, counts)
    def test_lands_on_working_day(self, d, n):
        """add_working_days with n >= 1 lands on a working day after d."""
        result = CAL.add_working_days(d, n)
        assert result > d
        assert CAL.is_working_day(result)

    @given(inner_dates, st.integers(-200, 200), st.integers(-200, 200))
    def test_monotonic(self, d, a, b):
        """add_working_days is monotonic in n, strictly for n >= 0."""
        lo, hi = sorted((a, b))
        assert CAL.add_working_days(d, lo) <= CAL.add_working_days(d, hi)
        if 0 <= lo < hi:
            assert CAL.add_working_days(d, lo) < CAL.add_working_days(d, hi)

    @given(inner_dates, counts, counts)
    def test_composes(self, d, a, b):
        """Adding a then b working days equals adding a + b (a, b >= 1)."""
        assert CAL.add_working_days(CAL.add_working_days(d, a), b) == CAL.add_working_days(d, a + b)

    @given(inner_dates, st.integers(-200, 200))
    def test_between_inverts_add(self, d, n):
        """working_days_between(d, add_working_days(d, n)) == n."""
        assert CAL.working_days_between(d, CAL.add_working_days(d, n)) == n

    @given(inner_dates, counts)
    def test_no_working_day_skipped(self, d, n):
        """Between d and the n-th working day after it lie exactly n working days."""
        end = CAL.add_working_days(d, n)
        assert sum(CAL.is_working_day(x) for x in _days(d + timedelta(days=1), end)) == n

    @given(known_dates, st.integers(0, 400))
    def test_between_counts_days(self, a, span):
        """working_days_between(a, b) for a <= b counts the working days in (a, b]."""
        b = min(a + timedelta(days=span), date(2026, 12, 31))
        expected = sum(CAL.is_working_day(x) for x in _days(a + timedelta(days=1), b))
        assert CAL.working_days_between(a, b) == expected

    @given(any_dates, st.integers(-600, 600))
    def test_add_months_clamps(self, d, n):
        """add_months keeps the day unless the target month is shorter, then its last day."""
        result = add_months(d, n)
        assert (result.year * 12 + result.month) - (d.year * 12 + d.month) == n
        assert result.day == min(d.day, end_of_month(result).day)

    @given(any_dates, st.integers(-100, 100))
    def test_add_years_is_twelve_months(self, d, n):
        """add_years(d, n) == add_months(d, 12 n)."""
        assert add_years(d, n) == add_months(d, 12 * n)

    @given(any_dates, st.integers(1, 50))
    def test_natural_years_end(self, d, n):
        """natural_years_end is 31 December of year(d) + n - 1, never before d."""
        end = natural_years_end(d, n)
        assert (end.month, end.day, end.year) == (12, 31, d.year + n - 1)
        assert end >= d

    @given(any_dates)
    def test_boundaries_contain_day(self, d):
        """Each day lies within its month, quarter and year, and the next ones start after."""
        assert start_of_month(d) <= d <= end_of_month(d) < start_of_next_month(d)
        assert start_of_quarter(d) <= d <= end_of_quarter(d) < start_of_next_quarter(d)
        assert start_of_year(d) <= d <= end_of_year(d) < start_of_next_year(d)
        assert end_of_quarter(d) + timedelta(days=1) == start_of_next_quarter(d)
        assert quarter(start_of_quarter(d)) == quarter(d)

    @given(st.integers(2004, 2026), st.integers(1, 12), st.integers(1, 30))
    def test_nth_working_day_in_month(self, year, month, n):
        """nth_working_day is a working day of that month with n - 1 working days before it in the month."""
        try:
            result = CAL.nth_working_day(year, month, n)
        except CalendarError:
            last = CAL.nth_working_day(year, month, -1)
            first = CAL.nth_working_day(year, month, 1)
            assert CAL.working_days_between(first, last) + 1 < n
            return
        assert (result.year, result.month) == (year, month)
        assert CAL.is_working_day(result)
        start = date(year, month, 1)
        assert sum(CAL.is_working_day(x) for x in _days(start, result)) == n
