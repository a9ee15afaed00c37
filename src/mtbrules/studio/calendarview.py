"""A small month calendar around a decision's dates: holidays, 调休 working days, weekends.

Day kinds come from the pack's own working calendar (`Pack.calendar`): a
weekday that is not a working day is a public holiday; a Saturday or Sunday
that is a working day is a make-up working day (调休). Days outside the years
the calendar knows are shown as unknown, never guessed.
"""

from __future__ import annotations

import calendar as _cal
import datetime as _dt

from ..errors import CalendarError

MAX_MONTHS = 4


def day_kind(calendar, day: _dt.date) -> str:
    try:
        working = calendar.is_working_day(day)
    except CalendarError:
        return "unknown"
    weekend = day.weekday() >= 5
    if working:
        return "makeup" if weekend else "work"
    return "weekend" if weekend else "holiday"


def months(calendar, start: _dt.date, marks: dict[_dt.date, list[str]]) -> list[dict]:
    """Month grids from `start`'s month to the last marked day's (at most MAX_MONTHS)."""
    last = max([start, *marks])
    out: list[dict] = []
    year, month = start.year, start.month
    while (year, month) <= (last.year, last.month) and len(out) < MAX_MONTHS:
        weeks = []
        for week in _cal.Calendar(firstweekday=0).monthdatescalendar(year, month):
            weeks.append(
                [
                    {
                        "day": d.day,
                        "date": d.isoformat(),
                        "inside": d.month == month,
                        "kind": day_kind(calendar, d),
                        "marks": marks.get(d, []),
                    }
                    for d in week
                ]
            )
        out.append({"year": year, "month": month, "weeks": weeks})
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return out
