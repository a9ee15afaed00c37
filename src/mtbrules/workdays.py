"""China's official working-day calendar (工作日): which days are working days, and counting them.

A day is a working day when it is a make-up working day (调休 上班), or a
Monday to Friday that is not a public holiday. The official data (2004 to
2026) is generated from the ``chinesecalendar`` package into
``calendars/cn.json`` and loaded on first use; see docs/calendar.md.

Counting follows CONTRACT.md §4: "N working days after d" starts on the day
after d (the day of the act is not counted).

Past the last year with an official schedule, days are counted
*provisionally*: weekends and the statutory holidays of 《全国年节及纪念日放假办法》
(:mod:`mtbrules.statutory`) are off, no make-up working day is assumed. A
computation run under :func:`track` (provisional.py) reports which years it
read provisionally and the latest date its result could move to once the
schedule is published. The calendar-day arithmetic of the DSL (add_months,
end_of_quarter, ...) is datemath.py; both are importable from here.
Dates past the provisional horizon (2099) raise
:class:`~mtbrules.errors.CalendarError`.

>>> cal = WorkingCalendar.official()
>>> cal.add_working_days(date(2025, 9, 29), 7)   # across National Day 2025
datetime.date(2025, 10, 15)
>>> add_months(date(2024, 1, 31), 1)
datetime.date(2024, 2, 29)
"""

from __future__ import annotations

import itertools
import json
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from datetime import date, timedelta

import attrs

from . import bundled, statutory
from .datemath import (
    BAD_DAY,
    add_days,
    add_months,
    add_weeks,
    add_years,
    calendar_error,
    day_of_month,
    days_in_month,
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
)
from .errors import CalendarError
from .provisional import Provisional, note, track

# The calendar's public names, with those of datemath.py and provisional.py
# (split out of this module by job; `mtbrules.workdays` stays the one import).
__all__ = [
    "BAD_DAY",
    "Provisional",
    "WorkingCalendar",
    "YearSchedule",
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
    "track",
]

# Diagnostic codes of the calendar (MTB5xx, see mtbrules.diagnostics).
OUT_OF_RANGE = "MTB501"  # a date outside the calendar's known years
COUNT_OUT_OF_RANGE = "MTB502"  # a count of working days leaves the known years
BAD_ADDITION = "MTB504"  # with_days: unreadable date, gap in years, conflicting day

_DATA_FILE = "cn.json"


_ADD_YEAR_HINT = (
    "the calendar counts 2004–2099: official schedules, then provisional years (docs/calendar.md)"
)

#: Where a year's schedule came from; a higher rank wins (docs/calendar.md, "Precedence").
BUNDLED, PACK, DEPLOYMENT = 0, 1, 2


@attrs.frozen
class YearSchedule:
    """One year's official schedule (放假调休): every day off and every make-up working day.

    ``holidays`` and ``working_days`` map each day to the festival it belongs
    to. ``source`` names the notice; ``origin`` where the data was read
    (a file, or the bundled package data) and ``rank`` its precedence.
    """

    year: int
    holidays: Mapping[date, str]
    working_days: Mapping[date, str]
    source: str
    origin: str
    rank: int = BUNDLED

    def is_working_day(self, d: date) -> bool:
        return d in self.working_days or (d.weekday() < 5 and d not in self.holidays)


@attrs.frozen
class WorkingCalendar:
    """A working-day calendar: official years, then provisional years up to the horizon.

    ``first_year`` to ``last_year`` have an official schedule; the years after
    ``last_year`` up to ``horizon_year`` are counted provisionally (weekends
    and the statutory holidays of the 放假办法). Build one with
    :meth:`official`, :meth:`with_schedules` and :meth:`with_days`; calendars
    are immutable and cheap to query (a byte per day and a sorted array of
    the working days' ordinals, searched with :mod:`bisect`).
    """

    first_year: int
    last_year: int
    # One byte per day from 1 January first_year to 31 December horizon_year:
    # 1 for a working day, 0 for a day off.
    _flags: bytes = attrs.field(repr=False)
    # The schedules the official years were built from (`mtbrules calendar show`).
    schedules: tuple[YearSchedule, ...] = attrs.field(default=(), repr=False, eq=False)
    horizon_year: int = attrs.field(init=False)
    _first_ord: int = attrs.field(init=False, repr=False, eq=False)
    _last_ord: int = attrs.field(init=False, repr=False, eq=False)
    _end_ord: int = attrs.field(init=False, repr=False, eq=False)
    # Sorted ordinals of every working day in the range.
    _work: tuple[int, ...] = attrs.field(init=False, repr=False, eq=False)
    # The latest readings of the provisional years, built on first use:
    # [forward (more days off), backward (more working days)].
    _bounds: list = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        first_ord = date(self.first_year, 1, 1).toordinal()
        last_ord = date(self.last_year, 12, 31).toordinal()
        end_ord = first_ord + len(self._flags) - 1
        end = date.fromordinal(end_ord)
        if (end.month, end.day) != (12, 31) or end_ord < last_ord:
            raise ValueError("flags must hold one byte per day, 1 January to 31 December")
        object.__setattr__(self, "horizon_year", end.year)
        object.__setattr__(self, "_first_ord", first_ord)
        object.__setattr__(self, "_last_ord", last_ord)
        object.__setattr__(self, "_end_ord", end_ord)
        work = tuple(itertools.compress(range(first_ord, end_ord + 1), self._flags))
        object.__setattr__(self, "_work", work)
        object.__setattr__(self, "_bounds", [None, None])

    def __getstate__(self) -> dict:
        return {
            "first_year": self.first_year,
            "last_year": self.last_year,
            "_flags": self._flags,
            "schedules": self.schedules,
        }

    def __setstate__(self, state: dict) -> None:
        for key, value in state.items():
            object.__setattr__(self, key, value)
        self.__attrs_post_init__()

    # -- construction -------------------------------------------------------

    @classmethod
    def official(cls) -> WorkingCalendar:
        """China's official calendar as bundled (2004 to 2026), provisional after (cached)."""
        return _official()

    @classmethod
    def from_schedules(cls, schedules: Iterable[YearSchedule]) -> WorkingCalendar:
        """A calendar of contiguous official years, each from its schedule, provisional after."""
        by_year = {s.year: s for s in schedules}
        if not by_year:
            raise calendar_error(BAD_ADDITION, "a calendar needs at least one year's schedule")
        first, last = min(by_year), max(by_year)
        _check_contiguous(set(by_year))
        horizon = max(statutory.festival_years().stop - 1, last)
        flags = bytearray(_weekday_flags(first, horizon))
        base = date(first, 1, 1).toordinal()
        for year in range(first, horizon + 1):
            schedule = by_year.get(year)
            off: Mapping[date, str] = schedule.holidays if schedule else _provisional_days(year)
            on: Mapping[date, str] = schedule.working_days if schedule else {}
            for d in off:
                flags[d.toordinal() - base] = 0
            for d in on:
                flags[d.toordinal() - base] = 1
        return cls(first, last, bytes(flags), tuple(sorted(by_year.values(), key=_year)))

    def with_schedules(self, schedules: Iterable[YearSchedule]) -> WorkingCalendar:
        """A new calendar whose years are replaced by these schedules, where their rank allows.

        A schedule replaces a year that has none, or whose schedule is of the
        same or a lower rank (bundled < pack < deployment; docs/calendar.md).
        The official years must stay contiguous: 2028 needs 2027. Local days
        added by :meth:`with_days` are not kept: add schedules first.
        """
        current = {s.year: s.rank for s in self.schedules}
        chosen: dict[int, YearSchedule] = {}
        for s in schedules:
            if current.get(s.year, BUNDLED) > s.rank:
                continue
            chosen[s.year] = s
        if not chosen:
            return self
        merged = [self.year_schedule(y) for y in self.known_years if y not in chosen]
        return WorkingCalendar.from_schedules(merged + list(chosen.values()))

    def year_schedule(self, year: int) -> YearSchedule:
        """The schedule of an official ``year`` as this calendar holds it."""
        if year not in self.known_years:
            raise calendar_error(OUT_OF_RANGE, f"{year} has no official schedule in this calendar")
        for s in self.schedules:
            if s.year == year:
                return s
        # A year added by with_days(known_years=…): only its days are known.
        off, on = {}, {}
        for d in _days_of(year):
            working = self._flags[d.toordinal() - self._first_ord] == 1
            if d.weekday() < 5 and not working:
                off[d] = ""
            elif d.weekday() >= 5 and working:
                on[d] = ""
        return YearSchedule(year, off, on, "", "with_days(known_years)", PACK)

    def with_days(
        self,
        holidays: Iterable[date | str] = (),
        working_days: Iterable[date | str] = (),
        known_years: Iterable[int] = (),
    ) -> WorkingCalendar:
        """A new calendar with local days off, local working days and more official years.

        ``known_years`` extends the official range (it must stay contiguous:
        2027 may follow 2026, 2028 only with 2027); the days of a newly known
        year follow the weekday rule (Monday to Friday work) until
        ``holidays`` and ``working_days`` say otherwise. Dates are
        :class:`date` objects or ISO strings and must fall within the official
        years. A date given both as a holiday and as a working day is an
        error. The additions win over the official data.
        """
        off = [_as_date(d, "holidays") for d in holidays]
        on = [_as_date(d, "working_days") for d in working_days]
        clash = sorted(set(off) & set(on))
        if clash:
            raise calendar_error(
                BAD_ADDITION,
                f"{clash[0].isoformat()} is given both as a holiday and as a working day",
            )
        years = set(self.known_years)
        for year in known_years:
            if isinstance(year, bool) or not isinstance(year, int):
                raise calendar_error(BAD_ADDITION, f"known year {year!r} is not an integer")
            years.add(year)
        first, last = min(years), max(years)
        _check_contiguous(years)
        if not (off or on) and (first, last) == (self.first_year, self.last_year):
            return self

        horizon = max(self.horizon_year, last)
        flags = bytearray(_weekday_flags(first, horizon))
        base = date(first, 1, 1).toordinal()
        # Copy the days this calendar already knows over the weekday rule, then
        # reset the newly official years to the weekday rule alone.
        start = self._first_ord - base
        flags[start : start + len(self._flags)] = self._flags
        if last > self.last_year:
            lo = date(self.last_year + 1, 1, 1).toordinal() - base
            hi = date(last, 12, 31).toordinal() - base + 1
            flags[lo:hi] = _weekday_flags(self.last_year + 1, last)
        for value, day in itertools.chain(((0, d) for d in off), ((1, d) for d in on)):
            if not first <= day.year <= last:
                kind = "holiday" if value == 0 else "working day"
                raise calendar_error(
                    BAD_ADDITION,
                    f"{kind} {day.isoformat()} is outside the known years {_years(first, last)}",
                    hint="add its year to known_years",
                )
            flags[day.toordinal() - base] = value
        return WorkingCalendar(first, last, bytes(flags), self.schedules)

    # -- queries ------------------------------------------------------------

    @property
    def known_years(self) -> range:
        """The years with an official schedule, as a range."""
        return range(self.first_year, self.last_year + 1)

    @property
    def provisional_years(self) -> range:
        """The years counted provisionally: after the last official one, up to the horizon."""
        return range(self.last_year + 1, self.horizon_year + 1)

    def is_working_day(self, d: date) -> bool:
        """Whether ``d`` is a working day (工作日); CalendarError outside 2004–2099."""
        o = d.toordinal()
        if not self._first_ord <= o <= self._end_ord:
            raise self._outside(d)
        if o > self._last_ord:
            note(o, o, self.last_year)
        return self._flags[o - self._first_ord] == 1

    def add_working_days(self, d: date, n: int) -> date:
        """The ``n``-th working day after ``d`` (CONTRACT.md §4).

        ``d`` itself is not counted: ``n >= 1`` gives the n-th working day
        after ``d``, ``n == 0`` gives ``d``, ``n < 0`` the ``|n|``-th working day
        before ``d``. ``d`` and the result must lie within 2004–2099.
        """
        o = d.toordinal()
        if not self._first_ord <= o <= self._end_ord:
            raise self._outside(d)
        if n == 0:
            return d
        found = _count(self._work, o, n)
        if found is None:
            raise self._count_leaves(d, n)
        if found > self._last_ord or o > self._last_ord:
            # Off the fast path: the span reads provisional days.
            watch = note(min(o, found), max(o, found), self.last_year)
            if watch is not None and watch.latest:
                found = _count(self._bound(n > 0), o, n)
                if found is None:
                    raise self._count_leaves(d, n)
        return date.fromordinal(found)

    def nth_working_day(self, year: int, month: int, n: int) -> date:
        """The ``n``-th working day of the month (n >= 1; n = -1 is the last one)."""
        if not self.first_year <= year <= self.horizon_year:
            raise calendar_error(
                OUT_OF_RANGE,
                f"{year}-{month:02d} is outside the working-day calendar's years "
                f"{_years(self.first_year, self.horizon_year)}",
                hint=_ADD_YEAR_HINT,
            )
        if not 1 <= month <= 12:
            raise calendar_error(BAD_DAY, f"month {month} is not between 1 and 12")
        start = date(year, month, 1).toordinal()
        end = start + days_in_month(year, month) - 1
        work = self._work
        if year > self.last_year:
            watch = note(start, end, self.last_year)
            if watch is not None and watch.latest:
                work = self._bound(n > 0)
        lo, hi = bisect_left(work, start), bisect_right(work, end)
        count = hi - lo
        if n >= 1 and n <= count:
            return date.fromordinal(work[lo + n - 1])
        if n <= -1 and -n <= count:
            return date.fromordinal(work[hi + n])
        if n == 0:
            raise calendar_error(BAD_DAY, "nth_working_day counts from 1 (n = 0 is not a day)")
        raise calendar_error(
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
        first, end = self._first_ord, self._end_ord
        if not first <= oa <= end:
            raise self._outside(a)
        if not first <= ob <= end:
            raise self._outside(b)
        if max(oa, ob) > self._last_ord:
            note(min(oa, ob), max(oa, ob), self.last_year)
        if ob >= oa:
            return bisect_right(self._work, ob) - bisect_right(self._work, oa)
        return bisect_left(self._work, ob) - bisect_left(self._work, oa)

    def latest_reading(self) -> WorkingCalendar:
        """The provisional years read for the latest forward count: every day that a
        published schedule's widest holiday block could cover is off (docs/calendar.md)."""
        return WorkingCalendar(
            self.first_year, self.last_year, self._bound_flags(True), self.schedules
        )

    # -- provisional bounds ---------------------------------------------------

    def _bound(self, forward: bool) -> tuple[int, ...]:
        i = 0 if forward else 1
        work = self._bounds[i]
        if work is None:
            flags = self._bound_flags(forward)
            work = tuple(itertools.compress(range(self._first_ord, self._end_ord + 1), flags))
            self._bounds[i] = work  # idempotent: a race computes the same tuple twice
        return work

    def _bound_flags(self, forward: bool) -> bytes:
        flags = bytearray(self._flags)
        bounds = statutory.provisional_bounds()
        lo, hi = self._last_ord + 1, self._end_ord
        base = self._first_ord
        for year in range(self.last_year, self.horizon_year + 2):
            if year not in statutory.festival_years():
                continue
            law = statutory.law_in_force(year)
            movable = statutory.festival_dates(year)
            for f in law.festivals:
                anchor = statutory.festival_day(f.name, year, movable)
                days = [anchor.toordinal() + o for o in f.offsets]
                b = bounds[f.name]
                if forward:
                    start, stop, value = min(days) - b["off_before"], max(days) + b["off_after"], 0
                else:
                    start, stop, value = (
                        min(days) - b["work_before"],
                        max(days) + b["work_after"],
                        1,
                    )
                statutory_ords = set(days)
                for o in range(max(start, lo), min(stop, hi) + 1):
                    if o in statutory_ords:
                        continue
                    weekend = date.fromordinal(o).weekday() >= 5
                    # Forward: a block can take in any weekday; backward: a
                    # make-up working day is always a Saturday or Sunday.
                    if forward or weekend:
                        flags[o - base] = value
        return bytes(flags)

    # -- errors -------------------------------------------------------------

    def _outside(self, d: date) -> CalendarError:
        return calendar_error(
            OUT_OF_RANGE,
            f"{d.isoformat()} is outside the working-day calendar's years "
            f"{_years(self.first_year, self.horizon_year)} (official schedules "
            f"{_years(self.first_year, self.last_year)}, provisional after)",
            hint=_ADD_YEAR_HINT,
        )

    def _count_leaves(self, d: date, n: int) -> CalendarError:
        if n > 0:
            what = f"{n} working day{'s' if n != 1 else ''} after {d.isoformat()}"
            edge = f"past {date(self.horizon_year, 12, 31).isoformat()}, the end"
        else:
            what = f"{-n} working day{'s' if n != -1 else ''} before {d.isoformat()}"
            edge = f"before {date(self.first_year, 1, 1).isoformat()}, the start"
        return calendar_error(
            COUNT_OUT_OF_RANGE,
            f"counting {what} goes {edge} of the working-day calendar's years "
            f"{_years(self.first_year, self.horizon_year)}",
            hint=_ADD_YEAR_HINT,
        )


def _count(work: tuple[int, ...], o: int, n: int) -> int | None:
    """The ordinal of the n-th working day after (n > 0) or before (n < 0) ordinal ``o``."""
    if n > 0:
        i = bisect_right(work, o) + n - 1
        return work[i] if i < len(work) else None
    i = bisect_left(work, o) + n
    return work[i] if i >= 0 else None


def _year(s: YearSchedule) -> int:
    return s.year


def _days_of(year: int):
    d = date(year, 1, 1)
    one = timedelta(days=1)
    while d.year == year:
        yield d
        d += one


def _provisional_days(year: int) -> dict[date, str]:
    """Days off of a year without an official schedule, besides weekends: its statutory days."""
    return statutory.statutory_days(year)


def _check_contiguous(years: set[int]) -> None:
    first, last = min(years), max(years)
    if len(years) != last - first + 1:
        missing = sorted(set(range(first, last + 1)) - years)
        raise calendar_error(
            BAD_ADDITION,
            f"official years must be contiguous; {_years(first, last)} lacks "
            + ", ".join(map(str, missing)),
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
    raise calendar_error(BAD_ADDITION, f"{field}: {value!r} is not a date (expected YYYY-MM-DD)")


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
    """Read the bundled calendar data (format 1, see calendars/generate.py)."""
    text = bundled.read_text("calendars", name)
    doc = json.loads(text)
    if doc.get("format") != 1:
        raise CalendarError(f"calendars/{name}: unsupported format {doc.get('format')!r}")
    src = doc["source"]
    origin = f"bundled ({src['package']} {src['version']})"
    fromiso = date.fromisoformat
    schedules = [
        YearSchedule(
            int(year),
            {fromiso(iso): festival for iso, festival in block["holidays"].items()},
            {fromiso(iso): festival for iso, festival in block["working_days"].items()},
            f"国务院办公厅关于{year}年部分节假日安排的通知 (via {src['package']} {src['version']})",
            origin,
            BUNDLED,
        )
        for year, block in doc["years"].items()
    ]
    return WorkingCalendar.from_schedules(schedules)
