"""Calendar-day arithmetic of the DSL, no holidays involved: `add_months`, `end_of_quarter`, ...

Every function takes and returns :class:`datetime.date`; a result that is
not a representable date, or a day a month does not have, is a
CalendarError (MTB503). Working days are counted by workdays.py.
"""

from __future__ import annotations

from datetime import date, timedelta

from .diagnostics import Diagnostic
from .errors import CalendarError

__all__ = [
    "BAD_DAY",
    "add_days",
    "add_months",
    "add_weeks",
    "add_years",
    "calendar_error",
    "day_of_month",
    "days_in_month",
    "end_of_month",
    "end_of_quarter",
    "end_of_year",
    "natural_years_end",
    "quarter",
    "start_of_month",
    "start_of_next_month",
    "start_of_next_quarter",
    "start_of_next_year",
    "start_of_quarter",
    "start_of_year",
]

BAD_DAY = "MTB503"  # no such day: day_of_month, nth_working_day, natural_years_end

#: Days of each month in a common year.
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def calendar_error(code: str, message: str, hint: str | None = None) -> CalendarError:
    """A CalendarError carrying one diagnostic with the calendar's code (MTB5xx)."""
    return CalendarError(message, [Diagnostic(code, message, hint=hint)])


def days_in_month(year: int, month: int) -> int:
    """The number of days of ``month`` (1 to 12) in ``year`` (the Gregorian leap years)."""
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        return 29
    return _MONTH_DAYS[month - 1]


def _checked(make, what: str) -> date:
    try:
        return make()
    except (OverflowError, ValueError):
        raise calendar_error(BAD_DAY, f"{what} is not a representable date") from None


def add_days(d: date, n: int) -> date:
    """``d`` plus ``n`` calendar days ("N days" counts from the day after d, so d + 1 is day 1)."""
    return _checked(lambda: d + timedelta(days=n), f"{d.isoformat()} + {n} days")


def add_weeks(d: date, n: int) -> date:
    """``d`` plus ``n`` weeks of seven calendar days."""
    return _checked(lambda: d + timedelta(weeks=n), f"{d.isoformat()} + {n} weeks")


def add_months(d: date, n: int) -> date:
    """``d`` plus ``n`` months, the day clamped to the month's end (2024-01-31 + 1 month = 2024-02-29)."""
    index = d.year * 12 + d.month - 1 + n
    year, month = divmod(index, 12)
    month += 1

    def make() -> date:
        return date(year, month, min(d.day, days_in_month(year, month)))

    return _checked(make, f"{d.isoformat()} + {n} months")


def add_years(d: date, n: int) -> date:
    """``d`` plus ``n`` years; 29 February becomes 28 February in a common year."""
    return add_months(d, 12 * n)


def start_of_month(d: date) -> date:
    """The first day of ``d``'s month."""
    return date(d.year, d.month, 1)


def end_of_month(d: date) -> date:
    """The last day of ``d``'s month."""
    return date(d.year, d.month, days_in_month(d.year, d.month))


def quarter(d: date) -> int:
    """The quarter (1 to 4) of ``d``."""
    return (d.month - 1) // 3 + 1


def start_of_quarter(d: date) -> date:
    """The first day of ``d``'s quarter."""
    return date(d.year, 3 * quarter(d) - 2, 1)


def end_of_quarter(d: date) -> date:
    """The last day of ``d``'s quarter."""
    month = 3 * quarter(d)
    return date(d.year, month, days_in_month(d.year, month))


def start_of_year(d: date) -> date:
    """1 January of ``d``'s year."""
    return date(d.year, 1, 1)


def end_of_year(d: date) -> date:
    """31 December of ``d``'s year."""
    return date(d.year, 12, 31)


def start_of_next_month(d: date) -> date:
    """The first day of the month after ``d``'s."""
    return _checked(
        lambda: date(d.year + d.month // 12, d.month % 12 + 1, 1),
        f"the month after {d.isoformat()}",
    )


def start_of_next_quarter(d: date) -> date:
    """The first day of the quarter after ``d``'s."""
    q = quarter(d)
    return _checked(
        lambda: date(d.year + q // 4, 3 * (q % 4) + 1, 1), f"the quarter after {d.isoformat()}"
    )


def start_of_next_year(d: date) -> date:
    """1 January of the year after ``d``'s."""
    return _checked(lambda: date(d.year + 1, 1, 1), f"the year after {d.isoformat()}")


def day_of_month(d: date, n: int) -> date:
    """The ``n``-th calendar day of ``d``'s month; CalendarError if the month has no such day."""
    length = days_in_month(d.year, d.month)
    if not 1 <= n <= length:
        raise calendar_error(
            BAD_DAY,
            f"{d.year}-{d.month:02d} has {length} days, so it has no day {n}",
        )
    return date(d.year, d.month, n)


def natural_years_end(d: date, n: int) -> date:
    """31 December of the ``n``-th natural year (自然年度) counting ``d``'s year as the first.

    两个自然年度 from 2025-03-10 ends on ``natural_years_end(d, 2)`` = 2026-12-31.
    """
    if n < 1:
        raise calendar_error(BAD_DAY, f"natural_years_end needs n >= 1 natural years, got {n}")
    return _checked(
        lambda: date(d.year + n - 1, 12, 31), f"the end of {n} natural years from {d.isoformat()}"
    )
