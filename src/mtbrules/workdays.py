"""China's official working-day calendar (工作日) and the date arithmetic of the DSL.

A day is a working day when it is a make-up working day (调休 上班), or a
Monday to Friday that is not a public holiday. The official data (2004 to
2026) is generated from the ``chinesecalendar`` package into
``calendars/cn.json`` and loaded on first use; see docs/calendar.md.

Counting follows CONTRACT.md §4: "N working days after d" starts on the day
after d (the day of the act is not counted). A date outside the years the
calendar knows raises :class:`~mtbrules.errors.CalendarError`; it is never
guessed.

>>> cal = WorkingCalendar.official()
>>> cal.add_working_days(date(2025, 9, 29), 7)   # across National Day 2025
datetime.date(2025, 10, 15)
>>> add_months(date(2024, 1, 31), 1)
datetime.date(2024, 2, 29)
"""

from __future__ import annotations

import calendar as _stdlib_calendar
import itertools
import json
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from datetime import date, timedelta
from importlib import resources

import attrs

from .diagnostics import Diagnostic
from .errors import CalendarError

__all__ = [
    "WorkingCalendar",
    "add_days",
    "add_months",
    "add_weeks",
    "add_years",
    "day_of_month",
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

# Diagnostic codes of the calendar (MTB5xx, see mtbrules.diagnostics).
OUT_OF_RANGE = "MTB501"  # a date outside the calendar's known years
COUNT_OUT_OF_RANGE = "MTB502"  # a count of working days leaves the known years
BAD_DAY = "MTB503"  # no such day: day_of_month, nth_working_day, natural_years_end
BAD_ADDITION = "MTB504"  # with_days: unreadable date, gap in years, conflicting day

_DATA_FILE = "cn.json"


def _error(code: str, message: str, hint: str | None = None) -> CalendarError:
    return CalendarError(message, [Diagnostic(code, message, hint=hint)])


_ADD_YEAR_HINT = (
    "add the year's official holidays and make-up working days under `calendar:` "
    "in pack.yaml, or upgrade mtbrules once the State Council has published them"
)


@attrs.frozen
class WorkingCalendar:
    """A working-day calendar over a contiguous range of known years.

    Build one with :meth:`official` and :meth:`with_days`; calendars are
    immutable and cheap to query (a byte per day and a sorted array of the
    working days' ordinals, searched with :mod:`bisect`).
    """

    first_year: int
    last_year: int
    # One byte per day from 1 January first_year to 31 December last_year:
    # 1 for a working day, 0 for a day off.
    _flags: bytes = attrs.field(repr=False)
    _first_ord: int = attrs.field(init=False, repr=False, eq=False)
    _last_ord: int = attrs.field(init=False, repr=False, eq=False)
    # Sorted ordinals of every working day in the range.
    _work: tuple[int, ...] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        first_ord = date(self.first_year, 1, 1).toordinal()
        last_ord = date(self.last_year, 12, 31).toordinal()
        if len(self._flags) != last_ord - first_ord + 1:
            raise ValueError("flags must hold one byte per day of the known years")
        object.__setattr__(self, "_first_ord", first_ord)
        object.__setattr__(self, "_last_ord", last_ord)
        work = tuple(itertools.compress(range(first_ord, last_ord + 1), self._flags))
        object.__setattr__(self, "_work", work)

    # -- construction -------------------------------------------------------

    @classmethod
    def official(cls) -> WorkingCalendar:
        """China's official calendar, 2004 to 2026 (cached; loaded on first use)."""
        return _official()

    def with_days(
        self,
        holidays: Iterable[date | str] = (),
        working_days: Iterable[date | str] = (),
        known_years: Iterable[int] = (),
    ) -> WorkingCalendar:
        """A new calendar with local days off, local working days and more known years.

        ``known_years`` extends the range (it must stay contiguous: 2027 may
        follow 2026, 2028 only with 2027); the days of a newly known year
        follow the weekday rule (Monday to Friday work) until ``holidays`` and
        ``working_days`` say otherwise. Dates are :class:`date` objects or ISO
        strings and must fall within the (extended) known years. A date given
        both as a holiday and as a working day is an error. The additions win
        over the official data.
        """
        off = [_as_date(d, "holidays") for d in holidays]
        on = [_as_date(d, "working_days") for d in working_days]
        clash = sorted(set(off) & set(on))
        if clash:
            raise _error(
                BAD_ADDITION,
                f"{clash[0].isoformat()} is given both as a holiday and as a working day",
            )
        years = set(self.known_years)
        for year in known_years:
            if isinstance(year, bool) or not isinstance(year, int):
                raise _error(BAD_ADDITION, f"known year {year!r} is not an integer")
            years.add(year)
        first, last = min(years), max(years)
        if len(years) != last - first + 1:
            missing = sorted(set(range(first, last + 1)) - years)
            raise _error(
                BAD_ADDITION,
                f"known years must be contiguous; {_years(first, last)} lacks "
                + ", ".join(map(str, missing)),
            )
        if not (off or on) and (first, last) == (self.first_year, self.last_year):
            return self

        flags = bytearray(_weekday_flags(first, last))
        base = date(first, 1, 1).toordinal()
        # Copy the days this calendar already knows over the weekday rule.
        start = self._first_ord - base
        flags[start : start + len(self._flags)] = self._flags
        for value, day in itertools.chain(((0, d) for d in off), ((1, d) for d in on)):
            if not first <= day.year <= last:
                kind = "holiday" if value == 0 else "working day"
                raise _error(
                    BAD_ADDITION,
                    f"{kind} {day.isoformat()} is outside the known years {_years(first, last)}",
                    hint="add its year to known_years",
                )
            flags[day.toordinal() - base] = value
        return WorkingCalendar(first, last, bytes(flags))

    # -- queries ------------------------------------------------------------

    @property
    def known_years(self) -> range:
        """The years this calendar knows, as a range."""
        return range(self.first_year, self.last_year + 1)

    def is_working_day(self, d: date) -> bool:
        """Whether ``d`` is a working day (工作日); CalendarError outside the known years."""
        o = d.toordinal()
        if not self._first_ord <= o <= self._last_ord:
            raise self._outside(d)
        return self._flags[o - self._first_ord] == 1

    def add_working_days(self, d: date, n: int) -> date:
        """The ``n``-th working day after ``d`` (CONTRACT.md §4).

        ``d`` itself is not counted: ``n >= 1`` gives the n-th working day
        after ``d``, ``n == 0`` gives ``d``, ``n < 0`` the ``|n|``-th working day
        before ``d``. ``d`` and the result must lie within the known years.
        """
        o = d.toordinal()
        if not self._first_ord <= o <= self._last_ord:
            raise self._outside(d)
        if n == 0:
            return d
        work = self._work
        if n > 0:
            i = bisect_right(work, o) + n - 1
            if i < len(work):
                return date.fromordinal(work[i])
        else:
            i = bisect_left(work, o) + n
            if i >= 0:
                return date.fromordinal(work[i])
        raise self._count_leaves(d, n)

    def nth_working_day(self, year: int, month: int, n: int) -> date:
        """The ``n``-th working day of the month (n >= 1; n = -1 is the last one)."""
        if not self.first_year <= year <= self.last_year:
            raise _error(
                OUT_OF_RANGE,
                f"{year}-{month:02d} is outside the working-day calendar's known years "
                f"{_years(self.first_year, self.last_year)}",
                hint=_ADD_YEAR_HINT,
            )
        if not 1 <= month <= 12:
            raise _error(BAD_DAY, f"month {month} is not between 1 and 12")
        start = date(year, month, 1).toordinal()
        end = start + _stdlib_calendar.monthrange(year, month)[1] - 1
        work = self._work
        lo, hi = bisect_left(work, start), bisect_right(work, end)
        count = hi - lo
        if n >= 1 and n <= count:
            return date.fromordinal(work[lo + n - 1])
        if n <= -1 and -n <= count:
            return date.fromordinal(work[hi + n])
        if n == 0:
            raise _error(BAD_DAY, "nth_working_day counts from 1 (n = 0 is not a day)")
        raise _error(
            BAD_DAY,
            f"{year}-{month:02d} has {count} working days, so it has no working day number {n}",
        )

    def working_days_between(self, a: date, b: date) -> int:
        """The number of working days in (a, b]: those after ``a`` up to and including ``b``.

        When ``b`` is before ``a`` the result is minus the number of working
        days in [b, a), so that ``working_days_between(a, add_working_days(a,
        n)) == n`` for every ``n``.
        """
        oa, ob = a.toordinal(), b.toordinal()
        first, last = self._first_ord, self._last_ord
        if not first <= oa <= last:
            raise self._outside(a)
        if not first <= ob <= last:
            raise self._outside(b)
        if ob >= oa:
            return bisect_right(self._work, ob) - bisect_right(self._work, oa)
        return bisect_left(self._work, ob) - bisect_left(self._work, oa)

    # -- errors -------------------------------------------------------------

    def _outside(self, d: date) -> CalendarError:
        return _error(
            OUT_OF_RANGE,
            f"{d.isoformat()} is outside the working-day calendar's known years "
            f"{_years(self.first_year, self.last_year)}",
            hint=_ADD_YEAR_HINT,
        )

    def _count_leaves(self, d: date, n: int) -> CalendarError:
        if n > 0:
            what = f"{n} working day{'s' if n != 1 else ''} after {d.isoformat()}"
            edge = f"past {date(self.last_year, 12, 31).isoformat()}, the end"
        else:
            what = f"{-n} working day{'s' if n != -1 else ''} before {d.isoformat()}"
            edge = f"before {date(self.first_year, 1, 1).isoformat()}, the start"
        return _error(
            COUNT_OUT_OF_RANGE,
            f"counting {what} goes {edge} of the working-day calendar's known years "
            f"{_years(self.first_year, self.last_year)}",
            hint=_ADD_YEAR_HINT,
        )


def _years(first: int, last: int) -> str:
    return f"{first}–{last}" if first != last else str(first)


def _weekday_flags(first_year: int, last_year: int) -> bytes:
    """One byte per day: 1 Monday to Friday, 0 Saturday and Sunday."""
    start = date(first_year, 1, 1)
    ndays = date(last_year, 12, 31).toordinal() - start.toordinal() + 1
    week = b"\x01\x01\x01\x01\x01\x00\x00"
    shift = start.weekday()
    week = week[shift:] + week[:shift]
    return (week * (ndays // 7 + 1))[:ndays]


def _as_date(value: date | str, field: str) -> date:
    if isinstance(value, date):
        # A datetime is a date too; keep only its day.
        return date(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _error(BAD_ADDITION, f"{field}: {value!r} is not a date (expected YYYY-MM-DD)")


_lock = threading.Lock()
_official_calendar: WorkingCalendar | None = None


def _official() -> WorkingCalendar:
    global _official_calendar
    if _official_calendar is None:
        with _lock:
            if _official_calendar is None:
                _official_calendar = _load(_DATA_FILE)
    return _official_calendar


def _load(name: str) -> WorkingCalendar:
    """Read a calendar data file (format 1, see calendars/generate.py)."""
    text = resources.files(__package__).joinpath("calendars", name).read_text(encoding="utf-8")
    doc = json.loads(text)
    if doc.get("format") != 1:
        raise CalendarError(f"calendars/{name}: unsupported format {doc.get('format')!r}")
    first, last = doc["first_year"], doc["last_year"]
    flags = bytearray(_weekday_flags(first, last))
    base = date(first, 1, 1).toordinal()
    fromiso = date.fromisoformat
    for year in doc["years"].values():
        for iso in year["holidays"]:
            flags[fromiso(iso).toordinal() - base] = 0
        for iso in year["working_days"]:
            flags[fromiso(iso).toordinal() - base] = 1
    return WorkingCalendar(first, last, bytes(flags))


# -- calendar-day arithmetic (no holidays involved) ---------------------------


def _days_in_month(year: int, month: int) -> int:
    return _stdlib_calendar.monthrange(year, month)[1]


def _checked(make, what: str) -> date:
    try:
        return make()
    except (OverflowError, ValueError):
        raise _error(BAD_DAY, f"{what} is not a representable date") from None


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
        return date(year, month, min(d.day, _days_in_month(year, month)))

    return _checked(make, f"{d.isoformat()} + {n} months")


def add_years(d: date, n: int) -> date:
    """``d`` plus ``n`` years; 29 February becomes 28 February in a common year."""
    return add_months(d, 12 * n)


def start_of_month(d: date) -> date:
    """The first day of ``d``'s month."""
    return date(d.year, d.month, 1)


def end_of_month(d: date) -> date:
    """The last day of ``d``'s month."""
    return date(d.year, d.month, _days_in_month(d.year, d.month))


def quarter(d: date) -> int:
    """The quarter (1 to 4) of ``d``."""
    return (d.month - 1) // 3 + 1


def start_of_quarter(d: date) -> date:
    """The first day of ``d``'s quarter."""
    return date(d.year, 3 * quarter(d) - 2, 1)


def end_of_quarter(d: date) -> date:
    """The last day of ``d``'s quarter."""
    month = 3 * quarter(d)
    return date(d.year, month, _days_in_month(d.year, month))


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
    length = _days_in_month(d.year, d.month)
    if not 1 <= n <= length:
        raise _error(
            BAD_DAY,
            f"{d.year}-{d.month:02d} has {length} days, so it has no day {n}",
        )
    return date(d.year, d.month, n)


def natural_years_end(d: date, n: int) -> date:
    """31 December of the ``n``-th natural year (自然年度) counting ``d``'s year as the first.

    两个自然年度 from 2025-03-10 ends on ``natural_years_end(d, 2)`` = 2026-12-31.
    """
    if n < 1:
        raise _error(BAD_DAY, f"natural_years_end needs n >= 1 natural years, got {n}")
    return _checked(
        lambda: date(d.year + n - 1, 12, 31), f"the end of {n} natural years from {d.isoformat()}"
    )
